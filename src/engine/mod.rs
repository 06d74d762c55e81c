//! The engine: observe AWS → plan (pure) → act, shared by the CLI and the controller.
//!
//! It takes only a [`ValidSpec`] (or, while deleting, a [`Teardown`]): validation happens
//! once, in the front end, and an invalid spec never reaches AWS. It owns no rollout state:
//! everything it needs to resume is read back from AWS on every pass (endpoint tags carry
//! the progress markers). Its only memory is a cache of artifact verdicts keyed by package
//! ARN (re-validated after a restart) and the call log.
//!
//! Errors keep their AWS class: throttling and transient failures are returned for the
//! front end to retry with [`backoff`]; a call AWS refuses for good ends the pass with a
//! Stalled status carrying AWS's message (never retried until the spec changes).

mod act;
mod aws;
pub mod backoff;
mod cache;
mod candidate;
mod component;
pub mod drive;
pub mod journal;
mod notify;
mod observe;
pub mod picture;
pub mod resolve;
pub mod slot;
pub mod store;
pub mod timeline;
pub mod watch;

use std::sync::Mutex;

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::api::{ModelDeploymentStatus, SmokeTestView, Teardown, ValidSpec};
use crate::artifact::Limits;
use crate::aws::{AwsError, Clients, ErrorClass};
use crate::plan::{self, Outcome, Plan, PlanInput, TeardownInput, settle};

/// What a validated artifact told us.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactFacts {
    pub check: plan::ArtifactCheck,
    pub model_info: Option<serde_json::Value>,
    pub metrics: Option<serde_json::Value>,
    /// For a verdict that may change (the object was missing): when to look again.
    pub recheck_at: Option<Timestamp>,
    /// The S3 artifact validated and the ETag of the version read: a model is created only
    /// while the object is still that version (`Engine::pinned`).
    pub pin: Option<(String, String)>,
}

/// One AWS call, for timelines and metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub at: Timestamp,
    pub service: &'static str,
    pub operation: String,
    pub detail: String,
    pub ok: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    /// The gate (leadership) closed: nothing more may change on AWS from this process.
    #[error("not allowed to act: this replica no longer holds the leader lease")]
    Gated,
}

impl EngineError {
    /// How the front ends handle it (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Aws(e) => e.class,
            Self::Gated => ErrorClass::Terminal,
        }
    }

    /// Throttling and transient failures: back off and reconcile again.
    pub fn is_retryable(&self) -> bool {
        matches!(self.class(), ErrorClass::Throttling | ErrorClass::Transient)
    }
}

/// The result of one reconcile pass.
#[derive(Clone, Debug)]
pub struct Pass {
    pub plan: Plan,
    /// Status to publish: the plan's, enriched with what acting learned (smoke details).
    pub status: ModelDeploymentStatus,
    /// A `RemoveFinalizer` action ran: the resource may go.
    pub released: bool,
    /// AWS rejected a call for good (validation, permissions, limits): the status says
    /// Stalled with AWS's message, and nothing more happens until the spec changes.
    pub rejected: Option<AwsError>,
}

/// The reconcile engine for one ModelDeployment identity.
pub struct Engine {
    pub clients: Clients,
    /// `namespace/name` of the ModelDeployment.
    pub owner: String,
    /// Who this engine drives as: the CLI unless told otherwise ([`Engine::with_driver`]).
    pub driver: plan::claim::Driver,
    pub workers: usize,
    caches: cache::Caches,
    calls: Mutex<Vec<Call>>,
    gate: Option<Gate>,
    /// The request bucket of the account and region this engine deploys to.
    bucket: Option<std::sync::Arc<crate::aws::limit::Bucket>>,
    /// That account and region's per-operation quotas.
    quotas: Option<std::sync::Arc<crate::aws::limit::Quotas>>,
    /// Validations started and not finished, across restarts ([`journal`]).
    journal: std::sync::Arc<journal::Journal>,
}

/// Asked before every action and before every mutating request leaves: may this process
/// change AWS now? The controller answers "only while I hold the leader lease".
pub use crate::aws::sdk::Gate;

/// What acting needs to know besides the plan.
pub(crate) struct Target<'a> {
    pub endpoint: &'a str,
    /// Absent while deleting (no smoke test or audit record is planned then).
    pub spec: Option<&'a ValidSpec>,
    /// The markers' holder's tags as observed this pass: tag writes send only what differs.
    pub tags: BTreeMap<String, String>,
    /// The ARN of an inference component holding the markers (the spec targets one): tag
    /// writes go there, and the endpoint, which is not ours, is never written.
    pub component: Option<String>,
}

/// Most inflate workers one artifact validation uses.
pub const MAX_VALIDATION_WORKERS: usize = 4;

