//! Safety invariants checked on every plan, and the serving state a crash must not change.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::desired::{self, variant_name, watched_alarms};
use sagemaker_rollout::plan::*;

use super::fixtures::*;
use super::world::World;

impl World {
    /// Safety invariants checked on every plan.
    pub(super) fn check_invariants(&self, spec: &ModelDeploymentSpec, plan: &Plan) {
        let Some(ep) = &self.endpoint else { return };
        let m = Markers::from_tags(&ep.tags);
        let variant = m.variant.clone().unwrap_or_else(|| match &self.candidate {
            CandidateLookup::Found(c) => match validated(spec) {
                Ok(v) => variant_name(&v, &c.candidate_id),
                Err(_) => String::new(),
            },
            CandidateLookup::NotFound(_) | CandidateLookup::Unread => String::new(),
        });
        let current = candidate_share(
            ep.variants
                .iter()
                .map(|v| (v.name.as_str(), v.current_weight)),
            &variant,
        );
        let Ok(valid) = validated(spec) else {
            assert!(plan.actions.is_empty(), "an invalid spec must not act");
            return;
        };
        let scope = desired::AlarmScope {
            variant: &variant,
            config: alarm_scope(&m).config,
        };
        // A floor is in ALARM for want of data until the candidate has had traffic; the
        // planner judges it from then on (tests/plan/rollouts/alarms.rs covers it).
        let floors: Vec<String> = desired::owned_alarms(&valid, scope)
            .into_iter()
            .filter(|a| a.kind == actions::AlarmKind::Below)
            .map(|a| a.name)
            .collect();
        let firing = watched_alarms(&valid, scope)
            .iter()
            .filter(|n| !floors.contains(n))
            .any(|n| {
                self.alarms
                    .get(n)
                    .is_some_and(|a| a.state == AlarmState::Alarm)
            });
        // Only a human's promote of this very rollout moves traffic on despite an alarm
        // (rollbackOn: Manual hands the decision to them).
        let promoted = (self.status.as_ref()).is_some_and(|st| {
            st.rollout_in_flight
                && st
                    .requests
                    .as_ref()
                    .zip(st.rollout_id.as_ref())
                    .is_some_and(|(r, id)| r.asks(Gate::Promote, id))
        }) && valid.analysis.rollback_on == RollbackOn::Manual;
        for action in &plan.actions {
            let new_share = match action {
                Action::UpdateWeights { weights } => {
                    let total: f64 = weights.values().sum();
                    assert!(
                        (total - 100.0).abs() < 1e-6,
                        "weights must sum to 100 %, got {total}: {weights:?}"
                    );
                    assert!(
                        weights.values().all(|w| *w >= 0.0),
                        "negative weight: {weights:?}"
                    );
                    Some(candidate_share(
                        weights.iter().map(|(k, v)| (k.as_str(), *v)),
                        &variant,
                    ))
                }
                Action::UpdateEndpoint {
                    config_name,
                    deployment,
                } => {
                    let c = plan
                        .actions
                        .iter()
                        .find_map(|a| match a {
                            Action::CreateEndpointConfig(c) if &c.name == config_name => {
                                Some(c.clone())
                            }
                            _ => None,
                        })
                        .or_else(|| self.configs.get(config_name).cloned())
                        .expect("UpdateEndpoint config exists");
                    let total: f64 = c.production.iter().map(|v| v.weight).sum();
                    assert!(total > 0.0, "a config must send traffic somewhere");
                    // Native blue/green shifts traffic under SageMaker's own alarm guard.
                    deployment.is_none().then(|| {
                        candidate_share(
                            c.production.iter().map(|v| (v.name.as_str(), v.weight)),
                            &variant,
                        )
                    })
                }
                _ => None,
            };
            if let Some(share) = new_share
                && share > current + 1e-9
            {
                assert!(
                    !firing || promoted,
                    "candidate weight rose from {current} to {share} while an alarm fires"
                );
                assert_eq!(
                    ep.status,
                    EndpointStatus::InService,
                    "candidate weight rose while the endpoint is {:?}",
                    ep.status
                );
            }
        }
    }
}

/// The candidate's share of production traffic in [0, 1].
pub fn candidate_share<'a>(weights: impl Iterator<Item = (&'a str, f64)>, variant: &str) -> f64 {
    let (mut total, mut mine) = (0.0, 0.0);
    for (name, w) in weights {
        total += w.max(0.0);
        if name == variant {
            mine += w.max(0.0);
        }
    }
    if total > 0.0 { mine / total } else { 0.0 }
}

/// The serving state that must be identical however a rollout got there.
#[derive(Debug, PartialEq)]
pub struct EndState {
    pub config: Option<String>,
    pub weights: Vec<(String, i32)>,
    pub stage: Option<Stage>,
    pub rejected: Option<String>,
}

pub fn end_state(w: &World) -> EndState {
    let ep = w.endpoint.as_ref();
    EndState {
        config: ep.map(|e| e.config_name.clone()),
        weights: ep
            .map(|e| e.percent_weights().into_iter().collect())
            .unwrap_or_default(),
        stage: w.stage(),
        rejected: w.markers().rejected,
    }
}
