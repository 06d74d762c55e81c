//! `spec.rollout`: the strategy, its step schedule and bakes, the guardrails (in [`super::guardrails`]),
//! shadow, and the gates.

use std::time::Duration;

use jiff::SignedDuration;

use super::collect::*;
use super::guardrails::{BlueGreen, Rolling, blue_green, rolling};
use crate::api::spec::*;

/// One traffic step before 100 %: candidate weight in percent and how long it bakes.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub weight: i32,
    pub bake: SignedDuration,
    /// After the bake, hold at this weight until on-call promotes.
    pub pause: bool,
}

/// The shadow stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    pub sampling_percent: i32,
    pub duration: SignedDuration,
    pub then: ShadowThen,
}

/// How traffic moves.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    pub strategy: Strategy,
    /// The traffic steps of the strategy before 100 %: the canary steps, the linear steps,
    /// or the canary steps after a shadow stage with `then: Canary`; empty otherwise.
    pub steps: Vec<Step>,
    pub blue_green: Option<BlueGreen>,
    pub rolling: Option<Rolling>,
    pub shadow: Option<Shadow>,
    pub paused: bool,
    pub deadline: Option<super::Deadline>,
    pub windows: Option<super::Windows>,
    /// How long the previous champion stays ready for `undo` after a success.
    pub rollback_window: Option<SignedDuration>,
}

pub(super) fn rollout(c: &mut Collector, r: &RolloutSpec) -> Option<Rollout> {
    let needs = |c: &mut Collector, present: bool, field: &str, why: &str| {
        if !present {
            c.err(
                format!("spec.rollout.{field}"),
                format!("is required {why}"),
            );
        }
    };
    match r.strategy {
        Strategy::Canary => needs(c, r.canary.is_some(), "canary", "by strategy Canary"),
        Strategy::Linear => needs(c, r.linear.is_some(), "linear", "by strategy Linear"),
        Strategy::BlueGreen => needs(
            c,
            r.blue_green.is_some(),
            "blueGreen",
            "by strategy BlueGreen",
        ),
        Strategy::Shadow => {
            needs(c, r.shadow.is_some(), "shadow", "by strategy Shadow");
            if r.shadow
                .as_ref()
                .is_some_and(|s| s.then == ShadowThen::Canary)
            {
                needs(c, r.canary.is_some(), "canary", "by shadow.then: Canary");
            }
        }
        Strategy::Rolling => needs(c, r.rolling.is_some(), "rolling", "by strategy Rolling"),
        Strategy::Direct => {}
    }
    let canary = r.canary.as_ref().map(|canary| canary_steps(c, canary));
    let linear = r.linear.as_ref().map(|linear| {
        let ok = c.range(
            "spec.rollout.linear.stepWeight",
            linear.step_weight.into(),
            1,
            99,
        );
        let bake = c.duration("spec.rollout.linear.bake", &linear.bake, MAX_STAGE);
        match (ok, bake) {
            (true, Some(bake)) => (1..)
                .map(|k| k * linear.step_weight)
                .take_while(|w| *w < 100)
                .map(|weight| Step {
                    weight,
                    bake: signed(bake),
                    pause: false,
                })
                .collect(),
            _ => Vec::new(),
        }
    });
    let blue_green = r.blue_green.as_ref().map(|bg| blue_green(c, bg));
    let rolling = r.rolling.as_ref().and_then(|ro| rolling(c, ro));
    let shadow = r.shadow.as_ref().map(|sh| {
        c.range(
            "spec.rollout.shadow.samplingPercent",
            sh.sampling_percent.into(),
            1,
            100,
        );
        let duration = c.duration("spec.rollout.shadow.duration", &sh.duration, MAX_STAGE);
        Shadow {
            sampling_percent: sh.sampling_percent,
            duration: duration.map(signed).unwrap_or_default(),
            then: sh.then,
        }
    });
    let steps = match r.strategy {
        Strategy::Canary => canary.clone().unwrap_or_default(),
        Strategy::Linear => linear.unwrap_or_default(),
        Strategy::Shadow
            if shadow
                .as_ref()
                .is_some_and(|s| s.then == ShadowThen::Canary) =>
        {
            canary.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Some(Rollout {
        strategy: r.strategy,
        steps,
        blue_green: blue_green.flatten(),
        rolling,
        shadow,
        paused: r.paused,
        deadline: (r.progress_deadline.as_ref()).and_then(|d| super::schedule::deadline(c, d)),
        windows: (r.windows.as_ref()).and_then(|w| super::schedule::windows(c, w)),
        rollback_window: (r.rollback_window.as_ref())
            .and_then(|d| c.duration("spec.rollout.rollbackWindow", d, MAX_STAGE))
            .map(signed),
    })
}

pub(super) fn canary_steps(c: &mut Collector, canary: &CanarySpec) -> Vec<Step> {
    if canary.steps.is_empty() || canary.steps.len() > 10 {
        c.err(
            "spec.rollout.canary.steps",
            format!("has {} steps; expected 1 to 10", canary.steps.len()),
        );
    }
    let mut previous: Option<i32> = None;
    let mut steps = Vec::new();
    for (i, step) in canary.steps.iter().enumerate() {
        let path = format!("spec.rollout.canary.steps[{i}]");
        if step.weight < 1 || step.weight > 99 {
            c.err(
                format!("{path}.weight"),
                format!(
                    "{} must be between 1 and 99 (100 % is the final promotion)",
                    step.weight
                ),
            );
        }
        if let Some(p) = previous.filter(|p| step.weight <= *p) {
            c.err(
                format!("{path}.weight"),
                format!(
                    "{} must be greater than the previous step ({p})",
                    step.weight
                ),
            );
        }
        previous = Some(step.weight);
        let bake = match &step.bake {
            Some(b) => c.duration(&format!("{path}.bake"), b, MAX_STAGE),
            // An approval step may wait for promote at once.
            None if step.pause => Some(Duration::ZERO),
            None => {
                c.err(format!("{path}.bake"), "is required (or pause: true)");
                None
            }
        };
        if let Some(bake) = bake {
            steps.push(Step {
                weight: step.weight,
                bake: signed(bake),
                pause: step.pause,
            });
        }
    }
    steps
}

/// An Invocations floor judges up to `periods + 3` minutes after a step's traffic starts: every
/// bake (and the shadow period) must last longer, or the floor would never say anything.
pub(super) fn floors_can_judge(c: &mut Collector, spec: &ModelDeploymentSpec, r: &Rollout) {
    let shortest = r
        .steps
        .iter()
        .map(|s| s.bake)
        .chain(r.shadow.as_ref().map(|s| s.duration))
        .min();
    for (i, rule) in spec.analysis.alarms.create.iter().enumerate() {
        // Up to a minute to the first whole one, the periods, 2 for CloudWatch (CW-30).
        let needs = SignedDuration::from_mins(i64::from(rule.periods) + 3);
        if rule.metric == AlarmMetric::Invocations
            && let Some(bake) = shortest.filter(|b| *b <= needs)
        {
            c.err(
                format!("spec.analysis.alarms.create[{i}].periods"),
                format!(
                    "an Invocations floor judges up to {} min after a step's traffic starts (periods + 3: the first whole minute, the periods, 2 for CloudWatch to publish a new metric), but the shortest bake is {bake:#}: lower periods or bake longer",
                    rule.periods + 3
                ),
            );
        }
    }
}
