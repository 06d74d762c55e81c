//! No rollout in flight: the gates before a rollout (artifact, champion comparison),
//! starting one, and the steady state after it.

use std::collections::BTreeMap;

use super::super::actions::{
    Action, ConfigPlan, ModelPlan, NativeDeployment, NativePolicy, VariantPlan,
};
use super::super::desired::{
    AlarmScope, candidate_only, candidate_variant, champion_variant, config_plan, lineage_tags,
    model_plan, native_alarms, owned_alarms, selector_hash, serves_alone, spec_hash, variant_name,
};
use super::super::markers::{Markers, Smoke, Stage};
use super::super::observed::{Candidate, CandidateLookup, Endpoint};
use super::super::{Next, Planner};
use super::common::{
    deregister_unless_kept, ensure_scaling, hint, pinned_candidate_info, recover_history, run_label,
};
use super::gates::{container_changed, gates_pass, refuse};
use crate::api::conditions::Health;
use crate::api::{Gate, Phase, Strategy, ValidSpec};

/// No rollout in flight: start one, or keep the steady state.
pub(in crate::plan) fn at_rest(p: &mut Planner<'_>) {
    let ep = p.endpoint();
    let serving = ep.map(|e| format!("endpoint {}", e.name));
    let Some(cand) = chosen(p, serving) else {
        return;
    };
    if rejected(p, &cand) {
        return ensure_scaling(p, ep);
    }
    if let Some(why) = ep.and_then(|ep| container_changed(&cand, ep)) {
        return refuse(p, &cand, "PackageUnusable", why);
    }
    let lineage = lineage_tags(p.spec(), p.input.owner, &cand);
    if let Some(ep) = ep.filter(|ep| serves_alone(p.spec(), &cand, &lineage, ep)) {
        return steady(p, ep, &cand);
    }
    if may_start(p, &cand) {
        start(p, ep, &cand);
    }
}

/// Whether a rollout of `cand` may start now: its gates pass (artifact, approval, champion
/// comparison), `rollout.paused` is not set and a deployment window is open; the verdict says
/// why not.
pub(super) fn may_start(p: &mut Planner<'_>, cand: &Candidate) -> bool {
    if !gates_pass(p, cand) {
        return false;
    }
    if p.spec().rollout.paused {
        let message = format!(
            "rollout.paused is set; candidate {} waits to start",
            run_label(cand)
        );
        p.judge(Phase::Paused, Health::Paused, "Paused", message);
        return false;
    }
    if let Some(opens) = super::schedule::window_closed(p) {
        let what = format!("candidate {} waits to start", run_label(cand));
        super::schedule::wait_for_window(p, opens, &what);
        return false;
    }
    true
}

/// The candidate to deploy: the pinned one while the selector is unchanged, else the one the
/// lookup found; None (with the verdict set) while there is none. `serving` names what keeps
/// serving meanwhile.
pub(super) fn chosen(p: &mut Planner<'_>, serving: Option<String>) -> Option<Candidate> {
    recover_history(p);
    let pinned = super::super::pinned(p.spec(), &p.markers).map(str::to_owned);
    match &p.input.observed.candidate {
        CandidateLookup::Found(c) if pinned.as_ref().is_none_or(|arn| *arn == c.candidate_id) => {
            Some(c.clone())
        }
        _ if pinned.is_some() => pinned_candidate_info(p),
        CandidateLookup::Found(c) => Some(c.clone()),
        CandidateLookup::Unread => {
            p.next = Next::Poll;
            p.judge(
                Phase::Pending,
                Health::Progressing,
                "WaitingForCandidate",
                "the candidate is resolved on the next pass",
            );
            None
        }
        CandidateLookup::NotFound(why) => {
            p.next = Next::Idle;
            let serving = serving
                .map(|s| format!("; {s} keeps serving its current model"))
                .unwrap_or_default();
            let message = format!("{why}{serving}");
            p.judge(
                Phase::Pending,
                Health::Progressing,
                "WaitingForCandidate",
                message,
            );
            None
        }
    }
}

