//! `World`: the instant-effect model of AWS the planner tests drive.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::{AlarmKind, ConfigPlan, ModelPlan};
use sagemaker_rollout::plan::*;

use super::fixtures::*;

/// The instant-effect AWS model.
#[derive(Clone, Debug)]
pub struct World {
    pub now: Timestamp,
    pub endpoint: Option<Endpoint>,
    pub configs: BTreeMap<String, ConfigPlan>,
    pub models: BTreeMap<String, ModelPlan>,
    pub alarms: BTreeMap<String, Alarm>,
    pub owned_alarms: BTreeSet<String>,
    /// What GetMetricData would say of both variants (scripted by compare tests).
    pub comparison: Option<Readings>,
    pub scaling: Vec<ScalingRegistration>,
    pub candidate: CandidateLookup,
    /// When the current transition completes, and what it does.
    pub pending: Option<(Timestamp, Pending)>,
    pub smoke_passes: bool,
    pub artifact_valid: bool,
    /// FailureReason of the next UpdateEndpoint, which then silently rolls back.
    pub fail_next_update: Option<String>,
    pub calls: Vec<String>,
    pub status: Option<ModelDeploymentStatus>,
    pub finalizer_removed: bool,
    /// Who plans: a controller of cluster `test` by default.
    pub driver: claim::Driver,
}

#[derive(Clone, Debug)]
pub enum Pending {
    ToConfig {
        config: String,
        fail: Option<(String, String)>,
    },
    Weights(BTreeMap<String, f64>),
    Gone,
}

impl World {
    /// No endpoint yet; the candidate resolves to CANDIDATE_ARN.
    pub fn empty() -> Self {
        let mut alarms = BTreeMap::new();
        alarms.insert(
            "churn-kpi".to_owned(),
            Alarm {
                name: "churn-kpi".into(),
                state: AlarmState::Ok,
                since: None,
            },
        );
        Self {
            now: t0(),
            endpoint: None,
            configs: BTreeMap::new(),
            models: BTreeMap::new(),
            alarms,
            owned_alarms: BTreeSet::new(),
            comparison: None,
            scaling: Vec::new(),
            candidate: CandidateLookup::Found(candidate(CANDIDATE_ARN, "run-2")),
            pending: None,
            smoke_passes: true,
            artifact_valid: true,
            fail_next_update: None,
            calls: Vec::new(),
            status: None,
            finalizer_removed: false,
            driver: claim::Driver::controller("test", Some("uid-1")),
        }
    }

    /// An InService endpoint owned by OWNER serving CHAMPION_ARN alone (a finished rollout).
    pub fn with_champion(spec: &ModelDeploymentSpec) -> Self {
        let mut w = Self::empty();
        let first = for_run(spec, "run-1");
        w.candidate = CandidateLookup::Found(candidate(CHAMPION_ARN, "run-1"));
        w.run(&first, 200);
        assert_eq!(
            w.stage(),
            Some(Stage::Done),
            "champion fixture must finish: {:?}",
            w.status
        );
        w.candidate = CandidateLookup::Found(candidate(CANDIDATE_ARN, "run-2"));
        w.calls.clear();
        w.status = None;
        w
    }

    pub fn markers(&self) -> Markers {
        self.endpoint
            .as_ref()
            .map(|e| Markers::from_tags(&e.tags))
            .unwrap_or_default()
    }

    pub fn stage(&self) -> Option<Stage> {
        self.markers().stage
    }

    pub fn set_alarm(&mut self, name: &str, state: AlarmState) {
        let since = Some(self.now);
        self.alarms.insert(
            name.to_owned(),
            Alarm {
                name: name.to_owned(),
                state,
                since,
            },
        );
    }

