//! The rollout state machine: starting a rollout from rest, advancing an in-flight one stage
//! by stage, rolling back, and keeping a finished endpoint in its steady state.
//!
//! Stages (see [`Stage`]): `shadow` → `added` (weight 0, smoke test) → `step` 1..n (weights
//! in place, baking) → `final` (candidate-only config) → `done`; BlueGreen goes straight to
//! `native`; any alarm, a failed smoke test or `abort` leads to `rollback` → `rolledback`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::actions::{Action, ConfigPlan, NativeDeployment, VariantPlan};
use super::desired::*;
use super::markers::{Ending, Markers, Smoke, Stage, tag_safe};
use super::observed::*;
use super::{Health, Next, Planner, selector_hash};
use crate::api::{HistoryEntry, Phase, RollbackOn, ShadowThen, Strategy};

/// A rollout that has been Creating or Updating this long is probably stuck.
const STUCK_AFTER: SignedDuration = SignedDuration::from_mins(45);

/// The endpoint exists but is not InService.
pub(super) fn not_in_service(p: &mut Planner<'_>, ep: &Endpoint) {
    let stage = p.markers.stage.filter(|s| s.in_flight());
    match ep.status {
        s if s.is_transitional() => {
            p.next = Next::Poll;
            let phase = match stage {
                Some(Stage::Rollback) => Phase::RollingBack,
                Some(Stage::Step | Stage::Shadow) => Phase::Progressing,
                _ => Phase::Deploying,
            };
            let stuck = p.now().duration_since(ep.last_modified) > STUCK_AFTER;
            let mut msg = format!(
                "endpoint {} is {}; waiting (no update is sent meanwhile)",
                ep.name,
                s.as_str()
            );
            if stuck && matches!(s, EndpointStatus::Creating | EndpointStatus::Updating) {
                msg.push_str(&format!(
                    "; {} for over 45 minutes: check the execution role, the image URI and S3 access to the model artifact",
                    s.as_str()
                ));
            }
            p.judge(phase, Health::Progressing, "Waiting", msg);
        }
        EndpointStatus::Failed => failed_endpoint(p, ep),
        other => p.judge(
            Phase::Failed,
            Health::Stalled,
            "EndpointUnusable",
            format!(
                "endpoint {} is {}: {}; fix or delete it in SageMaker",
                ep.name,
                other.as_str(),
                ep.failure_reason.as_deref().unwrap_or("no FailureReason")
            ),
        ),
    }
}

fn failed_endpoint(p: &mut Planner<'_>, ep: &Endpoint) {
    let reason = ep
        .failure_reason
        .clone()
        .unwrap_or_else(|| "no FailureReason given".into());
    let hint = hint(&reason, &ep.name);
    let spec_hash = spec_hash(p.spec());
    if p.markers.stage.is_some_and(Stage::in_flight) {
        // The endpoint failed while we drove it (a first deployment): record once.
        let mut m = p.markers.clone();
        finish_markers(&mut m, Stage::Failed, Some(&spec_hash), &reason);
        p.push(Action::TagEndpoint { tags: m.to_tags() });
        let entry = history(p, "Failed", format!("endpoint failed: {reason}. {hint}"));
        p.record(entry);
        p.event(
            "RolloutFailed",
            format!("endpoint {} failed: {reason}", ep.name),
            true,
        );
        p.markers = m;
    }
    if p.markers.rejected_spec.as_deref() == Some(spec_hash.as_str()) {
        p.judge(
            Phase::Failed,
            Health::Stalled,
            "EndpointFailed",
            format!(
                "endpoint {} failed: {reason}. {hint}. Change the spec to retry",
                ep.name
            ),
        );
    } else {
        p.push(Action::DeleteEndpoint);
        p.next = Next::Poll;
        p.event(
            "DeletingFailedEndpoint",
            format!("deleting failed endpoint {} to recreate it", ep.name),
            false,
        );
        p.judge(
            Phase::Deploying,
            Health::Progressing,
            "RecreatingEndpoint",
            format!(
                "endpoint {} is Failed ({reason}); deleting it so the new spec can recreate it",
                ep.name
            ),
        );
    }
}

/// An actionable hint for a SageMaker FailureReason.
pub fn hint(reason: &str, endpoint: &str) -> String {
    let r = reason.to_ascii_lowercase();
    let logs = format!("CloudWatch log group /aws/sagemaker/Endpoints/{endpoint}");
    if r.contains("image") || r.contains("ecr") {
        format!(
            "check the container image URI and that the execution role may pull it (ecr:BatchGetImage); see {logs}"
        )
    } else if r.contains("s3")
        || r.contains("access denied")
        || r.contains("accessdenied")
        || r.contains("model data")
    {
        "check that the execution role may s3:GetObject the model artifact and that the object exists".into()
    } else if r.contains("health check")
        || r.contains("ping")
        || r.contains("exit")
        || r.contains("container")
    {
        format!(
            "the container did not start: inference.py must sit at the root of model.tar.gz and requirements.txt must install; see {logs}"
        )
    } else if r.contains("capacity") || r.contains("limit") || r.contains("quota") {
        "not enough capacity or quota for the instance type: request a quota increase or choose another type".into()
    } else {
        format!("see {logs}")
    }
}

