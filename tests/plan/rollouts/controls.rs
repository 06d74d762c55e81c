//! The human gates of `spec.rollout`: pause, promote, abort.

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
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    s.rollout.promote = true;
    let p = w.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    w.run(&s, 50);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn abort_rolls_back_now_and_stays_on_the_champion() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 2, 100);
    s.rollout.abort = true;
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert!(last_history(&w).reason.contains("abort"));
    let p = w.step(&s);
    assert!(p.actions.is_empty());
}
