//! `spec.serving.inferenceComponent`: an inference component on an existing endpoint, within
//! the API reference's limits, and what a component cannot do — serve beside another model
//! under a traffic split (so no Canary, Linear, Shadow or BlueGreen, and no champion
//! comparison), or change the endpoint's own settings (data capture) — refused with the page
//! that says so (a live comparison needs Canary or Linear, refused anyway). Autoscaling scales
//! its copy count.

use super::collect::*;
use crate::api::spec::*;

/// InvokeEndpoint's `InferenceComponentName`: a request names the component it is for, so
/// SageMaker never divides traffic between two components (SM-79).
const ROUTING: &str =
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html";

/// The component the spec targets, checked; the spec's type is its typed form (nothing in it
/// is parsed).
pub(super) fn component(
    c: &mut Collector,
    spec: &ModelDeploymentSpec,
) -> Option<InferenceComponentSpec> {
    let ic = spec.serving.inference_component.as_ref()?;
    let path = "spec.serving.inferenceComponent";
    c.name(
        &format!("{path}.name"),
        &ic.name,
        "an inference component name (1-63 letters, digits and hyphens)",
    );
    if let Some(v) = &ic.variant {
        c.name(&format!("{path}.variant"), v, "a production variant name");
    }
    c.range(&format!("{path}.copies"), ic.copies.into(), 1, 1000);
    let compute = &ic.compute;
    c.range(
        &format!("{path}.compute.memoryMB"),
        compute.memory_mb.into(),
        128,
        i32::MAX.into(),
    );
    if let Some(max) = compute.max_memory_mb
        && max < compute.memory_mb
    {
        c.err(
            format!("{path}.compute.maxMemoryMB"),
            format!("{max} is less than memoryMB ({})", compute.memory_mb),
        );
    }
    if let Some(cpus) = compute.cpus
        && !(cpus.is_finite() && cpus >= 0.25)
    {
        c.err(
            format!("{path}.compute.cpus"),
            format!("{cpus} must be at least 0.25 (NumberOfCpuCoresRequired)"),
        );
    }
    if let Some(n) = compute.accelerators {
        c.range(&format!("{path}.compute.accelerators"), n.into(), 1, 64);
    }
    excluded(c, spec);
    if let Some(a) = &spec.autoscaling {
        scaling(c, ic, a);
    }
    Some(ic.clone())
}

/// What a component does not support, each named with its reason.
fn excluded(c: &mut Collector, spec: &ModelDeploymentSpec) {
    let strategy = spec.rollout.strategy;
    if !matches!(strategy, Strategy::Direct | Strategy::Rolling) {
        c.err(
            "spec.rollout.strategy",
            format!(
                "{strategy:?} needs SageMaker to divide traffic between two models, and it never does between inference components: a request names the component it is for ({ROUTING}). Use Direct, or Rolling to have SageMaker replace the copies in batches and roll back on an alarm"
            ),
        );
    }
    if spec.candidate.compare_with_champion.is_some() {
        c.err(
            "spec.candidate.compareWithChampion",
            "is not available for an inference component yet: the champion's metrics are read from the endpoint's serving variant, and a component's model is not one",
        );
    }
    if spec.smoke_test.is_some() {
        c.err(
            "spec.smokeTest",
            "is not run for an inference component yet: the candidate takes traffic as soon as its first copies are placed, so a smoke test could not gate it; judge it with alarms",
        );
    }
    if spec.rollout.rollback_window.is_some() {
        c.err(
            "spec.rollout.rollbackWindow",
            "undo is not available for an inference component yet: its previous model is not kept to switch back to; roll back by rolling out the previous candidate",
        );
    }
    if spec.data_capture.is_some() {
        c.err(
            "spec.dataCapture",
            "data capture is a setting of the endpoint's config, and the endpoint hosting an inference component is not this resource's to change",
        );
    }
    if spec.serving.instance_count != 1 {
        c.err(
            "spec.serving.instanceCount",
            "does not apply: an inference component runs on the endpoint's instances; size it with inferenceComponent.copies",
        );
    }
    for (i, rule) in spec.analysis.alarms.create.iter().enumerate() {
        if matches!(
            rule.metric,
            AlarmMetric::CPUUtilization | AlarmMetric::MemoryUtilization
        ) {
            c.err(
                format!("spec.analysis.alarms.create[{i}].metric"),
                format!(
                    "{:?} is an instance metric of the endpoint, shared by every component on it: it cannot judge this component's model",
                    rule.metric
                ),
            );
        }
    }
}

/// Autoscaling of a component scales its copy count.
fn scaling(c: &mut Collector, ic: &InferenceComponentSpec, a: &AutoscalingSpec) {
    if a.target.metric != ScalingMetric::InvocationsPerCopy {
        c.err(
            "spec.autoscaling.target.metric",
            format!(
                "{:?} does not scale an inference component: Application Auto Scaling scales its copy count on InvocationsPerCopy",
                a.target.metric
            ),
        );
    }
    if a.min <= a.max && (ic.copies < a.min || ic.copies > a.max) {
        c.err(
            "spec.serving.inferenceComponent.copies",
            format!(
                "{} must lie within autoscaling min..max ({}..{})",
                ic.copies, a.min, a.max
            ),
        );
    }
}