    /// What the engine would observe: alarms only while a rollout is in flight, autoscaling
    /// only when the planner asks for it (see `reads_alarms` and `reads_scaling`).
    pub fn observe(&self, spec: Option<&ValidSpec>) -> Observed {
        let models: BTreeMap<&String, &ModelPlan> = self.models.iter().collect();
        let endpoint = self.endpoint.clone().map(|mut e| {
            for v in e.variants.iter_mut().chain(e.shadow_variants.iter_mut()) {
                if let Some(m) = models.get(&v.model_name) {
                    v.candidate_id = Some(m.candidate_id.clone());
                    v.run_id = m.tags.get("candidate_run_id").cloned();
                    v.image = m.tags.get("model_image").cloned();
                    v.environment_hash = m.tags.get("model_environment_hash").cloned();
                }
            }
            e
        });
        let markers = endpoint
            .as_ref()
            .map(|e| Markers::from_tags(&e.tags))
            .unwrap_or_default();
        let alarms_read = match spec {
            Some(spec) => reads_alarms(spec, &markers, endpoint.as_ref(), &self.candidate),
            None => markers.stage.is_some_and(Stage::in_flight),
        };
        Observed {
            endpoint: endpoint.clone(),
            alarms: if alarms_read {
                self.alarms.values().cloned().collect()
            } else {
                Vec::new()
            },
            alarms_read,
            scaling: self.scaling.clone(),
            scaling_read: match (spec, &endpoint) {
                (Some(spec), Some(e)) => reads_scaling(spec, e),
                (None, Some(_)) => true,
                (_, None) => false,
            },
            candidate: self.candidate.clone(),
            owned: Owned {
                endpoint_configs: self.configs.keys().cloned().collect(),
                models: self.models.keys().cloned().collect(),
                alarms: self.owned_alarms.iter().cloned().collect(),
            },
            comparison: self.comparison.clone(),
            targets_component: false,
            component: None,
        }
    }

    /// The plan for `spec` against this world: validated first, as every front end does
    /// (an invalid spec gets the invalid-spec plan; deletion needs only its teardown part).
    pub fn plan(&self, spec: &ModelDeploymentSpec, deleting: bool) -> Plan {
        let previous = self.status.as_ref();
        if deleting {
            let observed = self.observe(None);
            let teardown = match validated(spec) {
                Ok(v) => v.teardown(),
                Err(_) => Teardown::from_spec(spec).expect("a deletable spec"),
            };
            let input = TeardownInput {
                teardown: &teardown,
                owner: OWNER,
                driver: &self.driver,
                generation: Some(1),
                observed: &observed,
                previous,
                now: self.now,
            };
            return plan_teardown(&input);
        }
        let valid = match validated(spec) {
            Ok(v) => v,
            Err(errors) => return invalid("InvalidSpec", &errors, previous, Some(1), self.now),
        };
        let observed = self.observe(Some(&valid));
        let input = PlanInput {
            spec: &valid,
            owner: OWNER,
            driver: &self.driver,
            generation: Some(1),
            observed: &observed,
            previous,
            now: self.now,
        };
        let plan = plan(&input);
        assert_eq!(
            plan,
            sagemaker_rollout::plan::plan(&input),
            "the planner must be deterministic"
        );
        plan
    }

    /// One reconcile: plan, check invariants, apply, advance the clock.
    pub fn step(&mut self, spec: &ModelDeploymentSpec) -> Plan {
        let plan = self.plan(spec, false);
        self.check_invariants(spec, &plan);
        self.apply_all(&plan.actions);
        // On-call's requests live in the object, not in the plan: they outlast a status write.
        self.status = Some(match self.status.take() {
            Some(old) => old.keeping_requests(&plan.status),
            None => plan.status.clone(),
        });
        self.advance(plan.next);
        plan
    }

    /// Reconciles until nothing is due (or `limit` passes); returns every plan.
    pub fn run(&mut self, spec: &ModelDeploymentSpec, limit: usize) -> Vec<Plan> {
        let mut plans = Vec::new();
        for _ in 0..limit {
            let plan = self.step(spec);
            let done = plan.actions.is_empty() && plan.next == Next::Idle && self.pending.is_none();
            plans.push(plan);
            if done {
                return plans;
            }
        }
        panic!(
            "no rest after {limit} reconciles; last: {:?}",
            plans.last().map(|p| &p.status)
        );
    }

    /// On-call asks for `gate` on the rollout the status shows now, as `sagemaker-rollout
    /// promote|abort|retry|undo` does.
    pub fn request(&mut self, gate: Gate) {
        let st = self.status.as_mut().expect("a status to name the rollout");
        st.ask(gate, None).expect("a rollout id");
    }

    pub fn advance(&mut self, next: Next) {
        let target = match next {
            Next::Poll => self.now + SignedDuration::from_secs(30),
            Next::At(t) => t.max(self.now),
            Next::Idle => self.now + mins(5),
        };
        if let Some((done, _)) = &self.pending
            && *done <= target
        {
            self.now = *done;
            self.complete();
        } else {
            self.now = target;
        }
    }

