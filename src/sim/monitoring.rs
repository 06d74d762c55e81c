//! The simulator's Application Auto Scaling and CloudWatch: scaling registrations per
//! variant (which block removing or resizing that variant, as AWS does) and alarms whose
//! state scenarios change over time.

use async_trait::async_trait;

use super::Simulator;
use crate::aws::AwsError;
use crate::aws::alarms::Alarms;
use crate::aws::scaling::Scaling;
use crate::plan::MetricQuery;
use crate::plan::actions::{AlarmPlan, ScalingPlan};
use crate::plan::{Alarm, AlarmState, ScalingPolicy, ScalingRegistration};

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
        let exists = st
            .endpoints
            .get(endpoint)
            .is_some_and(|e| e.desc.variants.iter().any(|v| v.name == plan.variant));
        super::rules::scalable_target(endpoint, &plan.variant, exists, plan.min, plan.max)?;
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

#[async_trait]
impl Alarms for Simulator {
    async fn describe(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let st = self.enter("cloudwatch", "DescribeAlarms", false)?;
        Ok(names
            .iter()
            .filter_map(|n| st.alarms.get(n).map(|(a, _)| a.clone()))
            .collect())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let st = self.enter("cloudwatch", "DescribeAlarms", false)?;
        Ok(st
            .alarms
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, _)| n.clone())
            .collect())
    }

    async fn put(&self, alarm: &AlarmPlan) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("cloudwatch", "PutMetricAlarm", true)?;
        super::rules::alarm(alarm)?;
        let entry = st.alarms.entry(alarm.name.clone()).or_insert_with(|| {
            (
                Alarm {
                    name: alarm.name.clone(),
                    state: AlarmState::InsufficientData,
                    since: Some(now),
                },
                None,
            )
        });
        entry.1 = Some(alarm.clone());
        Ok(())
    }

    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        _start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Option<f64>>, AwsError> {
        let st = self.enter("cloudwatch", "GetMetricData", false)?;
        // The latest scripted value for the variant's role, as of the window's end.
        Ok(queries
            .iter()
            .map(|q| {
                let role = if st.champions.contains(&q.variant) {
                    "champion"
                } else {
                    "candidate"
                };
                st.metrics
                    .iter()
                    .filter(|(at, m)| *at <= end && m.variant == role && m.metric == q.metric)
                    .map(|(_, m)| m.value)
                    .next_back()
            })
            .collect())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        let mut st = self.enter("cloudwatch", "DeleteAlarms", true)?;
        for n in names {
            st.alarms.remove(n);
        }
        Ok(())
    }
}
