//! The fast way back after a success (`rollout.rollbackWindow`): the previous champion's
//! endpoint config (and, through it, its model) is kept when the rollout finishes; within the
//! window on-call's `undo` returns traffic to it with one UpdateEndpoint — the rollback
//! machinery then records it (history, audit) and rejects the candidate under the spec, as
//! any rollback does; after the window the kept config and model are deleted as usual.
//!
//! The markers say when the rollout finished (`since`, set at Done) and which config served
//! before it and is kept (`champion_config`, cleared at Done when nothing is kept and once
//! the kept config is deleted).

use jiff::Timestamp;

use super::super::actions::Action;
use super::super::markers::{Ending, Stage};
use super::super::observed::Endpoint;
use super::super::{Next, Planner, later};
use super::common::collect_garbage;
use crate::api::conditions::Health;
use crate::api::{Gate, Phase};
use crate::tags::tag_safe;

/// Why an undo is recorded.
const UNDONE: &str = "undone by on-call (sagemaker-rollout undo)";

/// The kept champion config and until when `undo` may use it, after a success.
fn kept(p: &Planner<'_>) -> Option<(String, Timestamp)> {
    let m = &p.markers;
    if m.stage != Some(Stage::Done) {
        return None;
    }
    let config = m.champion_config.clone()?;
    let until = match (m.since, p.spec().rollout.rollback_window) {
        (Some(done), Some(window)) => later(done, window),
        // No window (any more): it goes now.
        _ => Timestamp::MIN,
    };
    Some((config, until))
}

/// Until when `undo` is possible now, for the status.
pub(in crate::plan) fn undo_until(p: &Planner<'_>) -> Option<Timestamp> {
    kept(p)
        .map(|(_, until)| until)
        .filter(|until| p.now() < *until)
}

/// At rest after a success: starts an undo asked for within the window (true), or deletes the
/// kept champion once the window has passed; else looks again when it ends.
pub(super) fn kept_champion(p: &mut Planner<'_>, ep: &Endpoint) -> bool {
    let Some((config, until)) = kept(p) else {
        return false;
    };
    if p.now() >= until {
        collect_garbage(p, ep, None);
        p.write_markers(|m| m.champion_config = None);
        return false;
    }
    if !p.requested(Gate::Undo) {
        p.next = Next::At(until);
        return false;
    }
    let now = p.now();
    p.write_markers(|m| {
        m.stage = Some(Stage::Rollback);
        m.ending = Some(Ending::RolledBack);
        m.reason = Some(tag_safe(UNDONE));
        m.target_config = Some(config.clone());
        m.requested = Some(now);
        m.since = None;
        m.paused = false;
    });
    // The serving variant goes with the update: its scaling goes first (missing is fine).
    if p.spec().autoscaling.is_some()
        && let Some(v) = ep.variants.first()
    {
        p.push(Action::DeregisterScaling {
            variant: v.name.clone(),
        });
    }
    p.push(Action::UpdateEndpoint {
        config_name: config.clone(),
        deployment: None,
    });
    p.next = Next::Poll;
    p.event(
        "Undoing",
        format!("{UNDONE}: returning traffic to the previous champion (config {config})"),
        true,
    );
    p.judge(
        Phase::RollingBack,
        Health::Progressing,
        "Undoing",
        format!("{UNDONE}: restoring the previous champion's config {config}"),
    );
    true
}