    fn complete(&mut self) {
        let Some((_, what)) = self.pending.take() else {
            return;
        };
        let configs = self.configs.clone();
        match what {
            Pending::Gone => self.endpoint = None,
            Pending::ToConfig { config, fail } => {
                let ep = self.endpoint.as_mut().expect("endpoint");
                ep.last_modified = self.now;
                ep.status = EndpointStatus::InService;
                match fail {
                    Some((old, reason)) => {
                        ep.failure_reason = Some(reason);
                        let _ = old;
                    }
                    None => {
                        let c = &configs[&config];
                        ep.config_name = config.clone();
                        ep.variants = c.production.iter().map(variant_of).collect();
                        ep.shadow_variants = c.shadow.iter().map(variant_of).collect();
                        ep.failure_reason = None;
                    }
                }
            }
            Pending::Weights(w) => {
                let ep = self.endpoint.as_mut().expect("endpoint");
                ep.status = EndpointStatus::InService;
                ep.last_modified = self.now;
                for v in &mut ep.variants {
                    if let Some(x) = w.get(&v.name) {
                        v.current_weight = *x;
                        v.desired_weight = None;
                    }
                }
            }
        }
    }

    pub fn apply_all(&mut self, actions: &[Action]) {
        for a in actions {
            self.apply(a);
        }
    }

