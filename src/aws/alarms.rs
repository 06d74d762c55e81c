//! CloudWatch alarms: the states of watched alarms (metric and composite), and the alarms
//! the controller owns (created, listed by prefix for cleanup, deleted), as a narrow trait
//! and its implementation on `aws-sdk-cloudwatch` (which speaks Smithy RPC v2 CBOR).

use async_trait::async_trait;
use aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, StateValue,
    Statistic,
};

use super::{AwsError, classify};
use crate::plan::actions::{AlarmKind, AlarmPlan};
use crate::plan::{Alarm, AlarmState, MetricQuery, Series};

/// A listed alarm and its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedAlarm {
    pub name: String,
    pub tags: std::collections::BTreeMap<String, String>,
}

#[async_trait]
pub trait Alarms: Send + Sync {
    /// States of the named alarms, metric or composite; a missing alarm is absent.
    async fn describe(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError>;
    /// Metric alarms whose name starts with `prefix`, with their tags (ListTagsForResource
    /// per alarm: ownership is decided by the owner tag, not the name alone).
    async fn list(&self, prefix: &str) -> Result<Vec<ListedAlarm>, AwsError>;
    /// Per query, over `[start, end)` ([`window`]): one value for the window as one period,
    /// or with `per_minute` one per step of it, oldest first (GetMetricData); None where
    /// CloudWatch has no data point.
    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Series>, AwsError>;
    /// PutMetricAlarm (create or update).
    async fn put(&self, alarm: &AlarmPlan) -> Result<(), AwsError>;
    /// Deletes alarms; missing ones are ignored.
    async fn delete(&self, names: &[String]) -> Result<(), AwsError>;
}

/// CloudWatch alarms.
#[derive(Clone, Debug)]
pub struct SdkAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl SdkAlarms {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            client: aws_sdk_cloudwatch::Client::from_conf(
                crate::aws::sdk::sdk_config!(
                    aws_sdk_cloudwatch,
                    config,
                    "cloudwatch",
                    scope = scope
                )
                .build(),
            ),
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
        // DescribeAlarms accepts at most 100 names per call, and returns composite alarms
        // only when asked for them (without AlarmTypes: metric alarms only).
        for chunk in names.chunks(100) {
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .into_paginator()
                .send();
            while let Some(resp) = pages.next().await {
                let resp = resp.map_err(|e| classify("cloudwatch", "DescribeAlarms", e))?;
                for a in resp.metric_alarms() {
                    out.push(Alarm {
                        name: a.alarm_name().unwrap_or_default().to_owned(),
                        state: state(a.state_value()),
                        since: a.state_updated_timestamp().and_then(|t| {
                            jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()
                        }),
                    });
                }
                for a in resp.composite_alarms() {
                    out.push(Alarm {
                        name: a.alarm_name().unwrap_or_default().to_owned(),
                        state: state(a.state_value()),
                        since: a.state_updated_timestamp().and_then(|t| {
                            jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()
                        }),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedAlarm>, AwsError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("cloudwatch", "DescribeAlarms", e))?;
            found.extend(
                page.metric_alarms()
                    .iter()
                    .filter_map(|a| Some((a.alarm_name()?.to_owned(), a.alarm_arn()?.to_owned()))),
            );
        }
        let mut out = Vec::with_capacity(found.len());
        for (name, arn) in found {
            let tags = match self
                .client
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
            {
                Ok(r) => r
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect(),
                Err(e) => {
                    let e = classify("cloudwatch", "ListTagsForResource", e);
                    // Deleted since it was listed: nothing to own.
                    if e.class == super::ErrorClass::NotFound {
                        continue;
                    }
                    return Err(e);
                }
            };
            out.push(ListedAlarm { name, tags });
        }
        Ok(out)
    }

    async fn put(&self, a: &AlarmPlan) -> Result<(), AwsError> {
        let tags = a
            .tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect();
        // DatapointsToAlarm is always sent: M of the last N periods (CW-32), all of them
        // unless the spec says fewer.
        let req = self
            .client
            .put_metric_alarm()
            .alarm_name(&a.name)
            .evaluation_periods(a.periods)
            .datapoints_to_alarm(a.datapoints)
            .threshold(a.threshold)
            .set_tags(Some(tags));
        let req = match a.kind {
            AlarmKind::Above => single(req, a)
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .treat_missing_data("notBreaching"),
            // Without data a floor is breached (CW-19): no traffic is what it is for.
            AlarmKind::Below => single(req, a)
                .comparison_operator(ComparisonOperator::LessThanThreshold)
                .treat_missing_data("breaching"),
            // Metric math: with `Metrics`, none of the single-metric members (CW-6); exactly
            // one query returns data (CW-15); ids start lowercase (CW-14); a minute without
            // requests divides by zero, which drops the point (CW-17), and a missing point
            // is not breaching.
            AlarmKind::RateAbove => req
                .metrics(query("errors", &a.metric_name, a))
                .metrics(query("invocations", "Invocations", a))
                .metrics(
                    MetricDataQuery::builder()
                        .id("rate")
                        .expression(a.rate_expression())
                        .label(format!("{} per 100 invocations", a.metric_name))
                        .return_data(true)
                        .build(),
                )
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .treat_missing_data("notBreaching"),
        };
        req.send()
            .await
            .map_err(|e| classify("cloudwatch", "PutMetricAlarm", e))
            .map(|_| ())
    }

    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Series>, AwsError> {
        let (from, period) = window(start, end);
        let step = resolution(start, end);
        let mut req = self
            .client
            .get_metric_data()
            .start_time(aws_smithy_types::DateTime::from_secs(from))
            .end_time(aws_smithy_types::DateTime::from_secs(
                from + i64::from(period),
            ));
        for (i, q) in queries.iter().enumerate() {
            let metric = Metric::builder()
                .namespace("AWS/SageMaker")
                .metric_name(&q.metric)
                .dimensions(
                    Dimension::builder()
                        .name("EndpointName")
                        .value(&q.endpoint)
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("VariantName")
                        .value(&q.variant)
                        .build(),
                )
                .build();
            // Ids start with a lowercase letter (CW-14); one period covers the window.
            req = req.metric_data_queries(
                MetricDataQuery::builder()
                    .id(format!("q{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(if q.per_minute {
                                i32::try_from(step).unwrap_or(60)
                            } else {
                                period
                            })
                            .stat(&q.stat)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
        }
        // A result may come in pages (NextToken): every page's points, placed by timestamp.
        let slots = (i64::from(period) / step).max(1);
        let mut answers: Vec<Series> = (queries.iter())
            .map(|q| vec![None; if q.per_minute { slots as usize } else { 1 }])
            .collect();
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("cloudwatch", "GetMetricData", e))?;
            for r in page.metric_data_results() {
                let Some(i) = (r.id().and_then(|id| id.strip_prefix('q')))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|i| *i < queries.len())
                else {
                    continue;
                };
                for (at, v) in r.timestamps().iter().zip(r.values()) {
                    let slot = if queries[i].per_minute {
                        (at.secs() - from).div_euclid(step)
                    } else {
                        0
                    };
                    if let Some(cell) = usize::try_from(slot)
                        .ok()
                        .and_then(|s| answers[i].get_mut(s))
                    {
                        *cell = Some(*v);
                    }
                }
            }
        }
        Ok(answers)
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

fn dimensions(a: &AlarmPlan) -> Vec<Dimension> {
    a.dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
}

/// An alarm on the metric itself, one-minute periods.
fn single(req: PutMetricAlarmFluentBuilder, a: &AlarmPlan) -> PutMetricAlarmFluentBuilder {
    let req = req
        .namespace(&a.namespace)
        .metric_name(&a.metric_name)
        .set_dimensions(Some(dimensions(a)))
        .period(60);
    if a.statistic.starts_with('p') {
        req.extended_statistic(&a.statistic)
    } else {
        req.statistic(Statistic::from(a.statistic.as_str()))
    }
}

/// One per-minute Sum of `metric` under the alarm's namespace and dimensions, not returned.
fn query(id: &str, metric: &str, a: &AlarmPlan) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(&a.namespace)
        .metric_name(metric)
        .set_dimensions(Some(dimensions(a)))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat("Sum")
                .build(),
        )
        .return_data(false)
        .build()
}

/// The finest period CloudWatch keeps for data as old as `start` (CW-23): a minute, else 5
/// minutes, else an hour; a per-minute series is one value per such step.
pub fn resolution(start: jiff::Timestamp, end: jiff::Timestamp) -> i64 {
    match end.as_second() - start.as_second() {
        a if a > 63 * 86_400 => 3_600,
        a if a > 15 * 86_400 => 300,
        _ => 60,
    }
}

/// The window `[start, end)` as one GetMetricData period: the start rounded down and the
/// period a whole number of steps covering `end`. The step is a minute (SageMaker publishes
/// every minute; CW-21), but CloudWatch keeps older data coarser and returns nothing for a
/// period that does not fit: a start more than 15 days back needs whole 5 minutes, more than
/// 63 days whole hours (CW-23).
pub fn window(start: jiff::Timestamp, end: jiff::Timestamp) -> (i64, i32) {
    let step = resolution(start, end);
    let from = start.as_second().div_euclid(step) * step;
    let steps = ((end.as_second() - from).max(1) + step - 1) / step;
    let most = i64::from(i32::MAX) / step * step;
    (from, i32::try_from((steps * step).min(most)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::window;

    /// CloudWatch returns no data for a period that does not fit the start's age (CW-23):
    /// a step held for weeks still gets its values.
    #[test]
    fn a_window_fits_cloudwatchs_resolution_for_its_age() {
        let end: jiff::Timestamp = "2026-03-01T12:00:30Z".parse().unwrap();
        for (days, step) in [(0_i64, 60_i64), (2, 60), (16, 300), (30, 300), (70, 3_600)] {
            let start = end - jiff::SignedDuration::from_secs(days * 86_400 + 37);
            let (from, period) = window(start, end);
            let period = i64::from(period);
            assert_eq!(from % step, 0, "{days} days: start on a {step} s boundary");
            assert_eq!(
                period % step,
                0,
                "{days} days: period a multiple of {step} s"
            );
            assert!(from <= start.as_second(), "{days} days: covers the start");
            assert!(
                from + period >= end.as_second(),
                "{days} days: covers the end"
            );
            assert!(
                period - step < end.as_second() - from,
                "{days} days: one step at most beyond"
            );
        }
    }
}
