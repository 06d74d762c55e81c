//! An endpoint's shape decides which metrics exist: on an asynchronous-inference endpoint
//! (no Invocations, no OverheadLatency: SM-73) a rollout whose rules need one waits,
//! Stalled, naming each rule and the page; rules on metrics it publishes go ahead.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use crate::support::*;

fn alarm(metric: AlarmMetric, statistic: &str, threshold: &str) -> AlarmRule {
    AlarmRule {
        metric,
        statistic: statistic.into(),
        threshold: threshold.into(),
        periods: 3,
        datapoints: None,
        custom: None,
    }
}

fn compare(metric: CompareMetric, statistic: &str) -> CompareRule {
    let rate = matches!(
        metric,
        CompareMetric::Invocation5XXErrorRate | CompareMetric::Invocation4XXErrorRate
    );
    CompareRule {
        metric,
        statistic: statistic.into(),
        max_ratio: (!rate).then_some(1.2),
        max_increase: rate.then(|| "1%".into()),
        min_invocations: 100,
    }
}

/// The first pass against the champion's endpoint, made asynchronous or not.
fn first_pass(s: &ModelDeploymentSpec, async_inference: bool) -> Plan {
    let mut w = World::with_champion(s);
    if let Some(ep) = w.endpoint.as_mut() {
        ep.async_inference = async_inference;
    }
    w.step(s)
}

#[test]
fn rules_on_metrics_an_endpoint_never_publishes_hold_the_rollout_and_the_others_do_not() {
    type Row = (
        &'static str,
        bool,
        Vec<AlarmRule>,
        Vec<CompareRule>,
        Vec<&'static str>,
    );
    let rows: Vec<Row> = vec![
        (
            "a real-time endpoint publishes them all",
            false,
            vec![alarm(AlarmMetric::Invocations, "Sum", "5")],
            vec![compare(CompareMetric::Invocation5XXErrorRate, "p99")],
            vec![],
        ),
        (
            "asynchronous: a floor, a rate and every comparison wait on Invocations",
            true,
            vec![
                alarm(AlarmMetric::Invocations, "Sum", "5"),
                alarm(AlarmMetric::Invocation5XXErrorRate, "Sum", "5"),
                alarm(AlarmMetric::ModelLatency, "Average", "200ms"),
            ],
            vec![compare(CompareMetric::ModelLatency, "Average")],
            vec![
                "spec.analysis.alarms.create[0] (Invocations)",
                "spec.analysis.alarms.create[1] (Invocation5XXErrorRate)",
                "spec.analysis.compare[0] (ModelLatency)",
            ],
        ),
        (
            "asynchronous: alarms on 5xx counts and model latency are published",
            true,
            vec![
                alarm(AlarmMetric::Invocation5XXErrors, "Sum", "5"),
                alarm(AlarmMetric::ModelLatency, "Average", "200ms"),
            ],
            vec![],
            vec![],
        ),
    ];
    for (what, async_inference, alarms, comparisons, refused) in rows {
        let mut s = spec(Strategy::Canary);
        s.analysis.alarms.create = alarms;
        s.analysis.compare = comparisons;
        let p = first_pass(&s, async_inference);
        let ready = &p.status.conditions[0];
        if refused.is_empty() {
            assert_ne!(
                ready.reason, "MetricNotPublished",
                "{what}: {}",
                ready.message
            );
            continue;
        }
        assert_eq!(
            ready.reason, "MetricNotPublished",
            "{what}: {}",
            ready.message
        );
        assert!(
            p.actions.is_empty(),
            "{what}: nothing changes: {:?}",
            p.actions
        );
        for field in refused {
            assert!(
                ready.message.contains(field),
                "{what}: {field} in {}",
                ready.message
            );
        }
        assert!(
            ready.message.contains("async-inference-monitor.html"),
            "{what}: names the page: {}",
            ready.message
        );
        assert!(
            (p.status.conditions.iter()).any(|c| c.type_ == "Stalled" && c.status == "True"),
            "{what}: a human (a spec change) decides"
        );
    }
}
