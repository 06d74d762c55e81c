//! The human gates: `spec.rollout.paused`, and on-call's one-shot requests (promote, abort,
//! retry), each bound to the rollout it names; pause steps.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

#[test]
fn paused_holds_the_current_step_and_resuming_bakes_it_again() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    s.rollout.paused = true;
    let p = w.step(&s);
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert_eq!(condition(&w, "Reconciling").status, "False");
    assert_eq!(
        condition(&w, "Stalled").status,
        "False",
        "a pause asked for in the spec is the state wanted (kstatus Current)"
    );
    w.now += mins(120);
    let p = w.step(&s);
    assert!(p.actions.is_empty());
    assert_eq!(w.markers().step, 1);
    s.rollout.paused = false;
    let resumed_at = w.now;
    let p = w.step(&s);
    assert!(p.events.iter().any(|e| e.reason == "Resumed"));
    assert_eq!(w.markers().since, Some(resumed_at));
    assert_eq!(
        p.next,
        Next::At(resumed_at + mins(10)),
        "the step bakes its full 10 minutes again"
    );
}

#[test]
fn paused_before_start_does_not_touch_the_endpoint() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    s.rollout.paused = true;
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::Paused));
}

#[test]
fn promote_fast_forwards_the_candidate_to_100_percent() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.request(Gate::Promote);
    let p = w.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    w.run(&s, 50);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn abort_rolls_back_now_and_stays_on_the_champion() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 2, 100);
    w.request(Gate::Abort);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert!(last_history(&w).reason.contains("abort"));
    let p = w.step(&s);
    assert!(p.actions.is_empty());
    assert_eq!(p.status.phase, Some(Phase::RolledBack));
}

#[test]
fn retry_rolls_the_aborted_candidate_out_again_and_only_once() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.request(Gate::Abort);
    w.run(&s, 100);
    let ended = w.status.as_ref().unwrap().rollout_id.clone();
    w.request(Gate::Retry);
    let p = w.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    assert_ne!(
        p.status.rollout_id, ended,
        "the retry is a rollout of its own"
    );
    // Aborted again: the retry named the rollout before, so it does not start a third.
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.request(Gate::Abort);
    w.run(&s, 100);
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::RolledBack));
}

#[test]
fn a_promote_for_an_earlier_rollout_does_not_touch_the_next_candidate() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.request(Gate::Promote);
    w.run(&s, 50);
    assert_eq!(w.status.as_ref().unwrap().phase, Some(Phase::Succeeded));
    let newer = for_run(&s, "run-3");
    w.candidate = CandidateLookup::Found(candidate(NEWER_ARN, "run-3"));
    until_stage(&mut w, &newer, Stage::Step, 1, 100);
    let p = w.step(&newer);
    assert_eq!(
        p.status.candidate.and_then(|c| c.weight),
        Some(10),
        "the new candidate bakes its first step"
    );
}

#[test]
fn a_request_with_no_rollout_in_flight_changes_nothing() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.run(&s, 100);
    assert_eq!(w.status.as_ref().unwrap().phase, Some(Phase::Succeeded));
    w.request(Gate::Abort);
    w.request(Gate::Promote);
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::Succeeded));
}

