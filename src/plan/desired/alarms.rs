//! The CloudWatch alarms the controller owns for a candidate, and which alarms it watches.
//!
//! An owned alarm is named `sagemaker-rollout.<endpoint>.<variant>.<metric>.<statistic>`:
//! endpoint names cannot contain a dot, so the prefix `sagemaker-rollout.<endpoint>.` names
//! exactly one endpoint's alarms (with the earlier `-` separator, endpoint `pfx` also matched
//! the alarms of `pfx-eu`). A name longer than CloudWatch's 255 characters keeps a hash of
//! the rest. Alarms are scoped to the candidate's variant, and in a blue/green deployment —
//! where the new fleet keeps the champion's variant name — also to the new endpoint config,
//! the dimension SageMaker publishes the new fleet's metrics under.

use super::super::actions::{AlarmKind, AlarmPlan};
use jiff::{SignedDuration, Timestamp};

use super::content_hash;
use crate::api::{AlarmMetric, ValidSpec};
use crate::tags::{self, tag_safe};

/// Longest alarm name CloudWatch accepts.
const MAX_ALARM_NAME: usize = 255;

/// What an owned alarm watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlarmScope<'a> {
    /// The production variant the candidate runs as.
    pub variant: &'a str,
    /// The endpoint config of a blue/green deployment's new fleet.
    pub config: Option<&'a str>,
}

impl<'a> AlarmScope<'a> {
    pub fn variant(variant: &'a str) -> Self {
        Self {
            variant,
            config: None,
        }
    }
}

/// The prefixes owned alarm names start with: the current one, then the one of earlier
/// versions (whose names need [`is_owned_alarm`] to be told apart from another endpoint's).
pub fn owned_alarm_prefixes(endpoint: &str) -> [String; 2] {
    [
        format!("sagemaker-rollout.{endpoint}."),
        format!("sagemaker-rollout-{endpoint}-"),
    ]
}

/// Whether `name` is an alarm this controller created for `endpoint`. Legacy names
/// (`sagemaker-rollout-<endpoint>-v-<10 hex>-…`) count only when the variant part follows
/// the endpoint directly.
pub fn is_owned_alarm(endpoint: &str, name: &str) -> bool {
    let [current, legacy] = owned_alarm_prefixes(endpoint);
    if name.starts_with(&current) {
        return true;
    }
    name.strip_prefix(&legacy)
        .and_then(|rest| rest.strip_prefix("v-"))
        .is_some_and(|rest| {
            rest.len() > 11
                && rest.as_bytes()[..10].iter().all(u8::is_ascii_hexdigit)
                && rest.as_bytes()[10] == b'-'
        })
}

fn alarm_name(endpoint: &str, variant: &str, metric: &str, statistic: &str) -> String {
    let full = format!("sagemaker-rollout.{endpoint}.{variant}.{metric}.{statistic}");
    if full.chars().count() <= MAX_ALARM_NAME {
        return full;
    }
    let head = format!("sagemaker-rollout.{endpoint}.{variant}.");
    let hash = content_hash(&(metric, statistic), 12);
    let room = MAX_ALARM_NAME.saturating_sub(head.chars().count() + hash.len() + 1);
    let metric: String = metric.chars().take(room).collect();
    format!("{head}{metric}.{hash}")
}

/// Alarms the controller owns for a candidate.
pub fn owned_alarms(spec: &ValidSpec, scope: AlarmScope<'_>) -> Vec<AlarmPlan> {
    let variant = scope.variant;
    spec.analysis
        .owned
        .iter()
        .map(|rule| {
            let (namespace, metric_name, mut dimensions) = match (&rule.metric, &rule.custom) {
                (AlarmMetric::Custom, Some(m)) => (
                    m.namespace.clone(),
                    m.metric_name.clone(),
                    m.dimensions.clone(),
                ),
                (metric, _) => {
                    let ns = if matches!(
                        metric,
                        AlarmMetric::CPUUtilization | AlarmMetric::MemoryUtilization
                    ) {
                        "/aws/sagemaker/Endpoints"
                    } else {
                        "AWS/SageMaker"
                    };
                    let mut dims: std::collections::BTreeMap<String, String> = [
                        ("EndpointName".to_owned(), spec.endpoint_name.clone()),
                        ("VariantName".to_owned(), "${variant}".to_owned()),
                    ]
                    .into_iter()
                    .collect();
                    if let Some(config) = scope.config {
                        dims.insert("EndpointConfigName".to_owned(), config.to_owned());
                    }
                    // A component's invocation metrics have its name as their one dimension
                    // (SM-81): the endpoint's would mix every component on it.
                    if let Some(ic) = &spec.serving.component {
                        dims = [("InferenceComponentName".to_owned(), ic.name.clone())].into();
                    }
                    (ns.to_owned(), format!("{metric:?}"), dims)
                }
            };
            // A rate's own name is in the alarm's name; its numerator is the metric read.
            let (kind, metric_name, label) = match rule.metric {
                AlarmMetric::Invocation5XXErrorRate => (
                    AlarmKind::RateAbove,
                    "Invocation5XXErrors".to_owned(),
                    metric_name,
                ),
                AlarmMetric::Invocation4XXErrorRate => (
                    AlarmKind::RateAbove,
                    "Invocation4XXErrors".to_owned(),
                    metric_name,
                ),
                AlarmMetric::Invocations => (AlarmKind::Below, metric_name.clone(), metric_name),
                _ => (AlarmKind::Above, metric_name.clone(), metric_name),
            };
            for v in dimensions.values_mut() {
                *v = v.replace("${variant}", variant);
            }
            // A component's alarms have their own segment: a component named like one of the
            // endpoint's variants never shares a name with the variant's alarms.
            let scoped = match &spec.serving.component {
                Some(ic) => format!("ic.{}", ic.name),
                None => variant.to_owned(),
            };
            AlarmPlan {
                name: alarm_name(&spec.endpoint_name, &scoped, &label, &rule.statistic),
                kind,
                namespace,
                metric_name,
                statistic: rule.statistic.clone(),
                threshold: rule.threshold,
                periods: rule.periods,
                datapoints: rule.datapoints,
                dimensions,
                tags: [
                    (tags::MANAGED_BY_KEY.to_owned(), tags::MANAGED_BY.to_owned()),
                    (tags::ENDPOINT_KEY.to_owned(), tag_safe(&spec.endpoint_name)),
                ]
                .into_iter()
                .collect(),
            }
        })
        .collect()
}

