//! The AWS rules the simulator checks on the requests it receives, each a pure function
//! named after its row of `docs/aws-rules.md` (the emulator enforces the same rows from
//! the service models and AWS's pages). A violation answers the error AWS answers, so an
//! engine test on the simulator fails the way a rollout on AWS would.

use std::collections::BTreeMap;

use crate::aws::AwsError;
use crate::plan::actions::{AlarmPlan, ConfigPlan, NativeDeployment, NativePolicy};
use crate::tags;

/// SageMaker's ValidationException, classed as the SDK adapter classes it (a missing
/// resource is NotFound, an endpoint busy updating is Transient, the rest Terminal).
pub(super) fn invalid(operation: &'static str, message: impl Into<String>) -> AwsError {
    AwsError::answered("sagemaker", operation, "ValidationException", message)
}

/// SM-65, SM-66: a container from an image needs an image URI of 1-255 characters without
/// whitespace and a ModelDataUrl of at most 1024 characters of `(https|s3)://bucket/…`.
/// The simulator serves every region, so the same-region rule is left to `check` and the
/// emulator.
pub(super) fn image_container(image: &str, model_data_url: &str) -> Result<(), AwsError> {
    let problems = crate::api::valid::container::image("Image", image, None);
    if let Some(p) = problems.first() {
        return Err(invalid("CreateModel", p.to_string()));
    }
    let url_ok = model_data_url.chars().count() <= 1024
        && ["s3://", "https://"].iter().any(|s| {
            model_data_url
                .strip_prefix(s)
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        });
    if !url_ok {
        return Err(invalid(
            "CreateModel",
            format!(
                "ModelDataUrl '{model_data_url}' is not a URL of the form (https|s3)://bucket/key of at most 1024 characters"
            ),
        ));
    }
    Ok(())
}

/// SM-24: endpoint, config, model and variant names are 1-63 characters of
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
pub(super) fn name(operation: &'static str, what: &str, value: &str) -> Result<(), AwsError> {
    let ok = (1..=63).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            operation,
            format!(
                "Value '{value}' at '{what}' failed to satisfy constraint: Member must have length less than or equal to 63 and match pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}"
            ),
        ))
    }
}

/// SM-45, SM-46, SM-47: at most 50 tags per resource; keys 1-128 and values at most 256
/// characters of letters, digits, spaces and `_ . : / = + - @`; no `aws:` prefix.
pub(super) fn tags(
    operation: &'static str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    if tags.len() > tags::MAX_TAGS {
        return Err(invalid(
            operation,
            format!(
                "{} tags exceed the limit of {} per resource",
                tags.len(),
                tags::MAX_TAGS
            ),
        ));
    }
    for (k, v) in tags {
        let key_ok = (1..=tags::MAX_KEY_CHARS).contains(&k.chars().count())
            && k.chars().all(tags::allowed_char)
            && !k.to_ascii_lowercase().starts_with("aws:");
        let value_ok =
            v.chars().count() <= tags::MAX_VALUE_CHARS && v.chars().all(tags::allowed_char);
        if !key_ok || !value_ok {
            return Err(invalid(
                operation,
                format!("tag {k:?}={v:?} is not a valid tag"),
            ));
        }
    }
    Ok(())
}

/// SM-77: a serverless variant has no instance type, and a config with one has no other
/// variant (production or shadow) and no data capture.
pub(super) fn serverless_config(config: &ConfigPlan) -> Result<(), AwsError> {
    let op = "CreateEndpointConfig";
    let all = || config.production.iter().chain(&config.shadow);
    if !all().any(|v| v.serverless.is_some()) {
        return Ok(());
    }
    if all().any(|v| v.serverless.is_some() && !v.instance_type.is_empty()) {
        return Err(invalid(
            op,
            "A production variant takes ServerlessConfig or an InstanceType, not both",
        ));
    }
    if all().count() > 1 {
        return Err(invalid(
            op,
            "Serverless endpoints do not support multiple production variants or shadow variants",
        ));
    }
    if config.data_capture.is_some() {
        return Err(invalid(
            op,
            "Serverless endpoints do not support data capture",
        ));
    }
    Ok(())
}

/// SM-19: a config with shadow variants has exactly one production and one shadow variant.
pub(super) fn shadow_pair(config: &ConfigPlan) -> Result<(), AwsError> {
    if !config.shadow.is_empty() && (config.production.len() != 1 || config.shadow.len() != 1) {
        return Err(invalid(
            "CreateEndpointConfig",
            format!(
                "An endpoint configuration with ShadowProductionVariants must have exactly one production variant and one shadow variant (got {} and {})",
                config.production.len(),
                config.shadow.len()
            ),
        ));
    }
    Ok(())
}

