//! The target-tracking scaling policy of the serving variant.

use super::super::actions::ScalingPlan;
use crate::api::{ScalingMetric, ValidSpec};

/// The predefined metric of an inference component's copies (SM-80).
pub const INVOCATIONS_PER_COPY: &str = "SageMakerInferenceComponentInvocationsPerCopy";

pub fn scaling_plan(spec: &ValidSpec, variant: &str) -> Option<ScalingPlan> {
    let a = spec.autoscaling.as_ref()?;
    Some(ScalingPlan {
        variant: variant.to_owned(),
        min: a.min,
        max: a.max,
        metric: match a.metric {
            ScalingMetric::InvocationsPerInstance => {
                "SageMakerVariantInvocationsPerInstance".into()
            }
            ScalingMetric::ModelLatency => "ModelLatency".into(),
            ScalingMetric::ProvisionedConcurrencyUtilization => {
                "SageMakerVariantProvisionedConcurrencyUtilization".into()
            }
            ScalingMetric::InvocationsPerCopy => INVOCATIONS_PER_COPY.into(),
        },
        target_value: a.target_value,
        scale_in_cooldown: a.scale_in_cooldown,
        scale_out_cooldown: a.scale_out_cooldown,
    })
}

/// What autoscaling the spec wants on `variant` (or none), as a short hash: stored on the
/// endpoint once in place.
pub fn scaling_hash(spec: &ValidSpec, variant: &str) -> String {
    let key = scaling_plan(spec, variant).map(|p| {
        (
            p.variant,
            p.min,
            p.max,
            p.metric,
            p.target_value.to_bits(),
            p.scale_in_cooldown.as_secs(),
            p.scale_out_cooldown.as_secs(),
        )
    });
    super::content_hash(&key, 10)
}