    pub fn apply(&mut self, action: &Action) {
        self.calls.push(action.kind().to_owned());
        let now = self.now;
        match action {
            Action::ValidateArtifact { .. } => {
                if let CandidateLookup::Found(c) = &mut self.candidate {
                    c.artifact = if self.artifact_valid {
                        ArtifactCheck::Valid {
                            sha256: "ab".repeat(32),
                        }
                    } else {
                        ArtifactCheck::Invalid {
                            reason: "model/: no model file (model.cbm, model.json, …)".into(),
                        }
                    };
                }
            }
            Action::CreateModel(m) => {
                self.models.insert(m.name.clone(), m.clone());
            }
            Action::CreateEndpointConfig(c) => {
                if let Some(existing) = self.configs.get(&c.name) {
                    assert_eq!(
                        existing, c,
                        "endpoint configs are immutable: same name, different content"
                    );
                }
                assert!(
                    c.production
                        .iter()
                        .all(|v| self.models.contains_key(&v.model_name)),
                    "config refers to a missing model"
                );
                self.configs.insert(c.name.clone(), c.clone());
            }
            Action::CreateEndpoint { config_name, tags } => {
                assert!(
                    self.endpoint.is_none(),
                    "CreateEndpoint on an existing endpoint"
                );
                assert!(
                    self.configs.contains_key(config_name),
                    "CreateEndpoint with a missing config"
                );
                self.endpoint = Some(Endpoint {
                    name: ENDPOINT.into(),
                    arn: format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"),
                    status: EndpointStatus::Creating,
                    config_name: config_name.clone(),
                    failure_reason: None,
                    last_modified: now,
                    variants: vec![],
                    shadow_variants: vec![],
                    async_inference: false,
                    tags: tags.clone(),
                });
                self.pending = Some((
                    now + mins(6),
                    Pending::ToConfig {
                        config: config_name.clone(),
                        fail: None,
                    },
                ));
            }
            Action::UpdateEndpoint { config_name, .. } => {
                let fail = self.fail_next_update.take();
                let ep = self
                    .endpoint
                    .as_mut()
                    .expect("UpdateEndpoint without endpoint");
                assert_eq!(
                    ep.status,
                    EndpointStatus::InService,
                    "UpdateEndpoint while {:?}",
                    ep.status
                );
                assert!(
                    self.configs.contains_key(config_name),
                    "UpdateEndpoint with a missing config"
                );
                ep.status = EndpointStatus::Updating;
                let old = ep.config_name.clone();
                self.pending = Some((
                    now + mins(8),
                    Pending::ToConfig {
                        config: config_name.clone(),
                        fail: fail.map(|r| (old, r)),
                    },
                ));
            }
            Action::UpdateWeights { weights } => {
                let ep = self
                    .endpoint
                    .as_mut()
                    .expect("UpdateWeights without endpoint");
                assert_eq!(
                    ep.status,
                    EndpointStatus::InService,
                    "UpdateWeights while {:?}",
                    ep.status
                );
                for name in weights.keys() {
                    assert!(
                        ep.variant(name).is_some(),
                        "UpdateWeights names unknown variant {name}"
                    );
                }
                for v in &mut ep.variants {
                    v.desired_weight = weights.get(&v.name).copied();
                }
                ep.status = EndpointStatus::Updating;
                self.pending = Some((now + mins(1), Pending::Weights(weights.clone())));
            }
            Action::RunSmokeTest { variant } => {
                let ep = self.endpoint.as_mut().expect("smoke test without endpoint");
                assert!(
                    ep.variant(variant).is_some(),
                    "smoke test targets missing variant {variant}"
                );
                let mut m = Markers::from_tags(&ep.tags);
                m.smoke = Some(if self.smoke_passes {
                    markers::Smoke::Passed
                } else {
                    markers::Smoke::Failed
                });
                m.smoke_at = Some(now);
                ep.tags.extend(m.to_tags());
                ep.tags.retain(|_, v| !v.is_empty());
            }
            Action::TagEndpoint { tags } => {
                let ep = self
                    .endpoint
                    .as_mut()
                    .expect("TagEndpoint without endpoint");
                ep.tags.extend(tags.clone());
                ep.tags.retain(|_, v| !v.is_empty());
            }
            Action::EnsureAlarm(a) => {
                self.owned_alarms.insert(a.name.clone());
                // A floor's missing data is breaching: ALARM until traffic arrives (CW-19).
                let state = if a.kind == AlarmKind::Below {
                    AlarmState::Alarm
                } else {
                    AlarmState::InsufficientData
                };
                self.alarms.entry(a.name.clone()).or_insert(Alarm {
                    name: a.name.clone(),
                    state,
                    since: Some(now),
                });
            }
            Action::DeleteAlarm { name } => {
                self.owned_alarms.remove(name);
                self.alarms.remove(name);
            }
            Action::RegisterScaling(s) => {
                self.scaling.retain(|r| r.variant != s.variant);
                self.scaling.push(ScalingRegistration {
                    variant: s.variant.clone(),
                    min: s.min,
                    max: s.max,
                    policy: Some(ScalingPolicy {
                        metric: s.metric.clone(),
                        target_value: s.target_value,
                        scale_in_cooldown: s.scale_in_cooldown,
                        scale_out_cooldown: s.scale_out_cooldown,
                    }),
                });
            }
            Action::DeregisterScaling { variant } => self.scaling.retain(|r| &r.variant != variant),
            Action::DeleteEndpoint => {
                let ep = self
                    .endpoint
                    .as_mut()
                    .expect("DeleteEndpoint without endpoint");
                assert!(
                    !ep.status.is_transitional(),
                    "DeleteEndpoint while {:?}",
                    ep.status
                );
                ep.status = EndpointStatus::Deleting;
                self.pending = Some((now + mins(2), Pending::Gone));
            }
            Action::DeleteEndpointConfig { name } => {
                self.configs.remove(name);
            }
            Action::DeleteModel { name } => {
                self.models.remove(name);
            }
            Action::CollectGarbage {
                keep_configs,
                keep_models,
            } => {
                // Alarms go before the config that held their variants; then configs, then
                // models (what AWS allows once nothing references them).
                for name in std::mem::take(&mut self.owned_alarms) {
                    self.alarms.remove(&name);
                }
                self.configs.retain(|name, _| keep_configs.contains(name));
                // As the engine does: a model a kept config names stays with it.
                let named: Vec<String> = (self.configs.values())
                    .flat_map(|c| c.production.iter().chain(&c.shadow))
                    .map(|v| v.model_name.clone())
                    .collect();
                self.models
                    .retain(|name, _| keep_models.contains(name) || named.contains(name));
            }
            Action::RecordHistory(_) => {}
            Action::RemoveFinalizer => self.finalizer_removed = true,
            // The plan tables drive endpoints; components are driven on the simulator.
            Action::CreateInferenceComponent { .. }
            | Action::UpdateInferenceComponent { .. }
            | Action::SetComponentCopies { .. }
            | Action::DeleteInferenceComponent { .. } => {}
        }
    }
}

fn variant_of(v: &actions::VariantPlan) -> Variant {
    Variant {
        name: v.name.clone(),
        model_name: v.model_name.clone(),
        candidate_id: None,
        run_id: None,
        image: None,
        environment_hash: None,
        current_weight: v.weight,
        desired_weight: None,
        instance_type: v.instance_type.clone(),
        current_instances: v.instance_count,
        desired_instances: None,
        serverless: false,
    }
}
