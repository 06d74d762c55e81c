//! `spec.analysis`: the alarms watched and created (thresholds in their metric's unit), the
//! candidate-against-champion comparisons and the watch interval.

use std::collections::BTreeSet;
use std::time::Duration;

use regex::Regex;

use super::collect::*;
use crate::api::spec::*;

/// An alarm the controller owns, with its threshold in the metric's unit (latencies in
/// microseconds, as CloudWatch reports them).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedAlarm {
    pub metric: AlarmMetric,
    pub statistic: String,
    pub threshold: f64,
    pub periods: i32,
    /// Of the `periods`, how many must breach (M of N).
    pub datapoints: i32,
    pub custom: Option<CustomMetric>,
}

/// What is watched while the candidate takes traffic.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub rollback_on: RollbackOn,
    /// How often the watched alarms are read while the candidate takes traffic.
    pub interval: Duration,
    pub existing: Vec<String>,
    pub owned: Vec<OwnedAlarm>,
    pub compare: Vec<Compare>,
    /// The sequential tests' confidence (`analysis.confidence`).
    pub confidence: f64,
    pub on_inconclusive: OnInconclusive,
    /// Comparisons include the step's first minute of traffic (`analysis.judgeFirstMinute`).
    pub judge_first_minute: bool,
}

/// A candidate-against-champion comparison, its margin in the metric's unit (latencies in
/// microseconds, as CloudWatch reports them; rates in percentage points).
#[derive(Clone, Debug, PartialEq)]
pub struct Compare {
    pub metric: CompareMetric,
    pub statistic: String,
    pub margin: Margin,
    pub min_invocations: f64,
}

/// How much worse the candidate may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Margin {
    /// candidate <= champion x this
    Ratio(f64),
    /// candidate <= champion + this
    Increase(f64),
}

/// Bounds of `analysis.interval`: often enough to act within seconds, rarely enough that
/// one DescribeAlarms per interval stays cheap.
pub(super) const MIN_INTERVAL: Duration = Duration::from_secs(5);

pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(300);

