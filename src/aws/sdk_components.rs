//! [`InferenceComponents`] on the official `aws-sdk-sagemaker` client.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sagemaker::types::{
    InferenceComponentCapacitySize, InferenceComponentCapacitySizeType,
    InferenceComponentComputeResourceRequirements, InferenceComponentDeploymentConfig,
    InferenceComponentRollingUpdatePolicy, InferenceComponentRuntimeConfig,
    InferenceComponentSpecification,
};

use super::components::{ComponentDescription, InferenceComponents};
use super::sdk_endpoints::{exists, ignore_missing, rollback, tags};
use super::{AwsError, classify};
use crate::plan::ComponentStatus;
use crate::plan::Compute;
use crate::plan::actions::{Capacity, ComponentPlan, NativeDeployment, NativePolicy};

const SERVICE: &str = "sagemaker";

/// The production implementation.
#[derive(Clone, Debug)]
pub struct SdkComponents {
    client: aws_sdk_sagemaker::Client,
}

impl SdkComponents {
    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            client: aws_sdk_sagemaker::Client::from_conf(
                crate::aws::sdk::sdk_config!(aws_sdk_sagemaker, config, "sagemaker", scope = scope)
                    .build(),
            ),
        }
    }
}

fn status(s: &str) -> ComponentStatus {
    match s {
        "InService" => ComponentStatus::InService,
        "Creating" => ComponentStatus::Creating,
        "Updating" => ComponentStatus::Updating,
        "Deleting" => ComponentStatus::Deleting,
        _ => ComponentStatus::Failed,
    }
}

fn compute(c: &Compute) -> InferenceComponentComputeResourceRequirements {
    InferenceComponentComputeResourceRequirements::builder()
        .min_memory_required_in_mb(c.memory_mb)
        .set_max_memory_required_in_mb(c.max_memory_mb)
        .set_number_of_cpu_cores_required(c.cpus.map(|n| n as f32))
        .set_number_of_accelerator_devices_required(c.accelerators.map(|n| n as f32))
        .build()
}

fn specification(s: &ComponentPlan) -> InferenceComponentSpecification {
    InferenceComponentSpecification::builder()
        .model_name(&s.model_name)
        .compute_resource_requirements(compute(&s.compute))
        .build()
}

/// The DeploymentConfig of a rolling update of the copies (SM-80): batches of copies (a count
/// or a percentage), each baked, rolled back on the alarms (AutoRollbackConfiguration takes
/// 1-10, so none is sent without alarms), the execution timeout derived from the waits.
fn rolling(d: &NativeDeployment) -> Option<InferenceComponentDeploymentConfig> {
    let NativePolicy::Rolling {
        batch,
        rollback_batch,
        ..
    } = &d.policy
    else {
        return None;
    };
    let secs = |x: std::time::Duration| i32::try_from(x.as_secs()).unwrap_or(i32::MAX);
    let size = |c: Capacity| {
        let (kind, value) = match c {
            Capacity::Instances(n) => (InferenceComponentCapacitySizeType::CopyCount, n),
            Capacity::Percent(p) => (InferenceComponentCapacitySizeType::CapacityPercent, p),
        };
        InferenceComponentCapacitySize::builder()
            .r#type(kind)
            .value(value)
            .build()
    };
    let policy = InferenceComponentRollingUpdatePolicy::builder()
        .maximum_batch_size(size(*batch))
        .wait_interval_in_seconds(secs(d.bake))
        .maximum_execution_timeout_in_seconds(secs(d.max_execution_timeout()))
        .set_rollback_maximum_batch_size(rollback_batch.map(size))
        .build();
    Some(
        InferenceComponentDeploymentConfig::builder()
            .rolling_update_policy(policy)
            .set_auto_rollback_configuration(rollback(&d.alarms))
            .build(),
    )
}

#[async_trait]
impl InferenceComponents for SdkComponents {
    async fn describe(&self, name: &str) -> Result<Option<ComponentDescription>, AwsError> {
        let out = match (self.client.describe_inference_component())
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = classify(SERVICE, "DescribeInferenceComponent", e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let spec = out.specification();
        let compute = spec
            .and_then(|s| s.compute_resource_requirements())
            .map(|c| Compute {
                memory_mb: c.min_memory_required_in_mb().unwrap_or(0),
                max_memory_mb: c.max_memory_required_in_mb(),
                cpus: c.number_of_cpu_cores_required().map(f64::from),
                accelerators: c.number_of_accelerator_devices_required().map(|n| n as i32),
            });
        let runtime = out.runtime_config();
        Ok(Some(ComponentDescription {
            name: out.inference_component_name().unwrap_or(name).to_owned(),
            arn: out.inference_component_arn().unwrap_or_default().to_owned(),
            endpoint: out.endpoint_name().unwrap_or_default().to_owned(),
            variant: out.variant_name().map(str::to_owned),
            status: status(
                out.inference_component_status()
                    .map(|s| s.as_str())
                    .unwrap_or_default(),
            ),
            model_name: spec.and_then(|s| s.model_name()).map(str::to_owned),
            compute,
            desired_copies: runtime.and_then(|r| r.desired_copy_count()),
            current_copies: runtime.and_then(|r| r.current_copy_count()),
            failure_reason: out.failure_reason().map(str::to_owned),
        }))
    }

    async fn create(
        &self,
        spec: &ComponentPlan,
        tags_: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let runtime = InferenceComponentRuntimeConfig::builder()
            .copy_count(spec.copies)
            .build();
        let created = (self.client.create_inference_component())
            .inference_component_name(&spec.name)
            .endpoint_name(&spec.endpoint)
            .set_variant_name(spec.variant.clone())
            .specification(specification(spec))
            .runtime_config(runtime)
            .set_tags(tags(tags_))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateInferenceComponent", e));
        match created {
            // The planner creates only a component it does not see; one created meanwhile by
            // this same plan's earlier attempt is found by the next pass's describe.
            Err(e) if exists(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn update(
        &self,
        spec: &ComponentPlan,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let runtime = InferenceComponentRuntimeConfig::builder()
            .copy_count(spec.copies)
            .build();
        (self.client.update_inference_component())
            .inference_component_name(&spec.name)
            .specification(specification(spec))
            .runtime_config(runtime)
            .set_deployment_config(deployment.and_then(rolling))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateInferenceComponent", e))
            .map(|_| ())
    }

    async fn set_copies(&self, name: &str, copies: i32) -> Result<(), AwsError> {
        let runtime = InferenceComponentRuntimeConfig::builder()
            .copy_count(copies)
            .build();
        (self.client.update_inference_component_runtime_config())
            .inference_component_name(name)
            .desired_runtime_config(runtime)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateInferenceComponentRuntimeConfig", e))
            .map(|_| ())
    }

    async fn delete(&self, name: &str) -> Result<(), AwsError> {
        ignore_missing(
            (self.client.delete_inference_component())
                .inference_component_name(name)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DeleteInferenceComponent", e))
                .map(|_| ()),
        )
    }
}