/// No rollout in flight: start one, or keep the steady state.
pub(super) fn at_rest(p: &mut Planner<'_>) {
    let ep = p.endpoint();
    let pinned = p
        .markers
        .candidate
        .clone()
        .filter(|_| p.markers.selector.as_deref() == Some(selector_hash(p.spec()).as_str()));
    let cand = match &p.input.observed.candidate {
        CandidateLookup::Found(c) if pinned.as_ref().is_none_or(|arn| *arn == c.package_arn) => {
            c.clone()
        }
        _ if pinned.is_some() => match pinned_candidate_info(p) {
            Some(c) => c,
            None => return,
        },
        CandidateLookup::Found(c) => c.clone(),
        CandidateLookup::NotFound(why) => {
            p.next = Next::Idle;
            let serving = ep
                .map(|e| format!("; endpoint {} keeps serving its current model", e.name))
                .unwrap_or_default();
            return p.judge(
                Phase::Pending,
                Health::Progressing,
                "WaitingForCandidate",
                format!("{why}{serving}"),
            );
        }
    };
    let spec_hash = spec_hash(p.spec());
    if p.markers.rejected.as_deref() == Some(cand.package_arn.as_str())
        && p.markers.rejected_spec.as_deref() == Some(spec_hash.as_str())
    {
        cleanup_alarms(p, None);
        ensure_scaling(p, ep);
        let failed = p.markers.stage == Some(Stage::Failed);
        let why = p.markers.reason.clone().unwrap_or_default();
        let endpoint = &p.spec().endpoint_name;
        return if failed {
            let message = format!(
                "rollout of candidate {} failed ({why}); {}. Change the spec to retry",
                run_label(&cand),
                hint(&why, endpoint)
            );
            p.judge(Phase::Failed, Health::Stalled, "RolloutFailed", message)
        } else {
            let message = format!(
                "candidate {} was rolled back ({why}); the champion keeps serving. Change the spec to retry",
                run_label(&cand)
            );
            p.judge(Phase::RolledBack, Health::Stalled, "RolledBack", message)
        };
    }
    let variant = variant_name(p.spec(), &cand.package_arn);
    if let Some(ep) = ep
        && ep.variants.len() == 1
        && ep.variants[0].name == variant
        && ep.shadow_variants.is_empty()
    {
        return steady(p, ep, &cand);
    }
    if p.spec().rollout.abort {
        return p.judge(
            Phase::RolledBack,
            Health::Stalled,
            "Aborted",
            "rollout.abort is set: the champion keeps serving; clear it to deploy the candidate",
        );
    }
    if !gates_pass(p, &cand) {
        return;
    }
    if p.spec().rollout.paused {
        return p.judge(
            Phase::Paused,
            Health::Paused,
            "Paused",
            format!(
                "rollout.paused is set; candidate {} waits to start",
                run_label(&cand)
            ),
        );
    }
    start(p, ep, &cand, &spec_hash);
}

/// Artifact validation and the champion comparison. Returns true when the candidate may go.
fn gates_pass(p: &mut Planner<'_>, cand: &Candidate) -> bool {
    let spec = p.spec();
    if spec.artifact.validate {
        match &cand.artifact {
            ArtifactCheck::Unchecked => {
                p.push(Action::ValidateArtifact {
                    package_arn: cand.package_arn.clone(),
                    model_data_url: cand.model_data_url.clone(),
                    max_uncompressed_bytes: spec
                        .artifact
                        .max_uncompressed_bytes
                        .parse()
                        .unwrap_or(u64::MAX),
                });
                p.next = Next::Poll;
                p.judge(
                    Phase::Validating,
                    Health::Progressing,
                    "ValidatingArtifact",
                    format!(
                        "checking {} against the artifact contract",
                        cand.model_data_url
                    ),
                );
                return false;
            }
            ArtifactCheck::Invalid { reason } => {
                refuse(
                    p,
                    cand,
                    "ArtifactInvalid",
                    format!("artifact {} is invalid: {reason}", cand.model_data_url),
                );
                return false;
            }
            ArtifactCheck::Valid { .. } => {}
        }
    }
    let has_champion = p.endpoint().is_some_and(|e| !e.variants.is_empty());
    if let (Some(cmp), true) = (&spec.candidate.compare_with_champion, has_champion) {
        let values = cand.comparison.clone().unwrap_or_default();
        match (values.candidate, values.champion) {
            (Some(c), Some(ch)) => {
                let delta = if cmp.higher_is_better { c - ch } else { ch - c };
                if delta < cmp.min_delta {
                    refuse(
                        p,
                        cand,
                        "WorseThanChampion",
                        format!(
                            "candidate {} = {c} vs champion {} = {ch} ({} is better); required improvement {}",
                            cmp.metric,
                            cmp.metric,
                            if cmp.higher_is_better {
                                "higher"
                            } else {
                                "lower"
                            },
                            cmp.min_delta
                        ),
                    );
                    return false;
                }
            }
            (c, ch) => {
                let missing = if c.is_none() { "candidate" } else { "champion" };
                let _ = ch;
                refuse(
                    p,
                    cand,
                    "MetricMissing",
                    format!(
                        "metric {} is missing from the {missing}'s artifacts/metrics.json",
                        cmp.metric
                    ),
                );
                return false;
            }
        }
    }
    true
}