pub(super) fn analysis(c: &mut Collector, a: &AnalysisSpec) -> Analysis {
    let mut seen = BTreeSet::new();
    for (i, name) in a.alarms.existing.iter().enumerate() {
        let path = format!("spec.analysis.alarms.existing[{i}]");
        if name.trim().is_empty() || name.chars().count() > 255 {
            c.err(path, "must be a CloudWatch alarm name of 1-255 characters");
        } else if !seen.insert(name.as_str()) {
            c.err(path, format!("\"{name}\" is listed twice"));
        }
    }
    let mut created = BTreeSet::new();
    let mut owned = Vec::new();
    for (i, rule) in a.alarms.create.iter().enumerate() {
        let path = format!("spec.analysis.alarms.create[{i}]");
        c.pattern(
            &format!("{path}.statistic"),
            &rule.statistic,
            re!(r"^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$"),
            "Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99",
        );
        c.range(&format!("{path}.periods"), rule.periods.into(), 1, 60);
        let datapoints = rule.datapoints.unwrap_or(rule.periods);
        if rule.datapoints.is_some() && !(1..=rule.periods.max(1)).contains(&datapoints) {
            c.err(
                format!("{path}.datapoints"),
                format!(
                    "must be between 1 and periods ({}), not {datapoints}: CloudWatch alarms on M of the last N periods (CW-32)",
                    rule.periods
                ),
            );
        }
        if rule.metric == AlarmMetric::OverheadLatency {
            no_overhead_percentile(c, &path, &rule.statistic);
        }
        let threshold = match threshold_value(rule) {
            Ok(t) => t,
            Err(e) => {
                c.err(format!("{path}.threshold"), e);
                f64::NAN
            }
        };
        if matches!(
            rule.metric,
            AlarmMetric::Invocation5XXErrorRate
                | AlarmMetric::Invocation4XXErrorRate
                | AlarmMetric::Invocations
        ) && rule.statistic != "Sum"
        {
            c.err(
                format!("{path}.statistic"),
                format!(
                    "metric {:?} is computed from per-minute sums: statistic must be Sum (or left out), not {}",
                    rule.metric, rule.statistic
                ),
            );
        }
        let rate = matches!(
            rule.metric,
            AlarmMetric::Invocation5XXErrorRate | AlarmMetric::Invocation4XXErrorRate
        );
        if rate && !(threshold.is_nan() || (threshold > 0.0 && threshold < 100.0)) {
            c.err(
                format!("{path}.threshold"),
                format!(
                    "an error rate in percent between 0 and 100 (exclusive), not {}",
                    rule.threshold
                ),
            );
        }
        if rule.metric == AlarmMetric::Invocations && !(threshold.is_nan() || threshold >= 1.0) {
            c.err(
                format!("{path}.threshold"),
                format!(
                    "a floor of at least 1 request per minute, not {}",
                    rule.threshold
                ),
            );
        }
        match (rule.metric, &rule.custom) {
            (AlarmMetric::Custom, None) => {
                c.err(format!("{path}.custom"), "is required by metric Custom")
            }
            (AlarmMetric::Custom, Some(m)) => {
                if m.namespace.is_empty() || m.metric_name.is_empty() {
                    c.err(format!("{path}.custom"), "needs namespace and metricName");
                }
            }
            (other, Some(_)) => c.err(
                format!("{path}.custom"),
                format!("is only used with metric Custom, not {other:?}"),
            ),
            (_, None) => {}
        }
        let key = (
            format!("{:?}", rule.metric),
            rule.custom.as_ref().map(|m| m.metric_name.clone()),
            rule.statistic.clone(),
        );
        if !created.insert(key) {
            c.err(
                path,
                "duplicates an earlier alarm with the same metric and statistic",
            );
        }
        owned.push(OwnedAlarm {
            metric: rule.metric,
            statistic: rule.statistic.clone(),
            threshold,
            periods: rule.periods,
            datapoints,
            custom: rule.custom.clone(),
        });
    }
    let compare = a
        .compare
        .iter()
        .enumerate()
        .map(|(i, rule)| compare_rule(c, &format!("spec.analysis.compare[{i}]"), rule))
        .collect();
    let interval = match a.interval.parse() {
        Ok(d) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) => d,
        Ok(_) => {
            c.err(
                "spec.analysis.interval",
                format!("\"{}\" must be between 5s and 5m", a.interval),
            );
            MIN_INTERVAL
        }
        Err(e) => {
            c.err("spec.analysis.interval", e);
            MIN_INTERVAL
        }
    };
    if !(0.8..=0.9999).contains(&a.confidence) {
        c.err(
            "spec.analysis.confidence",
            format!("{} must be between 0.8 and 0.9999", a.confidence),
        );
    }
    Analysis {
        rollback_on: a.rollback_on,
        interval,
        existing: a.alarms.existing.clone(),
        owned,
        compare,
        confidence: a.confidence.clamp(0.8, 0.9999),
        on_inconclusive: a.on_inconclusive,
        judge_first_minute: a.judge_first_minute,
    }
}

/// One comparison: a margin that parses in the metric's unit, exactly one of them.
/// SageMaker's metrics page lists percentiles among ModelLatency's statistics but not
/// OverheadLatency's (Average, Sum, Min, Max, SampleCount; CW-29): a percentile of it rests
/// on nothing AWS documents.
fn no_overhead_percentile(c: &mut Collector, path: &str, statistic: &str) {
    if statistic.starts_with('p') {
        c.err(
            format!("{path}.statistic"),
            format!(
                "OverheadLatency has no documented percentiles (the SageMaker metrics page lists Average, Sum, Min, Max and SampleCount for it), not {statistic}: use Average, or a percentile of ModelLatency"
            ),
        );
    }
}

