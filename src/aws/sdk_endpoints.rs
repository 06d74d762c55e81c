//! [`Endpoints`] on the official `aws-sdk-sagemaker` client.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_sdk_sagemaker::types::{
    AutoRollbackConfig, BlueGreenUpdatePolicy, CapacitySize, CapacitySizeType, ContainerDefinition,
    DeploymentConfig, DesiredWeightAndCapacity, RollingUpdatePolicy, Tag, TrafficRoutingConfig,
    TrafficRoutingConfigType,
};
use jiff::Timestamp;

use super::endpoints::{ConfigDescription, EndpointDescription, Endpoints, VariantState};
use super::{AwsError, classify, dependency_pending};
use crate::memo::Memo;
use crate::plan::EndpointStatus;
use crate::plan::actions::{
    Capacity, ConfigPlan, ModelContainer, ModelPlan, NativeDeployment, NativePolicy,
};
use crate::plan::desired::{owned_resource, owns_name};

/// The production implementation.
#[derive(Clone, Debug)]
pub struct SdkEndpoints {
    client: aws_sdk_sagemaker::Client,
    /// DescribeEndpointConfig answers by name: a config never changes under its name, and
    /// the one a new config inherits from was usually just described by the pass.
    described: Arc<Memo<DescribeEndpointConfigOutput>>,
    /// Tags of configs and models ("c/<name>", "m/<name>"): as created by this process or
    /// as last listed; the controller writes them only when it creates the resource, so
    /// collecting garbage reads only the ones it has not seen.
    resource_tags: Arc<Memo<BTreeMap<String, String>>>,
}

