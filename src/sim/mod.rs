//! The SageMaker simulator: every AWS trait of the engine implemented in memory with
//! documented AWS semantics on a virtual clock — status transitions with realistic durations,
//! immutable endpoint configs, updates rejected unless InService, relative weights with
//! Desired vs Current while Updating, failed updates that silently restore the old config
//! with a FailureReason, Failed endpoints, shadow variants, blue/green guardrail deployments
//! with alarm auto-rollback, alarm states, scaling targets that block config changes, and
//! throttling. Scenarios script alarms, failures and throttling in time.

mod alarms;
mod clock;
mod components;
mod endpoints;
mod metrics;
mod notify;
mod registry;
mod rules;
mod runtime;
mod s3;
mod scaling;
pub mod scenario;
mod seed;
pub mod simulate;
mod tenancy;
mod traffic;

pub use seed::{artifact, seed};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};

use crate::aws::Clients;
use crate::aws::endpoints::EndpointDescription;
use crate::aws::registry::PackageInfo;
use crate::aws::{AwsError, ErrorClass};
use crate::plan::actions::{AlarmPlan, ConfigPlan, ModelPlan, NativeDeployment};
use crate::plan::{Alarm, AlarmState, ScalingRegistration};
pub use clock::SimClock;
pub use scenario::Scenario;

/// How long SageMaker transitions take in the simulator (typical real figures).
pub const CREATE_TIME: SignedDuration = SignedDuration::from_mins(6);
pub const UPDATE_TIME: SignedDuration = SignedDuration::from_mins(8);
pub const WEIGHTS_TIME: SignedDuration = SignedDuration::from_secs(90);
pub const DELETE_TIME: SignedDuration = SignedDuration::from_mins(2);
pub const ROLLBACK_TIME: SignedDuration = SignedDuration::from_mins(3);

const ACCOUNT: &str = "123456789012";
/// Attempts of the AWS SDK's standard retry mode, as configured in [`crate::aws::load`].
const SDK_ATTEMPTS: u32 = 5;
const REGION: &str = "us-east-1";

#[derive(Clone, Debug)]
enum Transition {
    Create {
        config: String,
    },
    Update {
        config: String,
        fail: Option<String>,
        deployment: Option<NativeDeployment>,
        started: Timestamp,
    },
    Weights(BTreeMap<String, f64>),
    RollBack {
        reason: String,
    },
    CreateFailed {
        reason: String,
    },
    Delete,
}

#[derive(Clone, Debug)]
struct SimEndpoint {
    desc: EndpointDescription,
    tags: BTreeMap<String, String>,
    pending: Option<(Timestamp, Transition)>,
}

#[derive(Clone, Debug)]
struct Package {
    info: PackageInfo,
    tags: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    endpoints: BTreeMap<String, SimEndpoint>,
    /// Inference components by name ([`components`]).
    components: BTreeMap<String, components::SimComponent>,
    configs: BTreeMap<String, ConfigPlan>,
    models: BTreeMap<String, ModelPlan>,
    packages: Vec<Package>,
    /// CreateModelPackage ClientTokens seen, and the package each made.
    client_tokens: BTreeMap<String, String>,
    groups: Vec<String>,
    objects: BTreeMap<String, Bytes>,
    alarms: BTreeMap<String, (Alarm, Option<AlarmPlan>)>,
    scaling: BTreeMap<(String, String), ScalingRegistration>,
    rng: u64,
    throttle_percent: u32,
    /// Scripted GetMetricData answers: (from, role, metric, value), and the variants that
    /// served at seed time (the champion's role).
    metrics: Vec<(Timestamp, scenario::MetricValue)>,
    champions: std::collections::BTreeSet<String>,
    /// Scenario `traffic`, and the seed its draws start from ([`metrics`]).
    traffic: Option<metrics::TrafficModel>,
    seed: u64,
    /// SNS topics and what was published to them ([`notify`]).
    topics: std::collections::BTreeSet<String>,
    published: Vec<crate::plan::notice::Notice>,
    /// Scenario `noTraffic`: no variant receives requests ([`traffic`]).
    no_traffic: bool,
    /// Scenario `validationFailed`: the seeded validation run did not pass ([`seed`]).
    validation_failed: bool,
    /// Since when each floor alarm's variant has had requests ([`traffic`]).
    traffic_since: BTreeMap<String, Timestamp>,
    fail_next_update: Option<String>,
    events: Vec<(Timestamp, scenario::Event)>,
    smoke: scenario::SmokeReply,
    /// Every call received, in order (what the emulator's request log is for the emulator).
    requests: Vec<SimRequest>,
    /// Calls that changed something, for crash tests (`fail_after`).
    mutations: u64,
    crash_after: Option<u64>,
}

