//! One reconcile of one ModelDeployment: finalizer, engine pass, Events, status, requeue.
//!
//! The engine does observe → plan → act against AWS; this module is the Kubernetes half:
//! it publishes what the pass decided (Events first, then status by server-side apply with a
//! resourceVersion precondition so a stale view never overwrites a newer one) and maps the
//! plan's `next` to a requeue. Failures that will pass (throttling, network, conflicts) are
//! shown in status and Events, then retried with jittered exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::Instrument;

use super::{Context, ControllerError};
use crate::api::{ModelDeployment, ModelDeploymentStatus, Teardown, ValidSpec};
use crate::plan::{Outcome, settle};
use kube::runtime::reflector::ObjectRef;

use crate::aws::NoRegion;
use crate::engine::{EngineError, Pass, backoff};

/// Guards the AWS resources a ModelDeployment owns.
pub const FINALIZER: &str = "sagemaker.mlops.dev/aws-resources";
/// The one field manager of every write this controller makes.
pub const FIELD_MANAGER: &str = "sagemaker-rollout";

/// What the watch cache holds of a ModelDeployment: its metadata only (see
/// [`super::run`]); a pass reads the whole object.
pub type Cached = kube::core::PartialObjectMeta<ModelDeployment>;

/// The `Controller`'s entry point for every change and requeue: skips the echo of our own
/// status write, else reads the whole resource (one GET) and reconciles it.
pub async fn reconcile_cached(
    meta: Arc<Cached>,
    ctx: Arc<Context>,
) -> Result<Action, ControllerError> {
    if !ctx.leadership.is_held() {
        return Ok(Action::await_change());
    }
    let ns = meta.namespace().unwrap_or_default();
    let name = meta.name_any();
    if meta.metadata.deletion_timestamp.is_none()
        && let Some(left) =
            ctx.unchanged_since_write(&format!("{ns}/{name}"), meta.resource_version().as_deref())
    {
        return Ok(Action::requeue(left));
    }
    let api: Api<ModelDeployment> = Api::namespaced(ctx.client.clone(), &ns);
    match api.get_opt(&name).await? {
        Some(md) => reconcile(Arc::new(md), ctx).await,
        // Gone since the event: nothing left to do.
        None => Ok(Action::await_change()),
    }
}

/// [`error_policy`] for the cached form.
pub fn error_policy_cached(
    meta: Arc<Cached>,
    error: &ControllerError,
    ctx: Arc<Context>,
) -> Action {
    let owner = format!(
        "{}/{}",
        meta.namespace().unwrap_or_default(),
        meta.name_any()
    );
    backoff_for(&owner, error, &ctx)
}

