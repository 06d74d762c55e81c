//! On-call's one-shot requests: promote, abort, retry and undo, each naming the rollout it
//! is for.
//!
//! A request lives in `status.requests`, set through the status subresource by the on-call
//! commands and the Argo CD actions (field manager `sagemaker-rollout-oncall`), never in the
//! spec: Git never holds it, so a GitOps tool has nothing to drift from or to revert, and a
//! request left behind can never act on a later rollout — it names the rollout id the status
//! showed when it was made (`status.rolloutId`), and the planner honours it only while that
//! rollout is the one in flight (or, for retry and undo, the one that just ended). The
//! controller never writes this field (its server-side apply leaves it out), so a request is
//! neither lost to a status write nor taken over by one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The one-shot decisions on-call can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Send the in-flight candidate to 100 % now.
    Promote,
    /// Roll the in-flight candidate back now.
    Abort,
    /// Roll out again the candidate whose rollout rolled back or failed.
    Retry,
    /// Return traffic to the previous champion after a rollout that succeeded.
    Undo,
}

impl Gate {
    pub const ALL: [Gate; 4] = [Gate::Promote, Gate::Abort, Gate::Retry, Gate::Undo];

    /// Whether it acts on a rollout in flight (promote, abort) rather than on one that has
    /// ended (retry, undo): the controller and the on-call commands decide it here alike.
    pub fn acts_in_flight(self) -> bool {
        matches!(self, Gate::Promote | Gate::Abort)
    }

    /// The field of `status.requests` that holds it.
    pub fn field(self) -> &'static str {
        match self {
            Gate::Promote => "promote",
            Gate::Abort => "abort",
            Gate::Retry => "retry",
            Gate::Undo => "undo",
        }
    }
}

/// One request: the rollout it is for, and when it was made.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GateRequest {
    /// The `status.rolloutId` this request is for; any other rollout ignores it.
    pub rollout: String,
    /// When it was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `status.requests`: at most one request of each kind, the last one made.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<GateRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<GateRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<GateRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<GateRequest>,
}

impl Requests {
    pub fn get(&self, gate: Gate) -> Option<&GateRequest> {
        match gate {
            Gate::Promote => self.promote.as_ref(),
            Gate::Abort => self.abort.as_ref(),
            Gate::Retry => self.retry.as_ref(),
            Gate::Undo => self.undo.as_ref(),
        }
    }

    /// Records `request` as the one request of its kind (a later one replaces it).
    pub fn set(&mut self, gate: Gate, request: GateRequest) {
        let slot = match gate {
            Gate::Promote => &mut self.promote,
            Gate::Abort => &mut self.abort,
            Gate::Retry => &mut self.retry,
            Gate::Undo => &mut self.undo,
        };
        *slot = Some(request);
    }

    /// Whether `gate` was asked for rollout `id`.
    pub fn asks(&self, gate: Gate, id: &str) -> bool {
        self.get(gate).is_some_and(|r| r.rollout == id)
    }
}
