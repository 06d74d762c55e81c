//! Desired AWS resources derived from the spec and the resolved candidate: deterministic,
//! content-addressed names (a repeated create is a no-op), lineage tags, the step schedule,
//! the owned alarms and the scaling policy.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::actions::{
    AlarmPlan, ConfigPlan, DataCapturePlan, ModelContainer, ModelPlan, ScalingPlan, VariantPlan,
};
use super::observed::{ArtifactCheck, Candidate, Variant};
use crate::api::{AlarmMetric, ScalingMetric, ValidSpec};
use crate::tags::{self, tag_safe};

/// First `n` hex characters of the sha256 of `value`'s JSON form.
pub fn content_hash(value: &impl Serialize, n: usize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&bytes));
    digest[..n.min(digest.len())].to_owned()
}

/// Hash of the whole spec: a rolled-back candidate is retried only when this changes.
pub fn spec_hash(spec: &ValidSpec) -> String {
    content_hash(spec.raw(), 16)
}

/// Hash of `spec.candidate`, stored as the `selector` marker.
pub fn selector_hash(spec: &ValidSpec) -> String {
    content_hash(&spec.raw().candidate, 16)
}

/// `<endpoint>-<kind>-<hash>` within SageMaker's 63-character name limit.
fn resource_name(endpoint: &str, kind: &str, hash: &str) -> String {
    let budget = 63 - kind.len() - hash.len() - 2;
    let prefix: String = endpoint.chars().take(budget).collect();
    format!("{}-{kind}-{hash}", prefix.trim_end_matches('-'))
}

/// Name of the candidate's production variant: changes with the package, the instance type
/// or the container environment, so any of those starts a new rollout.
pub fn variant_name(spec: &ValidSpec, package_arn: &str) -> String {
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
    spec: &ValidSpec,
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
        container: match (&cand.image, cand.approval.as_str()) {
            (_, "Approved") | (None, _) => ModelContainer::Package,
            (Some(image), _) => ModelContainer::Image {
                image: image.clone(),
                model_data_url: cand.model_data_url.clone(),
            },
        },
        execution_role_arn: spec.execution_role_arn.clone(),
        environment: spec.serving.environment.clone(),
        tags: lineage.clone(),
    }
}

pub fn candidate_variant(
    spec: &ValidSpec,
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
    spec: &ValidSpec,
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
    spec: &ValidSpec,
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
pub fn lineage_tags(spec: &ValidSpec, owner: &str, cand: &Candidate) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), tag_safe(v)))
        .collect();
    for (k, v) in &cand.lineage {
        out.insert(k.clone(), tag_safe(v));
    }
    out.insert(tags::MANAGED_BY_KEY.into(), tags::MANAGED_BY.into());
    out.insert(tags::OWNER_KEY.into(), tag_safe(owner));
    out.insert(tags::PACKAGE_ARN.into(), cand.package_arn.clone());
    if let Some(run) = &cand.run_id {
        out.insert(tags::RUN_ID.into(), tag_safe(run));
    }
    if let ArtifactCheck::Valid { sha256 } = &cand.artifact {
        out.insert(tags::ARTIFACT_SHA256.into(), sha256.clone());
    }
    out
}

/// Alarms the controller owns for a candidate variant.
pub fn owned_alarms(spec: &ValidSpec, variant: &str) -> Vec<AlarmPlan> {
    spec.analysis
        .owned
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
                threshold: rule.threshold,
                periods: rule.periods,
                dimensions,
                tags: [(tags::MANAGED_BY_KEY.to_owned(), tags::MANAGED_BY.to_owned())]
                    .into_iter()
                    .collect(),
            }
        })
        .collect()
}

/// Names of every alarm whose ALARM state stops the rollout for this candidate variant.
pub fn watched_alarms(spec: &ValidSpec, variant: &str) -> Vec<String> {
    let mut names = spec.analysis.existing.clone();
    names.extend(owned_alarms(spec, variant).into_iter().map(|a| a.name));
    names
}

pub fn scaling_plan(spec: &ValidSpec, variant: &str) -> Option<ScalingPlan> {
    let a = spec.autoscaling.as_ref()?;
    Some(ScalingPlan {
        variant: variant.to_owned(),
        min: a.min,
        max: a.max,
        metric: match a.metric {
            ScalingMetric::InvocationsPerInstance => {
                "SageMakerVariantInvocationsPerInstance".into()
            }
            ScalingMetric::ModelLatency => "ModelLatency".into(),
        },
        target_value: a.target_value,
        scale_in_cooldown: a.scale_in_cooldown,
        scale_out_cooldown: a.scale_out_cooldown,
    })
}
