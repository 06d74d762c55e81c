//! SageMaker endpoints, endpoint configs and models ([`crate::aws::endpoints`]).

use std::collections::BTreeMap;

use super::Aws;
use crate::aws::AwsError;
use crate::aws::endpoints::{ConfigDescription, EndpointDescription};
use crate::plan::actions::{ConfigPlan, ModelPlan, NativeDeployment};

impl Aws<'_> {
    pub(crate) async fn describe_endpoint(
        &self,
        name: &str,
    ) -> Result<Option<EndpointDescription>, AwsError> {
        let call = self.clients().endpoints.describe_endpoint(name);
        self.run("sagemaker", "DescribeEndpoint", name, call).await
    }

    pub(crate) async fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> Result<Option<ConfigDescription>, AwsError> {
        let call = self.clients().endpoints.describe_endpoint_config(name);
        self.run("sagemaker", "DescribeEndpointConfig", name, call)
            .await
    }

    pub(crate) async fn endpoint_tags(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let call = self.clients().endpoints.endpoint_tags(arn);
        self.run("sagemaker", "ListTags", arn, call).await
    }

    pub(crate) async fn model_tags(
        &self,
        model: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let call = self.clients().endpoints.model_tags(model);
        self.run("sagemaker", "ListTags", model, call).await
    }

    /// AddTags on the endpoint; `detail` says what the tags record.
    pub(crate) async fn tag_endpoint(
        &self,
        arn: &str,
        current: &BTreeMap<String, String>,
        write: &BTreeMap<String, String>,
        detail: String,
    ) -> Result<(), AwsError> {
        let call = self.clients().endpoints.tag_endpoint(arn, current, write);
        self.run("sagemaker", "AddTags", detail, call).await
    }

    pub(crate) async fn create_model(&self, m: &ModelPlan) -> Result<(), AwsError> {
        let call = self.clients().endpoints.create_model(m);
        self.run("sagemaker", "CreateModel", m.name.clone(), call)
            .await
    }

    pub(crate) async fn create_endpoint_config(&self, cfg: &ConfigPlan) -> Result<(), AwsError> {
        let call = self.clients().endpoints.create_endpoint_config(cfg);
        self.run("sagemaker", "CreateEndpointConfig", cfg.name.clone(), call)
            .await
    }

    pub(crate) async fn create_endpoint(
        &self,
        ep: &str,
        config_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let call = self
            .clients()
            .endpoints
            .create_endpoint(ep, config_name, tags);
        let detail = format!("{ep} config={config_name}");
        self.run("sagemaker", "CreateEndpoint", detail, call).await
    }

    pub(crate) async fn update_endpoint(
        &self,
        ep: &str,
        config_name: &str,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let how = deployment
            .map(|d| format!(" ({})", d.name()))
            .unwrap_or_default();
        let detail = format!("{ep} config={config_name}{how}");
        let call = self
            .clients()
            .endpoints
            .update_endpoint(ep, config_name, deployment);
        self.run("sagemaker", "UpdateEndpoint", detail, call).await
    }

    pub(crate) async fn update_weights(
        &self,
        ep: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), AwsError> {
        let detail = weights
            .iter()
            .map(|(k, v)| format!("{k}={v:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let call = self.clients().endpoints.update_weights(ep, weights);
        self.run(
            "sagemaker",
            "UpdateEndpointWeightsAndCapacities",
            detail,
            call,
        )
        .await
    }

    pub(crate) async fn delete_endpoint(&self, ep: &str) -> Result<(), AwsError> {
        let call = self.clients().endpoints.delete_endpoint(ep);
        self.run("sagemaker", "DeleteEndpoint", ep, call).await
    }

    pub(crate) async fn delete_endpoint_config(&self, name: &str) -> Result<(), AwsError> {
        let call = self.clients().endpoints.delete_endpoint_config(name);
        self.run("sagemaker", "DeleteEndpointConfig", name, call)
            .await
    }

    pub(crate) async fn delete_model(&self, name: &str) -> Result<(), AwsError> {
        let call = self.clients().endpoints.delete_model(name);
        self.run("sagemaker", "DeleteModel", name, call).await
    }

    /// The configs and models this resource owns for `ep` (two listings).
    pub(crate) async fn list_owned(
        &self,
        ep: &str,
        owner: &str,
    ) -> Result<(Vec<String>, Vec<String>), AwsError> {
        let call = self.clients().endpoints.list_owned(ep, owner);
        self.run("sagemaker", "ListEndpointConfigs+ListModels", ep, call)
            .await
    }
}
