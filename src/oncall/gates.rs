//! The rollout gates as on-call changes them. `pause`/`resume` set `spec.rollout.paused` (a
//! declarative hold; refused when a GitOps tool owns the field — its next sync would silently
//! undo the change); `promote`, `abort`, `retry` and `undo` are one-shot requests in
//! `status.requests`, each naming the rollout it is for. Pure: the object in, a patch or a
//! refusal out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::{Value, json};

use crate::api::{Gate, ModelDeployment, Phase};

/// The field manager of every change these commands make.
pub const FIELD_MANAGER: &str = "sagemaker-rollout-oncall";

/// kubectl's client-side apply keeps the last applied file here; its next apply resets
/// every field the file sets.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What a command asks: a spec gate (pause, resume), or a one-shot request for the
/// rollout the status shows now (promote, abort, retry, undo; see [`crate::api::requests`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateChange {
    Pause,
    Resume,
    Request(Gate),
}

impl GateChange {
    pub const PROMOTE: GateChange = GateChange::Request(Gate::Promote);
    pub const ABORT: GateChange = GateChange::Request(Gate::Abort);
    pub const RETRY: GateChange = GateChange::Request(Gate::Retry);
    pub const UNDO: GateChange = GateChange::Request(Gate::Undo);
}

/// Another manager owns a field this change would set to a different value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub field: String,
    pub manager: String,
    /// `Apply` (server-side apply: Flux, Argo CD with server-side apply, `kubectl apply
    /// --server-side`) or `client-side apply` (the last-applied annotation: `kubectl apply`,
    /// Argo CD's default).
    pub how: String,
}

/// Why a change cannot be made as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request needs a rollout in a phase (or state) this resource is not in
    /// ([`acts_in`] says which).
    Nothing {
        gate: Gate,
        phase: Option<Phase>,
    },
    Owned(Owner),
}

/// The phases in which a request can act, and what it acts on, in words.
pub fn acts_in(gate: Gate) -> (&'static [Phase], &'static str) {
    match gate {
        Gate::Promote => (
            &[Phase::Deploying, Phase::Progressing, Phase::Paused],
            "promote sends the candidate of the rollout in flight to 100 % (retry starts a rolled-back one again)",
        ),
        Gate::Abort => (
            &[Phase::Deploying, Phase::Progressing, Phase::Paused],
            "abort rolls back the rollout in flight (pause holds a candidate that has not started)",
        ),
        Gate::Retry => (
            &[Phase::RolledBack, Phase::Failed],
            "retry starts a RolledBack or Failed candidate again",
        ),
        Gate::Undo => (
            &[Phase::Succeeded],
            "undo returns traffic to the previous champion within rollout.rollbackWindow after a rollout that succeeded (status.undoUntil)",
        ),
    }
}

/// The spec fields `change` sets on `md`, with their new values (only those that differ);
/// empty for a request.
pub fn fields(md: &ModelDeployment, change: GateChange) -> Vec<(&'static str, Value)> {
    let paused = md.spec.rollout.paused;
    match change {
        GateChange::Pause if !paused => vec![("paused", json!(true))],
        GateChange::Resume if paused => vec![("paused", json!(false))],
        _ => Vec::new(),
    }
}

/// The merge patch of the spec for pause or resume, or why not. `force` patches over
/// another owner. The resourceVersion makes the API server refuse it if the object changed
/// since it was read (the ownership check was about that version).
pub fn patch(md: &ModelDeployment, change: GateChange, force: bool) -> Result<Value, Refusal> {
    let set = fields(md, change);
    if let Some(owner) = set.iter().find_map(|(f, v)| owner_of(md, f, v))
        && !force
    {
        return Err(Refusal::Owned(owner));
    }
    let mut rollout = serde_json::Map::new();
    for (f, v) in set {
        rollout.insert(f.to_owned(), v);
    }
    Ok(json!({
        "metadata": {"resourceVersion": md.metadata.resource_version},
        "spec": {"rollout": rollout},
    }))
}

