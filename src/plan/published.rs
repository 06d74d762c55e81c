//! Which metrics an endpoint publishes, by its shape, and the rules of a spec that would wait
//! on one it never publishes. An asynchronous-inference endpoint publishes no `Invocations`
//! and no `OverheadLatency` (SM-73), so an `Invocations` floor would be in ALARM for ever, an
//! error rate (errors over invocations) would never have a value, and a comparison would wait
//! for ever on `minInvocations`. A serverless variant publishes every metric a comparison
//! reads, and no instance utilization (SM-72); the candidate is always instance-backed, so
//! its alarms find their metrics. Pure.

use crate::api::valid::ValidSpec;
use crate::api::{AlarmMetric, CompareMetric, ScalingMetric};
use crate::plan::observed::Endpoint;

/// The page that lists what an asynchronous endpoint publishes.
const ASYNC_PAGE: &str =
    "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html";

/// Each rule of `spec` that needs a metric `ep` does not publish, naming the field, the
/// metric and the page that says so; empty when every rule can be judged.
pub fn unpublished(spec: &ValidSpec, ep: &Endpoint) -> Vec<String> {
    if !ep.async_inference {
        return Vec::new();
    }
    let mut out = Vec::new();
    let missing = |what: &str| {
        format!("an asynchronous-inference endpoint publishes no {what} ({ASYNC_PAGE})")
    };
    for (i, a) in spec.analysis.owned.iter().enumerate() {
        let needs = match a.metric {
            AlarmMetric::Invocations => "Invocations (a floor would be in ALARM for ever)",
            AlarmMetric::Invocation5XXErrorRate | AlarmMetric::Invocation4XXErrorRate => {
                "Invocations, which a rate divides by"
            }
            AlarmMetric::OverheadLatency => "OverheadLatency",
            _ => continue,
        };
        out.push(format!(
            "spec.analysis.alarms.create[{i}] ({:?}): {}",
            a.metric,
            missing(needs)
        ));
    }
    for (i, c) in spec.analysis.compare.iter().enumerate() {
        let needs = match c.metric {
            CompareMetric::OverheadLatency => "OverheadLatency",
            CompareMetric::Invocation5XXErrorRate | CompareMetric::Invocation4XXErrorRate => {
                "Invocations, which a rate divides by"
            }
            CompareMetric::ModelLatency => {
                "Invocations, which counts the requests a comparison waits for (minInvocations)"
            }
        };
        out.push(format!(
            "spec.analysis.compare[{i}] ({:?}): {}",
            c.metric,
            missing(needs)
        ));
    }
    if let Some(a) = &spec.autoscaling
        && a.metric == ScalingMetric::InvocationsPerInstance
    {
        out.push(format!(
            "spec.autoscaling.target.metric (InvocationsPerInstance): {}",
            missing("InvocationsPerInstance (the policy would never scale)")
        ));
    }
    out
}
