//! The simulator's Application Auto Scaling: scaling registrations per variant, which block
//! removing or resizing that variant, as AWS does.

use async_trait::async_trait;

use super::Simulator;
use crate::aws::AwsError;
use crate::aws::scaling::Scaling;
use crate::plan::actions::ScalingPlan;
use crate::plan::{ScalingPolicy, ScalingRegistration};

#[async_trait]
impl Scaling for Simulator {
    async fn registrations(
        &self,
        endpoint: &str,
        variants: &[String],
    ) -> Result<Vec<ScalingRegistration>, AwsError> {
        let st = self.enter("application-autoscaling", "DescribeScalableTargets", false)?;
        Ok(st
            .scaling
            .iter()
            .filter(|((e, v), _)| e == endpoint && variants.contains(v))
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn register(&self, endpoint: &str, plan: &ScalingPlan) -> Result<(), AwsError> {
        let mut st = self.enter("application-autoscaling", "RegisterScalableTarget", true)?;
        if endpoint == crate::aws::scaling::COMPONENTS {
            st.copies_target(plan)?;
        } else {
            st.variant_target(endpoint, plan)?;
        }
        st.scaling.insert(
            (endpoint.to_owned(), plan.variant.clone()),
            ScalingRegistration {
                variant: plan.variant.clone(),
                min: plan.min,
                max: plan.max,
                policy: Some(ScalingPolicy {
                    metric: plan.metric.clone(),
                    target_value: plan.target_value,
                    scale_in_cooldown: plan.scale_in_cooldown,
                    scale_out_cooldown: plan.scale_out_cooldown,
                }),
            },
        );
        Ok(())
    }

    async fn deregister(&self, endpoint: &str, variant: &str) -> Result<(), AwsError> {
        let mut st = self.enter("application-autoscaling", "DeregisterScalableTarget", true)?;
        st.scaling
            .remove(&(endpoint.to_owned(), variant.to_owned()));
        Ok(())
    }
}

impl super::State {
    /// A variant's target: it exists (AAS-5, AAS-6), and SM-78: provisioned concurrency is the
    /// dimension of a serverless variant that has it, instances of any other.
    fn variant_target(&self, endpoint: &str, plan: &ScalingPlan) -> Result<(), AwsError> {
        let exists = (self.endpoints.get(endpoint))
            .is_some_and(|e| e.desc.variants.iter().any(|v| v.name == plan.variant));
        super::rules::scalable_target(endpoint, &plan.variant, exists, plan.min, plan.max)?;
        let provisioned = (self.endpoints.get(endpoint))
            .and_then(|e| self.configs.get(&e.desc.config_name))
            .and_then(|c| c.production.iter().find(|v| v.name == plan.variant))
            .and_then(|v| v.serverless.as_ref())
            .map(|s| s.provisioned_concurrency.is_some());
        let wants = plan.metric == crate::aws::scaling::PROVISIONED_CONCURRENCY;
        if provisioned.map_or(wants, |p| !(p && wants)) {
            return Err(super::rules::scaling_invalid(format!(
                "endpoint/{endpoint}/variant/{}: a serverless variant with provisioned concurrency scales sagemaker:variant:DesiredProvisionedConcurrency, any other variant sagemaker:variant:DesiredInstanceCount",
                plan.variant
            )));
        }
        Ok(())
    }
}

impl Simulator {
    /// Records the variants serving now as the champion's (for scripted metrics).
    pub fn mark_champions(&self) {
        let mut st = self.lock();
        let names: Vec<String> = st
            .endpoints
            .values()
            .flat_map(|e| e.desc.variants.iter().map(|v| v.name.clone()))
            .collect();
        st.champions.extend(names);
    }
}