/// One call the simulator received.
#[derive(Clone, Debug, PartialEq)]
pub struct SimRequest {
    pub at: Timestamp,
    pub service: &'static str,
    pub operation: &'static str,
    pub mutating: bool,
}

/// The simulator.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
    pub clock: SimClock,
    pub start: Timestamp,
    /// The namespace whose tenant session this view acts as ([`Simulator::as_tenant`]).
    tenant: Option<String>,
}

impl Simulator {
    pub fn new(start: Timestamp, scenario: &Scenario) -> Self {
        let mut events: Vec<(Timestamp, scenario::Event)> = scenario
            .events
            .iter()
            .map(|e| (start + e.at.parse().unwrap_or_default(), e.clone()))
            .collect();
        events.sort_by_key(|(t, _)| *t);
        let state = State {
            rng: scenario
                .seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                | 1,
            throttle_percent: scenario.throttle_percent,
            no_traffic: scenario.no_traffic,
            validation_failed: scenario.validation_failed,
            traffic: scenario.traffic.clone(),
            seed: scenario.seed,
            metrics: scenario
                .metrics
                .iter()
                .map(|m| (start + m.at.parse().unwrap_or_default(), m.clone()))
                .collect(),
            events,
            smoke: scenario.smoke.clone().unwrap_or(scenario::SmokeReply {
                status: 200,
                body: r#"{"score": 0.42}"#.into(),
            }),
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            clock: SimClock::new(start),
            start,
            tenant: None,
        }
    }

    /// The engine's clients, all backed by this simulator.
    pub fn clients(&self) -> Clients {
        let me = Arc::new(self.clone());
        Clients {
            endpoints: me.clone(),
            components: me.clone(),
            registry: me.clone(),
            runtime: me.clone(),
            scaling: me.clone(),
            alarms: me.clone(),
            notify: me.clone(),
            s3: me,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the state after applying everything due by now; `mutating` calls may be
    /// throttled and count towards a scripted crash.
    fn enter(
        &self,
        service: &'static str,
        operation: &'static str,
        mutating: bool,
    ) -> Result<MutexGuard<'_, State>, AwsError> {
        let now = self.clock.now();
        let mut st = self.lock();
        st.settle(now);
        st.requests.push(SimRequest {
            at: now,
            service,
            operation,
            mutating,
        });
        // The SDK's standard retry mode makes up to 5 attempts; a call fails with
        // ThrottlingException only when every attempt is throttled.
        if st.throttle_percent > 0
            && (0..SDK_ATTEMPTS).all(|_| st.next_percent() < st.throttle_percent)
        {
            let mut e = AwsError::new(ErrorClass::Throttling, service, operation, "Rate exceeded");
            e.code = Some("ThrottlingException".into());
            return Err(e);
        }
        if mutating {
            if st.crash_after == Some(st.mutations) {
                return Err(AwsError::new(
                    ErrorClass::Terminal,
                    service,
                    operation,
                    "simulated process crash",
                ));
            }
            st.mutations += 1;
        }
        Ok(st)
    }

    /// Makes the next mutating call after `n` successful ones fail, as if the process died
    /// right there (crash tests); None disarms.
    pub fn crash_after(&self, n: Option<u64>) {
        self.lock().crash_after = n;
    }

    pub fn mutations(&self) -> u64 {
        self.lock().mutations
    }

    /// Every call received so far.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.lock().requests.clone()
    }

