//! SageMaker endpoints, endpoint configs and models: the control-plane operations a rollout
//! makes, as a narrow trait with domain types. Creates are idempotent (an existing resource
//! of the same name counts as created: names are content hashes), deletes treat NotFound as
//! done.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::AwsError;
use crate::plan::EndpointStatus;
use crate::plan::actions::{ConfigPlan, ModelPlan, NativeDeployment};

/// One production or shadow variant as DescribeEndpoint reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantState {
    pub name: String,
    pub current_weight: f64,
    pub desired_weight: Option<f64>,
    pub current_instances: i32,
    pub desired_instances: Option<i32>,
}

/// DescribeEndpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointDescription {
    pub name: String,
    pub arn: String,
    pub status: EndpointStatus,
    pub config_name: String,
    pub failure_reason: Option<String>,
    pub last_modified: Timestamp,
    pub variants: Vec<VariantState>,
    pub shadow_variants: Vec<VariantState>,
}

/// One variant of an endpoint config.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigVariant {
    pub name: String,
    pub model_name: String,
    pub instance_type: String,
    pub instance_count: i32,
    pub weight: f64,
    /// A serverless variant (`ServerlessConfig`): no instances, and fewer metrics.
    pub serverless: bool,
}

/// DescribeEndpointConfig.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigDescription {
    pub name: String,
    pub production: Vec<ConfigVariant>,
    pub shadow: Vec<ConfigVariant>,
    /// An asynchronous-inference endpoint (`AsyncInferenceConfig`): other metrics than a
    /// real-time one.
    pub async_inference: bool,
}

/// Endpoint-related SageMaker operations.
#[async_trait]
pub trait Endpoints: Send + Sync {
    async fn describe_endpoint(&self, name: &str) -> Result<Option<EndpointDescription>, AwsError>;
    async fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> Result<Option<ConfigDescription>, AwsError>;
    /// Tags of a model (its lineage), or None when the model does not exist.
    async fn model_tags(&self, model: &str) -> Result<Option<BTreeMap<String, String>>, AwsError>;
    async fn endpoint_tags(&self, endpoint_arn: &str)
    -> Result<BTreeMap<String, String>, AwsError>;
    /// Sets tags; an empty value deletes the key. `current` is what the caller knows the
    /// endpoint carries (read this pass): only keys that differ are sent, and nothing is read.
    async fn tag_endpoint(
        &self,
        endpoint_arn: &str,
        current: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError>;
    async fn create_model(&self, model: &ModelPlan) -> Result<(), AwsError>;
    async fn create_endpoint_config(&self, config: &ConfigPlan) -> Result<(), AwsError>;
    async fn create_endpoint(
        &self,
        name: &str,
        config: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError>;
    async fn update_endpoint(
        &self,
        name: &str,
        config: &str,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError>;
    async fn update_weights(
        &self,
        name: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), AwsError>;
    async fn delete_endpoint(&self, name: &str) -> Result<(), AwsError>;
    async fn delete_endpoint_config(&self, name: &str) -> Result<(), AwsError>;
    async fn delete_model(&self, name: &str) -> Result<(), AwsError>;
    /// Names of endpoint configs and models created for `endpoint` by `owner`.
    async fn list_owned(
        &self,
        endpoint: &str,
        owner: &str,
    ) -> Result<(Vec<String>, Vec<String>), AwsError>;
}