/// Reconciles one resource (the whole object).
pub async fn reconcile(
    md: Arc<ModelDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, ControllerError> {
    // A standby keeps its cache warm and does nothing else; gaining the lease triggers a
    // reconcile of everything.
    if !ctx.leadership.is_held() {
        return Ok(Action::await_change());
    }
    let ns = md.namespace().unwrap_or_default();
    let name = md.name_any();
    let span = tracing::info_span!(
        "reconcile",
        namespace = %ns,
        name = %name,
        generation = md.metadata.generation,
    );
    // In a pass slot (timed from when it is had); a validation steps out of it.
    let timed = async {
        let started = std::time::Instant::now();
        let result = pass(&md, &ctx, &ns).instrument(span).await;
        let seconds = started.elapsed().as_secs_f64();
        ctx.deps.metrics.observe_duration(seconds);
        result
    };
    let result = crate::engine::slot::hold(ctx.pools.clone(), timed).await;
    if let Err(e) = &result {
        ctx.deps.metrics.reconcile_failed(e.class());
    }
    result
}

/// One pass, in three steps: the finalizer guard, the engine over what was received (a
/// spec, an invalid spec, a deletion), then publishing what it decided.
async fn pass(md: &ModelDeployment, ctx: &Context, ns: &str) -> Result<Action, ControllerError> {
    let api: Api<ModelDeployment> = Api::namespaced(ctx.client.clone(), ns);
    let owner = md.owner();
    let deleting = md.metadata.deletion_timestamp.is_some();
    if !md.finalizers().iter().any(|f| f == FINALIZER) {
        if !deleting {
            // Before anything exists on AWS, so nothing can be orphaned by a delete.
            add_finalizer(&api, md).await?;
        }
        // The patch's watch event brings the next pass.
        return Ok(Action::await_change());
    }
    if !deleting
        && let Some(left) = ctx.unchanged_since_write(&owner, md.resource_version().as_deref())
    {
        return Ok(Action::requeue(left));
    }
    ctx.deps.metrics.reconcile_started();
    let now = ctx.deps.clock.now();
    let received = match Received::of(md).map(|r| r.admitted(ctx, md)) {
        Ok(Received::Release(errors)) | Err(errors) => {
            return release_unreachable(&api, md, ctx, &errors).await;
        }
        Ok(received) => received,
    };
    match run(ctx, &owner, received, md, now).await {
        Ok(pass) => {
            ctx.succeeded(&owner);
            publish_pass(&api, md, ctx, &pass, now).await
        }
        // The lease went away mid-pass; whoever holds it now carries on.
        Err(EngineError::Gated) => Ok(Action::await_change()),
        Err(e) => {
            let e = ControllerError::Engine(e);
            report_failure(&api, md, ctx, deleting, &e, now).await;
            Err(e)
        }
    }
}

/// The engine's pass over what was received; an invalid spec or a missing region is a
/// Stalled pass with no AWS call.
async fn run(
    ctx: &Context,
    owner: &str,
    received: Received,
    md: &ModelDeployment,
    now: Timestamp,
) -> Result<Pass, EngineError> {
    let previous = md.status.as_ref();
    let generation = md.metadata.generation;
    let (work, as_whom) = match received {
        Received::Refused(reason, errors) => {
            return Ok(invalid_pass(reason, &errors, previous, generation, now));
        }
        Received::Work(work, as_whom) => (work, as_whom),
        Received::Release(errors) => {
            return Ok(invalid_pass(
                "InvalidSpec",
                &errors,
                previous,
                generation,
                now,
            ));
        }
    };
    let (region, role) = work.location();
    let (role, tenant) = match as_whom {
        AsWhom::Tenant { role, tenant } => (Some(role), Some(tenant)),
        AsWhom::Spec => (role, None),
    };
    let engine_role = tenant.as_ref().and(role.clone());
    let engine = match ctx.engine(owner, region, role, tenant, md.uid()).await {
        Ok(engine) => engine,
        // Without a region nothing on AWS can be reached (a deletion keeps its finalizer
        // until the spec, or the controller's environment, names one).
        Err(e) => return Ok(no_region(e, previous, generation, now)),
    };
    let pass = match &work {
        Work::Reconcile(spec) => engine.reconcile(spec, previous, generation, now).await,
        Work::Delete(t) => engine.delete(t, previous, generation, now).await,
    };
    let mut pass = metered(ctx, &engine, pass)?;
    // The role a policy chose is recorded with the target, and pinned from then on.
    if let (Some(role), Some(target)) = (&engine_role, pass.status.target.as_mut()) {
        target.assumed_role_arn = Some(role.clone());
    }
    Ok(pass)
}

/// Publishes a pass: its Events, its status (server-side apply, only when it changed), the
/// finalizer once AWS is clean, the alarm watch while a candidate bakes, when to look again.
async fn publish_pass(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    ctx: &Context,
    pass: &Pass,
    now: Timestamp,
) -> Result<Action, ControllerError> {
    let owner = md.owner();
    let (ns, name) = (md.namespace().unwrap_or_default(), md.name_any());
    publish_events(md, ctx, pass).await;
    let mut resource_version = md.resource_version();
    let published = md.status.as_ref().map(ModelDeploymentStatus::as_published);
    if published != Some(pass.status.as_published()) {
        resource_version = apply_status(api, md, &pass.status).await?;
    }
    ctx.deps.metrics.published(md, &pass.status);
    if pass.released {
        remove_finalizer(api, md, resource_version).await?;
        ctx.deps.metrics.forget(&ns, &name);
        ctx.forget(&owner);
        tracing::info!("AWS cleanup finished; finalizer removed");
        return Ok(Action::await_change());
    }
    let next = requeue(ctx, pass, now);
    ctx.wrote(&owner, resource_version, next);
    // A candidate baking with traffic: its alarms are read until the next pass.
    let deleting = md.metadata.deletion_timestamp.is_some();
    let watch = pass.plan.watch.as_ref().filter(|_| !deleting);
    ctx.watch.set(
        &owner,
        &ctx.settings_of(
            &owner,
            md.spec.region.clone(),
            md.spec.assume_role_arn.clone(),
        ),
        ObjectRef::from_obj(md),
        watch,
        tokio::time::Instant::now() + next,
    );
    Ok(Action::requeue(next))
}

/// What a pass was handed, validated once: the dispatch of [`pass`].
enum Received {
    /// A spec that failed validation (`InvalidSpec`) or its tenancy policy (`NoPolicy`,
    /// `PolicyViolation`): Stalled, every problem named, no AWS call.
    Refused(&'static str, crate::api::SpecErrors),
    /// Work for the engine, and as whom it acts.
    Work(Work, AsWhom),
    /// A deletion with nothing on AWS known to be the resource's that may not act (its
    /// policy refuses it): the finalizer goes, AWS is left as it is.
    Release(crate::api::SpecErrors),
}

/// Whose identity a pass's AWS calls carry.
enum AsWhom {
    /// Single-tenant mode: the controller's own role, or `spec.assumeRoleArn`.
    Spec,
    /// Multi-tenant mode: the role the policy grants, with the tenant as session tags.
    Tenant {
        role: String,
        tenant: crate::tenancy::Tenant,
    },
}

enum Work {
    /// A spec to reconcile.
    Reconcile(Box<ValidSpec>),
    /// A resource being deleted, and what deletion needs of its spec.
    Delete(Teardown),
}

impl Work {
    /// The region and role the work's AWS calls go through.
    fn location(&self) -> (Option<String>, Option<String>) {
        match self {
            Self::Reconcile(s) => (s.region.clone(), s.assume_role_arn.clone()),
            Self::Delete(t) => (t.region.clone(), t.assume_role_arn.clone()),
        }
    }
}

impl Received {
    /// What `md` hands a pass; an error when it is being deleted with not even the
    /// endpoint nameable (nothing on AWS can be found as ours).
    fn of(md: &ModelDeployment) -> Result<Self, crate::api::SpecErrors> {
        if md.metadata.deletion_timestamp.is_some() {
            return Ok(Self::Work(Work::Delete(md.teardown()?), AsWhom::Spec));
        }
        // A target changed behind an older CRD's back: refused before any AWS call.
        Ok(match (ValidSpec::new(&md.spec), md.target_changes()) {
            (Ok(spec), None) => Self::Work(Work::Reconcile(Box::new(spec)), AsWhom::Spec),
            (Ok(_), Some(changed)) => Self::Refused("InvalidSpec", changed),
            (Err(mut errors), changed) => {
                errors.0.extend(changed.map(|c| c.0).unwrap_or_default());
                Self::Refused("InvalidSpec", errors)
            }
        })
    }

    /// Multi-tenant mode: the work only if a DeploymentPolicy grants it, acting through the
    /// policy's role as the tenant (a deletion needs only its target granted).
    fn admitted(self, ctx: &Context, md: &ModelDeployment) -> Self {
        let (Some(policies), Self::Work(work, _)) = (&ctx.policies, &self) else {
            return self;
        };
        let ns = md.namespace().unwrap_or_default();
        let labels = policies.labels(&ns);
        let all = policies.all();
        let region = ctx.config.aws_region.as_deref();
        // Once the resource has acted, only the role it acted through may be granted: an
        // edited spec, or another policy matching first, cannot move it to another account.
        let deployed = (md.status.as_ref())
            .and_then(|s| s.target.as_ref())
            .and_then(|t| t.assumed_role_arn.clone());
        let grant = match work {
            Work::Reconcile(spec) => {
                let mut pinned = spec.as_ref().clone();
                pinned.assume_role_arn = pinned.assume_role_arn.or(deployed);
                crate::tenancy::admit(&ns, &labels, &pinned, region, &all)
            }
            Work::Delete(t) => crate::tenancy::admit_teardown(&ns, &labels, t, region, &all),
        };
        match (grant, self) {
            (Ok(grant), Self::Work(mut work, _)) => {
                if let Work::Reconcile(spec) = &mut work {
                    grant.apply(spec);
                }
                let tenant = crate::tenancy::Tenant {
                    namespace: ns,
                    name: md.name_any(),
                    cluster: ctx.cluster.clone(),
                };
                let role = grant.role_arn;
                Self::Work(work, AsWhom::Tenant { role, tenant })
            }
            // A deletion refused before the resource ever owned an endpoint: nothing on AWS
            // is known to be its, so the finalizer goes (a refused tenant can always delete).
            (Err(refusal), Self::Work(Work::Delete(_), _))
                if md.status.as_ref().is_none_or(|s| s.target.is_none()) =>
            {
                Self::Release(refusal.errors())
            }
            (Err(refusal), _) => Self::Refused(refusal.reason(), refusal.errors()),
            (_, refused) => refused,
        }
    }
}

/// Feeds the engine's AWS calls to the metrics (a long-lived engine keeps no history).
fn metered<T>(ctx: &Context, engine: &crate::engine::Engine, result: T) -> T {
    ctx.deps.metrics.aws_calls(&engine.take_calls());
    result
}

/// A resource being deleted whose spec cannot even name its endpoint: the finalizer goes
/// (a delete must never hang on a bad spec), and AWS is left as it is.
async fn release_unreachable(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    ctx: &Context,
    errors: &crate::api::SpecErrors,
) -> Result<Action, ControllerError> {
    publish(
        md,
        ctx,
        true,
        "Retained",
        format!(
            "the spec is invalid ({}); AWS resources are left as they are",
            errors.summary()
        ),
    )
    .await;
    remove_finalizer(api, md, md.resource_version()).await?;
    ctx.forget(&md.owner());
    Ok(Action::await_change())
}

/// When to look again, from the plan: a bake's end, the poll interval while AWS moves, a
/// short confirmation after acting (never sooner than 1 s, never later than the resync),
/// else — at rest, or stalled by AWS — the jittered resync.
fn requeue(ctx: &Context, pass: &Pass, now: Timestamp) -> Duration {
    let resync = ctx.config.resync_interval;
    match pass.plan.next_pass(now, ctx.config.poll_interval) {
        Some(due) if pass.rejected.is_none() => Duration::try_from(due.duration_since(now))
            .unwrap_or_default()
            .max(Duration::from_secs(1))
            .min(resync),
        _ => resync.mul_f64(0.9 + 0.2 * fastrand::f64()),
    }
}

/// Backoff after a failed pass: conflicts from half a second doubling to 30 s (reset by a
/// status write that goes through), everything else doubles from 2 s up to 5 min, with
/// jitter so that a throttled fleet does not retry in lockstep.
pub fn error_policy(
    md: Arc<ModelDeployment>,
    error: &ControllerError,
    ctx: Arc<Context>,
) -> Action {
    backoff_for(&md.owner(), error, &ctx)
}

fn backoff_for(owner: &str, error: &ControllerError, ctx: &Context) -> Action {
    if let ControllerError::Conflict = error {
        // Backed off too: each retry is a whole pass, AWS reads included.
        let n = ctx.conflicted(owner);
        return Action::requeue(backoff::conflict_delay(n, fastrand::f64()));
    }
    let n = ctx.failed(owner);
    let wait = backoff::delay(n, fastrand::f64());
    tracing::warn!(%owner, error = %error, failures = n, retry_in_s = wait.as_secs_f64(), "reconcile failed");
    Action::requeue(wait)
}

async fn add_finalizer(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
) -> Result<(), ControllerError> {
    let mut ops = vec![
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": md.resource_version()}),
    ];
    if md.metadata.finalizers.is_none() {
        ops.push(json!({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}));
    } else {
        ops.push(json!({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}));
    }
    json_patch(api, md, ops).await
}

async fn remove_finalizer(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    resource_version: Option<String>,
) -> Result<(), ControllerError> {
    let Some(index) = md.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let ops = vec![
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}),
        json!({"op": "test", "path": format!("/metadata/finalizers/{index}"), "value": FINALIZER}),
        json!({"op": "remove", "path": format!("/metadata/finalizers/{index}")}),
    ];
    json_patch(api, md, ops).await
}