/// Inflate workers of a validation on a node with `cores`: each holds a member of up to
/// 4 MiB, so the count is capped and validation memory does not grow with the node.
pub fn validation_workers(cores: usize) -> usize {
    cores.clamp(1, MAX_VALIDATION_WORKERS)
}

/// How many times one pass plans again on its own reads ([`Engine::reconcile`]).
const CHAINED_PLANS: usize = 3;

impl Pass {
    /// Whether acting changed nothing but what this engine knows the outcome of — the
    /// artifact verdict (cached), the smoke test and tag writes (in the returned tags) — so
    /// the same reads can be planned on again.
    fn plans_again(&self) -> bool {
        self.rejected.is_none()
            && !self.released
            && !self.plan.actions.is_empty()
            && self.plan.actions.iter().all(|a| {
                matches!(
                    a,
                    plan::Action::ValidateArtifact { .. }
                        | plan::Action::RunSmokeTest { .. }
                        | plan::Action::TagEndpoint { .. }
                )
            })
    }
}

impl<'a> Target<'a> {
    /// What Application Auto Scaling calls are about: the endpoint's variants, or the
    /// component's copies.
    fn scaled(&self) -> &str {
        if self.component.is_some() {
            crate::aws::scaling::COMPONENTS
        } else {
            self.endpoint
        }
    }

    fn of(endpoint: &'a str, spec: Option<&'a ValidSpec>, observed: &plan::Observed) -> Self {
        Self {
            endpoint,
            spec,
            tags: observed.holder_tags().cloned().unwrap_or_default(),
            component: (observed.targets_component)
                .then(|| observed.holder_arn().unwrap_or_default().to_owned()),
        }
    }
}

impl Engine {
    pub fn new(clients: Clients, owner: impl Into<String>) -> Self {
        Self {
            clients,
            owner: owner.into(),
            driver: plan::claim::Driver::cli(),
            workers: validation_workers(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            ),
            caches: cache::Caches::default(),
            calls: Mutex::new(Vec::new()),
            gate: None,
            bucket: None,
            quotas: None,
            journal: std::sync::Arc::default(),
        }
    }

    /// Keeps the validations started in `journal`, so that one that stopped this process
    /// too often is refused after a restart.
    pub fn with_journal(mut self, journal: std::sync::Arc<journal::Journal>) -> Self {
        self.journal = journal;
        self
    }

    /// Drives as `driver` (a controller's cluster and the resource's UID).
    pub fn with_driver(mut self, driver: plan::claim::Driver) -> Self {
        self.driver = driver;
        self
    }

