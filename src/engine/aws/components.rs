//! SageMaker inference components ([`crate::aws::components`]).

use std::collections::BTreeMap;

use super::Aws;
use crate::aws::AwsError;
use crate::aws::components::ComponentDescription;
use crate::plan::actions::{ComponentPlan, NativeDeployment};

impl Aws<'_> {
    pub(crate) async fn describe_component(
        &self,
        name: &str,
    ) -> Result<Option<ComponentDescription>, AwsError> {
        let call = self.clients().components.describe(name);
        self.run("sagemaker", "DescribeInferenceComponent", name, call)
            .await
    }

    pub(crate) async fn create_component(
        &self,
        c: &ComponentPlan,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let call = self.clients().components.create(c, tags);
        let detail = format!("{} on {} model={}", c.name, c.endpoint, c.model_name);
        self.run("sagemaker", "CreateInferenceComponent", detail, call)
            .await
    }

    pub(crate) async fn update_component(
        &self,
        c: &ComponentPlan,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let call = self.clients().components.update(c, deployment);
        let how = if deployment.is_some() {
            "rolling"
        } else {
            "all at once"
        };
        let detail = format!("{} model={} ({how})", c.name, c.model_name);
        self.run("sagemaker", "UpdateInferenceComponent", detail, call)
            .await
    }

    pub(crate) async fn set_component_copies(
        &self,
        name: &str,
        copies: i32,
    ) -> Result<(), AwsError> {
        let call = self.clients().components.set_copies(name, copies);
        let detail = format!("{name} copies={copies}");
        let operation = "UpdateInferenceComponentRuntimeConfig";
        self.run("sagemaker", operation, detail, call).await
    }

    pub(crate) async fn delete_component(&self, name: &str) -> Result<(), AwsError> {
        let call = self.clients().components.delete(name);
        self.run("sagemaker", "DeleteInferenceComponent", name, call)
            .await
    }
}
