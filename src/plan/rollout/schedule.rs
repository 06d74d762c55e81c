//! When a rollout may move ([`crate::api::schedule`]): the deployment windows that hold a new
//! rollout or a next step until they open, and the progress deadline that rolls back (or
//! holds) a rollout stuck in a stage for longer than the stage is planned to take plus the
//! deadline. A human's decision beats both: a promote goes ahead outside a window, and a
//! hold for a human (paused, a pause step, a manual-rollback hold) is not "no progress".

use jiff::{SignedDuration, Timestamp};

use super::super::markers::Stage;
use super::super::{Next, Planner, later};
use crate::api::conditions::Health;
use crate::api::{DeadlineAction, Gate, Phase, ShadowThen};

/// When the spec's windows next open, if they are closed now (`Some(None)`: none opens within
/// about a year).
pub(super) fn window_closed(p: &Planner<'_>) -> Option<Option<Timestamp>> {
    let w = p.spec().rollout.windows.as_ref()?;
    if p.requested(Gate::Promote) || w.open_at(p.now()) {
        return None;
    }
    Some(w.next_open(p.now()))
}

/// Says that `what` waits for the window opening at `opens`, and looks again then.
pub(super) fn wait_for_window(p: &mut Planner<'_>, opens: Option<Timestamp>, what: &str) {
    let zone = (p.spec().rollout.windows.as_ref()).map_or("UTC", |w| w.zone());
    let when = opens.map_or_else(
        || "no window opens within a year: check spec.rollout.windows".to_owned(),
        |t| format!("the next opens at {t}"),
    );
    p.next = opens.map_or(Next::Idle, Next::At);
    p.judge(
        Phase::Paused,
        Health::Paused,
        "OutsideWindow",
        format!("outside the deployment windows ({zone}): {what}; {when}"),
    );
}

/// How long the current stage of the rollout in flight is planned to take, or None when it
/// waits for a human or SageMaker drives it (a blue/green deployment, a rollback).
fn planned(p: &Planner<'_>) -> Option<SignedDuration> {
    let r = &p.spec().rollout;
    match p.markers.stage? {
        Stage::Step => {
            let i = p.markers.step.max(1) as usize;
            let step = r.steps.get(i - 1)?;
            (!step.pause).then_some(step.bake)
        }
        Stage::Shadow => {
            let sh = r.shadow.as_ref()?;
            (sh.then != ShadowThen::Hold).then_some(sh.duration)
        }
        Stage::Added | Stage::Final => Some(SignedDuration::ZERO),
        _ => None,
    }
}

/// Why the rollout in flight missed its progress deadline, if it did.
pub(super) fn overdue(p: &Planner<'_>) -> Option<String> {
    let deadline = p.spec().rollout.deadline.as_ref()?;
    if p.markers.paused || p.requested(Gate::Promote) {
        return None;
    }
    let planned = planned(p)?;
    let m = &p.markers;
    let clock = m.since.or(m.requested).or(m.started)?;
    let due = later(later(clock, planned), deadline.after);
    (p.now() > due).then(|| {
        let stage = match m.stage {
            Some(Stage::Step) => format!("step {}", m.step),
            Some(s) => s.as_str().to_owned(),
            None => String::new(),
        };
        let what = if m.since.is_none() {
            "the change SageMaker was asked for has not taken effect"
        } else {
            "it has not moved on"
        };
        format!(
            "progress deadline missed: {what} at {stage} since {clock}: {} past the plan of the stage",
            humantime::format_duration(
                std::time::Duration::try_from(deadline.after).unwrap_or_default()
            )
        )
    })
}

/// The deadline's action is a hold: Stalled, for a human to promote or abort.
pub(super) fn holds_on_deadline(p: &Planner<'_>) -> bool {
    p.spec()
        .rollout
        .deadline
        .as_ref()
        .is_some_and(|d| d.action == DeadlineAction::Hold)
}

/// A rollout in flight whose next step waits for a window: the hold is written to the
/// markers, so that the step bakes again from the opening (as after a pause), and the
/// progress deadline does not count the wait.
pub(super) fn hold_for_window(p: &mut Planner<'_>, opens: Option<Timestamp>, what: &str) {
    if !p.markers.paused {
        p.write_markers(|m| m.paused = true);
    }
    wait_for_window(p, opens, what);
}
