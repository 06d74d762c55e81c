//! When a rollout may move: the progress deadline (roll back or hold a rollout stuck past
//! its stage's plan, never counting a human's hold) and the deployment windows (a new
//! rollout and each next step start only inside them; a promote goes ahead anyway).

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::verdicts::{at_step, counts, reason, with_rate_rule};
use super::*;
use crate::support::*;

fn deadline(s: &mut ModelDeploymentSpec, after: &str, action: DeadlineAction) {
    s.rollout.progress_deadline = Some(ProgressDeadline {
        after: DurationString::new(after),
        action,
    });
}

fn windows(s: &mut ModelDeploymentSpec, yaml: &str) {
    s.rollout.windows = Some(serde_saphyr::from_str(yaml).expect("windows"));
}

/// Evidence that never settles: the step's comparison stays open.
fn open() -> Option<Readings> {
    counts((200.0, 4.0), (1800.0, 18.0))
}

#[test]
fn a_step_whose_analysis_stays_open_past_bake_and_deadline_is_rolled_back_with_the_reason() {
    let mut s = with_rate_rule(OnInconclusive::Hold);
    deadline(&mut s, "30m", DeadlineAction::RollBack);
    // Step 1 bakes 10 minutes: the deadline is 40 minutes after the step took effect.
    let (_, p) = at_step(&s, 39, open());
    assert_eq!(reason(&p), "ComparisonInconclusive");
    let (mut w, p) = at_step(&s, 41, open());
    assert_eq!(reason(&p), "RollingBack");
    assert!(
        p.status.conditions[0]
            .message
            .contains("progress deadline missed"),
        "{:?}",
        p.status.conditions
    );
    assert!(
        p.events
            .iter()
            .any(|e| e.reason == "ProgressDeadlineExceeded"),
        "{:?}",
        p.events
    );
    w.step(&s);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert!(
        last_history(&w).reason.contains("progress deadline missed"),
        "{:?}",
        last_history(&w)
    );
}

#[test]
fn a_deadline_hold_waits_for_a_human_and_a_promote_goes_on() {
    let mut s = with_rate_rule(OnInconclusive::Hold);
    deadline(&mut s, "30m", DeadlineAction::Hold);
    let (mut w, p) = at_step(&s, 41, open());
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert_eq!(reason(&p), "ProgressDeadlineExceeded");
    assert!(
        p.actions.is_empty(),
        "a hold changes nothing: {:?}",
        p.kinds()
    );
    assert!(p.watch.is_some(), "the alarms are watched while it holds");
    w.step(&s);
    w.now += mins(120);
    let p = w.step(&s);
    assert_eq!(reason(&p), "ProgressDeadlineExceeded", "still held");
    w.request(Gate::Promote);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn time_held_by_a_human_pause_does_not_count_toward_the_deadline() {
    let mut s = spec(Strategy::Canary);
    deadline(&mut s, "15m", DeadlineAction::RollBack);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let mut paused = s.clone();
    paused.rollout.paused = true;
    w.step(&paused);
    w.now += mins(180);
    w.step(&paused);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()], "{:?}", w.status);
    assert_eq!(last_history(&w).outcome, "Succeeded");
}

#[test]
fn a_new_candidate_outside_the_windows_waits_for_the_next_one_and_then_starts() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    // Friday 2026-11-20 10:00 UTC; rollouts only Monday to Thursday, 09:00 to 16:00.
    w.now = t0();
    windows(
        &mut s,
        "allow:\n  - {days: [Mon, Tue, Wed, Thu], start: \"09:00\", end: \"16:00\"}\n",
    );
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert_eq!(reason(&p), "OutsideWindow");
    let monday: jiff::Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
    assert_eq!(p.next, Next::At(monday));
    w.now = monday;
    let p = w.step(&s);
    assert!(
        !p.actions.is_empty(),
        "the rollout starts when the window opens"
    );
}

#[test]
fn a_step_that_baked_outside_the_windows_holds_and_bakes_again_once_they_open() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.now = t0();
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.step(&s); // the pass that sees the weights in effect starts the bake
    // Open every day until 10:30 UTC: step 1 (from about 10:00) bakes until after that.
    windows(&mut s, "allow:\n  - {start: \"00:00\", end: \"10:30\"}\n");
    w.now = "2026-11-20T11:00:00Z".parse().unwrap();
    let p = w.step(&s);
    assert_eq!(reason(&p), "OutsideWindow", "{:?}", p.status.conditions);
    assert_eq!(w.markers().step, 1);
    assert!(p.watch.is_some(), "the alarms are watched while it waits");
    assert_eq!(p.next, Next::At("2026-11-21T00:00:00Z".parse().unwrap()));
    w.now = "2026-11-20T18:00:00Z".parse().unwrap();
    let p = w.step(&s);
    assert_eq!(reason(&p), "OutsideWindow");
    assert!(
        !p.events.iter().any(|e| e.reason == "Resumed"),
        "no resume while the window is shut"
    );
    w.now = "2026-11-21T00:00:00Z".parse().unwrap();
    let p = w.step(&s);
    assert!(
        p.events.iter().any(|e| e.reason == "Resumed"),
        "{:?}",
        p.events
    );
    assert_eq!(w.markers().step, 1, "step 1 bakes again first");
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn a_freeze_blocks_even_inside_the_allowed_times_but_a_promote_goes_ahead() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.now = t0();
    windows(
        &mut s,
        "timeZone: Europe/Berlin\nblock:\n  - {fromDate: \"2026-11-20\", toDate: \"2026-11-22\"}\n",
    );
    let p = w.step(&s);
    assert_eq!(reason(&p), "OutsideWindow");
    // Midnight of the 23rd in Berlin is 23:00 UTC on the 22nd.
    assert_eq!(p.next, Next::At("2026-11-22T23:00:00Z".parse().unwrap()));
    w.now = "2026-11-22T23:00:00Z".parse().unwrap();
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.step(&s);
    // A freeze again mid-rollout: the next step waits, unless on-call promotes.
    let mut frozen = s.clone();
    windows(
        &mut frozen,
        "block:\n  - {fromDate: \"2026-11-22\", toDate: \"2026-11-30\"}\n",
    );
    w.now += mins(30);
    let p = w.step(&frozen);
    assert_eq!(reason(&p), "OutsideWindow");
    w.request(Gate::Promote);
    w.run(&frozen, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}
