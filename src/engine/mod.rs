//! The engine: observe AWS → plan (pure) → act, shared by the CLI and the controller.
//!
//! It owns no rollout state: everything it needs to resume is read back from AWS on every
//! pass (endpoint tags carry the progress markers). Its only memory is a cache of artifact
//! verdicts keyed by package ARN (re-validated after a restart) and the call log.

mod act;
pub mod drive;
mod observe;
pub mod resolve;
pub mod simulate;
pub mod timeline;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::api::{ModelDeploymentSpec, ModelDeploymentStatus, SmokeTestView};
use crate::artifact::Limits;
use crate::aws::AwsError;
use crate::aws::alarms::Alarms;
use crate::aws::endpoints::Endpoints;
use crate::aws::registry::ModelRegistry;
use crate::aws::runtime::Invoker;
use crate::aws::s3::ObjectStore;
use crate::aws::scaling::Scaling;
use crate::plan::{self, Plan, PlanInput};

/// The AWS services the engine drives.
#[derive(Clone)]
pub struct Clients {
    pub endpoints: Arc<dyn Endpoints>,
    pub registry: Arc<dyn ModelRegistry>,
    pub runtime: Arc<dyn Invoker>,
    pub scaling: Arc<dyn Scaling>,
    pub alarms: Arc<dyn Alarms>,
    pub s3: Arc<dyn ObjectStore>,
}

/// What a validated artifact told us.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactFacts {
    pub check: plan::ArtifactCheck,
    pub model_info: Option<serde_json::Value>,
    pub metrics: Option<serde_json::Value>,
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
    #[error("artifact check failed: {0}")]
    Artifact(String),
    /// The gate (leadership) closed: nothing more may change on AWS from this process.
    #[error("not allowed to act: this replica no longer holds the leader lease")]
    Gated,
}

impl EngineError {
    /// Throttling and transient failures: back off and reconcile again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Aws(e) => e.is_retryable(),
            Self::Artifact(_) => true,
            Self::Gated => false,
        }
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
    /// AWS rejected an action for good (validation, permissions, limits): the status says
    /// Stalled with AWS's message, and nothing more happens until the spec changes.
    pub rejected: Option<AwsError>,
}

/// Marks `status` Stalled because AWS rejected a call; the message is AWS's own.
pub fn stalled_by_aws(
    mut status: ModelDeploymentStatus,
    error: &AwsError,
    now: Timestamp,
) -> ModelDeploymentStatus {
    use crate::api::{Condition, Phase};
    let message = format!(
        "{error}; fix the cause (spec, IAM permissions, quotas) and change the spec to retry"
    );
    status.conditions = [("Ready", false), ("Reconciling", false), ("Stalled", true)]
        .map(|(t, on)| {
            Condition::transition(
                &status.conditions,
                t,
                on,
                "AwsRejected",
                &message,
                status.observed_generation,
                now,
            )
        })
        .to_vec();
    status.phase = Some(Phase::Failed);
    status
}

/// The reconcile engine for one ModelDeployment identity.
pub struct Engine {
    pub clients: Clients,
    /// `namespace/name` of the ModelDeployment (the CLI uses `cli/<name>`).
    pub owner: String,
    pub workers: usize,
    artifacts: Mutex<HashMap<String, ArtifactFacts>>,
    smoke: Mutex<Option<SmokeTestView>>,
    calls: Mutex<Vec<Call>>,
    gate: Option<Gate>,
}

/// Asked before every action: may this process change AWS now? The controller answers
/// "only while I hold the leader lease".
pub type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

impl Engine {
    pub fn new(clients: Clients, owner: impl Into<String>) -> Self {
        Self {
            clients,
            owner: owner.into(),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            artifacts: Mutex::new(HashMap::new()),
            smoke: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            gate: None,
        }
    }

