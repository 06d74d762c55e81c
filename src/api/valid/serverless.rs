//! `spec.serving.serverless`: SageMaker's serverless capacity within the API reference's limits,
//! and what a serverless endpoint cannot do — a second production variant (so no Canary,
//! Linear or Shadow, and no smoke test beside the champion), a rolling deployment, a blue/green
//! canary sized in instances, data capture — refused with the page that says so. Autoscaling
//! scales its provisioned concurrency.

use super::collect::*;
use crate::api::spec::*;

/// The serverless developer guide's feature exclusions ("multiple production variants", "data
/// capture").
const EXCLUSIONS: &str = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html#serverless-endpoints-how-it-works-exclusions";

/// The serverless capacity of the spec, checked; it needs no typed form of its own (nothing
/// in it is parsed), so the spec's `ServerlessSpec` serves.
pub(super) fn serverless(c: &mut Collector, spec: &ModelDeploymentSpec) -> Option<ServerlessSpec> {
    let s = spec.serving.serverless.as_ref()?;
    let path = "spec.serving.serverless";
    if !(1024..=6144).contains(&s.memory_mb) || s.memory_mb % 1024 != 0 {
        c.err(
            format!("{path}.memoryMB"),
            format!(
                "{} is not one of 1024, 2048, 3072, 4096, 5120 or 6144 (SageMaker's MemorySizeInMB, in 1 GB steps)",
                s.memory_mb
            ),
        );
    }
    c.range(
        &format!("{path}.maxConcurrency"),
        s.max_concurrency.into(),
        1,
        200,
    );
    if let Some(p) = s.provisioned_concurrency
        && (c.range(&format!("{path}.provisionedConcurrency"), p.into(), 1, 200))
        && p > s.max_concurrency
    {
        c.err(
            format!("{path}.provisionedConcurrency"),
            format!(
                "{p} exceeds maxConcurrency ({}): SageMaker keeps provisioned concurrency at most the maximum",
                s.max_concurrency
            ),
        );
    }
    excluded(c, spec);
    if let Some(a) = &spec.autoscaling {
        scaling(c, s, a);
    }
    Some(s.clone())
}

/// What a serverless endpoint does not support, each named with its page.
fn excluded(c: &mut Collector, spec: &ModelDeploymentSpec) {
    let strategy = spec.rollout.strategy;
    match strategy {
        Strategy::Canary | Strategy::Linear | Strategy::Shadow => c.err(
            "spec.rollout.strategy",
            format!(
                "{strategy:?} serves the candidate beside the champion, and a serverless endpoint has one production variant ({EXCLUSIONS}): use Direct, or BlueGreen to have SageMaker roll back on an alarm"
            ),
        ),
        Strategy::Rolling => c.err(
            "spec.rollout.strategy",
            "SageMaker's rolling deployments exclude serverless endpoints (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html): use BlueGreen",
        ),
        Strategy::BlueGreen | Strategy::Direct => {}
    }
    if strategy == Strategy::BlueGreen
        && spec
            .rollout
            .blue_green
            .as_ref()
            .is_some_and(|b| b.canary_percent.is_some())
    {
        c.err(
            "spec.rollout.blueGreen.canaryPercent",
            "a blue/green canary is a share of the instances, and a serverless variant has none: leave it out (all at once)",
        );
    }
    // A serverless variant publishes no instance utilization (SM-72).
    for (i, rule) in spec.analysis.alarms.create.iter().enumerate() {
        if rule.metric == AlarmMetric::CPUUtilization {
            c.err(
                format!("spec.analysis.alarms.create[{i}].metric"),
                "CPUUtilization is not published for a serverless variant (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html): an alarm on it would never say anything",
            );
        }
    }
    if spec.data_capture.is_some() {
        c.err(
            "spec.dataCapture",
            format!("serverless endpoints do not support data capture ({EXCLUSIONS})"),
        );
    }
}

/// Autoscaling of a serverless variant scales its provisioned concurrency.
fn scaling(c: &mut Collector, s: &ServerlessSpec, a: &AutoscalingSpec) {
    if a.target.metric != ScalingMetric::ProvisionedConcurrencyUtilization {
        c.err(
            "spec.autoscaling.target.metric",
            format!(
                "{:?} scales instances, and a serverless variant has none: SageMaker scales it on demand, and Application Auto Scaling scales its provisioned concurrency (ProvisionedConcurrencyUtilization)",
                a.target.metric
            ),
        );
        return;
    }
    let Some(p) = s.provisioned_concurrency else {
        c.err(
            "spec.serving.serverless.provisionedConcurrency",
            "is required with autoscaling: only a serverless variant with provisioned concurrency can be scaled (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-autoscale.html)",
        );
        return;
    };
    if a.max > s.max_concurrency {
        c.err(
            "spec.autoscaling.max",
            format!(
                "{} exceeds serving.serverless.maxConcurrency ({}): provisioned concurrency stays at most the maximum",
                a.max, s.max_concurrency
            ),
        );
    }
    if a.min <= a.max && (p < a.min || p > a.max) {
        c.err(
            "spec.serving.serverless.provisionedConcurrency",
            format!(
                "{p} must lie within autoscaling min..max ({}..{})",
                a.min, a.max
            ),
        );
    }
}
