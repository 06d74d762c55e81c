//! The rollout state machine.
//!
//! - [`begin`]: no rollout in flight — the gates (artifact, champion comparison), starting a
//!   rollout, and keeping a finished endpoint in its steady state;
//! - [`advance`]: a rollout in flight — shadow, candidate added at weight 0 with its smoke
//!   test, weight steps with bakes, the final candidate-only config;
//! - [`rollback`]: going back — failed updates (silent rollbacks) and rollbacks to the
//!   champion.
//!
//! Stages (see [`Stage`]): `shadow` → `added` (weight 0, smoke test) → `step` 1..n (weights
//! in place, baking) → `final` (candidate-only config) → `done`; BlueGreen goes straight to
//! `native`; any alarm, a failed smoke test or `abort` leads to `rollback` → `rolledback`.
//! This module holds what the three share: waiting on a transitioning endpoint, a Failed
//! endpoint, failure hints, alarm and autoscaling upkeep, history entries and end markers.

use jiff::SignedDuration;

use super::actions::Action;
use super::desired::{AlarmScope, scaling_hash, scaling_plan, spec_hash};
use super::markers::{Markers, Stage};
use super::observed::{Candidate, Endpoint, EndpointStatus};
use super::{Next, Planner};
use crate::api::conditions::Health;
use crate::api::{HistoryEntry, Phase};
use crate::tags::tag_safe;

/// A rollout that has been Creating or Updating this long is probably stuck.
const STUCK_AFTER: SignedDuration = SignedDuration::from_mins(45);

mod advance;
mod begin;
mod rollback;

pub(super) use advance::advance;
pub(super) use begin::at_rest;

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

pub(super) fn failed_endpoint(p: &mut Planner<'_>, ep: &Endpoint) {
    let reason = ep
        .failure_reason
        .clone()
        .unwrap_or_else(|| "no FailureReason given".into());
    let hint = hint(&reason, &ep.name);
    let spec_hash = spec_hash(p.spec());
    if p.markers.stage.is_some_and(Stage::in_flight) {
        // The endpoint failed while we drove it (a first deployment): record once.
        let entry = history(p, "Failed", format!("endpoint failed: {reason}. {hint}"));
        p.write_markers(|m| finish_markers(m, Stage::Failed, Some(&spec_hash), &reason));
        p.record(entry);
        p.event(
            "RolloutFailed",
            format!("endpoint {} failed: {reason}", ep.name),
            true,
        );
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
pub(super) fn hint(reason: &str, endpoint: &str) -> String {
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

pub(super) fn run_label(c: &Candidate) -> String {
    c.run_id.clone().unwrap_or_else(|| c.candidate_id.clone())
}

/// Collects what a finished rollout leaves behind — its alarms, and the configs and models
/// of earlier stages — keeping what serves `ep` now. Planned before the finishing markers
/// are written, so a crash in between collects again on the next pass.
pub(super) fn collect_garbage(p: &mut Planner<'_>, ep: &Endpoint) {
    p.push(Action::CollectGarbage {
        keep_configs: vec![ep.config_name.clone()],
        keep_models: ep
            .variants
            .iter()
            .chain(&ep.shadow_variants)
            .map(|v| v.model_name.clone())
            .collect(),
    });
}

/// Since when the candidate has taken traffic in the current stage (a step's weights or the
/// shadow copy in effect); None before any, or while SageMaker runs the deployment.
pub(in crate::plan) fn traffic_since(m: &Markers) -> Option<jiff::Timestamp> {
    match m.stage {
        Some(Stage::Step) if m.step > 0 => m.since,
        Some(Stage::Shadow) => m.since,
        _ => None,
    }
}

/// The alarm scope of the rollout in flight: the candidate's variant, and for a blue/green
/// deployment the new fleet's endpoint config.
pub(in crate::plan) fn scope(m: &Markers) -> AlarmScope<'_> {
    AlarmScope {
        variant: m.variant.as_deref().unwrap_or_default(),
        config: (m.stage == Some(Stage::Native))
            .then_some(m.target_config.as_deref())
            .flatten(),
    }
}

/// Registers autoscaling on the single serving variant — the scalable target and its
/// target-tracking policy, put again when either is missing or differs from the spec — and
/// removes registrations that do not belong (other variants, or autoscaling removed from the
/// spec). What was put in place is remembered as a hash on the endpoint, so a pass at rest
/// reads Application Auto Scaling only when the spec asks for something else.
pub(super) fn ensure_scaling(p: &mut Planner<'_>, ep: Option<&Endpoint>) {
    let Some(ep) = ep.filter(|e| e.variants.len() == 1 && e.shadow_variants.is_empty()) else {
        return;
    };
    let variant = ep.variants[0].name.clone();
    let want = scaling_plan(p.spec(), &variant);
    let hash = scaling_hash(p.spec(), &variant);
    if !p.input.observed.scaling_read {
        // Read only when the hash differs (see `reads_scaling`): nothing to do.
        return;
    }
    for reg in &p.input.observed.scaling {
        if want.as_ref().is_none_or(|w| w.variant != reg.variant) {
            p.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
    }
    if let Some(w) = want
        && !p.input.observed.scaling.iter().any(|r| w.is_registered(r))
    {
        p.push(Action::RegisterScaling(w));
    }
    if p.markers.scaling.as_deref() != Some(hash.as_str()) {
        p.write_markers(|m| m.scaling = Some(hash));
    }
}

pub(super) fn history(p: &Planner<'_>, outcome: &str, reason: String) -> HistoryEntry {
    HistoryEntry {
        started_at: p.markers.started.map(|t| t.to_string()),
        finished_at: p.now().to_string(),
        ..HistoryEntry::of(
            p.markers.candidate.as_deref().unwrap_or_default(),
            p.markers.run_id.clone(),
            outcome,
            reason,
        )
    }
}

/// Sets terminal markers. `reject_under` makes the candidate ineligible until the spec hash
/// changes.
pub(super) fn finish_markers(
    m: &mut Markers,
    stage: Stage,
    reject_under: Option<&str>,
    reason: &str,
) {
    m.stage = Some(stage);
    m.reason = Some(tag_safe(reason)).filter(|r| !r.is_empty());
    m.paused = false;
    m.step = 0;
    if let Some(hash) = reject_under {
        m.rejected = m.candidate.clone();
        m.rejected_spec = Some(hash.to_owned());
    }
}
