//! Shared fixtures for planner tests: a base spec, candidates, and `World`, a tiny
//! instant-effect model of AWS that applies plan actions with SageMaker's rules (updates
//! rejected while transitioning, immutable configs, relative weights, silent rollback) on a
//! virtual clock, and checks invariants on every plan.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::{ConfigPlan, ModelPlan};
use sagemaker_rollout::plan::desired::{variant_name, watched_alarms};
use sagemaker_rollout::plan::*;

pub const CHAMPION_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1";
pub const CANDIDATE_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/2";
pub const NEWER_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3";
pub const OWNER: &str = "ml-prod/churn";
pub const ENDPOINT: &str = "churn-prod";

pub fn t0() -> Timestamp {
    "2026-11-20T10:00:00Z".parse().expect("timestamp")
}

pub fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

const BASE: &str = r#"
endpointName: churn-prod
region: us-east-1
executionRoleArn: arn:aws:iam::123456789012:role/sagemaker-exec
candidate:
  modelPackageGroup: churn-models
  matchTags: {candidate_run_id: run-2}
serving: {instanceType: ml.m5.large, instanceCount: 2}
rollout:
  strategy: Canary
  canary:
    steps:
      - {weight: 10, bake: 10m}
      - {weight: 50, bake: 20m}
  linear: {stepWeight: 25, bake: 5m}
  blueGreen: {bake: 15m, terminationWait: 10m}
  shadow: {samplingPercent: 50, duration: 1h, then: Canary}
analysis:
  alarms:
    existing: [churn-kpi]
    create:
      - {metric: Invocation5XXErrors, statistic: Sum, threshold: "5", periods: 2}
smokeTest:
  contentType: text/csv
  body: "1,2,3"
  expect: {status: 200}
"#;

thread_local! {
    /// The last few validations: a World validates the same spec on every step, and the
    /// property tests take thousands of steps.
    static VALIDATED: std::cell::RefCell<Vec<(ModelDeploymentSpec, Result<ValidSpec, SpecErrors>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `ValidSpec::new`, remembered for the specs seen last.
pub fn validated(spec: &ModelDeploymentSpec) -> Result<ValidSpec, SpecErrors> {
    VALIDATED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, r)) = cache.iter().find(|(s, _)| s == spec) {
            return r.clone();
        }
        let r = ValidSpec::new(spec);
        cache.insert(0, (spec.clone(), r.clone()));
        cache.truncate(8);
        r
    })
}

/// The spec as the planner takes it (panics if the test built an invalid one).
pub fn valid(spec: &ModelDeploymentSpec) -> ValidSpec {
    validated(spec).unwrap_or_else(|e| panic!("test spec is invalid: {e}"))
}

/// The base spec with the given strategy.
pub fn spec(strategy: Strategy) -> ModelDeploymentSpec {
    let mut s: ModelDeploymentSpec = serde_saphyr::from_str(BASE).expect("base spec parses");
    s.rollout.strategy = strategy;
    s
}

pub fn candidate(arn: &str, run: &str) -> Candidate {
    Candidate {
        package_arn: arn.to_owned(),
        run_id: Some(run.to_owned()),
        model_data_url: format!("s3://models/{run}/model.tar.gz"),
        lineage: [("data_version".to_owned(), format!("data-{run}"))]
            .into_iter()
            .collect(),
        artifact: ArtifactCheck::Valid {
            sha256: "ab".repeat(32),
        },
        comparison: Some(MetricComparison {
            candidate: Some(0.91),
            champion: Some(0.90),
        }),
    }
}

