//! Application Auto Scaling of endpoint variants: scalable targets and their target-tracking
//! policy, as a narrow trait and its implementation on `aws-sdk-applicationautoscaling`.
//!
//! Reads ask by resource id (never page the account's targets) and return each target with
//! the controller's policy on it, so the planner can tell a target without its policy. An
//! instance-backed variant scales its instance count; a serverless one its provisioned
//! concurrency (SM-78), the dimension following from the policy's metric. Latency is tracked
//! through a customized metric: there is no predefined SageMaker latency metric type.
//! Deregistering deletes the policy first, then the target, in the dimension the target was
//! read or registered in; NotFound is success either way.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricDimension, MetricStatistic, MetricType, PolicyType,
    PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use super::{AwsError, ErrorClass, classify, dependency_pending};
use crate::plan::actions::ScalingPlan;
use crate::plan::{ScalingPolicy, ScalingRegistration};

/// What the trait's `endpoint` argument is for an inference component's copies (no endpoint
/// name contains a `/`): its `variant` argument is then the component's name.
pub const COMPONENTS: &str = "inference-component/";

/// The Application Auto Scaling resource id: `endpoint/<name>/variant/<variant>`, or
/// `inference-component/<name>` under [`COMPONENTS`] (SM-80).
pub fn resource_id(endpoint: &str, variant: &str) -> String {
    if endpoint == COMPONENTS {
        format!("{COMPONENTS}{variant}")
    } else {
        format!("endpoint/{endpoint}/variant/{variant}")
    }
}

/// Name of the controller's target-tracking policy on a variant.
pub fn policy_name(variant: &str) -> String {
    format!("sagemaker-rollout-{variant}")
}

/// The metric name of the customized latency metric.
const MODEL_LATENCY: &str = "ModelLatency";
/// The predefined metric of a serverless variant's provisioned concurrency.
pub const PROVISIONED_CONCURRENCY: &str = "SageMakerVariantProvisionedConcurrencyUtilization";

pub use crate::plan::desired::INVOCATIONS_PER_COPY;

/// What a policy on `metric` scales: provisioned concurrency for a serverless variant, the
/// copy count of an inference component, instances otherwise.
fn dimension_of(metric: &str) -> ScalableDimension {
    match metric {
        PROVISIONED_CONCURRENCY => ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency,
        INVOCATIONS_PER_COPY => ScalableDimension::SageMakerInferenceComponentDesiredCopyCount,
        _ => ScalableDimension::SageMakerVariantDesiredInstanceCount,
    }
}

#[async_trait]
pub trait Scaling: Send + Sync {
    /// The scalable targets of these variants of the endpoint, each with the controller's
    /// policy on it (if any).
    async fn registrations(
        &self,
        endpoint: &str,
        variants: &[String],
    ) -> Result<Vec<ScalingRegistration>, AwsError>;
    /// Registers the target and puts its target-tracking policy (create or update).
    async fn register(&self, endpoint: &str, plan: &ScalingPlan) -> Result<(), AwsError>;
    /// Deletes the policy, then deregisters the target; NotFound is success.
    async fn deregister(&self, endpoint: &str, variant: &str) -> Result<(), AwsError>;
}

/// The production implementation.
#[derive(Clone, Debug)]
pub struct SdkScaling {
    client: aws_sdk_applicationautoscaling::Client,
    /// The dimension each target was read or registered in, by resource id.
    dimensions: std::sync::Arc<crate::memo::Memo<ScalableDimension>>,
}

impl SdkScaling {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            client: aws_sdk_applicationautoscaling::Client::from_conf(
                crate::aws::sdk::sdk_config!(
                    aws_sdk_applicationautoscaling,
                    config,
                    "application-autoscaling",
                    scope = scope
                )
                .build(),
            ),
            dimensions: std::sync::Arc::default(),
        }
    }

    /// The dimension `id` is registered in: remembered, else read (None: not registered).
    async fn dimension(&self, id: &str) -> Result<Option<ScalableDimension>, AwsError> {
        if let Some(d) = self.dimensions.get(id) {
            return Ok(Some(d));
        }
        let out = self
            .client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DescribeScalableTargets", e))?;
        Ok(out
            .scalable_targets()
            .first()
            .map(|t| t.scalable_dimension().clone()))
    }
}

const SERVICE: &str = "application-autoscaling";

