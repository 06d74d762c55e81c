//! A rollout to an inference component (`spec.serving.inferenceComponent`) on an endpoint this
//! resource does not own: the component is created once, then updated in place — the
//! candidate's model replacing the champion's, all at once (Direct) or in batches of copies
//! that SageMaker bakes against the alarms and rolls back on one (Rolling, SM-80). The
//! markers live on the component's tags; the endpoint is only read (never updated, never
//! deleted).
//!
//! Stages: `final` (creating the component) and `native` (an update SageMaker carries out),
//! then `done`, or `rolledback` when SageMaker restored the champion's model — which it
//! reports only by the model the component runs (no RollingBack status) — or `failed`.

use std::collections::BTreeMap;

use super::super::actions::{Action, ComponentPlan, NativeDeployment};
use super::super::desired::{
    AlarmScope, content_hash, lineage_tags, model_plan, native_alarms, owned_alarms, spec_hash,
};
use super::super::markers::{Markers, Stage};
use super::super::observed::{Candidate, Component, ComponentStatus, Compute, EndpointStatus};
use super::super::{Next, Planner};
use super::common::{finish_markers, history, run_label};
use crate::api::conditions::Health;
use crate::api::{Gate, InferenceComponentSpec, Phase, Strategy};
use crate::tags;

/// The component the spec targets, as it should be with `model`.
fn desired(p: &Planner<'_>, ic: &InferenceComponentSpec, model: &str) -> ComponentPlan {
    ComponentPlan {
        name: ic.name.clone(),
        endpoint: p.spec().endpoint_name.clone(),
        variant: ic.variant.clone(),
        model_name: model.to_owned(),
        // SageMaker keeps cores and accelerators as 32-bit floats: compared as it reads them
        // back, a value such as 0.3 is not a change on every pass.
        compute: Compute::from(&ic.compute).as_stored(),
        copies: ic.copies,
    }
}

/// What a component serves, as one short hash: its model and each copy's compute (a change of
/// either is a rollout, judged by what the component runs afterwards).
fn serving_hash(model: Option<&str>, compute: Option<&Compute>) -> String {
    content_hash(&(model, compute.map(|c| format!("{c:?}"))), 10)
}

/// A rollout to (or the steady state of) the inference component.
pub(in crate::plan) fn component(p: &mut Planner<'_>) {
    let Some(ic) = p.spec().serving.component.clone() else {
        return;
    };
    let Some(host) = p.endpoint() else {
        p.next = Next::Idle;
        return p.judge(
            Phase::Pending,
            Health::Stalled,
            "EndpointNotFound",
            format!(
                "endpoint {} does not exist: an inference component is placed on an existing endpoint whose variant has instances and no model (created by the platform team)",
                p.spec().endpoint_name
            ),
        );
    };
    let observed = p.input.observed.component.clone();
    if let Some(c) = &observed {
        if let Some(why) = foreign(p, c) {
            return p.judge(Phase::Failed, Health::Stalled, "Conflict", why);
        }
        if !p.claim(&format!("inference component {}", c.name), &c.tags) {
            return;
        }
        if c.status.is_transitional() {
            return wait(p, c);
        }
        if c.status == ComponentStatus::Failed {
            return failed(p, c);
        }
        if p.markers.stage.is_some_and(Stage::in_flight) {
            return settle(p, c);
        }
    }
    if host.status != EndpointStatus::InService {
        p.next = Next::Poll;
        return p.judge(
            Phase::Pending,
            Health::Progressing,
            "Waiting",
            format!(
                "endpoint {} is {}; waiting for it to be InService",
                host.name,
                host.status.as_str()
            ),
        );
    }
    let serving = observed
        .as_ref()
        .map(|c| format!("inference component {}", c.name));
    let Some(cand) = super::begin::chosen(p, serving) else {
        return;
    };
    if super::begin::rejected(p, &cand) {
        if let Some(c) = &observed {
            super::common::ensure_scaling_of(p, &c.name);
        }
        return;
    }
    let lineage = lineage_tags(p.spec(), p.input.owner, &cand);
    let model = model_plan(p.spec(), &cand, &lineage);
    let want = desired(p, &ic, &model.name);
    if let Some(c) = &observed
        && c.model_name.as_deref() == Some(model.name.as_str())
        && c.compute.as_ref() == Some(&want.compute)
    {
        return steady(p, c, &want);
    }
    if !super::begin::may_start(p, &cand) {
        return;
    }
    start(p, observed.as_ref(), &cand, model, want, lineage);
}