/// The merge patch of the status subresource that asks for `gate` on the rollout the status
/// shows, or why not; None when that request is already there. No resourceVersion: the
/// controller writes status often, and a request that lands after its rollout ended names
/// that rollout and is ignored — which is the guarantee. Promote and abort clear each other.
pub fn request(md: &ModelDeployment, gate: Gate, at: &str) -> Result<Option<Value>, Refusal> {
    let status = md.status.as_ref();
    let phase = status.and_then(|s| s.phase);
    let id = status.and_then(|s| s.rollout_id.as_deref());
    let (phases, _) = acts_in(gate);
    // Undo only while the previous champion is kept.
    let instant = |t: &str| t.parse::<jiff::Timestamp>().ok();
    let open = gate != Gate::Undo
        || status
            .and_then(|s| s.undo_until.as_deref())
            .and_then(instant)
            .zip(instant(at))
            .is_some_and(|(until, now)| until > now);
    let flight = status.is_some_and(|s| s.rollout_in_flight);
    let fits =
        open && flight == gate.acts_in_flight() && phase.is_some_and(|p| phases.contains(&p));
    let Some(id) = id.filter(|_| fits) else {
        return Err(Refusal::Nothing { gate, phase });
    };
    let current = status.and_then(|s| s.requests.as_ref());
    if current.is_some_and(|r| r.asks(gate, id)) {
        return Ok(None);
    }
    let mut requests = serde_json::Map::new();
    requests.insert(gate.field().into(), json!({"rollout": id, "at": at}));
    let other = match gate {
        Gate::Promote => Some(Gate::Abort),
        Gate::Abort => Some(Gate::Promote),
        _ => None,
    };
    if let Some(other) = other.filter(|g| current.is_some_and(|r| r.get(*g).is_some())) {
        requests.insert(other.field().into(), Value::Null);
    }
    Ok(Some(json!({"status": {"requests": requests}})))
}

/// Who else would set `spec.rollout.<field>` back from `value`: a server-side applier that
/// owns it, or a client-side-applied file that sets it to something else.
fn owner_of(md: &ModelDeployment, field: &str, value: &Value) -> Option<Owner> {
    let entries = md.metadata.managed_fields.as_deref().unwrap_or_default();
    if let Some(e) = entries.iter().find(|e| applies(e, field)) {
        return Some(Owner {
            field: format!("spec.rollout.{field}"),
            manager: e.manager.clone().unwrap_or_default(),
            how: "Apply".into(),
        });
    }
    let annotations = md.metadata.annotations.as_ref()?;
    let last: Value = serde_json::from_str(annotations.get(LAST_APPLIED)?).ok()?;
    let theirs = last.pointer(&format!("/spec/rollout/{field}"))?;
    (theirs != value).then(|| Owner {
        field: format!("spec.rollout.{field}"),
        // The manager that wrote the annotation is the one that applies the file.
        manager: entries
            .iter()
            .find(|e| {
                e.fields_v1.as_ref().is_some_and(|f| {
                    f.0.pointer("/f:metadata/f:annotations")
                        .and_then(|a| a.get(format!("f:{LAST_APPLIED}")))
                        .is_some()
                })
            })
            .and_then(|e| e.manager.clone())
            .unwrap_or_else(|| "kubectl".into()),
        how: "client-side apply".into(),
    })
}

/// Whether `e` is another manager's server-side apply of `spec.rollout.<field>`.
fn applies(e: &ManagedFieldsEntry, field: &str) -> bool {
    e.operation.as_deref() == Some("Apply")
        && e.manager.as_deref() != Some(FIELD_MANAGER)
        && e.subresource.as_deref().unwrap_or("").is_empty()
        && e.fields_v1.as_ref().is_some_and(|f| {
            f.0.pointer(&format!("/f:spec/f:rollout/f:{field}"))
                .is_some()
        })
}
