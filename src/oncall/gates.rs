//! The rollout gates as on-call changes them: which `spec.rollout` fields a command sets, the
//! merge patch that sets them, and whether someone else owns a field — a GitOps tool whose next
//! sync would silently undo the change. Pure: the object in, a patch or a refusal out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::{Value, json};

use crate::api::{ModelDeployment, Phase};

/// The field manager of every change these commands make.
pub const FIELD_MANAGER: &str = "sagemaker-rollout-oncall";

/// kubectl's client-side apply keeps the last applied file here; its next apply resets
/// every field the file sets.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What a command asks of the gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateChange {
    Pause,
    Resume,
    Promote,
    /// Clears `promote` (it stays set after a promotion and would fast-forward the next
    /// candidate too).
    Unpromote,
    Abort,
    /// Clears `abort`.
    Unabort,
    /// Starts a rolled-back or failed candidate again: raises `retry`, clears `abort`.
    Retry,
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
    /// `retry` on a resource that is not RolledBack or Failed.
    NothingToRetry(Option<Phase>),
    /// `promote` with no rollout in flight: on a RolledBack or Failed resource it would
    /// redeploy the rejected candidate straight to 100 % (any spec change retries it).
    NothingToPromote(Option<Phase>),
    Owned(Owner),
}

/// The fields `change` sets on `md`, with their new values (only those that differ).
pub fn fields(md: &ModelDeployment, change: GateChange) -> Vec<(&'static str, Value)> {
    let r = &md.spec.rollout;
    let wanted: Vec<(&'static str, Value)> = match change {
        GateChange::Pause => vec![("paused", json!(true))],
        GateChange::Resume => vec![("paused", json!(false))],
        // The CRD refuses promote and abort together; each clears the other.
        GateChange::Promote => vec![("promote", json!(true)), ("abort", json!(false))],
        GateChange::Unpromote => vec![("promote", json!(false))],
        GateChange::Abort => vec![("abort", json!(true)), ("promote", json!(false))],
        GateChange::Unabort => vec![("abort", json!(false))],
        GateChange::Retry => vec![("retry", json!(r.retry + 1)), ("abort", json!(false))],
    };
    let current = |f: &str| match f {
        "paused" => json!(r.paused),
        "promote" => json!(r.promote),
        "abort" => json!(r.abort),
        _ => json!(r.retry),
    };
    wanted
        .into_iter()
        .filter(|(f, v)| current(f) != *v)
        .collect()
}

/// The merge patch for `change`, or why not. `force` patches over another owner. The
/// resourceVersion makes the API server refuse it if the object changed since it was read
/// (the ownership check was about that version).
pub fn patch(md: &ModelDeployment, change: GateChange, force: bool) -> Result<Value, Refusal> {
    let phase = md.status.as_ref().and_then(|s| s.phase);
    if change == GateChange::Retry && !matches!(phase, Some(Phase::RolledBack | Phase::Failed)) {
        return Err(Refusal::NothingToRetry(phase));
    }
    if change == GateChange::Promote
        && !matches!(
            phase,
            Some(Phase::Deploying | Phase::Progressing | Phase::Paused | Phase::Validating)
        )
    {
        return Err(Refusal::NothingToPromote(phase));
    }
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
