//! The simulator's CloudWatch: alarms whose state scenarios change over time, and the
//! variants' metrics.

use async_trait::async_trait;

use super::Simulator;
use super::tenancy::Write;
use crate::aws::AwsError;
use crate::aws::alarms::{Alarms, ListedAlarm};
use crate::plan::actions::AlarmPlan;
use crate::plan::{Alarm, AlarmState};
use crate::plan::{MetricQuery, Series};

#[async_trait]
impl Alarms for Simulator {
    async fn describe(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let st = self.enter("cloudwatch", "DescribeAlarms", false)?;
        Ok(names
            .iter()
            .filter_map(|n| st.alarms.get(n).map(|(a, _)| a.clone()))
            .collect())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedAlarm>, AwsError> {
        let st = self.enter("cloudwatch", "DescribeAlarms", false)?;
        Ok(st
            .alarms
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, (_, plan))| ListedAlarm {
                name: n.clone(),
                tags: plan.as_ref().map(|p| p.tags.clone()).unwrap_or_default(),
            })
            .collect())
    }

    async fn put(&self, alarm: &AlarmPlan) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("cloudwatch", "PutMetricAlarm", true)?;
        self.tenant_allows(
            "cloudwatch",
            "PutMetricAlarm",
            &alarm.name,
            Write::Create(&alarm.tags),
        )?;
        if let Some((_, Some(existing))) = st.alarms.get(&alarm.name) {
            let write = Write::Change(Some(&existing.tags));
            self.tenant_allows("cloudwatch", "PutMetricAlarm", &alarm.name, write)?;
        }
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
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Series>, AwsError> {
        let st = self.enter("cloudwatch", "GetMetricData", false)?;
        // Whole minutes from the start's minute to the end, as the SDK adapter asks.
        let from = start.as_second().div_euclid(60) * 60;
        let count = ((end.as_second() - from).max(1) + 59) / 60;
        Ok(queries
            .iter()
            .map(|q| {
                let role = if st.champions.contains(&q.variant) {
                    "champion"
                } else {
                    "candidate"
                };
                let slots = if q.per_minute { count as usize } else { 1 };
                // The latest scripted value for the variant's role, as of the window's end.
                let scripted = (st.metrics.iter())
                    .filter(|(at, m)| *at <= end && m.variant == role && m.metric == q.metric)
                    .map(|(_, m)| m.value)
                    .next_back();
                match (scripted, &st.traffic) {
                    (Some(v), _) => vec![Some(v); slots],
                    (None, Some(model)) => super::metrics::answer(
                        model,
                        st.seed,
                        (role, share(&st, q)),
                        (&q.metric, &q.stat),
                        (from, count),
                        q.per_minute,
                    ),
                    (None, None) => vec![None; slots],
                }
            })
            .collect())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        let mut st = self.enter("cloudwatch", "DeleteAlarms", true)?;
        for n in names {
            let tags = st
                .alarms
                .get(n)
                .and_then(|(_, p)| p.as_ref())
                .map(|p| &p.tags);
            self.tenant_allows("cloudwatch", "DeleteAlarms", n, Write::Change(tags))?;
        }
        for n in names {
            st.alarms.remove(n);
        }
        Ok(())
    }
}

/// The share of the endpoint's traffic `q`'s variant serves now (its weight over the sum).
fn share(st: &super::State, q: &MetricQuery) -> f64 {
    let Some(ep) = st.endpoints.get(&q.endpoint) else {
        return 0.0;
    };
    let variants = &ep.desc.variants;
    let total: f64 = variants.iter().map(|v| v.current_weight.max(0.0)).sum();
    let mine = (variants.iter().find(|v| v.name == q.variant)).map_or(0.0, |v| v.current_weight);
    if total > 0.0 {
        mine.max(0.0) / total
    } else {
        0.0
    }
}