    /// Acts only while `gate` says yes; a closed gate stops a pass with [`EngineError::Gated`].
    pub fn with_gate(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    pub(crate) fn may_act(&self) -> bool {
        self.gate.as_ref().is_none_or(|g| g())
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
        spec: &ModelDeploymentSpec,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        deleting: bool,
        now: Timestamp,
    ) -> Result<Plan, EngineError> {
        let observed = self.observe(spec, now).await?;
        Ok(plan::plan(&PlanInput {
            spec,
            owner: &self.owner,
            generation,
            deleting,
            observed: &observed,
            previous,
            now,
        }))
    }

    /// One reconcile: observe, plan, act. An invalid spec never reaches AWS.
    pub async fn reconcile(
        &self,
        spec: &ModelDeploymentSpec,
        previous: Option<&ModelDeploymentStatus>,
        generation: Option<i64>,
        deleting: bool,
        now: Timestamp,
    ) -> Result<Pass, EngineError> {
        if let Err(errors) = crate::api::check::check_spec(spec) {
            let observed = plan::Observed {
                endpoint: None,
                alarms: vec![],
                scaling: vec![],
                candidate: plan::CandidateLookup::NotFound(errors.summary()),
                owned: plan::Owned::default(),
            };
            let plan = plan::plan(&PlanInput {
                spec,
                owner: &self.owner,
                generation,
                deleting: false,
                observed: &observed,
                previous,
                now,
            });
            let status = plan.status.clone();
            return Ok(Pass {
                plan,
                status,
                released: false,
                rejected: None,
            });
        }
        let plan = self
            .preview(spec, previous, generation, deleting, now)
            .await?;
        let released = match self.act(spec, &plan, now).await {
            Ok(released) => released,
            Err(EngineError::Aws(e)) if !e.is_retryable() => {
                let status = stalled_by_aws(plan.status.clone(), &e, now);
                return Ok(Pass {
                    plan,
                    status,
                    released: false,
                    rejected: Some(e),
                });
            }
            Err(e) => return Err(e),
        };
        let mut status = plan.status.clone();
        // The markers only say passed/failed and when; add latency and response if this
        // process ran that test.
        if let (Some(view), Some(detail)) = (
            status.smoke_test.as_mut(),
            self.smoke.lock().ok().and_then(|s| s.clone()),
        ) && view.at == detail.at
        {
            *view = detail;
        }
        Ok(Pass {
            plan,
            status,
            released,
            rejected: None,
        })
    }

    pub(crate) fn artifact(&self, arn: &str) -> Option<ArtifactFacts> {
        self.artifacts.lock().ok().and_then(|a| a.get(arn).cloned())
    }

    pub(crate) fn remember_artifact(&self, arn: &str, facts: ArtifactFacts) {
        if let Ok(mut a) = self.artifacts.lock() {
            a.insert(arn.to_owned(), facts);
        }
    }

    pub(crate) fn remember_smoke(&self, view: SmokeTestView) {
        if let Ok(mut s) = self.smoke.lock() {
            *s = Some(view);
        }
    }

    pub(crate) fn limits(spec: &ModelDeploymentSpec) -> Limits {
        Limits {
            max_uncompressed_bytes: spec
                .artifact
                .max_uncompressed_bytes
                .parse()
                .unwrap_or(u64::MAX),
            ..Limits::default()
        }
    }
}

/// Lineage from package tags and the artifact's model-info.json, as the planner wants it.
pub(crate) fn lineage(
    tags: &BTreeMap<String, String>,
    facts: Option<&ArtifactFacts>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in ["data_version", "metrics_hash", "git_commit"] {
        if let Some(v) = tags.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(info) = facts.and_then(|f| f.model_info.as_ref()) {
        for key in ["data_version", "git_commit"] {
            if let Some(v) = info.get(key).and_then(|v| v.as_str()) {
                out.entry(key.to_owned()).or_insert_with(|| v.to_owned());
            }
        }
    }
    out
}