fn ignore_missing(r: Result<(), AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

#[async_trait]
impl Scaling for SdkScaling {
    async fn registrations(
        &self,
        endpoint: &str,
        variants: &[String],
    ) -> Result<Vec<ScalingRegistration>, AwsError> {
        let mut out = Vec::new();
        if variants.is_empty() {
            return Ok(out);
        }
        let ids: Vec<String> = variants.iter().map(|v| resource_id(endpoint, v)).collect();
        // DescribeScalableTargets takes at most 50 resource ids.
        for chunk in ids.chunks(50) {
            let mut pages = self
                .client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Sagemaker)
                .set_resource_ids(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| classify(SERVICE, "DescribeScalableTargets", e))?;
                for t in page.scalable_targets() {
                    if let Some(v) = variants
                        .iter()
                        .find(|v| resource_id(endpoint, v) == t.resource_id())
                    {
                        self.dimensions
                            .put(t.resource_id(), t.scalable_dimension().clone());
                        out.push(ScalingRegistration {
                            variant: v.clone(),
                            min: t.min_capacity(),
                            max: t.max_capacity(),
                            policy: None,
                        });
                    }
                }
            }
        }
        if out.is_empty() {
            return Ok(out);
        }
        // Policy names repeat across endpoints (a variant name may), so each policy is matched
        // to its target by resource id.
        let names: Vec<String> = out.iter().map(|r| policy_name(&r.variant)).collect();
        let mut pages = self
            .client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .set_policy_names(Some(names))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(SERVICE, "DescribeScalingPolicies", e))?;
            for p in page.scaling_policies() {
                let Some(reg) = out.iter_mut().find(|r| {
                    resource_id(endpoint, &r.variant) == p.resource_id()
                        && policy_name(&r.variant) == p.policy_name()
                }) else {
                    continue;
                };
                let Some(c) = p.target_tracking_scaling_policy_configuration() else {
                    continue;
                };
                let metric = if c.customized_metric_specification().is_some() {
                    MODEL_LATENCY.to_owned()
                } else {
                    c.predefined_metric_specification()
                        .map(|m| m.predefined_metric_type().as_str().to_owned())
                        .unwrap_or_default()
                };
                let secs = |s: Option<i32>| Duration::from_secs(s.unwrap_or(0).max(0) as u64);
                reg.policy = Some(ScalingPolicy {
                    metric,
                    target_value: c.target_value(),
                    scale_in_cooldown: secs(c.scale_in_cooldown()),
                    scale_out_cooldown: secs(c.scale_out_cooldown()),
                });
            }
        }
        Ok(out)
    }

    async fn register(&self, endpoint: &str, p: &ScalingPlan) -> Result<(), AwsError> {
        let id = resource_id(endpoint, &p.variant);
        let dimension = dimension_of(&p.metric);
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(dimension.clone())
            .min_capacity(p.min)
            .max_capacity(p.max)
            .send()
            .await
            .map_err(|e| dependency_pending(classify(SERVICE, "RegisterScalableTarget", e)))?;
        self.dimensions.put(&id, dimension.clone());
        let secs = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
        // A builder refusing its input is a bug on our side, not something a retry fixes.
        let unbuildable = |e: aws_smithy_types::error::operation::BuildError| {
            AwsError::new(
                ErrorClass::Terminal,
                SERVICE,
                "PutScalingPolicy",
                e.to_string(),
            )
        };
        let mut config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(p.target_value)
            .scale_in_cooldown(secs(p.scale_in_cooldown))
            .scale_out_cooldown(secs(p.scale_out_cooldown));
        config = if p.metric == MODEL_LATENCY {
            // The variant's average ModelLatency (microseconds), as a customized metric.
            let dims = [
                ("EndpointName", endpoint),
                ("VariantName", p.variant.as_str()),
            ]
            .into_iter()
            .map(|(k, v)| MetricDimension::builder().name(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(unbuildable)?;
            config.customized_metric_specification(
                CustomizedMetricSpecification::builder()
                    .namespace("AWS/SageMaker")
                    .metric_name(MODEL_LATENCY)
                    .set_dimensions(Some(dims))
                    .statistic(MetricStatistic::Average)
                    .unit("Microseconds")
                    .build(),
            )
        } else {
            config.predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::from(p.metric.as_str()))
                    .build()
                    .map_err(unbuildable)?,
            )
        };
        self.client
            .put_scaling_policy()
            .policy_name(policy_name(&p.variant))
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(dimension)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config.build().map_err(unbuildable)?)
            .send()
            .await
            .map_err(|e| dependency_pending(classify(SERVICE, "PutScalingPolicy", e)))?;
        Ok(())
    }

    async fn deregister(&self, endpoint: &str, variant: &str) -> Result<(), AwsError> {
        let id = resource_id(endpoint, variant);
        let Some(dimension) = self.dimension(&id).await? else {
            return Ok(()); // nothing registered
        };
        self.dimensions.remove(&id);
        ignore_missing(
            self.client
                .delete_scaling_policy()
                .policy_name(policy_name(variant))
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(&id)
                .scalable_dimension(dimension.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "DeleteScalingPolicy", e)),
        )?;
        ignore_missing(
            self.client
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(&id)
                .scalable_dimension(dimension)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "DeregisterScalableTarget", e)),
        )
    }
}
