//! Application Auto Scaling ([`crate::aws::scaling`]).

use super::Aws;
use crate::aws::AwsError;
use crate::plan::ScalingRegistration;
use crate::plan::actions::ScalingPlan;

impl Aws<'_> {
    pub(crate) async fn scaling_registrations(
        &self,
        ep: &str,
        variants: &[String],
    ) -> Result<Vec<ScalingRegistration>, AwsError> {
        let call = self.clients().scaling.registrations(ep, variants);
        let operation = "DescribeScalableTargets+DescribeScalingPolicies";
        self.run("application-autoscaling", operation, ep, call)
            .await
    }

    pub(crate) async fn register_scaling(&self, ep: &str, s: &ScalingPlan) -> Result<(), AwsError> {
        let call = self.clients().scaling.register(ep, s);
        let operation = "RegisterScalableTarget+PutScalingPolicy";
        self.run(
            "application-autoscaling",
            operation,
            s.variant.clone(),
            call,
        )
        .await
    }

    pub(crate) async fn deregister_scaling(&self, ep: &str, variant: &str) -> Result<(), AwsError> {
        let call = self.clients().scaling.deregister(ep, variant);
        let operation = "DeleteScalingPolicy+DeregisterScalableTarget";
        self.run("application-autoscaling", operation, variant, call)
            .await
    }
}