/// The candidate may not be deployed; record it once.
fn refuse(p: &mut Planner<'_>, cand: &Candidate, reason: &'static str, message: String) {
    let already = p
        .input
        .previous
        .and_then(|s| s.history.first())
        .is_some_and(|h| {
            h.model_package_arn == cand.package_arn && h.outcome == "Refused" && h.reason == message
        });
    if !already {
        let entry = HistoryEntry {
            candidate_run_id: cand.run_id.clone(),
            model_package_arn: cand.package_arn.clone(),
            outcome: "Refused".into(),
            started_at: None,
            finished_at: p.now().to_string(),
            reason: message.clone(),
        };
        p.record(entry);
        p.event(reason, message.clone(), true);
    }
    p.judge(Phase::Failed, Health::Stalled, reason, message);
}

fn run_label(c: &Candidate) -> String {
    c.run_id.clone().unwrap_or_else(|| c.package_arn.clone())
}

/// Starts a rollout of `cand`.
fn start(p: &mut Planner<'_>, ep: Option<&Endpoint>, cand: &Candidate, spec_hash: &str) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let now = p.now();
    let mut m = Markers {
        owner: Some(p.input.owner.to_owned()),
        candidate: Some(cand.package_arn.clone()),
        run_id: cand.run_id.clone(),
        selector: Some(selector_hash(spec)),
        variant: Some(variant_name(spec, &cand.package_arn)),
        since: Some(now),
        started: Some(now),
        rejected: p.markers.rejected.clone(),
        rejected_spec: p.markers.rejected_spec.clone(),
        ..Markers::default()
    };
    let _ = spec_hash;
    let variant = m.variant.clone().unwrap_or_default();
    for alarm in owned_alarms(spec, &variant) {
        p.push(Action::EnsureAlarm(alarm));
    }
    p.push(Action::CreateModel(model.clone()));
    p.event(
        "RolloutStarted",
        format!(
            "rolling out candidate {} ({:?})",
            run_label(cand),
            spec.rollout.strategy
        ),
        false,
    );
    let Some(ep) = ep else {
        // First deployment: always Direct.
        let config = config_plan(
            spec,
            vec![candidate_variant(spec, cand, &model, 1.0)],
            vec![],
            &lineage,
        );
        m.stage = Some(Stage::Final);
        m.target_config = Some(config.name.clone());
        let mut tags = lineage.clone();
        tags.extend(m.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
        p.push(Action::CreateEndpointConfig(config.clone()));
        p.push(Action::CreateEndpoint {
            config_name: config.name,
            tags,
        });
        p.markers = m;
        p.next = Next::Poll;
        return p.judge(
            Phase::Deploying,
            Health::Progressing,
            "CreatingEndpoint",
            format!(
                "creating endpoint {} with candidate {} (first deployment is Direct)",
                spec.endpoint_name,
                run_label(cand)
            ),
        );
    };
    m.champion_config = Some(ep.config_name.clone());
    let champions: Vec<VariantPlan> = ep
        .variants
        .iter()
        .map(|v| champion_variant(v, v.current_weight.max(0.0)))
        .collect();
    let strategy = spec.rollout.strategy;
    let (stage, config, deployment) = match strategy {
        Strategy::Shadow => {
            let pct = spec
                .rollout
                .shadow
                .as_ref()
                .map_or(0, |s| s.sampling_percent);
            let shadow = candidate_variant(spec, cand, &model, f64::from(pct) / 100.0);
            (
                Stage::Shadow,
                config_plan(spec, champions, vec![shadow], &lineage),
                None,
            )
        }
        Strategy::BlueGreen => {
            let bg = spec.rollout.blue_green.as_ref();
            let native = NativeDeployment {
                bake: bg.and_then(|b| b.bake.parse().ok()).unwrap_or_default(),
                termination_wait: bg
                    .and_then(|b| b.termination_wait.parse().ok())
                    .unwrap_or_default(),
                canary_percent: bg.and_then(|b| b.canary_percent),
                alarms: watched_alarms(spec, &variant),
            };
            let only = vec![candidate_variant(spec, cand, &model, 1.0)];
            (
                Stage::Native,
                config_plan(spec, only, vec![], &lineage),
                Some(native),
            )
        }
        Strategy::Direct if spec.smoke_test.is_none() => {
            let only = vec![candidate_variant(spec, cand, &model, 1.0)];
            (
                Stage::Final,
                config_plan(spec, only, vec![], &lineage),
                None,
            )
        }
        _ => {
            let mut prod = champions;
            prod.push(candidate_variant(spec, cand, &model, 0.0));
            (
                Stage::Added,
                config_plan(spec, prod, vec![], &lineage),
                None,
            )
        }
    };
    m.stage = Some(stage);
    let what = match stage {
        Stage::Shadow => "adding the candidate as a shadow variant",
        Stage::Native => "starting a SageMaker blue/green deployment",
        Stage::Final => "replacing the champion",
        _ => "adding the candidate variant at weight 0",
    };
    switch_config(p, m, config, deployment);
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "Deploying",
        format!("{what} on endpoint {}", ep.name),
    );
}