/// SM-3, SM-5, SM-8, SM-9, SM-10, SM-75: the limits of a guardrail deployment
/// (TrafficRoutingConfig, BlueGreenUpdatePolicy, RollingUpdatePolicy, AutoRollbackConfig).
pub(super) fn guardrail_limits(d: &NativeDeployment) -> Result<(), AwsError> {
    let op = "UpdateEndpoint";
    if d.alarms.len() > 10 {
        return Err(invalid(
            op,
            "AutoRollbackConfiguration.Alarms lists at most 10 alarms",
        ));
    }
    let termination = match &d.policy {
        NativePolicy::BlueGreen {
            termination_wait, ..
        } => *termination_wait,
        NativePolicy::Rolling { .. } => std::time::Duration::ZERO,
    };
    if d.bake.as_secs() > 3600 || termination.as_secs() > 3600 {
        return Err(invalid(
            op,
            "WaitIntervalInSeconds and TerminationWaitInSeconds are 0-3600",
        ));
    }
    if let Some(n) = d.canary_instances()
        && n * 2 > d.instance_count
    {
        return Err(invalid(
            op,
            "CanarySize must be less than or equal to 50% of the variant's instance count",
        ));
    }
    if let NativePolicy::Rolling { batch, .. } = &d.policy
        && !(5.0..=50.0).contains(&batch.percent_of(d.instance_count))
    {
        return Err(invalid(
            op,
            "MaximumBatchSize must be between 5% and 50% of the variant's total instance count",
        ));
    }
    let timeout = d.max_execution_timeout().as_secs();
    if !(600..=28_800).contains(&timeout) || timeout <= d.waits().as_secs() {
        return Err(invalid(
            op,
            "MaximumExecutionTimeoutInSeconds must be 600-28800 and greater than the waits",
        ));
    }
    Ok(())
}

/// CW-4, CW-8: alarm names are 1-255 characters; at most 30 dimensions, each name 1-255
/// and value 1-1024 characters.
pub(super) fn alarm(a: &AlarmPlan) -> Result<(), AwsError> {
    let bad = |m: String| AwsError::answered("cloudwatch", "PutMetricAlarm", "ValidationError", m);
    if !(1..=255).contains(&a.name.chars().count()) {
        return Err(bad(format!(
            "alarm name {:?} is not 1-255 characters",
            a.name
        )));
    }
    if a.dimensions.len() > 30 {
        return Err(bad(format!(
            "{} dimensions; at most 30",
            a.dimensions.len()
        )));
    }
    for (k, v) in &a.dimensions {
        if !(1..=255).contains(&k.chars().count()) || !(1..=1024).contains(&v.chars().count()) {
            return Err(bad(format!("dimension {k:?}={v:?} is out of bounds")));
        }
    }
    Ok(())
}

/// RegisterScalableTarget's ValidationException.
pub(super) fn scaling_invalid(m: String) -> AwsError {
    AwsError::answered(
        "application-autoscaling",
        "RegisterScalableTarget",
        "ValidationException",
        m,
    )
}

