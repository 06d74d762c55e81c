//! Prometheus metrics of the controller, exposed as text on `/metrics`.
//!
//! Per-resource series (phase, candidate weight) are removed when their resource goes, so
//! the series count follows the number of ModelDeployments instead of growing forever.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::{ModelDeploymentStatus, Phase};
use crate::engine::Call;

type Labels = Vec<(String, String)>;

const PHASES: [Phase; 9] = [
    Phase::Pending,
    Phase::Validating,
    Phase::Deploying,
    Phase::Progressing,
    Phase::Paused,
    Phase::Succeeded,
    Phase::RollingBack,
    Phase::RolledBack,
    Phase::Failed,
];

pub struct Metrics {
    registry: Mutex<Registry>,
    reconciles: Counter,
    failures: Family<Labels, Counter>,
    duration: Histogram,
    aws_calls: Family<Labels, Counter>,
    phase: Family<Labels, Gauge>,
    weight: Family<Labels, Gauge>,
    comparison: Family<Labels, Gauge>,
    /// The comparison metrics each resource has series for, to drop them when it goes.
    compared: Mutex<std::collections::HashMap<(String, String), Vec<String>>>,
    leader: Gauge,
    alarm_watch_reads: Counter,
    aws_throttles: Counter,
    aws_rate_limited: Counter,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The verdicts a comparison can be at (`status.comparison[].verdict`).
const VERDICTS: [&str; 4] = ["Pending", "Inconclusive", "Pass", "Fail"];

fn comparison_labels(namespace: &str, name: &str, metric: &str, verdict: &str) -> Labels {
    labels(&[
        ("namespace", namespace),
        ("name", name),
        ("metric", metric),
        ("verdict", verdict),
    ])
}

fn phase_labels(namespace: &str, name: &str, phase: Phase) -> Labels {
    labels(&[
        ("namespace", namespace),
        ("name", name),
        ("phase", &format!("{phase:?}")),
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sagemaker_rollout");
        let me = Self {
            registry: Mutex::new(Registry::default()),
            reconciles: Counter::default(),
            failures: Family::default(),
            // 1 ms … ~33 s: a pass is mostly AWS round trips.
            duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            aws_calls: Family::default(),
            phase: Family::default(),
            weight: Family::default(),
            comparison: Family::default(),
            compared: Mutex::default(),
            leader: Gauge::default(),
            alarm_watch_reads: Counter::default(),
            aws_throttles: Counter::default(),
            aws_rate_limited: Counter::default(),
        };
        registry.register(
            "reconciles",
            "Reconcile passes started",
            me.reconciles.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Failed reconcile passes by error class",
            me.failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Wall time of one reconcile pass, AWS calls included",
            me.duration.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS calls by service, operation and outcome",
            me.aws_calls.clone(),
        );
        registry.register(
            "modeldeployment_phase",
            "1 for the phase each ModelDeployment is in, 0 for the others",
            me.phase.clone(),
        );
        registry.register(
            "modeldeployment_candidate_weight",
            "Percent of traffic the candidate variant receives",
            me.weight.clone(),
        );
        registry.register(
            "comparison_verdict",
            "1 for the verdict each candidate-against-champion comparison is at (Pending, Inconclusive, Pass, Fail), 0 for the others",
            me.comparison.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            me.leader.clone(),
        );
        registry.register(
            "alarm_watch_reads",
            "DescribeAlarms calls made between passes to watch baking candidates (one per 100 alarm names per account and region)",
            me.alarm_watch_reads.clone(),
        );
        registry.register(
            "aws_throttles",
            "Throttling answers from AWS, every attempt (the SDK's retries included)",
            me.aws_throttles.clone(),
        );
        registry.register(
            "aws_rate_limited",
            "AWS operations held back by the per-account-and-region request bucket",
            me.aws_rate_limited.clone(),
        );
        *me.registry.lock().unwrap_or_else(|p| p.into_inner()) = registry;
        me
    }

    pub fn reconcile_started(&self) {
        self.reconciles.inc();
    }

    pub fn reconcile_failed(&self, class: &str) {
        self.failures
            .get_or_create(&labels(&[("class", class)]))
            .inc();
    }

    pub fn observe_duration(&self, seconds: f64) {
        self.duration.observe(seconds);
    }

    pub fn aws_calls(&self, calls: &[Call]) {
        for c in calls {
            let outcome = if c.ok { "ok" } else { "error" };
            self.aws_calls
                .get_or_create(&labels(&[
                    ("service", c.service),
                    ("operation", &c.operation),
                    ("outcome", outcome),
                ]))
                .inc();
        }
    }

    pub fn alarm_watch_reads(&self, n: u64) {
        self.alarm_watch_reads.inc_by(n);
    }

    pub fn leader(&self, held: bool) {
        self.leader.set(i64::from(held));
    }

    /// Publishes the phase and candidate weight of one resource.
    pub fn resource(&self, namespace: &str, name: &str, status: &ModelDeploymentStatus) {
        for p in PHASES {
            self.phase
                .get_or_create(&phase_labels(namespace, name, p))
                .set(i64::from(status.phase == Some(p)));
        }
        let weight = status
            .candidate
            .as_ref()
            .and_then(|c| c.weight)
            .unwrap_or(0);
        self.weight
            .get_or_create(&labels(&[("namespace", namespace), ("name", name)]))
            .set(i64::from(weight));
        let metrics: Vec<String> = status.comparison.iter().map(|c| c.metric.clone()).collect();
        self.drop_comparisons(namespace, name, &metrics);
        for c in &status.comparison {
            for v in VERDICTS {
                self.comparison
                    .get_or_create(&comparison_labels(namespace, name, &c.metric, v))
                    .set(i64::from(c.verdict == v));
            }
        }
        if let Ok(mut m) = self.compared.lock() {
            m.insert((namespace.to_owned(), name.to_owned()), metrics);
        }
    }

    /// Drops the comparison series of a resource but those of `keep`.
    fn drop_comparisons(&self, namespace: &str, name: &str, keep: &[String]) {
        let key = (namespace.to_owned(), name.to_owned());
        let old = (self.compared.lock().ok()).and_then(|mut m| m.remove(&key));
        for metric in old.unwrap_or_default().iter().filter(|m| !keep.contains(m)) {
            for v in VERDICTS {
                self.comparison
                    .remove(&comparison_labels(namespace, name, metric, v));
            }
        }
    }

    /// Drops the series of a resource that is gone.
    pub fn forget(&self, namespace: &str, name: &str) {
        for p in PHASES {
            self.phase.remove(&phase_labels(namespace, name, p));
        }
        self.weight
            .remove(&labels(&[("namespace", namespace), ("name", name)]));
        self.drop_comparisons(namespace, name, &[]);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // The AWS counters live with the SDK clients (one set per process): brought up to
        // them under the registry lock, so two scrapes never add the same increment.
        let sync = |c: &Counter, seen: u64| c.inc_by(seen.saturating_sub(c.get()));
        sync(&self.aws_throttles, crate::aws::limit::throttles_seen());
        sync(&self.aws_rate_limited, crate::aws::limit::waits_seen());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ComparisonView;

    fn view(metric: &str, verdict: &str) -> ComparisonView {
        ComparisonView {
            metric: metric.into(),
            candidate: None,
            champion: None,
            candidate_invocations: 0,
            champion_invocations: 0,
            verdict: verdict.into(),
            message: String::new(),
        }
    }

    #[test]
    fn each_comparison_has_one_verdict_series_at_one_and_goes_with_its_resource() {
        let m = Metrics::new();
        let mut st = ModelDeploymentStatus {
            comparison: vec![view("Invocation5XXErrorRate", "Inconclusive")],
            ..Default::default()
        };
        m.resource("ml-prod", "churn", &st);
        let text = m.render();
        let series = r#"sagemaker_rollout_comparison_verdict{namespace="ml-prod",name="churn",metric="Invocation5XXErrorRate",verdict="#;
        assert!(
            text.contains(&format!("{series}\"Inconclusive\"}} 1")),
            "{text}"
        );
        assert!(text.contains(&format!("{series}\"Fail\"}} 0")), "{text}");
        st.comparison = vec![view("ModelLatency p99", "Pass")];
        m.resource("ml-prod", "churn", &st);
        let text = m.render();
        assert!(
            !text.contains(series),
            "a comparison no longer made has no series: {text}"
        );
        m.forget("ml-prod", "churn");
        assert!(
            !m.render().contains("comparison_verdict{"),
            "gone with the resource"
        );
    }
}