/// Deregisters autoscaling (an update may remove or resize its variant), creates the config,
/// records the intent in markers, then updates the endpoint.
fn switch_config(
    p: &mut Planner<'_>,
    mut m: Markers,
    config: ConfigPlan,
    deployment: Option<NativeDeployment>,
) {
    for reg in &p.input.observed.scaling {
        p.push(Action::DeregisterScaling {
            variant: reg.variant.clone(),
        });
    }
    m.target_config = Some(config.name.clone());
    m.since = Some(p.now());
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
fn steady(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let config = config_plan(
        spec,
        vec![candidate_variant(spec, cand, &model, 1.0)],
        vec![],
        &lineage,
    );
    if ep.config_name != config.name {
        // Serving settings changed (instance count, data capture): apply them in place.
        let mut m = p.markers.clone();
        m.stage = Some(Stage::Final);
        m.champion_config = Some(ep.config_name.clone());
        m.selector = Some(selector_hash(spec));
        m.candidate = Some(cand.package_arn.clone());
        m.variant = Some(variant_name(spec, &cand.package_arn));
        m.smoke = Some(Smoke::Passed);
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
    cleanup_alarms(p, None);
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

/// Deletes owned alarms except those of `keep_variant`.
fn cleanup_alarms(p: &mut Planner<'_>, keep_variant: Option<&str>) {
    let keep: Vec<String> = keep_variant
        .map(|v| {
            owned_alarms(p.spec(), v)
                .into_iter()
                .map(|a| a.name)
                .collect()
        })
        .unwrap_or_default();
    for name in &p.input.observed.owned.alarms {
        if !keep.contains(name) {
            p.push(Action::DeleteAlarm { name: name.clone() });
        }
    }
}

/// Registers autoscaling on the single serving variant; removes registrations that do not
/// belong (other variants, or autoscaling removed from the spec).
fn ensure_scaling(p: &mut Planner<'_>, ep: Option<&Endpoint>) {
    let Some(ep) = ep.filter(|e| e.variants.len() == 1 && e.shadow_variants.is_empty()) else {
        return;
    };
    let want = scaling_plan(p.spec(), &ep.variants[0].name);
    for reg in &p.input.observed.scaling {
        let matches = want
            .as_ref()
            .is_some_and(|w| w.variant == reg.variant && w.min == reg.min && w.max == reg.max);
        if !matches {
            p.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
    }
    if let Some(w) = want {
        let registered = p
            .input
            .observed
            .scaling
            .iter()
            .any(|r| r.variant == w.variant && r.min == w.min && r.max == w.max);
        if !registered {
            p.push(Action::RegisterScaling(w));
        }
    }
}

fn history(p: &Planner<'_>, outcome: &str, reason: String) -> HistoryEntry {
    HistoryEntry {
        candidate_run_id: p.markers.run_id.clone(),
        model_package_arn: p.markers.candidate.clone().unwrap_or_default(),
        outcome: outcome.to_owned(),
        started_at: p.markers.started.map(|t| t.to_string()),
        finished_at: p.now().to_string(),
        reason,
    }
}

/// Sets terminal markers. `reject_under` makes the candidate ineligible until the spec hash
/// changes.
fn finish_markers(m: &mut Markers, stage: Stage, reject_under: Option<&str>, reason: &str) {
    m.stage = Some(stage);
    m.reason = Some(tag_safe(reason)).filter(|r| !r.is_empty());
    m.paused = false;
    m.step = 0;
    if let Some(hash) = reject_under {
        m.rejected = m.candidate.clone();
        m.rejected_spec = Some(hash.to_owned());
    }
}

/// An in-flight rollout on an InService endpoint.
pub(super) fn advance(p: &mut Planner<'_>, ep: &Endpoint) {
    let stage = p.markers.stage.unwrap_or(Stage::Final);
    if stage == Stage::Rollback {
        return rollback(p, ep);
    }
    if let Some(ending) = superseded(p) {
        return begin_rollback(p, ep, Ending::Superseded, ending, "Superseded");
    }
    // Did the last requested config take effect?
    if p.markers.target_config.as_deref() != Some(ep.config_name.as_str()) {
        let requested_after = p.markers.since.unwrap_or(Timestamp::UNIX_EPOCH);
        if ep.last_modified > requested_after {
            return update_failed(p, ep);
        }
        // The update was never sent (a crash between tagging and updating): send it again.
        return reenter(p, ep, stage);
    }
    let spec = p.spec();
    if spec.rollout.abort {
        return begin_rollback(
            p,
            ep,
            Ending::RolledBack,
            "aborted by rollout.abort".into(),
            "Aborted",
        );
    }
    if p.markers.smoke == Some(Smoke::Failed) {
        return begin_rollback(
            p,
            ep,
            Ending::RolledBack,
            "smoke test failed".into(),
            "SmokeTestFailed",
        );
    }
    let variant = p.markers.variant.clone().unwrap_or_default();
    let watched = watched_alarms(spec, &variant);
    let firing: Vec<String> = watched
        .iter()
        .filter(|n| {
            p.input
                .observed
                .alarm(n)
                .is_some_and(|a| a.state == AlarmState::Alarm)
        })
        .cloned()
        .collect();
    if !firing.is_empty() {
        let why = format!("alarm {} in ALARM", firing.join(", "));
        if spec.analysis.rollback_on == RollbackOn::Alarm {
            return begin_rollback(p, ep, Ending::RolledBack, why, "AlarmFired");
        }
        p.event(
            "AlarmFired",
            format!("{why}; holding for a human (rollbackOn: Manual)"),
            true,
        );
        return hold(
            p,
            "AlarmFired",
            format!(
                "{why}: rollout held (rollbackOn: Manual); set rollout.abort or rollout.promote"
            ),
        );
    }
    let missing: Vec<&String> = spec
        .analysis
        .alarms
        .existing
        .iter()
        .filter(|n| p.input.observed.alarm(n).is_none())
        .collect();
    for alarm in owned_alarms(spec, &variant) {
        if p.input.observed.alarm(&alarm.name).is_none() {
            p.push(Action::EnsureAlarm(alarm));
        }
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        p.next = Next::Idle;
        return p.judge(
            Phase::Paused,
            Health::Stalled,
            "AlarmMissing",
            format!(
                "watched alarm {} does not exist; the rollout holds until it does",
                names.join(", ")
            ),
        );
    }
    if spec.rollout.paused {
        return hold(
            p,
            "Paused",
            "rollout.paused is set; holding at the current step".into(),
        );
    }
    if p.markers.paused {
        // Resuming restarts the current bake so that paused time never counts as baking.
        let mut m = p.markers.clone();
        m.paused = false;
        m.since = Some(p.now());
        p.push(Action::TagEndpoint { tags: m.to_tags() });
        p.markers = m;
        p.event(
            "Resumed",
            "rollout resumed; the current step bakes again from now",
            false,
        );
    }
    match stage {
        Stage::Shadow => shadow_stage(p, ep),
        Stage::Added => added_stage(p, ep),
        Stage::Step => step_stage(p, ep),
        _ => final_stage(p, ep),
    }
}

fn hold(p: &mut Planner<'_>, reason: &'static str, message: String) {
    if !p.markers.paused {
        let mut m = p.markers.clone();
        m.paused = true;
        p.push(Action::TagEndpoint { tags: m.to_tags() });
        p.markers = m;
    }
    p.next = Next::Idle;
    p.judge(Phase::Paused, Health::Paused, reason, message);
}

/// A different candidate (or new serving settings) replaced the in-flight one.
fn superseded(p: &Planner<'_>) -> Option<String> {
    let spec = p.spec();
    let pinned_arn = p.markers.candidate.clone()?;
    let pinned = p.markers.selector.as_deref() == Some(selector_hash(spec).as_str());
    let arn = match &p.input.observed.candidate {
        CandidateLookup::Found(c) if !pinned => c.package_arn.clone(),
        _ => pinned_arn.clone(),
    };
    if arn != pinned_arn {
        return Some(format!("superseded by candidate {arn}"));
    }
    if Some(variant_name(spec, &arn)) != p.markers.variant {
        return Some("superseded by new serving settings".into());
    }
    None
}

/// The endpoint returned to another config after our update: SageMaker rolled it back.
fn update_failed(p: &mut Planner<'_>, ep: &Endpoint) {
    let reason = ep.failure_reason.clone().unwrap_or_else(|| {
        format!(
            "endpoint is InService on {} instead of {}",
            ep.config_name,
            p.markers.target_config.clone().unwrap_or_default()
        )
    });
    let on_champion = p.markers.champion_config.as_deref() == Some(ep.config_name.as_str());
    if !on_champion {
        return p.judge(
            Phase::Failed,
            Health::Stalled,
            "Drift",
            format!(
                "endpoint {} runs config {} which this rollout did not request ({reason}); someone changed it outside the controller",
                ep.name, ep.config_name
            ),
        );
    }
    let native = p.markers.stage == Some(Stage::Native);
    let alarm = native && reason.to_ascii_lowercase().contains("alarm");
    let (stage, outcome, why) = if alarm {
        (
            Stage::RolledBack,
            "RolledBack",
            format!("SageMaker rolled back the blue/green deployment: {reason}"),
        )
    } else {
        (
            Stage::Failed,
            "Failed",
            format!(
                "update failed and SageMaker restored the champion: {reason}. {}",
                hint(&reason, &ep.name)
            ),
        )
    };
    let hash = spec_hash(p.spec());
    let mut m = p.markers.clone();
    finish_markers(&mut m, stage, Some(&hash), &reason);
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    let entry = history(p, outcome, why.clone());
    p.record(entry);
    p.event(
        if alarm { "RolledBack" } else { "RolloutFailed" },
        why.clone(),
        true,
    );
    p.markers = m;
    cleanup_alarms(p, None);
    ensure_scaling(p, Some(ep));
    p.judge(
        if alarm {
            Phase::RolledBack
        } else {
            Phase::Failed
        },
        Health::Stalled,
        if alarm { "RolledBack" } else { "UpdateFailed" },
        format!("{why}. Change the spec to retry"),
    );
}

/// Rebuilds and re-sends the config switch of the current stage.
fn reenter(p: &mut Planner<'_>, ep: &Endpoint, stage: Stage) {
    let Some(cand) = pinned_candidate_info(p) else {
        return p.judge(
            Phase::Pending,
            Health::Progressing,
            "WaitingForCandidate",
            "waiting for the pinned candidate to be resolved",
        );
    };
    match stage {
        Stage::Final => enter_final(p, ep, &cand),
        Stage::Added => enter_added(p, ep, &cand),
        _ => {
            // Shadow and Native are entered from rest: forget the stage and start over.
            let mut m = p.markers.clone();
            m.stage = None;
            p.markers = m;
            let hash = spec_hash(p.spec());
            start(p, Some(ep), &cand, &hash);
        }
    }
}

/// The in-flight candidate as a [`Candidate`] (lineage from the lookup when it matches).
fn pinned_candidate_info(p: &Planner<'_>) -> Option<Candidate> {
    let arn = p.markers.candidate.clone()?;
    match &p.input.observed.candidate {
        CandidateLookup::Found(c) if c.package_arn == arn => Some(c.clone()),
        _ => Some(Candidate {
            package_arn: arn,
            run_id: p.markers.run_id.clone(),
            model_data_url: String::new(),
            lineage: BTreeMap::new(),
            artifact: ArtifactCheck::Unchecked,
            comparison: None,
        }),
    }
}

/// Production variants other than the candidate, with their current weights.
fn others<'e>(ep: &'e Endpoint, candidate_variant: &str) -> Vec<&'e Variant> {
    ep.variants
        .iter()
        .filter(|v| v.name != candidate_variant)
        .collect()
}

/// Relative weights giving the candidate `pct` percent, others keeping their proportions.
fn weights_for(ep: &Endpoint, candidate_variant: &str, pct: i32) -> BTreeMap<String, f64> {
    let rest = others(ep, candidate_variant);
    let total: f64 = rest.iter().map(|v| v.current_weight.max(0.0)).sum();
    let mut w: BTreeMap<String, f64> = rest
        .iter()
        .map(|v| {
            let share = if total > 0.0 {
                v.current_weight.max(0.0) / total
            } else {
                1.0 / rest.len() as f64
            };
            (v.name.clone(), share * f64::from(100 - pct))
        })
        .collect();
    w.insert(candidate_variant.to_owned(), f64::from(pct));
    w
}

fn enter_added(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let variant = p.markers.variant.clone().unwrap_or_default();
    let mut prod: Vec<VariantPlan> = others(ep, &variant)
        .into_iter()
        .map(|v| champion_variant(v, v.current_weight.max(0.0)))
        .collect();
    prod.push(candidate_variant(spec, cand, &model, 0.0));
    let config = config_plan(spec, prod, vec![], &lineage);
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Added);
    m.step = 0;
    p.push(Action::CreateModel(model));
    switch_config(p, m, config, None);
    p.event(
        "VariantAdded",
        format!("adding candidate variant {variant} at weight 0"),
        false,
    );
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "AddingVariant",
        format!("adding candidate variant {variant} at weight 0"),
    );
}