/// Whether `cand` was rolled back (or failed) under this very spec and no retry is asked
/// for: then the verdict says so and nothing starts.
pub(super) fn rejected(p: &mut Planner<'_>, cand: &Candidate) -> bool {
    let spec_hash = spec_hash(p.spec());
    if p.markers.rejected.as_deref() != Some(cand.candidate_id.as_str())
        || p.markers.rejected_spec.as_deref() != Some(spec_hash.as_str())
        || p.requested(Gate::Retry)
    {
        return false;
    }
    let failed = p.markers.stage == Some(Stage::Failed);
    let why = p.markers.reason.clone().unwrap_or_default();
    let endpoint = &p.spec().endpoint_name;
    if failed {
        let message = format!(
            "rollout of candidate {} failed ({why}); {}. Change the spec or run sagemaker-rollout retry",
            run_label(cand),
            hint(&why, endpoint)
        );
        p.judge(Phase::Failed, Health::Stalled, "RolloutFailed", message)
    } else {
        let message = format!(
            "candidate {} was rolled back ({why}); the champion keeps serving. Change the spec or run sagemaker-rollout retry",
            run_label(cand)
        );
        p.judge(Phase::RolledBack, Health::Stalled, "RolledBack", message)
    }
    true
}

/// The markers a rollout of `cand` starts with: this owner and driver, the candidate pinned to
/// the spec's selector, the start time, and what was rejected before (kept).
pub(super) fn starting(p: &Planner<'_>, cand: &Candidate) -> Markers {
    Markers {
        owner: Some(p.input.owner.to_owned()),
        driver: Some(p.input.driver.name.clone()),
        uid: p.input.driver.uid.clone(),
        candidate: Some(cand.candidate_id.clone()),
        run_id: cand.run_id.clone(),
        selector: Some(selector_hash(p.spec())),
        started: Some(p.now()),
        rejected: p.markers.rejected.clone(),
        rejected_spec: p.markers.rejected_spec.clone(),
        ..Markers::default()
    }
}

/// Starts a rollout of `cand`.
pub(super) fn start(p: &mut Planner<'_>, ep: Option<&Endpoint>, cand: &Candidate) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let settings = variant_name(spec, &cand.candidate_id);
    let mut m = Markers {
        variant: Some(settings.clone()),
        settings: Some(settings.clone()),
        ..starting(p, cand)
    };
    let Some(ep) = ep else {
        return first_deployment(p, m, cand, model, &lineage, &settings);
    };
    if blocked(p, ep, cand, &lineage) {
        return;
    }
    m.champion_config = Some(ep.config_name.clone());
    let (stage, config, deployment) =
        starting_config(spec, ep, cand, (&model, &lineage, &settings), &mut m);
    let variant = m.variant.clone().unwrap_or_default();
    let scope = AlarmScope {
        variant: &variant,
        config: (stage == Stage::Native).then_some(config.name.as_str()),
    };
    for alarm in owned_alarms(spec, scope) {
        p.push(Action::EnsureAlarm(alarm));
    }
    p.push(Action::CreateModel(model));
    announce(p, cand);
    m.stage = Some(stage);
    let guardrail = spec.rollout.strategy.guardrail().unwrap_or("blue/green");
    let what = match stage {
        Stage::Shadow => "adding the candidate as a shadow variant".to_owned(),
        Stage::Native => format!("starting a SageMaker {guardrail} deployment"),
        Stage::Final => "replacing the champion".to_owned(),
        _ => "adding the candidate variant at weight 0".to_owned(),
    };
    switch_config(p, m, config, deployment);
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "Deploying",
        format!("{what} on endpoint {}", ep.name),
    );
}

