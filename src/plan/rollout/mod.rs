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
//! in place, baking) → `final` (candidate-only config) → `done`; BlueGreen and Rolling go straight to
//! `native`; any alarm, a failed smoke test or `abort` leads to `rollback` → `rolledback`.
//! [`common`] holds what the three share and uses none of them (so the stages form no
//! cycle: `advance` may start or roll back, `begin` and `rollback` use only `common`); this
//! module dispatches and waits on a transitioning or Failed endpoint.

use jiff::SignedDuration;

use super::actions::Action;
use super::desired::spec_hash;
use super::markers::Stage;
use super::observed::{Endpoint, EndpointStatus};
use super::{Next, Planner};
use crate::api::conditions::Health;
use crate::api::{Gate, Phase};

/// The reason of a pause step's hold: baked, waiting for on-call to promote.
pub(super) const AWAITING_PROMOTION: &str = "AwaitingPromotion";
/// The reason of a rollout that missed `rollout.progressDeadline`.
pub(super) const DEADLINE_MISSED: &str = "ProgressDeadlineExceeded";

mod advance;
mod begin;
mod common;
mod component;
mod finish;
mod gates;
mod rollback;
mod schedule;
mod undo;

/// A rollout that has been Creating or Updating this long is probably stuck.
const STUCK_AFTER: SignedDuration = SignedDuration::from_mins(45);

pub(super) use advance::advance;
pub(super) use begin::at_rest;
use common::{finish_markers, hint, history};
pub(in crate::plan) use common::{scope, traffic_since};
pub(super) use component::component;
pub(in crate::plan) use undo::undo_until;

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
            match schedule::overdue(p).filter(|_| stage.is_some()) {
                Some(why) => p.judge(
                    phase,
                    Health::Stalled,
                    DEADLINE_MISSED,
                    format!("{why}; {msg}; acting on it once SageMaker is done"),
                ),
                None => p.judge(phase, Health::Progressing, "Waiting", msg),
            }
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
    failed_target(
        p,
        Broken {
            kind: "endpoint",
            name: &ep.name,
            reason,
            hint: Some(hint),
            delete: Action::DeleteEndpoint,
            stalled: "EndpointFailed",
            deleting: "DeletingFailedEndpoint",
            recreating: "RecreatingEndpoint",
        },
    );
}

/// A Failed endpoint or inference component, and the names its verdicts go by.
pub(super) struct Broken<'a> {
    /// `endpoint` or `inference component`.
    pub kind: &'a str,
    pub name: &'a str,
    /// SageMaker's FailureReason.
    pub reason: String,
    /// What to look at, after the reason in the messages.
    pub hint: Option<String>,
    /// The call that deletes it, so that the spec can create it again.
    pub delete: Action,
    /// The Ready reason while this spec already failed it, the Event of deleting it, and the
    /// Ready reason meanwhile.
    pub stalled: &'static str,
    pub deleting: &'static str,
    pub recreating: &'static str,
}

/// A Failed target: recorded once if a rollout drove it; then, unless this spec already failed
/// it (Stalled until the spec changes or on-call retries), deleted so the spec can create it
/// again.
pub(super) fn failed_target(p: &mut Planner<'_>, b: Broken<'_>) {
    let (kind, name, reason) = (b.kind, b.name, &b.reason);
    let hint = b.hint.map(|h| format!(". {h}")).unwrap_or_default();
    let spec_hash = spec_hash(p.spec());
    if p.markers.stage.is_some_and(Stage::in_flight) {
        // It failed while we drove it (a first deployment, or an update): record once.
        let entry = history(p, "Failed", format!("{kind} failed: {reason}{hint}"));
        p.write_markers(|m| finish_markers(m, Stage::Failed, Some(&spec_hash), reason));
        p.record(entry);
        let message = format!("{kind} {name} failed: {reason}");
        p.event("RolloutFailed", message, true);
    }
    if p.markers.rejected_spec.as_deref() == Some(spec_hash.as_str()) && !p.requested(Gate::Retry) {
        let message = format!("{kind} {name} failed: {reason}{hint}. Change the spec to retry");
        p.judge(Phase::Failed, Health::Stalled, b.stalled, message);
    } else {
        p.push(b.delete);
        p.next = Next::Poll;
        let message = format!("deleting failed {kind} {name} to recreate it");
        p.event(b.deleting, message, false);
        let message = format!(
            "{kind} {name} is Failed ({reason}); deleting it so the new spec can recreate it"
        );
        p.judge(Phase::Deploying, Health::Progressing, b.recreating, message);
    }
}