impl SdkEndpoints {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            client: aws_sdk_sagemaker::Client::from_conf(
                crate::aws::sdk::sdk_config!(aws_sdk_sagemaker, config, "sagemaker", scope = scope)
                    .build(),
            ),
            described: Arc::default(),
            resource_tags: Arc::default(),
        }
    }

    /// A config's ("c") or model's ("m") tags, remembered (see `resource_tags`).
    async fn resource_tags(
        &self,
        kind: &str,
        name: &str,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let key = format!("{kind}/{name}");
        if let Some(tags) = self.resource_tags.get(&key) {
            return Ok(tags);
        }
        let tags = self.endpoint_tags(arn).await?;
        self.resource_tags.put(&key, tags.clone());
        Ok(tags)
    }

    fn created(&self, kind: &str, name: &str, written: &BTreeMap<String, String>) {
        let tags = written
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.resource_tags.put(&format!("{kind}/{name}"), tags);
    }

    /// DescribeEndpointConfig, remembered; None when there is no such config.
    async fn described_config(
        &self,
        name: &str,
    ) -> Result<Option<DescribeEndpointConfigOutput>, AwsError> {
        if let Some(out) = self.described.get(name) {
            return Ok(Some(out));
        }
        match self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
        {
            Ok(out) => {
                self.described.put(name, out.clone());
                Ok(Some(out))
            }
            Err(e) => {
                let e = classify("sagemaker", "DescribeEndpointConfig", e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }
}

fn status(s: &str) -> EndpointStatus {
    match s {
        "Creating" => EndpointStatus::Creating,
        "Updating" => EndpointStatus::Updating,
        "SystemUpdating" => EndpointStatus::SystemUpdating,
        "RollingBack" => EndpointStatus::RollingBack,
        "InService" => EndpointStatus::InService,
        "Deleting" => EndpointStatus::Deleting,
        "Failed" => EndpointStatus::Failed,
        "UpdateRollbackFailed" => EndpointStatus::UpdateRollbackFailed,
        _ => EndpointStatus::OutOfService,
    }
}

pub(super) fn time(t: Option<&aws_smithy_types::DateTime>) -> Timestamp {
    t.and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(super) fn tags(map: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    Some(
        map.iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect(),
    )
}

/// An error saying the resource exists already (creates are idempotent by name).
pub(super) fn exists(e: &AwsError) -> bool {
    let m = e.message.to_ascii_lowercase();
    m.contains("already exist")
}

pub(super) fn ignore_missing(r: Result<(), AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// The AutoRollbackConfiguration of a guardrail deployment or a component's rolling update:
/// none without alarms (it takes 1-10).
pub(super) fn rollback(alarms: &[String]) -> Option<AutoRollbackConfig> {
    let alarms: Vec<_> = (alarms.iter())
        .map(|a| {
            aws_sdk_sagemaker::types::Alarm::builder()
                .alarm_name(a)
                .build()
        })
        .collect();
    (!alarms.is_empty()).then(|| {
        AutoRollbackConfig::builder()
            .set_alarms(Some(alarms))
            .build()
    })
}

/// The DeploymentConfig of a guardrail deployment: a blue/green one (BlueGreenUpdatePolicy,
/// TrafficRoutingConfig: a canary sized in instances, or all at once) or a rolling one
/// (RollingUpdatePolicy: batches in instances or percent), the execution timeout derived
/// from the waits, and no AutoRollbackConfiguration without alarms (it takes 1-10).
fn deployment(d: &NativeDeployment) -> DeploymentConfig {
    let secs = |x: std::time::Duration| i32::try_from(x.as_secs()).unwrap_or(i32::MAX);
    let size = |c: Capacity| {
        let (kind, value) = match c {
            Capacity::Instances(n) => (CapacitySizeType::InstanceCount, n),
            Capacity::Percent(p) => (CapacitySizeType::CapacityPercent, p),
        };
        CapacitySize::builder().r#type(kind).value(value).build()
    };
    let config = DeploymentConfig::builder().set_auto_rollback_configuration(rollback(&d.alarms));
    match &d.policy {
        NativePolicy::BlueGreen {
            termination_wait, ..
        } => {
            let mut routing =
                TrafficRoutingConfig::builder().wait_interval_in_seconds(secs(d.bake));
            routing = match d.canary_instances() {
                Some(n) => routing
                    .r#type(TrafficRoutingConfigType::Canary)
                    .canary_size(size(Capacity::Instances(n))),
                None => routing.r#type(TrafficRoutingConfigType::AllAtOnce),
            };
            let policy = BlueGreenUpdatePolicy::builder()
                .traffic_routing_configuration(routing.build())
                .termination_wait_in_seconds(secs(*termination_wait))
                .maximum_execution_timeout_in_seconds(secs(d.max_execution_timeout()))
                .build();
            config.blue_green_update_policy(policy).build()
        }
        NativePolicy::Rolling {
            batch,
            rollback_batch,
            ..
        } => {
            let policy = RollingUpdatePolicy::builder()
                .maximum_batch_size(size(*batch))
                .wait_interval_in_seconds(secs(d.bake))
                .maximum_execution_timeout_in_seconds(secs(d.max_execution_timeout()))
                .set_rollback_maximum_batch_size(rollback_batch.map(size))
                .build();
            config.rolling_update_policy(policy).build()
        }
    }
}

#[async_trait]
impl Endpoints for SdkEndpoints {
    async fn describe_endpoint(&self, name: &str) -> Result<Option<EndpointDescription>, AwsError> {
        let out = match self
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = classify("sagemaker", "DescribeEndpoint", e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let variant = |v: &aws_sdk_sagemaker::types::ProductionVariantSummary| VariantState {
            name: v.variant_name().unwrap_or_default().to_owned(),
            current_weight: f64::from(v.current_weight().unwrap_or(0.0)),
            desired_weight: v.desired_weight().map(f64::from),
            current_instances: v.current_instance_count().unwrap_or(0),
            desired_instances: v.desired_instance_count(),
        };
        Ok(Some(EndpointDescription {
            name: out.endpoint_name().unwrap_or(name).to_owned(),
            arn: out.endpoint_arn().unwrap_or_default().to_owned(),
            status: status(
                out.endpoint_status()
                    .map(|s| s.as_str())
                    .unwrap_or_default(),
            ),
            config_name: out.endpoint_config_name().unwrap_or_default().to_owned(),
            failure_reason: out.failure_reason().map(str::to_owned),
            last_modified: time(out.last_modified_time()),
            variants: out.production_variants().iter().map(variant).collect(),
            shadow_variants: out
                .shadow_production_variants()
                .iter()
                .map(variant)
                .collect(),
        }))
    }

    async fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> Result<Option<ConfigDescription>, AwsError> {
        Ok(self
            .described_config(name)
            .await?
            .map(|out| super::sdk_configs::description(name, &out)))
    }

    async fn model_tags(&self, model: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = match self.client.describe_model().model_name(model).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = classify("sagemaker", "DescribeModel", e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let arn = out.model_arn().unwrap_or_default().to_owned();
        self.endpoint_tags(&arn).await.map(Some)
    }

    async fn endpoint_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        super::registry::list_tags(&self.client, arn).await
    }

    async fn tag_endpoint(
        &self,
        arn: &str,
        current: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        // DeleteTags ignores absent keys, AddTags upserts: sending only the differences is
        // safe even if `current` is stale.
        let removed: Vec<String> = tags
            .iter()
            .filter(|(k, v)| v.is_empty() && current.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        if !removed.is_empty() {
            self.client
                .delete_tags()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| classify("sagemaker", "DeleteTags", e))?;
        }
        // Re-adding a key replaces its value on AWS; only changed keys are sent.
        let changed: BTreeMap<String, String> = tags
            .iter()
            .filter(|(k, v)| !v.is_empty() && current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            self.client
                .add_tags()
                .resource_arn(arn)
                .set_tags(super::sdk_endpoints::tags(&changed))
                .send()
                .await
                .map_err(|e| classify("sagemaker", "AddTags", e))?;
        }
        Ok(())
    }

    async fn create_model(&self, m: &ModelPlan) -> Result<(), AwsError> {
        let container = match &m.container {
            ModelContainer::Package => {
                ContainerDefinition::builder().model_package_name(&m.candidate_id)
            }
            ModelContainer::Image {
                image,
                model_data_url,
            } => ContainerDefinition::builder()
                .image(image)
                .model_data_url(model_data_url),
        }
        .set_environment(
            (!m.environment.is_empty()).then(|| m.environment.clone().into_iter().collect()),
        )
        .build();
        let r = self
            .client
            .create_model()
            .model_name(&m.name)
            .execution_role_arn(&m.execution_role_arn)
            .primary_container(container)
            .set_tags(tags(&m.tags))
            .send()
            .await;
        match r.map_err(|e| classify("sagemaker", "CreateModel", e)) {
            Ok(_) => {
                self.created("m", &m.name, &m.tags);
                Ok(())
            }
            Err(e) if exists(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn create_endpoint_config(&self, c: &ConfigPlan) -> Result<(), AwsError> {
        // Templates and inherited settings are read from the config they name (immutable);
        // if it is gone, the plan's own fields are all there is.
        let template = match super::sdk_configs::template_name(c) {
            Some(name) => self.described_config(name).await?,
            None => None,
        };
        let req = self
            .client
            .create_endpoint_config()
            .endpoint_config_name(&c.name)
            .set_tags(tags(&c.tags));
        let req = super::sdk_configs::request(req, c, template.as_ref());
        let sent = super::sdk_configs::as_described(&req);
        match req
            .send()
            .await
            .map_err(|e| dependency_pending(classify("sagemaker", "CreateEndpointConfig", e)))
        {
            Ok(_) => {
                self.created("c", &c.name, &c.tags);
                self.described.put(&c.name, sent);
                Ok(())
            }
            Err(e) if exists(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn create_endpoint(
        &self,
        name: &str,
        config: &str,
        t: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.client
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .set_tags(tags(t))
            .send()
            .await
            .map_err(|e| dependency_pending(classify("sagemaker", "CreateEndpoint", e)))
            .map(|_| ())
    }

    async fn update_endpoint(
        &self,
        name: &str,
        config: &str,
        d: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let mut req = self
            .client
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config);
        if let Some(d) = d {
            req = req.deployment_config(deployment(d));
        }
        req.send()
            .await
            .map_err(|e| dependency_pending(classify("sagemaker", "UpdateEndpoint", e)))
            .map(|_| ())
    }

    async fn update_weights(
        &self,
        name: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), AwsError> {
        let mut desired = Vec::new();
        for (variant, w) in weights {
            desired.push(
                DesiredWeightAndCapacity::builder()
                    .variant_name(variant)
                    .desired_weight(*w as f32)
                    .build(),
            );
        }
        self.client
            .update_endpoint_weights_and_capacities()
            .endpoint_name(name)
            .set_desired_weights_and_capacities(Some(desired))
            .send()
            .await
            .map_err(|e| classify("sagemaker", "UpdateEndpointWeightsAndCapacities", e))
            .map(|_| ())
    }

    async fn delete_endpoint(&self, name: &str) -> Result<(), AwsError> {
        ignore_missing(
            self.client
                .delete_endpoint()
                .endpoint_name(name)
                .send()
                .await
                .map_err(|e| classify("sagemaker", "DeleteEndpoint", e))
                .map(|_| ()),
        )
    }

    async fn delete_endpoint_config(&self, name: &str) -> Result<(), AwsError> {
        self.described.remove(name);
        self.resource_tags.remove(&format!("c/{name}"));
        ignore_missing(
            self.client
                .delete_endpoint_config()
                .endpoint_config_name(name)
                .send()
                .await
                .map_err(|e| classify("sagemaker", "DeleteEndpointConfig", e))
                .map(|_| ()),
        )
    }

    async fn delete_model(&self, name: &str) -> Result<(), AwsError> {
        self.resource_tags.remove(&format!("m/{name}"));
        ignore_missing(
            self.client
                .delete_model()
                .model_name(name)
                .send()
                .await
                .map_err(|e| classify("sagemaker", "DeleteModel", e))
                .map(|_| ()),
        )
    }

    async fn list_owned(
        &self,
        endpoint: &str,
        owner: &str,
    ) -> Result<(Vec<String>, Vec<String>), AwsError> {
        // NameContains is a substring filter (it also finds `<endpoint>-eu-…`): each listed
        // resource must then have this endpoint's exact name form and carry this owner.
        // Names hold at most the first 50 characters of the endpoint name.
        let prefix: String = endpoint.chars().take(50).collect();
        let mut configs = Vec::new();
        let mut pages = self
            .client
            .list_endpoint_configs()
            .name_contains(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("sagemaker", "ListEndpointConfigs", e))?;
            for c in page.endpoint_configs() {
                let name = c.endpoint_config_name().unwrap_or_default();
                if !owns_name(endpoint, "c", name) {
                    continue;
                }
                let tags = self
                    .resource_tags("c", name, c.endpoint_config_arn().unwrap_or_default())
                    .await?;
                if owned_resource(endpoint, owner, "c", name, &tags) {
                    configs.push(name.to_owned());
                }
            }
        }
        let mut models = Vec::new();
        let mut pages = self
            .client
            .list_models()
            .name_contains(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("sagemaker", "ListModels", e))?;
            for m in page.models() {
                let name = m.model_name().unwrap_or_default();
                if !owns_name(endpoint, "m", name) {
                    continue;
                }
                let tags = self
                    .resource_tags("m", name, m.model_arn().unwrap_or_default())
                    .await?;
                if owned_resource(endpoint, owner, "m", name, &tags) {
                    models.push(name.to_owned());
                }
            }
        }
        Ok((configs, models))
    }
}