/// The watched alarms whose state judges the candidate at `now`: all of them except a floor
/// ([`AlarmKind::Below`]) that is not yet armed — before the candidate has had traffic
/// (since `traffic_since`) for the floor's periods it is in ALARM for want of data, not
/// because of the candidate.
pub fn judging_alarms(
    spec: &ValidSpec,
    scope: AlarmScope<'_>,
    traffic_since: Option<Timestamp>,
    now: Timestamp,
) -> Vec<String> {
    let mut names = spec.analysis.existing.clone();
    names.extend(
        owned_alarms(spec, scope)
            .into_iter()
            .filter(|a| arms_at(a, traffic_since).is_some_and(|t| t <= now))
            .map(|a| a.name),
    );
    names
}

/// When `a` starts to judge, given traffic since `traffic_since` (None: no traffic, so a
/// floor never arms).
pub fn arms_at(a: &AlarmPlan, traffic_since: Option<Timestamp>) -> Option<Timestamp> {
    match a.kind {
        AlarmKind::Below => traffic_since.map(|t| {
            // Complete minutes only: counted from the first whole minute of traffic.
            let minute = Timestamp::from_second((t.as_second() + 59).div_euclid(60) * 60);
            // Out of range: never, rather than at once.
            let after = SignedDuration::try_from(a.armed_after()).unwrap_or(SignedDuration::MAX);
            (minute.ok().and_then(|m| m.checked_add(after).ok())).unwrap_or(Timestamp::MAX)
        }),
        AlarmKind::Above | AlarmKind::RateAbove => Some(Timestamp::MIN),
    }
}

/// The alarms handed to SageMaker for a blue/green deployment's auto-rollback: the watched
/// ones without the floors (SageMaker would roll back on a floor's ALARM at its first look,
/// before the new fleet has traffic).
pub fn native_alarms(spec: &ValidSpec, scope: AlarmScope<'_>) -> Vec<String> {
    let mut names = spec.analysis.existing.clone();
    names.extend(
        owned_alarms(spec, scope)
            .into_iter()
            .filter(|a| a.kind != AlarmKind::Below)
            .map(|a| a.name),
    );
    names
}

/// Names of every alarm whose ALARM state stops the rollout of this candidate.
pub fn watched_alarms(spec: &ValidSpec, scope: AlarmScope<'_>) -> Vec<String> {
    let mut names = spec.analysis.existing.clone();
    names.extend(owned_alarms(spec, scope).into_iter().map(|a| a.name));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_alarm_names_belong_to_exactly_one_endpoint() {
        assert!(is_owned_alarm(
            "pfx",
            "sagemaker-rollout.pfx.v-0123456789.ModelLatency.p99"
        ));
        assert!(!is_owned_alarm(
            "pfx",
            "sagemaker-rollout.pfx-eu.v-0123456789.ModelLatency.p99"
        ));
        assert!(is_owned_alarm(
            "pfx",
            "sagemaker-rollout-pfx-v-0123456789-ModelLatency-p99"
        ));
        assert!(!is_owned_alarm(
            "pfx",
            "sagemaker-rollout-pfx-eu-v-0123456789-ModelLatency-p99"
        ));
        assert!(!is_owned_alarm("pfx", "churn-business-kpi"));
    }

    #[test]
    fn a_long_alarm_name_is_cut_to_cloudwatchs_limit_and_stays_unique() {
        let a = alarm_name("e", "v-1", &"M".repeat(300), "Sum");
        let b = alarm_name("e", "v-1", &"M".repeat(300), "Average");
        assert!(a.chars().count() <= MAX_ALARM_NAME, "{}", a.len());
        assert_ne!(a, b);
    }
}
