//! Candidate against champion at a step: each verdict of the sequential error-rate test and
//! what it does — Fail rolls back at once, Inconclusive bakes on, and at the bake's end an
//! open comparison follows `analysis.onInconclusive`.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::observed::{MinuteReading, Readings, VariantReading};
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

pub(super) fn with_rate_rule(on_inconclusive: OnInconclusive) -> ModelDeploymentSpec {
    let mut s = spec(Strategy::Canary);
    s.analysis.compare = vec![CompareRule {
        metric: CompareMetric::Invocation5XXErrorRate,
        statistic: "p99".into(),
        max_ratio: None,
        max_increase: Some("1%".into()),
        min_invocations: 100,
    }];
    s.analysis.on_inconclusive = on_inconclusive;
    s
}

/// Requests and 5xx of each variant over the step so far.
pub(super) fn counts(cand: (f64, f64), champ: (f64, f64)) -> Option<Readings> {
    let side = |(n, e): (f64, f64)| VariantReading {
        invocations: n,
        values: vec![Some(e)],
        minutes: Vec::new(),
    };
    Some(Readings {
        candidate: side(cand),
        champion: side(champ),
    })
}

pub(super) fn reason(p: &Plan) -> String {
    p.status.conditions[0].reason.clone()
}

/// At step 1, baking (`minutes` into the bake), with these counts; the plan of that pass.
pub(super) fn at_step(
    s: &ModelDeploymentSpec,
    minutes: i64,
    readings: Option<Readings>,
) -> (World, Plan) {
    let mut w = World::with_champion(s);
    until_stage(&mut w, s, Stage::Step, 1, 100);
    if w.markers().since.is_none() {
        // The pass that sees the weights in effect starts the bake's clock.
        w.step(s);
    }
    let since = w.markers().since.expect("the bake's clock started");
    w.now = since + jiff::SignedDuration::from_mins(minutes);
    w.comparison = readings;
    let p = w.plan(s, false);
    (w, p)
}

/// What a pass at a step did: advanced, or the Ready reason it shows.
type Row = (
    &'static str,
    OnInconclusive,
    i64,
    Option<Readings>,
    &'static str,
);

/// Each row: the spec `with(policy)` at `minutes` into step 1's bake with `readings` does
/// `expected` (StepAdvanced, or the Ready reason).
fn check_rows(with: fn(OnInconclusive) -> ModelDeploymentSpec, rows: Vec<Row>) {
    for (what, policy, minutes, readings, expected) in rows {
        let s = with(policy);
        let (_, p) = at_step(&s, minutes, readings);
        let got = if p.events.iter().any(|e| e.reason == "StepAdvanced") {
            "StepAdvanced".to_owned()
        } else {
            reason(&p)
        };
        assert_eq!(got, expected, "{what}: {}", p.status.conditions[0].message);
    }
}

#[test]
fn each_verdict_of_a_rate_comparison_does_what_it_says() {
    let worse = counts((2000.0, 120.0), (18_000.0, 180.0));
    let open = counts((200.0, 4.0), (1800.0, 18.0));
    let within = counts((20_000.0, 200.0), (180_000.0, 1800.0));
    let rows: Vec<Row> = vec![
        (
            "6 % against 1 % over 2,000 requests fails mid-bake: roll back now",
            OnInconclusive::Proceed,
            3,
            worse.clone(),
            "RollingBack",
        ),
        (
            "2 % against 1 % over 200 requests is inconclusive mid-bake: bake on",
            OnInconclusive::RollBack,
            3,
            open.clone(),
            "Baking",
        ),
        (
            "still inconclusive at the bake's end with Proceed: the next step",
            OnInconclusive::Proceed,
            10,
            open.clone(),
            "StepAdvanced",
        ),
        (
            "still inconclusive at the bake's end with Hold: bake on until it passes",
            OnInconclusive::Hold,
            10,
            open.clone(),
            "ComparisonInconclusive",
        ),
        (
            "still inconclusive at the bake's end with RollBack: roll back",
            OnInconclusive::RollBack,
            10,
            open,
            "RollingBack",
        ),
        (
            "within the margin with confidence at the bake's end, whatever the policy: next step",
            OnInconclusive::RollBack,
            10,
            within,
            "StepAdvanced",
        ),
        (
            "no metrics read at the bake's end with Hold: hold",
            OnInconclusive::Hold,
            10,
            None,
            "ComparisonInconclusive",
        ),
    ];
    check_rows(with_rate_rule, rows);
}

#[test]
fn the_status_shows_each_comparisons_interval_and_verdict() {
    let s = with_rate_rule(OnInconclusive::Proceed);
    let (_, p) = at_step(&s, 3, counts((200.0, 4.0), (1800.0, 18.0)));
    let view = &p.status.comparison[0];
    assert_eq!(view.verdict, "Inconclusive");
    assert!(
        view.message.contains("99 % confidence") && view.message.contains("points"),
        "{}",
        view.message
    );
}