fn enter_final(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let config = config_plan(
        spec,
        vec![candidate_variant(spec, cand, &model, 1.0)],
        vec![],
        &lineage,
    );
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Final);
    p.push(Action::CreateModel(model));
    switch_config(p, m, config, None);
    p.event(
        "Promoting",
        format!(
            "promoting candidate {} to 100 % on {}",
            run_label(cand),
            ep.name
        ),
        false,
    );
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "Promoting",
        "replacing the config with the candidate alone",
    );
}

fn shadow_stage(p: &mut Planner<'_>, ep: &Endpoint) {
    let spec = p.spec();
    let Some(sh) = spec.rollout.shadow.as_ref() else {
        return added_or_final(p, ep);
    };
    let due = p.markers.since.unwrap_or(p.now()) + sh.duration.parse().unwrap_or_default();
    if spec.rollout.promote || (p.now() >= due && sh.then != ShadowThen::Hold) {
        return added_or_final(p, ep);
    }
    let message = if p.now() >= due {
        "shadow period over; holding in shadow (then: Hold) until rollout.promote is set".to_owned()
    } else {
        format!(
            "shadowing {} % of requests until {due}",
            sh.sampling_percent
        )
    };
    p.next = if p.now() >= due {
        Next::Idle
    } else {
        Next::At(due)
    };
    p.judge(
        Phase::Progressing,
        Health::Progressing,
        "Shadowing",
        message,
    );
}