#[test]
fn a_pause_step_holds_at_its_weight_after_its_bake_until_promoted() {
    let mut s = spec(Strategy::Canary);
    s.rollout.canary.as_mut().unwrap().steps[0].pause = true;
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let mut p = w.step(&s);
    for _ in 0..10 {
        if p.status.phase == Some(Phase::Paused) {
            break;
        }
        w.now += mins(30);
        p = w.step(&s);
    }
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert!(
        p.status
            .rollout
            .unwrap()
            .message
            .contains("waiting for approval"),
        "{:?}",
        p.status.conditions
    );
    assert!(p.watch.is_some(), "alarms are watched while it waits");
    assert_eq!(w.markers().step, 1);
    // An alarm still rolls it back.
    w.set_alarm("churn-kpi", AlarmState::Alarm);
    let mut rolled = w.clone();
    rolled.run(&s, 100);
    assert_eq!(serving(&rolled), vec![champion_variant()]);
    // Promoted, it goes on to 100 %.
    w.set_alarm("churn-kpi", AlarmState::Ok);
    w.request(Gate::Promote);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

/// Reconciles until the rollout has succeeded (not to rest: the window's end is due).
fn until_succeeded(w: &mut World, s: &ModelDeploymentSpec) {
    for _ in 0..100 {
        if w.step(s).status.phase == Some(Phase::Succeeded) {
            return;
        }
    }
    panic!("never succeeded: {:?}", w.status);
}

fn with_window(window: &str) -> ModelDeploymentSpec {
    let mut s = spec(Strategy::Canary);
    s.rollout.rollback_window = Some(DurationString::new(window));
    s
}

#[test]
fn undo_within_the_window_returns_the_champion_with_one_update_and_records_it() {
    let s = with_window("1h");
    let mut w = World::with_champion(&s);
    until_succeeded(&mut w, &s);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::Succeeded));
    let champion_config = w.markers().champion_config.expect("kept");
    assert!(
        w.configs.contains_key(&champion_config),
        "the champion's config is kept"
    );
    assert!(st.undo_until.is_some(), "{st:?}");
    w.request(Gate::Undo);
    let p = w.step(&s);
    let updates: Vec<_> = p
        .actions
        .iter()
        .filter(|a| matches!(a, Action::UpdateEndpoint { .. }))
        .collect();
    assert_eq!(updates.len(), 1, "{:?}", p.kinds());
    assert!(
        !p.kinds().contains(&"CreateModel"),
        "not a new rollout: {:?}",
        p.kinds()
    );
    w.run(&s, 50);
    assert_eq!(serving(&w), vec![champion_variant()]);
    let last = last_history(&w);
    assert_eq!(last.outcome, "RolledBack");
    assert!(last.reason.contains("undone"), "{last:?}");
    let p = w.step(&s);
    assert!(
        p.actions.is_empty(),
        "the candidate is not rolled out again: {:?}",
        p.kinds()
    );
    assert_eq!(p.status.phase, Some(Phase::RolledBack));
}

#[test]
fn after_the_window_the_kept_champion_is_deleted_and_undo_does_nothing() {
    let s = with_window("30m");
    let mut w = World::with_champion(&s);
    until_succeeded(&mut w, &s);
    let champion_config = w.markers().champion_config.expect("kept");
    w.now += mins(31);
    let p = w.step(&s);
    assert!(p.kinds().contains(&"CollectGarbage"), "{:?}", p.kinds());
    assert!(!w.configs.contains_key(&champion_config));
    assert_eq!(
        w.models.len(),
        1,
        "only the serving model: {:?}",
        w.models.keys()
    );
    assert_eq!(p.status.undo_until, None);
    w.request(Gate::Undo);
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn without_a_window_the_champion_goes_when_the_rollout_succeeds() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.run(&s, 100);
    assert_eq!(w.configs.len(), 1);
    assert_eq!(w.models.len(), 1);
    assert_eq!(w.status.as_ref().unwrap().undo_until, None);
}

#[test]
fn a_pause_step_without_a_bake_waits_for_promote_as_soon_as_its_weight_is_in_effect() {
    let mut s = spec(Strategy::Canary);
    let step = &mut s.rollout.canary.as_mut().unwrap().steps[0];
    step.bake = None;
    step.pause = true;
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let p = w.step(&s);
    assert_eq!(
        p.status.phase,
        Some(Phase::Paused),
        "{:?}",
        p.status.conditions
    );
    w.now += mins(600);
    assert_eq!(
        w.step(&s).status.phase,
        Some(Phase::Paused),
        "no bake ends it"
    );
    w.request(Gate::Promote);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}
