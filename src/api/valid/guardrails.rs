//! SageMaker's deployment guardrails (`spec.rollout.blueGreen`, `spec.rollout.rolling`): their
//! settings within the limits the API reference gives, and what SageMaker checks across
//! fields — the alarms it watches, the share of the fleet a canary or a batch may be, the
//! execution timeout against the waits.

use std::time::Duration;

use super::collect::*;
use crate::api::spec::*;
use crate::api::units::DurationString;

/// SageMaker's limit on guardrail wait and termination intervals (WaitIntervalInSeconds,
/// TerminationWaitInSeconds: 0-3600).
pub(super) const MAX_GUARDRAIL_WAIT_SECS: u64 = 3600;

/// MaximumExecutionTimeoutInSeconds: 600-28800.
pub(super) const EXECUTION_TIMEOUT: (u64, u64) = (600, 28_800);

/// SageMaker blue/green settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreen {
    pub bake: Duration,
    pub termination_wait: Duration,
    pub canary_percent: Option<i32>,
}

pub(super) fn blue_green(c: &mut Collector, bg: &BlueGreenSpec) -> Option<BlueGreen> {
    let bake = wait(c, "spec.rollout.blueGreen.bake", &bg.bake, false);
    let termination_wait = wait(
        c,
        "spec.rollout.blueGreen.terminationWait",
        &bg.termination_wait,
        false,
    );
    if let Some(p) = bg.canary_percent {
        // CanarySize: at most half of the variant's instances (TrafficRoutingConfig).
        c.range("spec.rollout.blueGreen.canaryPercent", p.into(), 1, 50);
    }
    Some(BlueGreen {
        bake: bake?,
        termination_wait: termination_wait?,
        canary_percent: bg.canary_percent,
    })
}

/// A share of a variant's instances (SageMaker's CapacitySize).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    Instances(i32),
    Percent(i32),
}

impl Capacity {
    fn of(b: &BatchSize) -> Option<Self> {
        match (b.instances, b.percent) {
            (Some(n), None) => Some(Self::Instances(n)),
            (None, Some(p)) => Some(Self::Percent(p)),
            _ => None,
        }
    }

    /// What share of a fleet of `count` instances this is, in percent.
    pub fn percent_of(self, count: i32) -> f64 {
        match self {
            Self::Percent(p) => f64::from(p),
            Self::Instances(n) => 100.0 * f64::from(n) / f64::from(count.max(1)),
        }
    }

    /// Batches needed to replace a fleet of `count` instances (an estimate for the timeout:
    /// how SageMaker rounds a percentage to instances is not documented, so a percentage is
    /// taken as it reads, `⌈100 / P⌉` batches, as the emulator does).
    pub fn batches(self, count: i32) -> u32 {
        let (whole, per) = match self {
            Self::Instances(n) => (count.max(1), n.max(1)),
            Self::Percent(p) => (100, p.max(1)),
        };
        u32::try_from((whole + per - 1) / per).unwrap_or(1)
    }
}

/// SageMaker rolling deployment settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Rolling {
    pub batch: Capacity,
    pub bake: Duration,
    pub rollback_batch: Option<Capacity>,
    pub timeout: Option<Duration>,
}

pub(super) fn rolling(c: &mut Collector, r: &RollingSpec) -> Option<Rolling> {
    let batch = capacity(c, "spec.rollout.rolling.batch", &r.batch);
    let rollback_batch = r
        .rollback_batch
        .as_ref()
        .map(|b| capacity(c, "spec.rollout.rolling.rollbackBatch", b));
    let bake = wait(c, "spec.rollout.rolling.bake", &r.bake, true);
    let timeout = r.timeout.as_ref().and_then(|t| {
        let path = "spec.rollout.rolling.timeout";
        let (min, max) = EXECUTION_TIMEOUT;
        match t.parse() {
            Ok(v) if v.as_secs() < min || v.as_secs() > max => {
                c.err(path, format!("\"{t}\" must be between 10m and 8h (SageMaker's MaximumExecutionTimeoutInSeconds: 600-28800)"));
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                c.err(path, e);
                None
            }
        }
    });
    Some(Rolling {
        batch: batch?,
        bake: bake?,
        rollback_batch: rollback_batch.flatten(),
        timeout,
    })
}

fn capacity(c: &mut Collector, path: &str, b: &BatchSize) -> Option<Capacity> {
    let cap = Capacity::of(b);
    match cap {
        None => c.err(path, "give instances or percent, not both"),
        Some(Capacity::Instances(n)) if n < 1 => c.err(
            format!("{path}.instances"),
            format!("{n} must be at least 1"),
        ),
        Some(Capacity::Percent(p)) if !(1..=100).contains(&p) => {
            c.err(format!("{path}.percent"), format!("{p} must be 1 to 100"))
        }
        Some(_) => return cap,
    }
    None
}

/// A guardrail wait: 0s (where `zero` allows it) to 1h.
fn wait(c: &mut Collector, path: &str, d: &DurationString, zero: bool) -> Option<Duration> {
    let limit = Duration::from_secs(MAX_GUARDRAIL_WAIT_SECS);
    match d.parse() {
        Ok(v) if v.is_zero() && !zero => {
            c.err(path, format!("\"{d}\" must be longer than zero"));
            None
        }
        Ok(v) if v > limit => {
            c.err(
                path,
                format!("\"{d}\" ({}s) exceeds SageMaker's limit of 1h", v.as_secs()),
            );
            None
        }
        Ok(v) => Some(v),
        Err(e) => {
            c.err(path, e);
            None
        }
    }
}