/// The first deployment (no endpoint yet): always Direct, the candidate alone.
fn first_deployment(
    p: &mut Planner<'_>,
    mut m: Markers,
    cand: &Candidate,
    model: ModelPlan,
    lineage: &BTreeMap<String, String>,
    settings: &str,
) {
    let spec = p.spec();
    let config = candidate_only(spec, cand, &model, lineage, settings, None);
    for alarm in owned_alarms(spec, AlarmScope::variant(settings)) {
        p.push(Action::EnsureAlarm(alarm));
    }
    p.push(Action::CreateModel(model.clone()));
    announce(p, cand);
    m.stage = Some(Stage::Final);
    m.target_config = Some(config.name.clone());
    m.requested = Some(p.now());
    let mut tags = lineage.clone();
    tags.extend(m.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
    p.push(Action::CreateEndpointConfig(config.clone()));
    p.push(Action::CreateEndpoint {
        config_name: config.name,
        tags,
    });
    p.markers = m;
    p.next = Next::Poll;
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "CreatingEndpoint",
        format!(
            "creating endpoint {} with candidate {} (first deployment is Direct)",
            spec.endpoint_name,
            run_label(cand)
        ),
    );
}

/// Whether the rollout may not start yet or at all (the endpoint's tag budget, a watched
/// alarm missing, an endpoint the strategy cannot drive); the verdict is set when so.
fn blocked(
    p: &mut Planner<'_>,
    ep: &Endpoint,
    cand: &Candidate,
    lineage: &BTreeMap<String, String>,
) -> bool {
    let spec = p.spec();
    let strategy = spec.rollout.strategy;
    // The whole rollout's tags must fit before anything changes (the check at the end of
    // planning would otherwise stop it half-way).
    if let Err(why) = super::super::tag_budget::rollout_fits(&ep.tags, lineage, &spec.tags) {
        p.event("TagBudget", why.clone(), true);
        p.judge(Phase::Failed, Health::Stalled, "TagBudget", why);
        return true;
    }
    // Every existing alarm the rollout will watch must exist before it starts (in flight a
    // missing one holds the rollout; SageMaker's auto-rollback would watch nothing).
    let observed = p.input.observed;
    let missing: Vec<&str> = spec
        .analysis
        .existing
        .iter()
        .filter(|n| observed.alarms_read && observed.alarm(n).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        p.next = Next::Idle;
        p.judge(
            Phase::Pending,
            Health::Stalled,
            "AlarmMissing",
            format!(
                "watched alarm {} does not exist; candidate {} starts once it does",
                missing.join(", "),
                run_label(cand)
            ),
        );
        return true;
    }
    // A rule on a metric this endpoint never publishes would wait (or fire) for ever.
    let unpublished = crate::plan::published::unpublished(spec, ep);
    if !unpublished.is_empty() {
        p.next = Next::Idle;
        p.judge(
            Phase::Pending,
            Health::Stalled,
            "MetricNotPublished",
            format!(
                "candidate {} waits: {}",
                run_label(cand),
                unpublished.join("; ")
            ),
        );
        return true;
    }
    // "You cannot convert your instance-based, real-time endpoint to a serverless endpoint"
    // (SM-77); the other way is allowed, once.
    if spec.serving.serverless.is_some() && ep.variants.iter().any(|v| !v.serverless) {
        let message = format!(
            "a serverless candidate cannot replace the instance-backed endpoint {}: SageMaker does not convert an instance-based endpoint to serverless (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html). Deploy it to a new endpoint",
            ep.name
        );
        refuse(p, cand, "EndpointIncompatible", message);
        return true;
    }
    // A serverless endpoint takes one production variant and no rolling deployment, whatever
    // the candidate runs on (SM-76, SM-77).
    if ep.variants.iter().any(|v| v.serverless)
        && matches!(
            strategy,
            Strategy::Canary | Strategy::Linear | Strategy::Shadow | Strategy::Rolling
        )
    {
        let message = format!(
            "endpoint {} is serverless: strategy {strategy:?} would need a second production variant or a rolling deployment, which serverless endpoints do not support (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html). Use Direct or BlueGreen",
            ep.name
        );
        refuse(p, cand, "EndpointIncompatible", message);
        return true;
    }
    // Guardrail deployments and shadow variants take exactly one production variant.
    let single = ep.variants.len() == 1 && ep.shadow_variants.is_empty();
    if matches!(
        strategy,
        Strategy::BlueGreen | Strategy::Rolling | Strategy::Shadow
    ) && !single
    {
        let message = format!(
            "strategy {strategy:?} needs an endpoint with exactly one production variant and no shadow variant; endpoint {} has {} production and {} shadow variants. Use Canary or Linear, or consolidate the endpoint first",
            ep.name,
            ep.variants.len(),
            ep.shadow_variants.len()
        );
        refuse(p, cand, "EndpointIncompatible", message);
        return true;
    }
    false
}

