//! CloudWatch alarms and metrics ([`crate::aws::alarms`]).

use jiff::Timestamp;

use super::Aws;
use crate::aws::AwsError;
use crate::plan::actions::AlarmPlan;
use crate::plan::{Alarm, MetricQuery};

impl Aws<'_> {
    pub(crate) async fn describe_alarms(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let call = self.clients().alarms.describe(names);
        self.run("cloudwatch", "DescribeAlarms", names.join(","), call)
            .await
    }

    pub(crate) async fn list_alarms(
        &self,
        prefix: &str,
    ) -> Result<Vec<crate::aws::alarms::ListedAlarm>, AwsError> {
        let call = self.clients().alarms.list(prefix);
        self.run("cloudwatch", "DescribeAlarms", prefix, call).await
    }

    pub(crate) async fn put_alarm(&self, a: &AlarmPlan) -> Result<(), AwsError> {
        let call = self.clients().alarms.put(a);
        self.run("cloudwatch", "PutMetricAlarm", a.name.clone(), call)
            .await
    }

    pub(crate) async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        let call = self.clients().alarms.delete(names);
        self.run("cloudwatch", "DeleteAlarms", names.join(","), call)
            .await
    }

    pub(crate) async fn metric_data(
        &self,
        queries: &[MetricQuery],
        since: Timestamp,
    ) -> Result<Vec<crate::plan::Series>, AwsError> {
        // Whole minutes only: a look judges complete minutes (plan::compare::look).
        let until = crate::plan::compare::data_end(self.now);
        let detail = format!("{} queries from {since} to {until}", queries.len());
        let call = self.clients().alarms.metric_data(queries, since, until);
        self.run("cloudwatch", "GetMetricData", detail, call).await
    }
}