/// What SageMaker checks across fields of a guardrail deployment: AutoRollbackConfig holds
/// at most 10 alarms (all watched alarms go there) and an Invocations floor, in ALARM until
/// the new fleet has traffic, would roll back at once; a blue/green canary of at least one
/// instance must be at most half of the fleet; a rolling batch is 5-50 % of the fleet, needs
/// alarms to bake against, and the timeout must outlast the bakes.
pub(super) fn guardrail_limits(c: &mut Collector, spec: &ModelDeploymentSpec) {
    let strategy = spec.rollout.strategy;
    let Some(name) = strategy.guardrail() else {
        return;
    };
    let alarms = &spec.analysis.alarms;
    let watched = alarms.existing.len() + alarms.create.len();
    if watched > 10 {
        c.err(
            "spec.analysis.alarms",
            format!(
                "{watched} alarms are watched ({} existing, {} created); a {name} deployment hands them to SageMaker's AutoRollbackConfiguration, which takes at most 10",
                alarms.existing.len(),
                alarms.create.len()
            ),
        );
    }
    // SageMaker rolls a guardrail deployment back on any of its alarms in ALARM, and a floor
    // is in ALARM until the new fleet has traffic.
    for (i, rule) in alarms.create.iter().enumerate() {
        if rule.metric == AlarmMetric::Invocations {
            c.err(
                format!("spec.analysis.alarms.create[{i}].metric"),
                format!("Invocations (a floor, in ALARM until traffic arrives) cannot guard a {strategy:?} rollout: SageMaker would roll back at once; use Canary or Linear"),
            );
        }
    }
    let count = spec.serving.instance_count;
    let canary = spec
        .rollout
        .blue_green
        .as_ref()
        .and_then(|bg| bg.canary_percent);
    if strategy == Strategy::BlueGreen
        && let Some(p) = canary
        && count < 2
    {
        c.err(
            "spec.rollout.blueGreen.canaryPercent",
            format!(
                "a canary of {p} % needs serving.instanceCount of 2 or more: SageMaker's canary is at least one instance and at most half of {count}"
            ),
        );
    }
    if strategy == Strategy::Rolling {
        // An inference component is rolled in batches of its copies, a variant of instances.
        let fleet = match &spec.serving.inference_component {
            Some(ic) => Fleet {
                count: ic.copies,
                path: "spec.serving.inferenceComponent.copies",
                unit: "copies",
                whose: "the component's copies",
            },
            None => Fleet {
                count,
                path: "spec.serving.instanceCount",
                unit: "instances",
                whose: "the variant's instances",
            },
        };
        rolling_limits(c, spec, watched, &fleet);
    }
}

/// What a rolling deployment replaces in batches: a variant's instances or a component's
/// copies.
struct Fleet {
    count: i32,
    path: &'static str,
    unit: &'static str,
    whose: &'static str,
}

fn rolling_limits(c: &mut Collector, spec: &ModelDeploymentSpec, watched: usize, fleet: &Fleet) {
    let (count, unit) = (fleet.count, fleet.unit);
    let Some(r) = spec.rollout.rolling.as_ref() else {
        return;
    };
    if watched == 0 {
        c.err(
            "spec.analysis.alarms",
            "a rolling deployment bakes each batch against CloudWatch alarms and rolls back on one: watch at least one (alarms.existing or alarms.create)",
        );
    }
    if count < 2 {
        c.err(
            fleet.path,
            format!(
                "{count}: a rolling deployment replaces 5-50 % of the {unit} per batch, so it needs 2 or more"
            ),
        );
        return;
    }
    if let Some(batch) = Capacity::of(&r.batch) {
        let share = batch.percent_of(count);
        if !(5.0..=50.0).contains(&share) {
            c.err(
                "spec.rollout.rolling.batch",
                format!(
                    "is {share:.0} % of {} ({count}); SageMaker replaces 5-50 % of {} per batch (RollingUpdatePolicy.MaximumBatchSize), so a rolling deployment needs 2 {unit} or more",
                    fleet.path.trim_start_matches("spec."),
                    fleet.whose
                ),
            );
        }
        let bakes = r.bake.parse().unwrap_or_default() * batch.batches(count);
        let (_, longest) = EXECUTION_TIMEOUT;
        if r.timeout.is_none() && bakes.as_secs() >= longest {
            c.err(
                "spec.rollout.rolling.bake",
                format!(
                    "{} batches of {}s bake for {}s, and SageMaker's execution timeout is at most 28800s (8h): bake shorter or use larger batches",
                    batch.batches(count),
                    r.bake.parse().unwrap_or_default().as_secs(),
                    bakes.as_secs()
                ),
            );
        }
        if let Some(t) = r.timeout.as_ref().and_then(|t| t.parse().ok())
            && t <= bakes
        {
            c.err(
                "spec.rollout.rolling.timeout",
                format!(
                    "{}s is not longer than the bakes of {} batches ({}s): SageMaker requires MaximumExecutionTimeoutInSeconds to exceed the waits",
                    t.as_secs(),
                    batch.batches(count),
                    bakes.as_secs()
                ),
            );
        }
    }
    if let Some(Capacity::Instances(n)) = r.rollback_batch.as_ref().and_then(Capacity::of)
        && n > count
    {
        c.err(
            "spec.rollout.rolling.rollbackBatch.instances",
            format!(
                "{n} is more than {} ({count})",
                fleet.path.trim_start_matches("spec.")
            ),
        );
    }
}