/// The config that starts the rollout on a serving endpoint, by strategy, with its stage
/// and (for blue/green) SageMaker's deployment; `m.variant` becomes the champion's name
/// for blue/green, whose guardrails keep it.
fn starting_config(
    spec: &ValidSpec,
    ep: &Endpoint,
    cand: &Candidate,
    (model, lineage, settings): (&ModelPlan, &BTreeMap<String, String>, &str),
    m: &mut Markers,
) -> (Stage, ConfigPlan, Option<NativeDeployment>) {
    let champions: Vec<VariantPlan> = ep
        .variants
        .iter()
        .map(|v| champion_variant(v, v.current_weight.max(0.0), &ep.config_name))
        .collect();
    match spec.rollout.strategy {
        Strategy::Shadow => {
            let pct = spec
                .rollout
                .shadow
                .as_ref()
                .map_or(0, |s| s.sampling_percent);
            // The production variant at weight 1 and the shadow at the sampled fraction: the
            // same share whether SageMaker reads the shadow's weight as a fraction of the
            // requests or relative to the production weight (the docs do not say).
            let production: Vec<VariantPlan> = champions
                .into_iter()
                .map(|mut v| {
                    v.weight = 1.0;
                    v
                })
                .collect();
            let shadow = candidate_variant(spec, cand, model, f64::from(pct) / 100.0);
            (
                Stage::Shadow,
                config_plan(spec, production, vec![shadow], lineage, Some(ep)),
                None,
            )
        }
        Strategy::BlueGreen | Strategy::Rolling => {
            // Guardrails replace the fleet behind the same variant name (Deployment
            // guardrails, "Exclusions"): the candidate runs as the champion's variant.
            let name = ep.variants[0].name.clone();
            let config = candidate_only(spec, cand, model, lineage, &name, Some(ep));
            m.variant = Some(name.clone());
            let scope = AlarmScope {
                variant: &name,
                config: Some(&config.name),
            };
            let (bake, policy) = native_policy(spec);
            let native = NativeDeployment {
                bake,
                policy,
                instance_count: spec.serving.instance_count,
                alarms: native_alarms(spec, scope),
            };
            (Stage::Native, config, Some(native))
        }
        // A serverless endpoint takes one production variant: the candidate replaces the
        // champion at once, and its smoke test runs once it serves (a failure rolls back).
        Strategy::Direct
            if spec.smoke_test.is_none()
                || spec.serving.serverless.is_some()
                || ep.variants.iter().any(|v| v.serverless) =>
        {
            (
                Stage::Final,
                candidate_only(spec, cand, model, lineage, settings, Some(ep)),
                None,
            )
        }
        _ => {
            let mut prod = champions;
            prod.push(candidate_variant(spec, cand, model, 0.0));
            (
                Stage::Added,
                config_plan(spec, prod, vec![], lineage, Some(ep)),
                None,
            )
        }
    }
}

