//! `spec.serving`, `spec.artifact` and `spec.autoscaling`: what the candidate runs on, how
//! its artifact is checked, and how its variant scales.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;

use super::collect::*;
use super::*;
use crate::api::spec::*;

/// The candidate's production variant settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Serving {
    /// Empty for a serverless variant.
    pub instance_type: String,
    pub instance_count: i32,
    pub environment: BTreeMap<String, String>,
    /// Serverless capacity instead of instances.
    pub serverless: Option<ServerlessSpec>,
    /// An inference component on an existing endpoint instead of a variant of our own.
    pub component: Option<InferenceComponentSpec>,
}

/// The artifact gate.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactPolicy {
    pub validate: bool,
    pub max_uncompressed_bytes: u64,
    /// S3 prefixes a candidate's artifact may be read from: set from the DeploymentPolicy's
    /// `s3.read` in multi-tenant mode (an artifact a validation run names is checked against
    /// it); None: anywhere the role can read.
    pub read_prefixes: Option<Vec<String>>,
    /// Where validated artifacts are copied before a model is created from them
    /// (`spec.artifact.copyTo`): a prefix ending in `/`.
    pub copy_to: Option<S3Uri>,
}

/// Target-tracking autoscaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaling {
    pub min: i32,
    pub max: i32,
    pub metric: ScalingMetric,
    pub target_value: f64,
    pub scale_in_cooldown: Duration,
    pub scale_out_cooldown: Duration,
}

/// Data capture of the endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct DataCapture {
    pub sampling_percent: i32,
    pub destination_s3_uri: String,
}

pub(super) fn serving(c: &mut Collector, spec: &ModelDeploymentSpec) -> Serving {
    let s = &spec.serving;
    c.0.extend(container::environment(
        "spec.serving.environment",
        &s.environment,
    ));
    let chosen = [
        !s.instance_type.is_empty(),
        s.serverless.is_some(),
        s.inference_component.is_some(),
    ];
    match chosen.iter().filter(|b| **b).count() {
        0 => c.err(
            "spec.serving",
            "set instanceType (instances), serverless (serverless capacity) or inferenceComponent (a component on an existing endpoint)",
        ),
        1 => {}
        _ => c.err(
            "spec.serving",
            "set only one of instanceType, serverless and inferenceComponent: the candidate is served one way",
        ),
    }
    let serverless = serverless::serverless(c, spec);
    let component = component::component(c, spec);
    if serverless.is_some() || component.is_some() {
        return Serving {
            instance_type: String::new(),
            instance_count: s.instance_count,
            environment: s.environment.clone(),
            serverless,
            component,
        };
    }
    c.pattern(
        "spec.serving.instanceType",
        &s.instance_type,
        re!(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"),
        "a SageMaker instance type such as ml.m5.large",
    );
    c.range(
        "spec.serving.instanceCount",
        s.instance_count.into(),
        1,
        100,
    );
    match spec.autoscaling.as_ref().map(|a| a.target.metric) {
        Some(ScalingMetric::ProvisionedConcurrencyUtilization) => c.err(
            "spec.autoscaling.target.metric",
            "ProvisionedConcurrencyUtilization scales a serverless variant's provisioned concurrency: use InvocationsPerInstance or ModelLatency for instances",
        ),
        Some(ScalingMetric::InvocationsPerCopy) => c.err(
            "spec.autoscaling.target.metric",
            "InvocationsPerCopy scales an inference component's copies: use InvocationsPerInstance or ModelLatency for instances",
        ),
        _ => {}
    }
    if let Some(a) = &spec.autoscaling
        && a.min <= a.max
        && (s.instance_count < a.min || s.instance_count > a.max)
    {
        c.err(
            "spec.serving.instanceCount",
            format!(
                "{} must lie within autoscaling min..max ({}..{})",
                s.instance_count, a.min, a.max
            ),
        );
    }
    Serving {
        instance_type: s.instance_type.clone(),
        instance_count: s.instance_count,
        environment: s.environment.clone(),
        serverless: None,
        component: None,
    }
}

pub(super) fn autoscaling(c: &mut Collector, a: &AutoscalingSpec) -> Option<Autoscaling> {
    c.range("spec.autoscaling.min", a.min.into(), 1, 100);
    c.range("spec.autoscaling.max", a.max.into(), 1, 100);
    if a.min > a.max {
        c.err(
            "spec.autoscaling.min",
            format!("{} must not exceed autoscaling.max ({})", a.min, a.max),
        );
    }
    if !a.target.value.is_finite() || a.target.value <= 0.0 {
        c.err(
            "spec.autoscaling.target.value",
            format!("{} must be a number above zero", a.target.value),
        );
    }
    let day = Duration::from_secs(86_400);
    let scale_in = c.duration(
        "spec.autoscaling.scaleInCooldown",
        &a.scale_in_cooldown,
        day,
    );
    let scale_out = c.duration(
        "spec.autoscaling.scaleOutCooldown",
        &a.scale_out_cooldown,
        day,
    );
    Some(Autoscaling {
        min: a.min,
        max: a.max,
        metric: a.target.metric,
        target_value: a.target.value,
        scale_in_cooldown: scale_in?,
        scale_out_cooldown: scale_out?,
    })
}

/// Longest `spec.artifact.copyTo`: the copy's URI (`<copyTo><model name>/model.tar.gz`, a
/// model name being at most 63 characters) is recorded in a tag of the model, whose value
/// AWS caps at 256 characters.
pub(super) const COPY_TO_MAX: usize = 256 - 63 - "/model.tar.gz".len();

/// `spec.artifact.copyTo`: an S3 prefix, in characters a tag value may hold.
pub(super) fn copy_to(c: &mut Collector, uri: &str) -> Option<S3Uri> {
    let path = "spec.artifact.copyTo";
    if !c.pattern(
        path,
        uri,
        re!(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([\p{L}\p{N}_.:/=+@-]*/)?$"),
        "an s3://bucket/prefix/ URI ending in / (letters, digits and _ . : / = + - @: it is recorded in a tag)",
    ) {
        return None;
    }
    if uri.len() > COPY_TO_MAX {
        c.err(
            path,
            format!(
                "is {} characters; at most {COPY_TO_MAX}, so that the copy's URI fits in a tag (256)",
                uri.len()
            ),
        );
        return None;
    }
    S3Uri::parse(uri).map_err(|e| c.err(path, e)).ok()
}