/// The instant-effect AWS model.
#[derive(Clone, Debug)]
pub struct World {
    pub now: Timestamp,
    pub endpoint: Option<Endpoint>,
    pub configs: BTreeMap<String, ConfigPlan>,
    pub models: BTreeMap<String, ModelPlan>,
    pub alarms: BTreeMap<String, Alarm>,
    pub owned_alarms: BTreeSet<String>,
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
            scaling: Vec::new(),
            candidate: CandidateLookup::Found(candidate(CANDIDATE_ARN, "run-2")),
            pending: None,
            smoke_passes: true,
            artifact_valid: true,
            fail_next_update: None,
            calls: Vec::new(),
            status: None,
            finalizer_removed: false,
        }
    }

    /// An InService endpoint owned by OWNER serving CHAMPION_ARN alone (a finished rollout).
    pub fn with_champion(spec: &ModelDeploymentSpec) -> Self {
        let mut w = Self::empty();
        let mut first = spec.clone();
        first.candidate.match_tags = Some(
            [("candidate_run_id".to_owned(), "run-1".to_owned())]
                .into_iter()
                .collect(),
        );
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

    pub fn observe(&self) -> Observed {
        let models: BTreeMap<&String, &ModelPlan> = self.models.iter().collect();
        let endpoint = self.endpoint.clone().map(|mut e| {
            for v in e.variants.iter_mut().chain(e.shadow_variants.iter_mut()) {
                if let Some(m) = models.get(&v.model_name) {
                    v.package_arn = Some(m.package_arn.clone());
                    v.run_id = m.tags.get("candidate_run_id").cloned();
                }
            }
            e
        });
        Observed {
            endpoint,
            alarms: self.alarms.values().cloned().collect(),
            scaling: self.scaling.clone(),
            candidate: self.candidate.clone(),
            owned: Owned {
                endpoint_configs: self.configs.keys().cloned().collect(),
                models: self.models.keys().cloned().collect(),
                alarms: self.owned_alarms.iter().cloned().collect(),
            },
        }
    }

    /// The plan for `spec` against this world: validated first, as every front end does
    /// (an invalid spec gets the invalid-spec plan; deletion needs only its teardown part).
    pub fn plan(&self, spec: &ModelDeploymentSpec, deleting: bool) -> Plan {
        let observed = self.observe();
        let previous = self.status.as_ref();
        if deleting {
            let teardown = match validated(spec) {
                Ok(v) => v.teardown(),
                Err(_) => Teardown::from_spec(spec).expect("a deletable spec"),
            };
            let input = TeardownInput {
                teardown: &teardown,
                owner: OWNER,
                generation: Some(1),
                observed: &observed,
                previous,
                now: self.now,
            };
            return plan_teardown(&input);
        }
        let valid = match validated(spec) {
            Ok(v) => v,
            Err(errors) => return invalid(&errors, previous, Some(1), self.now),
        };
        let input = PlanInput {
            spec: &valid,
            owner: OWNER,
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
        self.status = Some(plan.status.clone());
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
                self.alarms.entry(a.name.clone()).or_insert(Alarm {
                    name: a.name.clone(),
                    state: AlarmState::InsufficientData,
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
            Action::RecordHistory(_) => {}
            Action::RemoveFinalizer => self.finalizer_removed = true,
        }
    }

    /// Safety invariants checked on every plan.
    fn check_invariants(&self, spec: &ModelDeploymentSpec, plan: &Plan) {
        let Some(ep) = &self.endpoint else { return };
        let m = Markers::from_tags(&ep.tags);
        let variant = m.variant.clone().unwrap_or_else(|| match &self.candidate {
            CandidateLookup::Found(c) => match validated(spec) {
                Ok(v) => variant_name(&v, &c.package_arn),
                Err(_) => String::new(),
            },
            CandidateLookup::NotFound(_) => String::new(),
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
        let firing = watched_alarms(&valid, &variant).iter().any(|n| {
            self.alarms
                .get(n)
                .is_some_and(|a| a.state == AlarmState::Alarm)
        });
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
                    !firing,
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

fn variant_of(v: &actions::VariantPlan) -> Variant {
    Variant {
        name: v.name.clone(),
        model_name: v.model_name.clone(),
        package_arn: None,
        run_id: None,
        current_weight: v.weight,
        desired_weight: None,
        instance_type: v.instance_type.clone(),
        current_instances: v.instance_count,
        desired_instances: None,
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