/// The spec's guardrail: its bake and its SageMaker policy.
pub(super) fn native_policy(spec: &ValidSpec) -> (std::time::Duration, NativePolicy) {
    match (&spec.rollout.rolling, &spec.rollout.blue_green) {
        (Some(r), _) if spec.rollout.strategy == Strategy::Rolling => (
            r.bake,
            NativePolicy::Rolling {
                batch: r.batch,
                rollback_batch: r.rollback_batch,
                timeout: r.timeout,
            },
        ),
        (_, bg) => (
            bg.as_ref().map(|b| b.bake).unwrap_or_default(),
            NativePolicy::BlueGreen {
                termination_wait: bg.as_ref().map(|b| b.termination_wait).unwrap_or_default(),
                canary_percent: bg.as_ref().and_then(|b| b.canary_percent),
            },
        ),
    }
}

fn announce(p: &mut Planner<'_>, cand: &Candidate) {
    let strategy = p.spec().rollout.strategy;
    p.event(
        "RolloutStarted",
        format!("rolling out candidate {} ({strategy:?})", run_label(cand)),
        false,
    );
}

/// Creates the config, records the intent in markers, then updates the endpoint. Autoscaling
/// is deregistered first only where SageMaker requires it ("Update endpoints that use auto
/// scaling"): for a variant the new config removes or moves to another instance type; a
/// variant that survives unchanged — the champion through a canary — stays scaled.
pub(super) fn switch_config(
    p: &mut Planner<'_>,
    mut m: Markers,
    config: ConfigPlan,
    deployment: Option<NativeDeployment>,
) {
    let kept: Vec<(String, String)> = config
        .production
        .iter()
        .map(|v| (v.name.clone(), v.instance_type.clone()))
        .collect();
    deregister_unless_kept(p, &kept);
    m.target_config = Some(config.name.clone());
    m.requested = Some(p.now());
    // The stage's clock starts when SageMaker reports the new config in effect.
    m.since = None;
    let name = config.name.clone();
    p.push(Action::CreateEndpointConfig(config));
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    p.push(Action::UpdateEndpoint {
        config_name: name,
        deployment,
    });
    p.markers = m;
    p.next = Next::Poll;
}

/// The candidate serves alone: keep config, alarms, scaling and markers in line with the spec.
pub(super) fn steady(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate) {
    if super::undo::kept_champion(p, ep) {
        return;
    }
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    // Whatever the serving variant is called (a blue/green deployment keeps the old name).
    let serving = ep.variants[0].name.clone();
    let config = candidate_only(spec, cand, &model, &lineage, &serving, Some(ep));
    if ep.config_name != config.name {
        // Serving settings changed (instance count, data capture): apply them in place.
        let mut m = p.markers.clone();
        m.stage = Some(Stage::Final);
        m.champion_config = Some(ep.config_name.clone());
        m.selector = Some(selector_hash(spec));
        m.candidate = Some(cand.candidate_id.clone());
        m.variant = Some(serving);
        m.settings = Some(variant_name(spec, &cand.candidate_id));
        m.smoke = Some(Smoke::Passed);
        // Its own rollout for the record: its start keys its deployment record apart from
        // the rollout that first deployed this candidate.
        m.started = Some(p.now());
        p.push(Action::CreateModel(model));
        switch_config(p, m, config, None);
        p.event(
            "Reconfiguring",
            format!("applying changed serving settings to endpoint {}", ep.name),
            false,
        );
        return p.judge(
            Phase::Deploying,
            Health::Progressing,
            "Reconfiguring",
            "applying changed serving settings",
        );
    }
    ensure_scaling(p, Some(ep));
    p.judge(
        Phase::Succeeded,
        Health::Ready,
        "Serving",
        format!(
            "candidate {} serves 100 % of endpoint {}",
            run_label(cand),
            ep.name
        ),
    );
}