fn added_or_final(p: &mut Planner<'_>, ep: &Endpoint) {
    match pinned_candidate_info(p) {
        Some(c) => enter_added(p, ep, &c),
        None => p.judge(
            Phase::Pending,
            Health::Progressing,
            "WaitingForCandidate",
            "no pinned candidate",
        ),
    }
}

fn added_stage(p: &mut Planner<'_>, ep: &Endpoint) {
    let spec = p.spec();
    let variant = p.markers.variant.clone().unwrap_or_default();
    if spec.smoke_test.is_some() && p.markers.smoke != Some(Smoke::Passed) {
        p.push(Action::RunSmokeTest {
            variant: variant.clone(),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "SmokeTesting",
            format!("smoke-testing variant {variant} at weight 0 before any traffic moves"),
        );
    }
    let steps = schedule(&spec.rollout);
    if spec.rollout.promote || steps.is_empty() {
        let Some(c) = pinned_candidate_info(p) else {
            return;
        };
        return enter_final(p, ep, &c);
    }
    go_to_step(p, ep, 1, steps[0].weight);
}

fn go_to_step(p: &mut Planner<'_>, ep: &Endpoint, step: u32, weight: i32) {
    let variant = p.markers.variant.clone().unwrap_or_default();
    let total = schedule(&p.spec().rollout).len();
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Step);
    m.step = step;
    m.since = Some(p.now());
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    p.push(Action::UpdateWeights {
        weights: weights_for(ep, &variant, weight),
    });
    p.markers = m;
    p.next = Next::Poll;
    p.event(
        "StepAdvanced",
        format!("step {step}/{total}: candidate at {weight} %"),
        false,
    );
    p.judge(
        Phase::Progressing,
        Health::Progressing,
        "StepAdvanced",
        format!("moving to step {step}/{total}: candidate at {weight} %"),
    );
}

