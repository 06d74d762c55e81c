//! SageMaker inference components: the control-plane operations a rollout to a component
//! makes, as a narrow trait with domain types. A component is created once (an existing one
//! of the same name counts as created only when the caller already owns it: the planner
//! decides), updated in place (a new model, compute or copy count, with SageMaker's rolling
//! policy and auto-rollback alarms), and deleted with NotFound as done. Tags (ownership and
//! the progress markers) go through [`super::endpoints::Endpoints`]'s ARN-generic calls.

use async_trait::async_trait;

use super::AwsError;
use crate::plan::ComponentStatus;
use crate::plan::Compute;
use crate::plan::actions::{ComponentPlan, NativeDeployment};

/// DescribeInferenceComponent.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentDescription {
    pub name: String,
    pub arn: String,
    pub endpoint: String,
    pub variant: Option<String>,
    pub status: ComponentStatus,
    /// `Specification.ModelName`: the model the copies run (None for a component built from
    /// a container alone, which is not ours).
    pub model_name: Option<String>,
    pub compute: Option<Compute>,
    pub desired_copies: Option<i32>,
    pub current_copies: Option<i32>,
    pub failure_reason: Option<String>,
}

#[async_trait]
pub trait InferenceComponents: Send + Sync {
    /// None when there is no such component.
    async fn describe(&self, name: &str) -> Result<Option<ComponentDescription>, AwsError>;
    /// CreateInferenceComponent with `tags` (ownership, lineage, markers).
    async fn create(
        &self,
        spec: &ComponentPlan,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AwsError>;
    /// UpdateInferenceComponent: the model and compute of `spec` (and its copy count), with
    /// `rolling` (a RollingUpdatePolicy and the auto-rollback alarms) or all at once.
    async fn update(
        &self,
        spec: &ComponentPlan,
        rolling: Option<&NativeDeployment>,
    ) -> Result<(), AwsError>;
    /// UpdateInferenceComponentRuntimeConfig: the copy count alone.
    async fn set_copies(&self, name: &str, copies: i32) -> Result<(), AwsError>;
    /// DeleteInferenceComponent; NotFound is success.
    async fn delete(&self, name: &str) -> Result<(), AwsError>;
}