async fn json_patch(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    ops: Vec<serde_json::Value>,
) -> Result<(), ControllerError> {
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::Value::Array(ops)).map_err(kube::Error::SerdeError)?;
    match api
        .patch(
            &md.name_any(),
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // A failed `test` (422) or a stale version (409): someone else wrote first.
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 422 => {
            Err(ControllerError::Conflict)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Server-side apply of the whole status, owned by [`FIELD_MANAGER`]; returns the new
/// resourceVersion.
async fn apply_status(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    status: &ModelDeploymentStatus,
) -> Result<Option<String>, ControllerError> {
    let body = json!({
        "apiVersion": ModelDeployment::api_version(&()),
        "kind": ModelDeployment::kind(&()),
        "metadata": {"name": md.name_any(), "resourceVersion": md.resource_version()},
        "status": status.as_published(),
    });
    match api
        .patch_status(
            &md.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
    {
        Ok(updated) => Ok(updated.resource_version()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(ControllerError::Conflict),
        Err(e) => Err(e.into()),
    }
}

async fn publish_events(md: &ModelDeployment, ctx: &Context, pass: &Pass) {
    let mut events: Vec<(bool, String, String)> = pass
        .plan
        .events
        .iter()
        .map(|e| (e.warning, e.reason.clone(), e.message.clone()))
        .collect();
    if let Some(e) = &pass.rejected {
        events.push((true, "AwsRejected".into(), e.to_string()));
    }
    for (warning, reason, note) in events {
        publish(md, ctx, warning, &reason, note).await;
    }
}

async fn publish(md: &ModelDeployment, ctx: &Context, warning: bool, reason: &str, note: String) {
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_owned(),
        // The API server limits notes to 1 kB.
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &md.object_ref(&())).await {
        tracing::warn!(reason, error = %e, "could not publish an event");
    }
}

/// A failed pass is never silent: a Warning event, and the Reconciling condition carries the
/// error until a pass succeeds.
async fn report_failure(
    api: &Api<ModelDeployment>,
    md: &ModelDeployment,
    ctx: &Context,
    deleting: bool,
    error: &ControllerError,
    now: Timestamp,
) {
    let reason = if deleting {
        "CleanupFailing"
    } else {
        "RetryingAfterError"
    };
    let message = format!("{error}; retrying with backoff");
    publish(md, ctx, true, reason, message.clone()).await;
    // Written once per streak of failures: every status write wakes the watch, and a write
    // per failure would turn the backoff into a hot loop.
    let current = md.status.clone().unwrap_or_default();
    let outcome = Outcome::Retrying {
        reason,
        message: &message,
        generation: md.metadata.generation,
    };
    let status = settle(current.clone(), outcome, now);
    if status == current {
        return;
    }
    if let Err(e) = apply_status(api, md, &status).await {
        tracing::warn!(error = %e, "could not record the failure in status");
    }
}

/// No region for this resource: reported as an invalid `spec.region` (Stalled until the
/// spec or the controller's AWS_REGION provides one), before any AWS call.
fn no_region(
    e: NoRegion,
    previous: Option<&ModelDeploymentStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Pass {
    let errors = crate::api::SpecErrors(vec![crate::api::FieldError::new(
        "spec.region",
        format!("{e} (the chart sets AWS_REGION from controller.awsRegion)"),
    )]);
    invalid_pass("InvalidSpec", &errors, previous, generation, now)
}

/// The pass of a spec that failed validation: no AWS call, a Stalled status naming every
/// problem.
fn invalid_pass(
    reason: &str,
    errors: &crate::api::SpecErrors,
    previous: Option<&ModelDeploymentStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Pass {
    let plan = crate::plan::invalid(reason, errors, previous, generation, now);
    Pass {
        status: plan.status.clone(),
        plan,
        released: false,
        rejected: None,
    }
}
