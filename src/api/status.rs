//! Status of a `ModelDeployment`: what on-call reads.
//!
//! Status is a projection of AWS truth computed by the planner; it is never the only copy of
//! rollout progress (that lives in tags on the endpoint), so losing it loses nothing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most history entries kept in status; older ones are dropped (the S3 audit keeps all).
pub const HISTORY_LIMIT: usize = 10;

/// Observed state of a ModelDeployment.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
// A new resource starts with observedGeneration -1 (the API server fills the default in), so
// kstatus (Flux, kubectl wait, Argo CD) sees it in progress until the controller has looked
// at it, not Current before the first status write.
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct ModelDeploymentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Where the rollout is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// kstatus conditions: Ready, Reconciling, Stalled. A list keyed by type, so that a
    /// server-side apply by one field manager never drops another's conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// What this resource deploys to, recorded once it owns the endpoint: from then on
    /// `spec.endpointName`, `spec.region` and `spec.assumeRoleArn` must keep these values
    /// (the CRD refuses a change, the controller stalls on one an older CRD let through),
    /// and deletion cleans up here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetView>,
    /// The SageMaker endpoint as last observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointStatusView>,
    /// The inference component this resource rolls out to, as last observed
    /// (`spec.serving.inferenceComponent`; the endpoint above then only hosts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_component: Option<ComponentStatusView>,
    /// The variant serving production before this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub champion: Option<VariantView>,
    /// The resolved candidate, pinned for the duration of the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<VariantView>,
    /// Step progress of the current rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutProgress>,
    /// Watched alarms and their states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmView>,
    /// Candidate against champion in the current step (`analysis.compare`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparison: Vec<ComparisonView>,
    /// Last smoke-test result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTestView>,
    /// Finished rollouts, newest first, at most ten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// AWS console links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Until when `sagemaker-rollout undo` can return traffic to the previous champion (its
    /// config and model are kept that long after a success; `rollout.rollbackWindow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_until: Option<String>,
    /// The rollout in flight, or the last one: the id on-call's requests name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<String>,
    /// Whether `rolloutId` is in flight (promote and abort act on it) rather than ended
    /// (retry and undo do).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollout_in_flight: bool,
    /// On-call's one-shot requests (promote, abort, retry, undo), each for one rollout. Set
    /// by `sagemaker-rollout promote|abort|retry|undo` and the Argo CD actions through the
    /// status subresource; the controller reads them and never writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<super::requests::Requests>,
}

impl ModelDeploymentStatus {
    /// This status as the controller applies it: without on-call's requests, so that its
    /// server-side apply never owns, changes or drops them.
    pub fn as_published(&self) -> Self {
        Self {
            requests: None,
            ..self.clone()
        }
    }

    /// `next` as the resource holds it after a status write: the requests stay, only on-call
    /// writes them.
    pub fn keeping_requests(self, next: &Self) -> Self {
        Self {
            requests: self.requests,
            ..next.clone()
        }
    }

    /// Asks for `gate` on the rollout this status shows, as the on-call commands do; returns
    /// that rollout's id, or None (nothing asked) before a rollout has one.
    pub fn ask(&mut self, gate: super::Gate, at: Option<String>) -> Option<String> {
        let rollout = self.rollout_id.clone()?;
        let request = super::GateRequest {
            rollout: rollout.clone(),
            at,
        };
        self.requests
            .get_or_insert_with(Default::default)
            .set(gate, request);
        Some(rollout)
    }
}

/// Rollout phases.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a candidate or for the spec to become valid.
    Pending,
    /// Checking the candidate's artifact and champion comparison.
    Validating,
    /// Creating the endpoint or updating its configuration.
    Deploying,
    /// Shifting traffic step by step, or shadowing.
    Progressing,
    /// Held by `rollout.paused` or by a manual-rollback alarm.
    Paused,
    /// The candidate serves 100 % of production.
    Succeeded,
    /// Moving traffic back to the champion.
    RollingBack,
    /// The champion serves again; the candidate is not retried until the spec changes.
    RolledBack,
    /// The rollout cannot continue without a change (see the Stalled condition).
    Failed,
}

/// A kstatus condition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Ready, Reconciling or Stalled.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// A stable CamelCase reason.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// The generation this condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
}

/// The endpoint a resource owns and where it lives.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    /// The endpoint's name.
    pub endpoint_name: String,
    /// The spec's region (absent: the controller's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The spec's role (absent: the controller's own credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_arn: Option<String>,
    /// Multi-tenant mode: the role the controller acted through (its DeploymentPolicy's).
    /// Later passes and deletion act through this role only, so neither an edited spec nor
    /// a changed policy can move the resource to another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumed_role_arn: Option<String>,
    /// The inference component rolled out to (`spec.serving.inferenceComponent.name`):
    /// deletion removes it, never the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_component: Option<String>,
}