/// AAS-5, AAS-6: a scalable target is an existing variant of the endpoint, with
/// MinCapacity at most MaxCapacity.
pub(super) fn scalable_target(
    endpoint: &str,
    variant: &str,
    exists: bool,
    min: i32,
    max: i32,
) -> Result<(), AwsError> {
    let bad = scaling_invalid;
    if !exists {
        return Err(bad(format!(
            "Unable to register endpoint/{endpoint}/variant/{variant}: the variant does not exist"
        )));
    }
    if min > max {
        return Err(bad(format!(
            "MinCapacity {min} is greater than MaxCapacity {max}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_refuses_what_aws_refuses() {
        assert!(name("CreateModel", "modelName", "churn-prod-m-0123456789").is_ok());
        assert!(name("CreateModel", "modelName", &"a".repeat(64)).is_err());
        assert!(name("CreateModel", "modelName", "churn_prod").is_err());
        assert!(name("CreateModel", "modelName", "-churn").is_err());
        let many: BTreeMap<String, String> =
            (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(tags("AddTags", &many).is_err());
        let odd: BTreeMap<String, String> = [("k".to_owned(), "a{b}".to_owned())].into();
        assert!(tags("AddTags", &odd).is_err());
        let reserved: BTreeMap<String, String> = [("aws:x".to_owned(), "v".to_owned())].into();
        assert!(tags("AddTags", &reserved).is_err());
        assert!(scalable_target("e", "v", false, 1, 2).is_err());
        assert!(scalable_target("e", "v", true, 3, 2).is_err());
        assert!(scalable_target("e", "v", true, 1, 2).is_ok());
        let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1";
        assert!(image_container(ecr, "s3://b/run-1/model.tar.gz").is_ok());
        assert!(image_container("", "s3://b/model.tar.gz").is_err());
        assert!(image_container("img with space", "s3://b/model.tar.gz").is_err());
        assert!(image_container(&"i".repeat(256), "s3://b/model.tar.gz").is_err());
        assert!(image_container(ecr, "ftp://b/model.tar.gz").is_err());
        assert!(image_container(ecr, "s3:///model.tar.gz").is_err());
        assert!(image_container(ecr, &format!("s3://b/{}", "k".repeat(1020))).is_err());
    }

    #[test]
    fn shadow_guardrail_and_alarm_limits_refuse_what_aws_refuses() {
        use crate::plan::actions::VariantPlan;
        let v = |name: &str| VariantPlan {
            name: name.into(),
            model_name: "m".into(),
            instance_type: "ml.m5.large".into(),
            instance_count: 2,
            serverless: None,
            weight: 1.0,
            template: None,
        };
        let config = |production: usize, shadow: usize| ConfigPlan {
            name: "c".into(),
            production: (0..production).map(|i| v(&format!("p{i}"))).collect(),
            shadow: (0..shadow).map(|i| v(&format!("s{i}"))).collect(),
            data_capture: None,
            inherit: None,
            tags: BTreeMap::new(),
        };
        assert!(shadow_pair(&config(1, 1)).is_ok());
        assert!(shadow_pair(&config(2, 0)).is_ok());
        assert!(shadow_pair(&config(2, 1)).is_err());
        assert!(shadow_pair(&config(1, 2)).is_err());
        let d = |alarms: usize, percent: Option<i32>, instances: i32, bake: u64| NativeDeployment {
            bake: std::time::Duration::from_secs(bake),
            policy: NativePolicy::BlueGreen {
                termination_wait: std::time::Duration::from_secs(60),
                canary_percent: percent,
            },
            instance_count: instances,
            alarms: (0..alarms).map(|i| format!("a{i}")).collect(),
        };
        assert!(guardrail_limits(&d(2, Some(50), 2, 600)).is_ok());
        assert!(guardrail_limits(&d(11, None, 2, 600)).is_err(), "11 alarms");
        assert!(
            guardrail_limits(&d(1, Some(50), 1, 600)).is_err(),
            "a canary of 1 of 1"
        );
        assert!(
            guardrail_limits(&d(1, None, 2, 3601)).is_err(),
            "a wait over 1 h"
        );
        let rolling = |batch, instances| NativeDeployment {
            bake: std::time::Duration::from_secs(300),
            policy: NativePolicy::Rolling {
                batch,
                rollback_batch: None,
                timeout: None,
            },
            instance_count: instances,
            alarms: vec!["a".into()],
        };
        use crate::plan::actions::Capacity::{Instances, Percent};
        assert!(guardrail_limits(&rolling(Instances(1), 4)).is_ok());
        assert!(guardrail_limits(&rolling(Percent(50), 4)).is_ok());
        assert!(
            guardrail_limits(&rolling(Instances(1), 1)).is_err(),
            "a batch of 1 of 1 is 100 %"
        );
        assert!(
            guardrail_limits(&rolling(Percent(4), 40)).is_err(),
            "under 5 %"
        );
        let alarm = |name: String, dims: usize| AlarmPlan {
            kind: crate::plan::actions::AlarmKind::Above,
            name,
            namespace: "AWS/SageMaker".into(),
            metric_name: "Invocations".into(),
            statistic: "Sum".into(),
            threshold: 1.0,
            periods: 1,
            datapoints: 1,
            dimensions: (0..dims).map(|i| (format!("d{i}"), "v".into())).collect(),
            tags: BTreeMap::new(),
        };
        assert!(super::alarm(&alarm("a".into(), 2)).is_ok());
        assert!(super::alarm(&alarm("a".repeat(256), 2)).is_err());
        assert!(super::alarm(&alarm("a".into(), 31)).is_err());
    }
}