    /// Adds a package version to the registry; returns its ARN.
    pub fn add_package(
        &self,
        group: &str,
        metadata: BTreeMap<String, String>,
        approval: &str,
        artifact: Bytes,
    ) -> String {
        let mut st = self.lock();
        if !st.groups.iter().any(|g| g == group) {
            st.groups.push(group.to_owned());
        }
        let version = st
            .packages
            .iter()
            .filter(|p| p.info.group.as_deref() == Some(group))
            .count() as i32
            + 1;
        let arn = format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}");
        let url = format!("s3://sim-models/{group}/{version}/model.tar.gz");
        st.objects.insert(url.clone(), artifact);
        // A versioned package carries its lineage in CustomerMetadataProperties; it cannot
        // carry tags (see docs/aws-rules.md).
        st.packages.push(Package {
            info: PackageInfo {
                arn: arn.clone(),
                group: Some(group.to_owned()),
                version: Some(version),
                approval: approval.to_owned(),
                status: "Completed".into(),
                image: Some(format!(
                    "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/inference:1"
                )),
                model_data_url: Some(url),
                metadata,
            },
            tags: BTreeMap::new(),
        });
        arn
    }

    /// Sets a package's ModelPackageStatus (`InProgress`, `Failed`, …), as a registry whose
    /// version is still being created or failed would show it.
    pub fn set_package_status(&self, arn: &str, status: &str) {
        let mut st = self.lock();
        if let Some(p) = st.packages.iter_mut().find(|p| p.info.arn == arn) {
            p.info.status = status.to_owned();
        }
    }

    /// Puts an object in the simulated S3 (an artifact or a validation_results.json).
    pub fn put_object(&self, uri: &str, body: Bytes) {
        self.lock().objects.insert(uri.to_owned(), body);
    }

    /// Whether the scenario says the validation run failed.
    pub fn validation_failed(&self) -> bool {
        self.lock().validation_failed
    }

    /// Registers a package under an explicit ARN (for specs that pin one).
    pub fn add_package_at(&self, arn: &str, metadata: BTreeMap<String, String>, artifact: Bytes) {
        let mut st = self.lock();
        let url = format!(
            "s3://sim-models/pinned/{}/model.tar.gz",
            arn.rsplit('/').next().unwrap_or("x")
        );
        st.objects.insert(url.clone(), artifact);
        st.packages.push(Package {
            info: PackageInfo {
                arn: arn.to_owned(),
                group: arn.split('/').nth(1).map(str::to_owned),
                version: arn.rsplit('/').next().and_then(|v| v.parse().ok()),
                approval: "Approved".into(),
                status: "Completed".into(),
                image: Some(format!(
                    "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/inference:1"
                )),
                model_data_url: Some(url),
                metadata,
            },
            tags: BTreeMap::new(),
        });
    }

    /// Creates an alarm owned by someone else.
    pub fn add_alarm(&self, name: &str, state: AlarmState) {
        let now = self.clock.now();
        self.lock().alarms.insert(
            name.to_owned(),
            (
                Alarm {
                    name: name.to_owned(),
                    state,
                    since: Some(now),
                },
                None,
            ),
        );
    }

    pub fn set_alarm(&self, name: &str, state: AlarmState) {
        let now = self.clock.now();
        let mut st = self.lock();
        if let Some((a, _)) = st.alarms.get_mut(name)
            && a.state != state
        {
            a.state = state;
            a.since = Some(now);
        }
    }

    pub fn fail_next_update(&self, reason: &str) {
        self.lock().fail_next_update = Some(reason.to_owned());
    }

    /// Counts of what exists, for leak checks: (endpoints, configs, models, owned alarms, scaling targets).
    pub fn inventory(&self) -> (usize, usize, usize, usize, usize) {
        let st = self.lock();
        (
            st.endpoints.len(),
            st.configs.len(),
            st.models.len(),
            st.alarms
                .values()
                .filter(|(_, owned)| owned.is_some())
                .count(),
            st.scaling.len(),
        )
    }

    /// Endpoint status and production weights in percent, for timelines.
    pub fn endpoint_view(&self, name: &str) -> Option<(String, Vec<(String, f64)>)> {
        let st = self.lock();
        st.endpoints.get(name).map(|e| {
            let total: f64 = e.desc.variants.iter().map(|v| v.current_weight).sum();
            let weights = e
                .desc
                .variants
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        if total > 0.0 {
                            v.current_weight / total * 100.0
                        } else {
                            0.0
                        },
                    )
                })
                .collect();
            (e.desc.status.as_str().to_owned(), weights)
        })
    }

    /// Objects whose `s3://…` URI starts with `prefix`.
    pub fn objects(&self, prefix: &str) -> Vec<(String, Bytes)> {
        let st = self.lock();
        st.objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The container a model was created with (what it reads its artifact from).
    pub fn model_container(&self, name: &str) -> Option<crate::plan::actions::ModelContainer> {
        self.lock().models.get(name).map(|m| m.container.clone())
    }

    /// Names of the models behind an endpoint's production variants.
    pub fn serving_models(&self, name: &str) -> Vec<String> {
        let st = self.lock();
        st.endpoints
            .get(name)
            .and_then(|e| st.configs.get(&e.desc.config_name))
            .map(|c| c.production.iter().map(|v| v.model_name.clone()).collect())
            .unwrap_or_default()
    }
}