pub(super) fn compare_rule(c: &mut Collector, path: &str, rule: &CompareRule) -> Compare {
    use crate::api::CompareMetric::*;
    let latency = matches!(rule.metric, ModelLatency | OverheadLatency);
    if latency {
        c.pattern(
            &format!("{path}.statistic"),
            &rule.statistic,
            re!(r"^(Average|p[0-9]{1,2}(\.[0-9]+)?)$"),
            "Average or a percentile such as p99",
        );
    }
    if rule.metric == OverheadLatency {
        no_overhead_percentile(c, path, &rule.statistic);
    }
    c.range(
        &format!("{path}.minInvocations"),
        rule.min_invocations,
        1,
        1_000_000_000,
    );
    let margin = match (rule.max_ratio, &rule.max_increase) {
        // Against a champion with no errors a ratio allows none, and a clean candidate can
        // never be shown within it: every such step would end inconclusive.
        (Some(_), None) if !latency => {
            c.err(
                format!("{path}.maxRatio"),
                "an error rate takes maxIncrease (percentage points such as 1%): a ratio of a champion at 0 errors allows none, and no candidate could ever be shown within it",
            );
            Margin::Increase(0.0)
        }
        (Some(r), None) if r.is_finite() && r >= 1.0 => Margin::Ratio(r),
        (Some(r), None) => {
            c.err(
                format!("{path}.maxRatio"),
                format!("must be a number of at least 1, not {r}"),
            );
            Margin::Ratio(1.0)
        }
        (None, Some(t)) => {
            let split = t
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                .unwrap_or(t.len());
            let (num, unit) = t.split_at(split);
            let n: Option<f64> = num.parse().ok().filter(|n: &f64| n.is_finite());
            let scaled = match (n, unit, latency) {
                (Some(n), "" | "us", true) => Some(n),
                (Some(n), "ms", true) => Some(n * 1_000.0),
                (Some(n), "s", true) => Some(n * 1_000_000.0),
                (Some(n), "" | "%", false) => Some(n),
                _ => None,
            };
            match scaled {
                Some(v) => Margin::Increase(v),
                None => {
                    c.err(
                        format!("{path}.maxIncrease"),
                        format!(
                            "\"{t}\" is not {} for metric {:?}",
                            if latency {
                                "a latency such as 50ms"
                            } else {
                                "percentage points such as 1%"
                            },
                            rule.metric
                        ),
                    );
                    Margin::Increase(0.0)
                }
            }
        }
        _ => {
            c.err(path, "needs exactly one of maxRatio and maxIncrease");
            Margin::Ratio(1.0)
        }
    };
    Compare {
        metric: rule.metric,
        statistic: if latency {
            rule.statistic.clone()
        } else {
            "Sum".into()
        },
        margin,
        min_invocations: rule.min_invocations as f64,
    }
}

/// The CloudWatch threshold of an owned alarm, converted to the metric's unit
/// (ModelLatency and OverheadLatency are reported in microseconds).
pub(super) fn threshold_value(rule: &AlarmRule) -> Result<f64, String> {
    let t = rule.threshold.as_str();
    let split = t
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| format!("\"{t}\" is not a number with an optional unit (us, ms, s, %)"))?;
    let latency = matches!(
        rule.metric,
        AlarmMetric::ModelLatency | AlarmMetric::OverheadLatency
    );
    let percent = matches!(
        rule.metric,
        AlarmMetric::CPUUtilization
            | AlarmMetric::MemoryUtilization
            | AlarmMetric::Invocation5XXErrorRate
            | AlarmMetric::Invocation4XXErrorRate
    );
    match unit {
        "" => Ok(n),
        "us" | "ms" | "s" if latency => Ok(n * match unit {
            "us" => 1.0,
            "ms" => 1_000.0,
            _ => 1_000_000.0,
        }),
        "%" if percent => Ok(n),
        "us" | "ms" | "s" | "%" => Err(format!(
            "\"{t}\": unit {unit} does not apply to metric {:?}",
            rule.metric
        )),
        _ => Err(format!(
            "\"{t}\" has an unknown unit (expected us, ms, s or %)"
        )),
    }
}
