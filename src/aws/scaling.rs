//! Application Auto Scaling of endpoint variants: scalable targets and their target-tracking
//! policy. Deregistering removes the policy first, so none is ever left behind.

use async_trait::async_trait;

use super::AwsError;
use crate::plan::ScalingRegistration;
use crate::plan::actions::ScalingPlan;

/// `endpoint/<name>/variant/<variant>`, the Application Auto Scaling resource id.
pub fn resource_id(endpoint: &str, variant: &str) -> String {
    format!("endpoint/{endpoint}/variant/{variant}")
}

#[async_trait]
pub trait Scaling: Send + Sync {
    /// Registered targets of the endpoint's variants.
    async fn registrations(&self, endpoint: &str) -> Result<Vec<ScalingRegistration>, AwsError>;
    /// Registers the target and puts its target-tracking policy.
    async fn register(&self, endpoint: &str, plan: &ScalingPlan) -> Result<(), AwsError>;
    /// Deletes the policy, then deregisters the target; NotFound is success.
    async fn deregister(&self, endpoint: &str, variant: &str) -> Result<(), AwsError>;
}