impl State {
    /// A uniformly distributed value in 0..100 (xorshift; deterministic per seed).
    fn next_percent(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 100) as u32
    }

    /// Applies scripted events and finished transitions up to `now`, in time order.
    fn settle(&mut self, now: Timestamp) {
        loop {
            let next_event = self.events.first().map(|(t, _)| *t).filter(|t| *t <= now);
            let next_transition = self
                .endpoints
                .iter()
                .filter_map(|(n, e)| e.pending.as_ref().map(|(t, _)| (*t, n.clone())))
                .filter(|(t, _)| *t <= now)
                .min();
            match (next_event, next_transition) {
                (Some(te), Some((tt, _))) if te <= tt => self.apply_event(),
                (Some(_), None) => self.apply_event(),
                (_, Some((tt, name))) => self.finish(&name, tt),
                (None, None) => break,
            }
            self.floors(now);
            self.guardrails(now);
        }
        self.floors(now);
        self.guardrails(now);
        self.settle_components(now);
    }

    fn apply_event(&mut self) {
        let (at, e) = self.events.remove(0);
        if let (Some(name), Some(state)) = (&e.alarm, &e.state) {
            let state = match state.as_str() {
                "ALARM" => AlarmState::Alarm,
                "OK" => AlarmState::Ok,
                _ => AlarmState::InsufficientData,
            };
            let entry = self.alarms.entry(name.clone()).or_insert_with(|| {
                (
                    Alarm {
                        name: name.clone(),
                        state,
                        since: Some(at),
                    },
                    None,
                )
            });
            if entry.0.state != state {
                entry.0.state = state;
                entry.0.since = Some(at);
            }
        }
        if let Some(reason) = &e.fail_next_update {
            self.fail_next_update = Some(reason.clone());
        }
        if let Some(p) = e.throttle_percent {
            self.throttle_percent = p.min(100);
        }
    }

    /// SageMaker's guardrails: an alarm in ALARM during the deployment's bake rolls it back.
    fn guardrails(&mut self, now: Timestamp) {
        let firing: Vec<String> = self
            .alarms
            .values()
            .filter(|(a, _)| a.state == AlarmState::Alarm)
            .map(|(a, _)| a.name.clone())
            .collect();
        for ep in self.endpoints.values_mut() {
            let Some((
                _,
                Transition::Update {
                    deployment: Some(d),
                    started,
                    ..
                },
            )) = &ep.pending
            else {
                continue;
            };
            let baking = now >= *started + UPDATE_TIME / 2;
            if let Some(alarm) = d
                .alarms
                .iter()
                .find(|a| firing.contains(a))
                .filter(|_| baking)
            {
                ep.desc.status = crate::plan::EndpointStatus::RollingBack;
                let reason = format!(
                    "{} deployment rolled back: alarm {alarm} went into ALARM during the baking period",
                    endpoints::titled(d.name())
                );
                ep.pending = Some((now + ROLLBACK_TIME, Transition::RollBack { reason }));
            }
        }
    }

    fn finish(&mut self, name: &str, at: Timestamp) {
        let configs = self.configs.clone();
        let Some(ep) = self.endpoints.get_mut(name) else {
            return;
        };
        let Some((_, transition)) = ep.pending.take() else {
            return;
        };
        ep.desc.last_modified = at;
        ep.desc.status = crate::plan::EndpointStatus::InService;
        match transition {
            Transition::Create { config }
            | Transition::Update {
                config, fail: None, ..
            } => {
                if let Some(c) = configs.get(&config) {
                    endpoints::apply_config(&mut ep.desc, c);
                }
                ep.desc.failure_reason = None;
            }
            Transition::Update {
                fail: Some(reason), ..
            }
            | Transition::RollBack { reason } => {
                // The old fleet keeps serving; only the reason tells what happened.
                ep.desc.failure_reason = Some(reason);
            }
            Transition::CreateFailed { reason } => {
                ep.desc.status = crate::plan::EndpointStatus::Failed;
                ep.desc.failure_reason = Some(reason);
            }
            Transition::Weights(w) => {
                for v in &mut ep.desc.variants {
                    if let Some(x) = w.get(&v.name) {
                        v.current_weight = *x;
                    }
                    v.desired_weight = None;
                }
            }
            Transition::Delete => {
                self.endpoints.remove(name);
                self.scaling.retain(|(e, _), _| e != name);
            }
        }
    }
}
