//! [`Invoker`], [`Scaling`] and [`Alarms`] on the official SDK clients.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use aws_smithy_types::Blob;

use super::alarms::Alarms;
use super::runtime::{Invocation, Invoker};
use super::scaling::{Scaling, resource_id};
use super::{AwsError, ErrorClass, classify};
use crate::plan::actions::{AlarmPlan, ScalingPlan};
use crate::plan::{Alarm, AlarmState, ScalingRegistration};

/// SageMaker runtime.
#[derive(Clone, Debug)]
pub struct SdkRuntime {
    client: aws_sdk_sagemakerruntime::Client,
}

impl SdkRuntime {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sagemakerruntime::Client::new(config),
        }
    }
}

#[async_trait]
impl Invoker for SdkRuntime {
    async fn invoke(
        &self,
        endpoint: &str,
        variant: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Invocation, AwsError> {
        let started = Instant::now();
        let result = self
            .client
            .invoke_endpoint()
            .endpoint_name(endpoint)
            .target_variant(variant)
            .content_type(content_type)
            .body(Blob::new(body.as_bytes().to_vec()))
            .send()
            .await;
        let latency = started.elapsed();
        match result {
            Ok(out) => Ok(Invocation {
                status: 200,
                body: out
                    .body()
                    .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                    .unwrap_or_default(),
                latency,
            }),
            Err(e) => {
                let status = e.raw_response().map(|r| i32::from(r.status().as_u16()));
                let err = classify("sagemaker-runtime", "InvokeEndpoint", e);
                // A model error (ModelError: the container answered 4xx/5xx) is a response to
                // judge, not a failed call.
                match (err.code.as_deref(), status) {
                    (Some("ModelError"), _) => Ok(Invocation {
                        status: 500,
                        body: err.message,
                        latency,
                    }),
                    _ => Err(err),
                }
            }
        }
    }
}

/// Application Auto Scaling.
#[derive(Clone, Debug)]
pub struct SdkScaling {
    client: aws_sdk_applicationautoscaling::Client,
}

impl SdkScaling {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_applicationautoscaling::Client::new(config),
        }
    }
}

fn policy_name(variant: &str) -> String {
    format!("sagemaker-rollout-{variant}")
}

#[async_trait]
impl Scaling for SdkScaling {
    async fn registrations(&self, endpoint: &str) -> Result<Vec<ScalingRegistration>, AwsError> {
        let prefix = format!("endpoint/{endpoint}/variant/");
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| classify("application-autoscaling", "DescribeScalableTargets", e))?;
            for t in page.scalable_targets() {
                if let Some(variant) = t.resource_id().strip_prefix(&prefix) {
                    out.push(ScalingRegistration {
                        variant: variant.to_owned(),
                        min: t.min_capacity(),
                        max: t.max_capacity(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn register(&self, endpoint: &str, p: &ScalingPlan) -> Result<(), AwsError> {
        let id = resource_id(endpoint, &p.variant);
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .min_capacity(p.min)
            .max_capacity(p.max)
            .send()
            .await
            .map_err(|e| classify("application-autoscaling", "RegisterScalableTarget", e))?;
        let secs = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
        let metric = match p.metric.as_str() {
            "SageMakerVariantInvocationsPerInstance" => {
                MetricType::SageMakerVariantInvocationsPerInstance
            }
            other => MetricType::from(other),
        };
        // A builder refusing its input is a bug on our side, not something a retry fixes.
        let unbuildable = |e: aws_smithy_types::error::operation::BuildError| {
            AwsError::new(
                ErrorClass::Terminal,
                "application-autoscaling",
                "PutScalingPolicy",
                e.to_string(),
            )
        };
        let predefined = PredefinedMetricSpecification::builder()
            .predefined_metric_type(metric)
            .build()
            .map_err(unbuildable)?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(p.target_value)
            .predefined_metric_specification(predefined)
            .scale_in_cooldown(secs(p.scale_in_cooldown))
            .scale_out_cooldown(secs(p.scale_out_cooldown))
            .build()
            .map_err(unbuildable)?;
        self.client
            .put_scaling_policy()
            .policy_name(policy_name(&p.variant))
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .map_err(|e| classify("application-autoscaling", "PutScalingPolicy", e))?;
        Ok(())
    }

    async fn deregister(&self, endpoint: &str, variant: &str) -> Result<(), AwsError> {
        let id = resource_id(endpoint, variant);
        let policy = self
            .client
            .delete_scaling_policy()
            .policy_name(policy_name(variant))
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .send()
            .await
            .map_err(|e| classify("application-autoscaling", "DeleteScalingPolicy", e));
        match policy {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
        let target = self
            .client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .send()
            .await
            .map_err(|e| classify("application-autoscaling", "DeregisterScalableTarget", e));
        match target {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}

/// CloudWatch alarms.
#[derive(Clone, Debug)]
pub struct SdkAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl SdkAlarms {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_cloudwatch::Client::new(config),
        }
    }

    pub fn from_client(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

fn state(s: Option<&StateValue>) -> AlarmState {
    match s {
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::Ok) => AlarmState::Ok,
        _ => AlarmState::InsufficientData,
    }
}

#[async_trait]
impl Alarms for SdkAlarms {
    async fn describe(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let mut out = Vec::new();
        // DescribeAlarms accepts at most 100 names per call.
        for chunk in names.chunks(100) {
            let resp = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("cloudwatch", "DescribeAlarms", e))?;
            for a in resp.metric_alarms() {
                out.push(Alarm {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: state(a.state_value()),
                    since: a
                        .state_updated_timestamp()
                        .and_then(|t| jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()),
                });
            }
            for a in resp.composite_alarms() {
                out.push(Alarm {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: state(a.state_value()),
                    since: None,
                });
            }
        }
        Ok(out)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("cloudwatch", "DescribeAlarms", e))?;
            out.extend(
                page.metric_alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name().map(str::to_owned)),
            );
        }
        Ok(out)
    }

    async fn put(&self, a: &AlarmPlan) -> Result<(), AwsError> {
        let dims: Vec<Dimension> = a
            .dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
            .collect();
        let mut req = self
            .client
            .put_metric_alarm()
            .alarm_name(&a.name)
            .namespace(&a.namespace)
            .metric_name(&a.metric_name)
            .set_dimensions(Some(dims))
            .period(60)
            .evaluation_periods(a.periods)
            .threshold(a.threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data("notBreaching")
            .set_tags(Some(
                a.tags
                    .iter()
                    .map(|(k, v)| {
                        aws_sdk_cloudwatch::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect(),
            ));
        req = if a.statistic.starts_with('p') {
            req.extended_statistic(&a.statistic)
        } else {
            req.statistic(Statistic::from(a.statistic.as_str()))
        };
        req.send()
            .await
            .map_err(|e| classify("cloudwatch", "PutMetricAlarm", e))
            .map(|_| ())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        for chunk in names.chunks(100) {
            let r = self
                .client
                .delete_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("cloudwatch", "DeleteAlarms", e));
            match r {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}