fn step_stage(p: &mut Planner<'_>, ep: &Endpoint) {
    let spec = p.spec();
    let steps = schedule(&spec.rollout);
    let i = p.markers.step.max(1) as usize;
    if spec.rollout.promote || i > steps.len() {
        let Some(c) = pinned_candidate_info(p) else {
            return;
        };
        return enter_final(p, ep, &c);
    }
    let step = &steps[i - 1];
    let variant = p.markers.variant.clone().unwrap_or_default();
    let current = ep.percent_weights().get(&variant).copied().unwrap_or(0);
    if current != step.weight {
        // The spec's weights changed mid-rollout: apply the new weight, keep the bake clock.
        p.push(Action::UpdateWeights {
            weights: weights_for(ep, &variant, step.weight),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "Reweighting",
            format!(
                "step {i}/{}: setting candidate weight to {} % (was {current} %)",
                steps.len(),
                step.weight
            ),
        );
    }
    let due = p.markers.since.unwrap_or(p.now()) + step.bake;
    if p.now() < due {
        p.next = Next::At(due);
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "Baking",
            format!(
                "step {i}/{}: candidate at {} %, baking until {due}",
                steps.len(),
                step.weight
            ),
        );
    }
    match steps.get(i) {
        Some(next) => go_to_step(p, ep, i as u32 + 1, next.weight),
        None => {
            let Some(c) = pinned_candidate_info(p) else {
                return;
            };
            enter_final(p, ep, &c)
        }
    }
}