#[test]
fn a_hold_for_evidence_needs_a_human_once_it_has_lasted_as_long_as_the_bake() {
    let s = with_rate_rule(OnInconclusive::Hold);
    let open = || counts((200.0, 4.0), (1800.0, 18.0));
    let stalled = |p: &Plan| {
        p.status
            .conditions
            .iter()
            .any(|c| c.type_ == "Stalled" && c.status == "True")
    };
    let (_, p) = at_step(&s, 12, open());
    assert_eq!(reason(&p), "ComparisonInconclusive");
    assert!(!stalled(&p), "waiting for evidence is progress");
    let (_, p) = at_step(&s, 20, open());
    assert_eq!(reason(&p), "ComparisonInconclusive");
    assert!(
        stalled(&p),
        "held as long as the bake itself: a human decides"
    );
}

#[test]
fn reaching_a_verdict_is_an_event_once_and_a_failure_is_a_warning() {
    let s = with_rate_rule(OnInconclusive::Proceed);
    let verdict_events = |p: &Plan| -> Vec<(String, bool)> {
        (p.events.iter())
            .filter(|e| e.reason.starts_with("Comparison"))
            .map(|e| (e.reason.clone(), e.warning))
            .collect()
    };
    let within = || counts((20_000.0, 200.0), (180_000.0, 1800.0));
    let (mut w, p) = at_step(&s, 5, within());
    assert_eq!(
        verdict_events(&p),
        vec![("ComparisonPassed".to_owned(), false)]
    );
    let decided = p.status.comparison[0].decided_at.clone();
    assert!(decided.is_some(), "a Pass records when it was reached");
    w.status = Some(p.status.clone());
    w.now += jiff::SignedDuration::from_mins(2);
    let again = w.plan(&s, false);
    assert!(
        verdict_events(&again).is_empty(),
        "the same verdict in the same step is no news"
    );
    assert_eq!(
        again.status.comparison[0].decided_at, decided,
        "and keeps the minute it was first reached"
    );
    let (_, p) = at_step(&s, 3, counts((200.0, 4.0), (1800.0, 18.0)));
    assert!(verdict_events(&p).is_empty(), "inconclusive is no news");
    let (_, p) = at_step(&s, 3, counts((2000.0, 120.0), (18_000.0, 180.0)));
    assert_eq!(
        verdict_events(&p),
        vec![("ComparisonFailed".to_owned(), true)]
    );
}

fn with_latency_rule(on_inconclusive: OnInconclusive) -> ModelDeploymentSpec {
    let mut s = spec(Strategy::Canary);
    s.analysis.compare = vec![CompareRule {
        metric: CompareMetric::ModelLatency,
        statistic: "Average".into(),
        max_ratio: Some(1.5),
        max_increase: None,
        min_invocations: 100,
    }];
    s.analysis.on_inconclusive = on_inconclusive;
    s
}

/// `minutes` whole minutes of `requests` requests a side, the candidate's average latency
/// `cand_ms` and the champion's `champ_ms`, each minute ± 3 %.
fn latency_minutes(minutes: usize, requests: f64, cand_ms: f64, champ_ms: f64) -> Option<Readings> {
    let wobble = [1.0, 1.03, 0.97, 1.02, 0.98, 1.01, 0.99, 1.0, 1.02, 0.98];
    let side = |ms: f64| VariantReading {
        invocations: requests * minutes as f64,
        values: vec![None],
        minutes: (0..minutes)
            .map(|m| MinuteReading {
                invocations: requests,
                values: vec![Some(ms * 1000.0 * wobble[m % wobble.len()])],
            })
            .collect(),
    };
    Some(Readings {
        candidate: side(cand_ms),
        champion: side(champ_ms),
    })
}

#[test]
fn each_verdict_of_a_latency_comparison_does_what_it_says() {
    let rows: Vec<Row> = vec![
        (
            "twice as slow, four whole minutes in a row: roll back mid-bake",
            OnInconclusive::Proceed,
            5,
            latency_minutes(4, 60.0, 200.0, 100.0),
            "RollingBack",
        ),
        (
            "as fast, minute after minute, at the bake's end: the next step whatever the policy",
            OnInconclusive::RollBack,
            10,
            latency_minutes(8, 60.0, 100.0, 100.0),
            "StepAdvanced",
        ),
        (
            "two minutes only at the bake's end with Hold: bake on",
            OnInconclusive::Hold,
            10,
            latency_minutes(2, 60.0, 200.0, 100.0),
            "ComparisonInconclusive",
        ),
        (
            "minutes of 10 requests, too few for an Average, at the bake's end with RollBack: roll back",
            OnInconclusive::RollBack,
            10,
            latency_minutes(8, 10.0, 200.0, 100.0),
            "RollingBack",
        ),
        (
            "the same quiet minutes mid-bake: never judged, bake on",
            OnInconclusive::RollBack,
            5,
            latency_minutes(8, 10.0, 200.0, 100.0),
            "Baking",
        ),
    ];
    check_rows(with_latency_rule, rows);
}
