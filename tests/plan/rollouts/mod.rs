//! Planner scenarios, one per situation, driven through the instant-effect `World` and
//! grouped by theme. Each test name says what must happen.

mod alarms;
mod changes;
mod controls;
mod drivers;
mod failures;
mod gates;
mod lifecycle;
mod schedule;
mod shapes;
mod sources;
mod strategies;
mod verdicts;

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::Action;
use sagemaker_rollout::plan::*;

use crate::support::*;

pub(super) fn weights_sent(plans: &[Plan]) -> Vec<i64> {
    plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter_map(|a| match a {
            Action::UpdateWeights { weights } => {
                let cand = weights
                    .iter()
                    .find(|(k, _)| k.starts_with("v-") && **k != champion_variant());
                cand.map(|(_, w)| w.round() as i64)
            }
            _ => None,
        })
        .collect()
}

pub(super) fn champion_variant() -> String {
    let s = spec(Strategy::Canary);
    desired::variant_name(&valid(&s), CHAMPION_ARN)
}

pub(super) fn candidate_variant() -> String {
    let s = spec(Strategy::Canary);
    desired::variant_name(&valid(&s), CANDIDATE_ARN)
}

pub(super) fn serving(w: &World) -> Vec<String> {
    w.endpoint
        .as_ref()
        .map(|e| e.variants.iter().map(|v| v.name.clone()).collect())
        .unwrap_or_default()
}

/// The packages the serving variants' models were created from.
pub(super) fn serving_packages(w: &World) -> Vec<String> {
    let observed = w.observe(None);
    observed
        .endpoint
        .map(|e| {
            e.variants
                .iter()
                .map(|v| v.candidate_id.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn last_history(w: &World) -> HistoryEntry {
    w.status
        .as_ref()
        .and_then(|s| s.history.first().cloned())
        .expect("a history entry")
}

pub(super) fn condition(w: &World, t: &str) -> Condition {
    w.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == t).cloned())
        .expect("condition")
}

/// Steps until the rollout reaches `stage` (or panics after `limit`).
pub(super) fn until_stage(
    w: &mut World,
    s: &ModelDeploymentSpec,
    stage: Stage,
    step: u32,
    limit: usize,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for _ in 0..limit {
        plans.push(w.step(s));
        let m = w.markers();
        if m.stage == Some(stage) && (stage != Stage::Step || m.step == step) && w.pending.is_none()
        {
            return plans;
        }
    }
    panic!("never reached {stage:?} {step}; markers {:?}", w.markers());
}