fn final_stage(p: &mut Planner<'_>, ep: &Endpoint) {
    let spec = p.spec();
    let variant = p.markers.variant.clone().unwrap_or_default();
    if spec.smoke_test.is_some() && p.markers.smoke != Some(Smoke::Passed) {
        p.push(Action::RunSmokeTest {
            variant: variant.clone(),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "SmokeTesting",
            format!("smoke-testing variant {variant}"),
        );
    }
    let mut m = p.markers.clone();
    finish_markers(&mut m, Stage::Done, None, "");
    let mut tags = m.to_tags();
    if let Some(c) = pinned_candidate_info(p) {
        tags.extend(lineage_tags(spec, p.input.owner, &c));
    }
    p.push(Action::TagEndpoint { tags });
    let label = p
        .markers
        .run_id
        .clone()
        .or(p.markers.candidate.clone())
        .unwrap_or_default();
    let entry = history(
        p,
        "Succeeded",
        format!("candidate serves 100 % of {}", ep.name),
    );
    p.record(entry);
    p.event(
        "RolloutSucceeded",
        format!("candidate {label} serves 100 % of {}", ep.name),
        false,
    );
    p.markers = m;
    cleanup_alarms(p, None);
    ensure_scaling(p, Some(ep));
    p.judge(
        Phase::Succeeded,
        Health::Ready,
        "Serving",
        format!("candidate {label} serves 100 % of endpoint {}", ep.name),
    );
}

/// Starts returning to the champion.
fn begin_rollback(
    p: &mut Planner<'_>,
    ep: &Endpoint,
    ending: Ending,
    why: String,
    reason: &'static str,
) {
    if p.markers.champion_config.is_none() {
        // First deployment: nothing to return to.
        let hash = spec_hash(p.spec());
        let mut m = p.markers.clone();
        let reject = (ending == Ending::RolledBack).then_some(hash.as_str());
        let why = format!("{why}; no champion to roll back to");
        finish_markers(&mut m, Stage::Failed, reject, &why);
        p.push(Action::TagEndpoint { tags: m.to_tags() });
        let entry = history(p, "Failed", why.clone());
        p.record(entry);
        p.event(reason, why.clone(), true);
        p.markers = m;
        return p.judge(
            Phase::Failed,
            Health::Stalled,
            reason,
            format!("{why}. Change the spec to retry"),
        );
    }
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Rollback);
    m.ending = Some(ending);
    m.reason = Some(tag_safe(&why));
    m.since = Some(p.now());
    m.paused = false;
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    p.markers = m;
    p.event(
        reason,
        format!("rolling back to the champion: {why}"),
        ending == Ending::RolledBack,
    );
    rollback(p, ep);
}

/// Champion back to 100 % in place first (fast), then the champion-only config.
fn rollback(p: &mut Planner<'_>, ep: &Endpoint) {
    let champion_config = p.markers.champion_config.clone().unwrap_or_default();
    let why = p.markers.reason.clone().unwrap_or_default();
    let ending = p.markers.ending.unwrap_or(Ending::RolledBack);
    if ep.config_name == champion_config {
        let hash = spec_hash(p.spec());
        let mut m = p.markers.clone();
        let (outcome, event) = match ending {
            Ending::RolledBack => {
                finish_markers(&mut m, Stage::RolledBack, Some(&hash), &why);
                ("RolledBack", "RolledBack")
            }
            Ending::Superseded => {
                finish_markers(&mut m, Stage::Done, None, &why);
                m.candidate = None;
                m.selector = None;
                m.variant = None;
                ("Superseded", "Superseded")
            }
        };
        m.ending = None;
        p.push(Action::TagEndpoint { tags: m.to_tags() });
        let entry = history(p, outcome, why.clone());
        p.record(entry);
        p.event(
            event,
            format!("champion serves again ({why})"),
            ending == Ending::RolledBack,
        );
        p.markers = m;
        cleanup_alarms(p, None);
        ensure_scaling(p, Some(ep));
        p.next = Next::Poll;
        return if ending == Ending::RolledBack {
            p.judge(
                Phase::RolledBack,
                Health::Stalled,
                "RolledBack",
                format!("rolled back: {why}; the champion serves. Change the spec to retry"),
            )
        } else {
            p.judge(
                Phase::Pending,
                Health::Progressing,
                "Superseded",
                format!("previous candidate withdrawn ({why}); starting the new one"),
            )
        };
    }
    let variant = p.markers.variant.clone().unwrap_or_default();
    let cand_pct = ep.percent_weights().get(&variant).copied().unwrap_or(0);
    if cand_pct > 0 && !others(ep, &variant).is_empty() {
        p.push(Action::UpdateWeights {
            weights: weights_for(ep, &variant, 0),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::RollingBack,
            Health::Progressing,
            "RollingBack",
            format!("{why}: champion back to 100 % in place"),
        );
    }
    let mut m = p.markers.clone();
    m.target_config = Some(champion_config.clone());
    m.since = Some(p.now());
    for reg in &p.input.observed.scaling {
        p.push(Action::DeregisterScaling {
            variant: reg.variant.clone(),
        });
    }
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    p.push(Action::UpdateEndpoint {
        config_name: champion_config.clone(),
        deployment: None,
    });
    p.markers = m;
    p.next = Next::Poll;
    p.judge(
        Phase::RollingBack,
        Health::Progressing,
        "RollingBack",
        format!("{why}: restoring champion config {champion_config}"),
    );
}