/// Why a component of this name is not ours to drive whatever its markers say: it sits on
/// another endpoint, or carries another namespace's tag (markers are ordinary tags; a tenant
/// could forge them on a component of its own, which IAM keeps it from writing to anyway).
fn foreign(p: &Planner<'_>, c: &Component) -> Option<String> {
    if c.endpoint != p.spec().endpoint_name {
        return Some(format!(
            "inference component {} is on endpoint {}, not {}: component names are unique in the account and region; choose another name",
            c.name,
            c.endpoint,
            p.spec().endpoint_name
        ));
    }
    // `p.markers` are the component's: the planner reads them from its tags.
    let ns = tags::tag_safe(tags::namespace_of(p.input.owner));
    let marked = p.markers.owner.is_some();
    (marked && c.tags.get(tags::NAMESPACE_KEY) != Some(&ns)).then(|| {
        format!(
            "inference component {} carries progress markers but not this namespace's {} tag: it is not this resource's",
            c.name,
            tags::NAMESPACE_KEY
        )
    })
}

/// Starts the rollout of `cand`: creates the component, or updates it in place.
fn start(
    p: &mut Planner<'_>,
    current: Option<&Component>,
    cand: &Candidate,
    model: super::super::actions::ModelPlan,
    mut want: ComponentPlan,
    lineage: BTreeMap<String, String>,
) {
    let spec = p.spec();
    // Autoscaling owns the copy count: an update keeps the copies it set.
    if let Some(c) = current.filter(|c| spec.autoscaling.is_some() && c.desired_copies > 0) {
        want.copies = c.desired_copies;
    }
    let mut m = Markers {
        variant: Some(want.name.clone()),
        settings: Some(serving_hash(Some(&want.model_name), Some(&want.compute))),
        champion_config: current.map(|c| serving_hash(c.model_name.as_deref(), c.compute.as_ref())),
        target_config: Some(want.model_name.clone()),
        requested: Some(p.now()),
        scaling: p.markers.scaling.clone(),
        ..super::begin::starting(p, cand)
    };
    let scope = AlarmScope::variant(&want.name);
    p.event(
        "RolloutStarted",
        format!(
            "rolling out candidate {} ({:?}) to inference component {}",
            run_label(cand),
            spec.rollout.strategy,
            want.name
        ),
        false,
    );
    p.push(Action::CreateModel(model));
    let Some(_) = current else {
        m.stage = Some(Stage::Final);
        let mut tags = lineage;
        tags.extend(m.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
        let name = want.name.clone();
        p.push(Action::CreateInferenceComponent {
            component: want,
            tags,
        });
        p.markers = m;
        p.next = Next::Poll;
        let message = format!(
            "creating inference component {name} on endpoint {} with candidate {}",
            spec.endpoint_name,
            run_label(cand)
        );
        return p.judge(
            Phase::Deploying,
            Health::Progressing,
            "CreatingComponent",
            message,
        );
    };
    // SageMaker watches the alarms of a rolling update itself and rolls back on one.
    let deployment = (spec.rollout.strategy == Strategy::Rolling).then(|| {
        for alarm in owned_alarms(spec, scope) {
            p.push(Action::EnsureAlarm(alarm));
        }
        let r = spec.rollout.rolling.as_ref();
        NativeDeployment {
            bake: r.map(|r| r.bake).unwrap_or_default(),
            policy: super::begin::native_policy(spec).1,
            instance_count: want.copies,
            alarms: native_alarms(spec, scope),
        }
    });
    m.stage = Some(Stage::Native);
    p.push(Action::TagEndpoint { tags: m.to_tags() });
    let how = if deployment.is_some() {
        "in batches of copies"
    } else {
        "all at once"
    };
    let message = format!(
        "updating inference component {} to candidate {} {how}",
        want.name,
        run_label(cand)
    );
    p.push(Action::UpdateInferenceComponent {
        component: want,
        deployment,
    });
    p.markers = m;
    p.next = Next::Poll;
    p.judge(Phase::Deploying, Health::Progressing, "Deploying", message);
}

/// SageMaker is creating, updating or deleting the component: wait.
fn wait(p: &mut Planner<'_>, c: &Component) {
    p.next = Next::Poll;
    // The proof that SageMaker took the update: a rollback is judged only after it.
    if p.markers.stage == Some(Stage::Native)
        && c.status == ComponentStatus::Updating
        && p.markers.since.is_none()
    {
        let now = p.now();
        p.write_markers(|m| m.since = Some(now));
    }
    let phase = match p.markers.stage {
        Some(Stage::Native | Stage::Final) => Phase::Deploying,
        _ => Phase::Pending,
    };
    let message = format!(
        "inference component {} is {} ({} of {} copies placed); waiting (no update is sent meanwhile)",
        c.name,
        c.status.as_str(),
        c.current_copies,
        c.desired_copies
    );
    // On-call's promote and abort cannot act: SageMaker carries the update out (no call stops
    // it) and rolls it back on the watched alarms; say so instead of leaving them unanswered.
    let asked = [Gate::Promote, Gate::Abort]
        .into_iter()
        .find(|g| p.requested(*g));
    let message = match asked {
        Some(g) => format!(
            "{message}; {g:?} does not apply to an inference component: SageMaker carries out its update and rolls it back on the watched alarms (set one to ALARM to roll back)"
        ),
        None => message,
    };
    p.judge(phase, Health::Progressing, "Waiting", message);
}

/// The update SageMaker carried out is over: the candidate serves (done), or the champion's
/// model and compute are back — SageMaker rolled back, which it reports only that way (no
/// RollingBack status, SM-80), so it counts only once the update was seen under way — or
/// neither (someone changed it, or the update never took effect).
fn settle(p: &mut Planner<'_>, c: &Component) {
    let serving = c.model_name.clone().unwrap_or_default();
    let now = serving_hash(c.model_name.as_deref(), c.compute.as_ref());
    let hash = spec_hash(p.spec());
    let reason = c.failure_reason.clone().unwrap_or_default();
    let seen_updating = p.markers.since.is_some();
    let (outcome, stage, reject, message) = if Some(&now) == p.markers.settings.as_ref() {
        let message = format!("candidate serves on inference component {}", c.name);
        ("Succeeded", Stage::Done, None, message)
    } else if Some(&now) == p.markers.champion_config.as_ref() && seen_updating {
        let why = if reason.is_empty() {
            "SageMaker restored the previous model".to_owned()
        } else {
            reason.clone()
        };
        ("RolledBack", Stage::RolledBack, Some(hash.as_str()), why)
    } else if Some(&now) == p.markers.champion_config.as_ref() {
        let why = format!(
            "UpdateInferenceComponent never took effect on {} (refused, or interrupted before it was sent); run sagemaker-rollout retry or change the spec",
            c.name
        );
        ("Failed", Stage::Failed, Some(hash.as_str()), why)
    } else {
        let why = format!(
            "inference component {} runs model {serving} with a compute neither the candidate's nor the champion's",
            c.name
        );
        ("Failed", Stage::Failed, Some(hash.as_str()), why)
    };
    let entry = history(p, outcome, message.clone());
    p.write_markers(|m| {
        finish_markers(m, stage, reject, &message);
        // Nothing is kept for `undo` (refused for components): no champion to return to.
        m.champion_config = None;
    });
    p.record(entry);
    // The rollout's alarms go with it; models other than the one serving go too.
    p.push(Action::CollectGarbage {
        keep_configs: Vec::new(),
        keep_models: vec![serving],
    });
    let (event, warning, phase, health, why) = match stage {
        Stage::Done => (
            "RolloutSucceeded",
            false,
            Phase::Succeeded,
            Health::Ready,
            "Succeeded",
        ),
        Stage::RolledBack => (
            "RolledBack",
            true,
            Phase::RolledBack,
            Health::Stalled,
            "RolledBack",
        ),
        _ => (
            "RolloutFailed",
            true,
            Phase::Failed,
            Health::Stalled,
            "RolloutFailed",
        ),
    };
    p.event(event, message.clone(), warning);
    p.next = Next::Poll;
    p.judge(phase, health, why, message);
}

/// A Failed component, as a Failed endpoint: recorded once, then deleted and created again
/// unless this spec already failed it.
fn failed(p: &mut Planner<'_>, c: &Component) {
    let reason = c
        .failure_reason
        .clone()
        .unwrap_or_else(|| "no FailureReason given".into());
    let delete = Action::DeleteInferenceComponent {
        name: c.name.clone(),
    };
    let broken = super::Broken {
        kind: "inference component",
        name: &c.name,
        reason,
        hint: None,
        delete,
        stalled: "ComponentFailed",
        deleting: "DeletingFailedComponent",
        recreating: "RecreatingComponent",
    };
    super::failed_target(p, broken);
}

/// The candidate serves: keep the copy count (or its autoscaling) as the spec says.
fn steady(p: &mut Planner<'_>, c: &Component, want: &ComponentPlan) {
    if p.spec().autoscaling.is_none() && c.desired_copies != want.copies {
        p.push(Action::SetComponentCopies {
            name: c.name.clone(),
            copies: want.copies,
        });
        p.next = Next::Poll;
        let message = format!(
            "setting inference component {} to {} copies (from {})",
            c.name, want.copies, c.desired_copies
        );
        return p.judge(Phase::Deploying, Health::Progressing, "Scaling", message);
    }
    super::common::ensure_scaling_of(p, &c.name);
    let message = format!(
        "candidate serves on inference component {} ({} copies)",
        c.name, c.current_copies
    );
    p.judge(Phase::Succeeded, Health::Ready, "Succeeded", message);
}