/// Endpoint as observed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatusView {
    /// Endpoint name.
    pub name: String,
    /// Endpoint ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// SageMaker endpoint status (InService, Updating, …), or NotFound.
    pub status: String,
    /// Current endpoint configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_name: Option<String>,
    /// SageMaker's FailureReason, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// Inference component as observed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatusView {
    /// Inference component name.
    pub name: String,
    /// Inference component ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// SageMaker status (InService, Creating, Updating, Failed, Deleting), or NotFound.
    pub status: String,
    /// The model its copies run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// Copies asked for.
    pub desired_copies: i32,
    /// Copies placed on the endpoint's instances.
    pub current_copies: i32,
    /// SageMaker's FailureReason (also set after a rolled-back update), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// A production variant and the model behind it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    /// Model package version ARN (a registry candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_package_arn: Option<String>,
    /// S3 URI of the model.tar.gz (an artifact-store candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    /// `candidate_run_id` lineage of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_run_id: Option<String>,
    /// Production variant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Percent of production traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// sha256 of the model artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sha256: Option<String>,
}

/// Step progress.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutProgress {
    /// Current step (0 = candidate added at weight 0).
    pub step: u32,
    /// Number of traffic steps before 100 %.
    pub total_steps: u32,
    /// `step/total` for `kubectl get`.
    pub step_label: String,
    /// Candidate weight in percent.
    pub weight: i32,
    /// When the current step started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<String>,
    /// When the next step is due, if the bake succeeds (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_at: Option<String>,
    /// What is happening and what comes next.
    pub message: String,
}

/// One comparison of candidate and champion over the step so far.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonView {
    /// The metric and statistic compared (`ModelLatency p99`, `Invocation5XXErrorRate`).
    pub metric: String,
    /// The candidate's value (latencies in microseconds, rates in percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<f64>,
    /// The champion's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub champion: Option<f64>,
    /// Requests the candidate served in the step so far.
    pub candidate_invocations: i64,
    /// Requests the champion served in the step so far.
    pub champion_invocations: i64,
    /// Pending (too few requests or no data yet), Inconclusive, Pass or Fail.
    pub verdict: String,
    /// Why, with the margin and the interval.
    pub message: String,
    /// The end of the minute of data at which this Pass or Fail was first reached in the
    /// step (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// A watched alarm.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    /// Alarm name.
    pub name: String,
    /// OK, ALARM, INSUFFICIENT_DATA, or Missing.
    pub state: String,
    /// When it entered that state (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// Smoke-test result.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SmokeTestView {
    /// Passed or Failed.
    pub result: String,
    /// When it ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Round-trip latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    /// Response body (truncated) or the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// A finished rollout.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Lineage run id of the candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_run_id: Option<String>,
    /// Candidate package ARN (a registry candidate).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_package_arn: String,
    /// S3 URI of the candidate's model.tar.gz (an artifact-store candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    /// Succeeded, RolledBack, Failed, Refused or Superseded.
    pub outcome: String,
    /// When the rollout started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// Why it ended this way.
    pub reason: String,
}

/// Console links.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    /// SageMaker console page of the endpoint.
    pub endpoint: String,
    /// CloudWatch console page of the watched alarms.
    pub alarms: String,
}

/// Whether a candidate id is a model package ARN; otherwise it is the S3 URI of an
/// artifact-store model.tar.gz (the two id forms, `arn:…` and `s3://…`, cannot collide).
pub fn is_package_id(id: &str) -> bool {
    id.starts_with("arn:")
}

impl VariantView {
    /// A view naming candidate `id` in the field its kind belongs in.
    pub fn naming(id: Option<String>) -> Self {
        match id {
            Some(id) if !is_package_id(&id) => Self {
                artifact_uri: Some(id),
                ..Self::default()
            },
            id => Self {
                model_package_arn: id,
                ..Self::default()
            },
        }
    }

    /// The package ARN or artifact URI this view names.
    pub fn candidate_id(&self) -> Option<&str> {
        self.model_package_arn
            .as_deref()
            .or(self.artifact_uri.as_deref())
    }
}

impl HistoryEntry {
    /// A record of candidate `id`, its kind in its own field.
    pub fn of(id: &str, run_id: Option<String>, outcome: &str, reason: String) -> Self {
        let package = is_package_id(id);
        Self {
            candidate_run_id: run_id,
            model_package_arn: if package {
                id.to_owned()
            } else {
                String::new()
            },
            artifact_uri: (!package && !id.is_empty()).then(|| id.to_owned()),
            outcome: outcome.to_owned(),
            started_at: None,
            finished_at: String::new(),
            reason,
        }
    }

    /// The package ARN or artifact URI this record is about.
    pub fn candidate_id(&self) -> &str {
        self.artifact_uri
            .as_deref()
            .unwrap_or(&self.model_package_arn)
    }
}
