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
    let mut newer = s.clone();
    newer.candidate.match_tags = Some(
        [("candidate_run_id".to_owned(), "run-3".to_owned())]
            .into_iter()
            .collect(),
    );
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