    /// Acts only while `gate` says yes; a closed gate stops a pass with [`EngineError::Gated`].
    pub fn with_gate(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Every AWS operation takes a token from `bucket` first.
    pub fn with_bucket(mut self, bucket: std::sync::Arc<crate::aws::limit::Bucket>) -> Self {
        self.bucket = Some(bucket);
        self
    }

    /// Operations AWS publishes a quota for take a token of it too.
    pub fn with_quotas(mut self, quotas: std::sync::Arc<crate::aws::limit::Quotas>) -> Self {
        self.quotas = Some(quotas);
        self
    }

    pub(crate) fn may_act(&self) -> bool {
        self.gate.as_ref().is_none_or(|g| g().is_some())
    }

    /// Removes and returns the calls logged so far (the controller feeds them to metrics, so
    /// a long-lived engine keeps no history).
    pub fn take_calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    pub(crate) fn log(
        &self,
        at: Timestamp,
        service: &'static str,
        operation: &str,
        detail: String,
        ok: bool,
    ) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call {
                at,
                service,
                operation: operation.to_owned(),
                detail,
                ok,
            });
        }
    }

    /// Every call made so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Calls made since `from` (an index into [`Engine::calls`]).
    pub fn calls_since(&self, from: usize) -> Vec<Call> {
        self.calls
            .lock()
            .map(|c| c.get(from..).map(<[Call]>::to_vec).unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn call_count(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Reads AWS and returns what `plan` would do, changing nothing.
    pub async fn preview(
        &self,
        spec: &ValidSpec,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Result<Plan, EngineError> {
        let observed = self.observe(spec, now).await?;
        Ok(self.plan(spec, &observed, previous, generation, now))
    }

    /// One reconcile, in four steps: observe what AWS holds, plan (pure), act on the plan,
    /// settle the status. While the plan just acted on changed nothing but what this engine
    /// knows the outcome of ([`Pass::plans_again`]: the artifact verdict, the smoke test, our own
    /// tags), the pass plans again on the same reads, so a step neither waits a poll nor
    /// pays a fresh observation for its own bookkeeping (which also lets a one-shot `apply`
    /// get past validation, whose verdict lives in this process only).
    pub async fn reconcile(
        &self,
        spec: &ValidSpec,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Result<Pass, EngineError> {
        // 1. Observe: reads only; a permanent refusal is a Stalled pass, not an error.
        let mut observed = match self.observe(spec, now).await {
            Ok(o) => o,
            Err(e) => return refused(e, previous, generation, now),
        };
        let mut events = Vec::new();
        let mut last = previous.cloned();
        for round in 0..=CHAINED_PLANS {
            // 2. Plan: a pure function of the spec, what was observed and the time.
            let plan = self.plan(spec, &observed, last.as_ref(), generation, now);
            // 3. Act: the plan's AWS calls in order, stopping at the first failure.
            let target = Target::of(&spec.endpoint_name, Some(spec), &observed);
            let acted = self.act(&target, &plan, now).await;
            let tags = acted.as_ref().map_or(target.tags, |a| a.tags.clone());
            // 4. Status: the plan's projection, settled by what acting did.
            let mut pass = self.conclude(plan, acted, now)?;
            events.append(&mut pass.plan.events);
            if round == CHAINED_PLANS || !pass.plans_again() {
                pass.plan.events = events;
                self.notify(spec, previous, &mut pass, now).await;
                return Ok(pass);
            }
            let validated = pass
                .plan
                .actions
                .iter()
                .any(|a| matches!(a, plan::Action::ValidateArtifact { .. }));
            observed = match self.refreshed(spec, observed, &tags, validated, now).await {
                Ok(o) => o,
                Err(e) => return refused(e, Some(&pass.status), generation, now),
            };
            last = Some(pass.status);
        }
        unreachable!("the last round returns")
    }

    /// One deletion step: the same four steps over what is ours.
    pub async fn delete(
        &self,
        teardown: &Teardown,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Result<Pass, EngineError> {
        let observed = match self.observe_teardown(teardown, now).await {
            Ok(o) => o,
            Err(e) => return refused(e, previous, generation, now),
        };
        let plan = plan::plan_teardown(&TeardownInput {
            teardown,
            owner: &self.owner,
            driver: &self.driver,
            generation,
            observed: &observed,
            previous,
            now,
        });
        let target = Target::of(&teardown.endpoint_name, None, &observed);
        let acted = self.act(&target, &plan, now).await;
        self.conclude(plan, acted, now)
    }

    fn plan(
        &self,
        spec: &ValidSpec,
        observed: &plan::Observed,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Plan {
        plan::plan(&PlanInput {
            spec,
            owner: &self.owner,
            driver: &self.driver,
            generation,
            observed,
            previous,
            now,
        })
    }

    /// The pass of a plan acted on: its status settled by the outcome. A call AWS refused
    /// for good ends the pass Stalled; one that will pass is returned for the front end to
    /// retry.
    fn conclude(
        &self,
        plan: Plan,
        acted: Result<act::Acted, EngineError>,
        now: Timestamp,
    ) -> Result<Pass, EngineError> {
        let (status, released, rejected) = match acted {
            Ok(acted) => {
                let smoke = self.caches.smoke.lock().ok().and_then(|s| s.clone());
                let outcome = Outcome::Acted {
                    smoke: smoke.as_ref(),
                };
                (
                    settle(plan.status.clone(), outcome, now),
                    acted.released,
                    None,
                )
            }
            Err(EngineError::Aws(e)) if !e.is_retryable() => {
                let message = e.to_string();
                let outcome = Outcome::Rejected { message: &message };
                (settle(plan.status.clone(), outcome, now), false, Some(e))
            }
            Err(e) => return Err(e),
        };
        Ok(Pass {
            plan,
            status,
            released,
            rejected,
        })
    }

    pub(crate) fn remember_smoke(&self, view: SmokeTestView) {
        if let Ok(mut s) = self.caches.smoke.lock() {
            *s = Some(view);
        }
    }

    pub(crate) fn limits(spec: &ValidSpec) -> Limits {
        Limits {
            max_uncompressed_bytes: spec.artifact.max_uncompressed_bytes,
            ..Limits::default()
        }
    }
}

/// A pass that could not even observe: a permanent AWS refusal (say, no permission to
/// describe the endpoint) becomes a Stalled status on the previous one; anything passing is
/// returned for the front end to retry.
fn refused(
    e: EngineError,
    previous: Option<&ModelDeploymentStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Result<Pass, EngineError> {
    match e {
        EngineError::Aws(aws) if !aws.is_retryable() && !aws.is_not_found() => {
            let mut base = previous.cloned().unwrap_or_default();
            base.observed_generation = generation;
            let message = aws.to_string();
            let status = settle(base, Outcome::Rejected { message: &message }, now);
            Ok(Pass {
                plan: Plan {
                    actions: Vec::new(),
                    status: status.clone(),
                    next: plan::Next::Idle,
                    events: Vec::new(),
                    watch: None,
                },
                status,
                released: false,
                rejected: Some(aws),
            })
        }
        other => Err(other),
    }
}
