//! Desired AWS resources derived from the spec and the resolved candidate: deterministic,
//! content-addressed names (a repeated create is a no-op), lineage tags, the step schedule,
//! the owned alarms and the scaling policy.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::actions::*;
use super::markers::tag_safe;
use super::observed::{Candidate, Variant};
use crate::api::check::threshold_value;
use crate::api::*;

/// Value of the `managed-by` tag on everything the controller creates.
pub const MANAGED_BY: &str = "sagemaker-rollout";

/// First `n` hex characters of the sha256 of `value`'s JSON form.
pub fn content_hash(value: &impl Serialize, n: usize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&bytes));
    digest[..n.min(digest.len())].to_owned()
}

/// Hash of the whole spec: a rolled-back candidate is retried only when this changes.
pub fn spec_hash(spec: &ModelDeploymentSpec) -> String {
    content_hash(spec, 16)
}

/// `<endpoint>-<kind>-<hash>` within SageMaker's 63-character name limit.
fn resource_name(endpoint: &str, kind: &str, hash: &str) -> String {
    let budget = 63 - kind.len() - hash.len() - 2;
    let prefix: String = endpoint.chars().take(budget).collect();
    format!("{}-{kind}-{hash}", prefix.trim_end_matches('-'))
}

/// Name of the candidate's production variant: changes with the package, the instance type
/// or the container environment, so any of those starts a new rollout.
pub fn variant_name(spec: &ModelDeploymentSpec, package_arn: &str) -> String {
    let h = content_hash(
        &(
            package_arn,
            &spec.serving.instance_type,
            &spec.serving.environment,
            &spec.execution_role_arn,
        ),
        10,
    );
    format!("v-{h}")
}

pub fn model_plan(
    spec: &ModelDeploymentSpec,
    cand: &Candidate,
    lineage: &BTreeMap<String, String>,
) -> ModelPlan {
    let h = content_hash(
        &(
            &cand.package_arn,
            &spec.execution_role_arn,
            &spec.serving.environment,
        ),
        10,
    );
    ModelPlan {
        name: resource_name(&spec.endpoint_name, "m", &h),
        package_arn: cand.package_arn.clone(),
        execution_role_arn: spec.execution_role_arn.clone(),
        environment: spec.serving.environment.clone(),
        tags: lineage.clone(),
    }
}

pub fn candidate_variant(
    spec: &ModelDeploymentSpec,
    cand: &Candidate,
    model: &ModelPlan,
    weight: f64,
) -> VariantPlan {
    VariantPlan {
        name: variant_name(spec, &cand.package_arn),
        model_name: model.name.clone(),
        instance_type: spec.serving.instance_type.clone(),
        instance_count: spec.serving.instance_count,
        weight,
    }
}

/// The champion as a variant of a new config, with the instance count it has now.
pub fn champion_variant(v: &Variant, weight: f64) -> VariantPlan {
    VariantPlan {
        name: v.name.clone(),
        model_name: v.model_name.clone(),
        instance_type: v.instance_type.clone(),
        instance_count: v.desired_instances.unwrap_or(v.current_instances).max(1),
        weight,
    }
}

/// An endpoint config named by its content.
pub fn config_plan(
    spec: &ModelDeploymentSpec,
    production: Vec<VariantPlan>,
    shadow: Vec<VariantPlan>,
    lineage: &BTreeMap<String, String>,
) -> ConfigPlan {
    let data_capture = spec.data_capture.as_ref().map(|d| DataCapturePlan {
        sampling_percent: d.sampling_percent,
        destination_s3_uri: d.destination_s3_uri.clone(),
    });
    let key: Vec<_> = production
        .iter()
        .chain(&shadow)
        .map(|v| {
            (
                &v.name,
                &v.model_name,
                &v.instance_type,
                v.instance_count,
                v.weight.to_bits(),
            )
        })
        .collect();
    let h = content_hash(
        &(
            key,
            production.len(),
            data_capture
                .as_ref()
                .map(|d| (d.sampling_percent, &d.destination_s3_uri)),
        ),
        10,
    );
    ConfigPlan {
        name: resource_name(&spec.endpoint_name, "c", &h),
        production,
        shadow,
        data_capture,
        tags: lineage.clone(),
    }
}

/// The config serving the candidate alone: where every successful rollout ends.
pub fn candidate_only(
    spec: &ModelDeploymentSpec,
    cand: &Candidate,
    model: &ModelPlan,
    lineage: &BTreeMap<String, String>,
) -> ConfigPlan {
    config_plan(
        spec,
        vec![candidate_variant(spec, cand, model, 1.0)],
        vec![],
        lineage,
    )
}

