//! Prometheus metrics of the controller, exposed as text on `/metrics`.
//!
//! Per-resource series (phase, candidate weight) are removed when their resource goes, so
//! the series count follows the number of ModelDeployments instead of growing forever.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::{HistoryEntry, ModelDeployment, ModelDeploymentStatus, Phase};
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
    rollouts: Family<Labels, Counter>,
    rollout_duration: Family<Labels, Histogram, fn() -> Histogram>,
    analysis: Family<Labels, Gauge<f64, AtomicU64>>,
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

fn analysis_labels(namespace: &str, name: &str, metric: &str, variant: &str) -> Labels {
    labels(&[
        ("namespace", namespace),
        ("name", name),
        ("metric", metric),
        ("variant", variant),
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
            rollouts: Family::default(),
            // 1 minute … ~5.7 days: a direct rollout takes minutes, a careful canary days.
            rollout_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(60.0, 2.0, 14))
            }),
            analysis: Family::default(),
        };
        let build = Family::<Labels, Gauge>::default();
        build
            .get_or_create(&labels(&[("version", env!("CARGO_PKG_VERSION"))]))
            .set(1);
        registry.register(
            "build_info",
            "1, labelled with the controller's version",
            build,
        );
        registry.register(
            "rollouts",
            "Finished rollouts by strategy and result (Succeeded, RolledBack, Failed, Refused, Superseded)",
            me.rollouts.clone(),
        );
        registry.register(
            "rollout_duration_seconds",
            "Wall time from a rollout's start to its end, by strategy and result",
            me.rollout_duration.clone(),
        );
        registry.register(
            "analysis_value",
            "Latest estimate of each candidate-against-champion comparison, per variant (candidate, champion)",
            me.analysis.clone(),
        );
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
            for (variant, value) in [("candidate", c.candidate), ("champion", c.champion)] {
                let key = analysis_labels(namespace, name, &c.metric, variant);
                match value {
                    Some(v) => {
                        self.analysis.get_or_create(&key).set(v);
                    }
                    None => {
                        self.analysis.remove(&key);
                    }
                }
            }
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

    /// Publishes what a pass wrote for `md`: its resource series and the rollouts it finished.
    pub fn published(&self, md: &ModelDeployment, status: &ModelDeploymentStatus) {
        use kube::ResourceExt;
        let (ns, name) = (md.namespace().unwrap_or_default(), md.name_any());
        self.resource(&ns, &name, status);
        let before = md.status.as_ref().map_or(&[][..], |s| s.history.as_slice());
        let strategy = format!("{:?}", md.spec.rollout.strategy);
        self.rollouts_finished(&strategy, before, &status.history);
    }

    /// Counts the rollouts a pass finished: the history entries `after` has that `before`
    /// had not (a pass adds at most one; history is newest first), each with its duration
    /// when its start is known.
    pub fn rollouts_finished(
        &self,
        strategy: &str,
        before: &[HistoryEntry],
        after: &[HistoryEntry],
    ) {
        for entry in after.iter().filter(|e| !before.contains(e)) {
            let key = labels(&[("strategy", strategy), ("result", &entry.outcome)]);
            self.rollouts.get_or_create(&key).inc();
            let at = |t: &str| t.parse::<jiff::Timestamp>().ok();
            let started = entry.started_at.as_deref().and_then(at);
            if let (Some(start), Some(end)) = (started, at(&entry.finished_at)) {
                let seconds = end.duration_since(start).as_secs_f64();
                if seconds >= 0.0 {
                    self.rollout_duration.get_or_create(&key).observe(seconds);
                }
            }
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
            for variant in ["candidate", "champion"] {
                self.analysis
                    .remove(&analysis_labels(namespace, name, metric, variant));
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
            decided_at: None,
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

    fn finished(outcome: &str, started: Option<&str>, finished: &str) -> HistoryEntry {
        HistoryEntry {
            candidate_run_id: Some("run-2".into()),
            model_package_arn: String::new(),
            artifact_uri: None,
            outcome: outcome.into(),
            started_at: started.map(Into::into),
            finished_at: finished.into(),
            reason: String::new(),
        }
    }

    #[test]
    fn a_finished_rollout_is_counted_once_with_its_duration() {
        let m = Metrics::new();
        let old = finished("Succeeded", None, "2026-01-01T00:00:00Z");
        let new = finished(
            "RolledBack",
            Some("2026-01-02T00:00:00Z"),
            "2026-01-02T00:30:00Z",
        );
        let before = vec![old.clone()];
        let after = vec![new.clone(), old];
        m.rollouts_finished("Canary", &before, &after);
        // The next pass sees the entry already in status: nothing more is counted.
        m.rollouts_finished("Canary", &after, &after);
        let text = m.render();
        assert!(
            text.contains(
                r#"sagemaker_rollout_rollouts_total{strategy="Canary",result="RolledBack"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains(r#"result="Succeeded""#), "{text}");
        assert!(
            text.contains(
                r#"sagemaker_rollout_rollout_duration_seconds_sum{strategy="Canary",result="RolledBack"} 1800.0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"sagemaker_rollout_build_info{version=""#),
            "{text}"
        );
    }

    #[test]
    fn analysis_values_follow_the_comparisons_and_go_with_their_resource() {
        let m = Metrics::new();
        let mut c = view("ModelLatency p99", "Pass");
        c.candidate = Some(41.5);
        c.champion = Some(40.0);
        let st = ModelDeploymentStatus {
            comparison: vec![c],
            ..Default::default()
        };
        m.resource("ml-prod", "churn", &st);
        let text = m.render();
        let series = r#"sagemaker_rollout_analysis_value{namespace="ml-prod",name="churn",metric="ModelLatency p99",variant="#;
        assert!(
            text.contains(&format!("{series}\"candidate\"}} 41.5")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{series}\"champion\"}} 40.0")),
            "{text}"
        );
        m.forget("ml-prod", "churn");
        assert!(
            !m.render().contains("analysis_value{"),
            "gone with the resource"
        );
    }
}
