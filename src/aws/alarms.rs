//! CloudWatch alarms: the states of watched alarms, and the alarms the controller owns.

use async_trait::async_trait;

use super::AwsError;
use crate::plan::Alarm;
use crate::plan::actions::AlarmPlan;

/// Prefix of every alarm the controller creates for `endpoint`.
pub fn owned_prefix(endpoint: &str) -> String {
    format!("sagemaker-rollout-{endpoint}-")
}

#[async_trait]
pub trait Alarms: Send + Sync {
    /// States of the named alarms; a missing alarm is absent from the result.
    async fn describe(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError>;
    /// Names of alarms whose name starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError>;
    /// PutMetricAlarm (create or update).
    async fn put(&self, alarm: &AlarmPlan) -> Result<(), AwsError>;
    /// Deletes alarms; missing ones are ignored.
    async fn delete(&self, names: &[String]) -> Result<(), AwsError>;
}