/// Lineage tags for Model, EndpointConfig and Endpoint (DESIGN §2).
pub fn lineage_tags(
    spec: &ModelDeploymentSpec,
    owner: &str,
    cand: &Candidate,
) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), tag_safe(v)))
        .collect();
    for (k, v) in &cand.lineage {
        tags.insert(k.clone(), tag_safe(v));
    }
    tags.insert("managed-by".into(), MANAGED_BY.into());
    tags.insert("owner".into(), tag_safe(owner));
    tags.insert("model_package_arn".into(), cand.package_arn.clone());
    if let Some(run) = &cand.run_id {
        tags.insert("candidate_run_id".into(), tag_safe(run));
    }
    if let super::observed::ArtifactCheck::Valid { sha256 } = &cand.artifact {
        tags.insert("artifact_sha256".into(), sha256.clone());
    }
    tags
}

/// One traffic step: candidate weight in percent and how long it bakes.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPlan {
    pub weight: i32,
    pub bake: Duration,
}

/// The traffic steps of the spec's strategy before 100 %. Direct, BlueGreen and
/// Shadow-then-Promote/Hold have none. Unparseable bakes count as zero (the spec check
/// rejects them before planning gets here).
pub fn schedule(r: &RolloutSpec) -> Vec<StepPlan> {
    let bake = |d: &DurationString| d.parse().unwrap_or_default();
    let canary = || {
        r.canary
            .as_ref()
            .map(|c| {
                c.steps
                    .iter()
                    .map(|s| StepPlan {
                        weight: s.weight,
                        bake: bake(&s.bake),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match r.strategy {
        Strategy::Canary => canary(),
        Strategy::Linear => r
            .linear
            .as_ref()
            .filter(|l| l.step_weight > 0)
            .map(|l| {
                (1..)
                    .map(|k| k * l.step_weight)
                    .take_while(|w| *w < 100)
                    .map(|weight| StepPlan {
                        weight,
                        bake: bake(&l.bake),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Strategy::Shadow
            if r.shadow
                .as_ref()
                .is_some_and(|s| s.then == ShadowThen::Canary) =>
        {
            canary()
        }
        _ => Vec::new(),
    }
}

/// Alarms the controller owns for a candidate variant.
pub fn owned_alarms(spec: &ModelDeploymentSpec, variant: &str) -> Vec<AlarmPlan> {
    spec.analysis
        .alarms
        .create
        .iter()
        .map(|rule| {
            let (namespace, metric_name, mut dimensions) = match (&rule.metric, &rule.custom) {
                (AlarmMetric::Custom, Some(m)) => (
                    m.namespace.clone(),
                    m.metric_name.clone(),
                    m.dimensions.clone(),
                ),
                (metric, _) => {
                    let ns = if matches!(
                        metric,
                        AlarmMetric::CPUUtilization | AlarmMetric::MemoryUtilization
                    ) {
                        "/aws/sagemaker/Endpoints"
                    } else {
                        "AWS/SageMaker"
                    };
                    let dims = [
                        ("EndpointName".to_owned(), spec.endpoint_name.clone()),
                        ("VariantName".to_owned(), "${variant}".to_owned()),
                    ];
                    (
                        ns.to_owned(),
                        format!("{metric:?}"),
                        dims.into_iter().collect(),
                    )
                }
            };
            for v in dimensions.values_mut() {
                *v = v.replace("${variant}", variant);
            }
            AlarmPlan {
                name: format!(
                    "sagemaker-rollout-{}-{variant}-{metric_name}-{}",
                    spec.endpoint_name, rule.statistic
                ),
                namespace,
                metric_name,
                statistic: rule.statistic.clone(),
                threshold: threshold_value(rule).unwrap_or(f64::MAX),
                periods: rule.periods,
                dimensions,
                tags: [("managed-by".to_owned(), MANAGED_BY.to_owned())]
                    .into_iter()
                    .collect(),
            }
        })
        .collect()
}

/// Names of every alarm whose ALARM state stops the rollout for this candidate variant.
pub fn watched_alarms(spec: &ModelDeploymentSpec, variant: &str) -> Vec<String> {
    let mut names = spec.analysis.alarms.existing.clone();
    names.extend(owned_alarms(spec, variant).into_iter().map(|a| a.name));
    names
}

pub fn scaling_plan(spec: &ModelDeploymentSpec, variant: &str) -> Option<ScalingPlan> {
    let a = spec.autoscaling.as_ref()?;
    Some(ScalingPlan {
        variant: variant.to_owned(),
        min: a.min,
        max: a.max,
        metric: match a.target.metric {
            ScalingMetric::InvocationsPerInstance => {
                "SageMakerVariantInvocationsPerInstance".into()
            }
            ScalingMetric::ModelLatency => "ModelLatency".into(),
        },
        target_value: a.target.value,
        scale_in_cooldown: a.scale_in_cooldown.parse().unwrap_or_default(),
        scale_out_cooldown: a.scale_out_cooldown.parse().unwrap_or_default(),
    })
}
