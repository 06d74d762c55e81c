//! On-call commands against the cluster: `status [--watch]`, `history`, `list`, and the gate
//! commands `pause`, `resume`, `promote`, `abort`, `retry` and `undo` (the CLI's subcommands,
//! also run as `kubectl sagemaker-rollout …`). They read the resource's status and Events;
//! pause and resume set `spec.rollout.paused` as a GitOps user would (a merge patch under its
//! own field manager, refused when a GitOps tool owns the field — its next sync would silently
//! undo the change — unless forced); the others record a one-shot request for the rollout in
//! `status.requests` through the status subresource. [`gates`] decides the patch, [`screen`] renders; this file talks
//! to the API server and names each failure (missing resource, no permission, changed since
//! read) so the person at the keyboard knows what to do.

pub mod gates;
pub mod screen;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, Client};

pub use gates::{FIELD_MANAGER, GateChange, Owner, Refusal};
pub use screen::EventLine;

use crate::api::{Gate, ModelDeployment, Phase};

/// Why an on-call command failed.
#[derive(Debug, thiserror::Error)]
pub enum OncallError {
    #[error(
        "no ModelDeployment \"{name}\" in namespace \"{namespace}\" (`kubectl get mdep -n {namespace}` lists them; -n picks the namespace)"
    )]
    NotFound { name: String, namespace: String },
    #[error(
        "not allowed to {verb} {resource} in namespace \"{namespace}\" ({message}); bind the ClusterRole sagemaker-rollout-oncall (deploy/base/oncall-rbac.yaml) to your user or group"
    )]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: String,
        message: String,
    },
    #[error(
        "{} is managed by \"{}\" ({}): its next sync would undo this change. Change it where that tool reads it (Git), or run again with --force to patch anyway",
        .0.field, .0.manager, .0.how
    )]
    OwnedElsewhere(Owner),
    #[error("nothing to {}: the resource is {}; {}", .gate.field(), phase_name(.phase), gates::acts_in(*.gate).1)]
    Nothing { gate: Gate, phase: Option<Phase> },
    #[error("the ModelDeployment changed while this command read it; run the command again")]
    Changed,
    #[error("the API server refused the change: {0}")]
    Invalid(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
}

fn phase_name(p: &Option<Phase>) -> String {
    p.map_or("not yet reconciled".into(), |p| format!("{p:?}"))
}

/// What a gate command did.
#[derive(Clone, Debug, PartialEq)]
pub enum Changed {
    /// The gates already said so; nothing was sent.
    Already,
    /// The spec patch was accepted; the new generation.
    Patched { generation: Option<i64> },
    /// The request was recorded for this rollout.
    Requested { rollout: String },
}

/// The on-call view of one namespace.
pub struct Oncall {
    client: Client,
    resources: Api<ModelDeployment>,
    events: Api<Event>,
    namespace: String,
}

impl Oncall {
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            client: client.clone(),
            resources: Api::namespaced(client.clone(), namespace),
            events: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
        }
    }

    fn named(
        &self,
        verb: &'static str,
        resource: &'static str,
        name: &str,
    ) -> impl Fn(kube::Error) -> OncallError {
        let (ns, name) = (self.namespace.clone(), name.to_owned());
        move |e| match &e {
            kube::Error::Api(s) if s.code == 404 => OncallError::NotFound {
                name: name.clone(),
                namespace: ns.clone(),
            },
            kube::Error::Api(s) if s.code == 403 => OncallError::Forbidden {
                verb,
                resource,
                namespace: ns.clone(),
                message: s.message.clone(),
            },
            kube::Error::Api(s) if s.code == 409 => OncallError::Changed,
            kube::Error::Api(s) if s.code == 422 => OncallError::Invalid(s.message.clone()),
            _ => OncallError::Kube(e),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The ModelDeployments of the namespace, or of every namespace.
    pub async fn list(&self, all_namespaces: bool) -> Result<Vec<ModelDeployment>, OncallError> {
        let api = if all_namespaces {
            Api::all(self.client.clone())
        } else {
            self.resources.clone()
        };
        let mut items = Vec::new();
        let mut lp = ListParams::default().limit(500);
        loop {
            let page = api.list(&lp).await.map_err(|e| match &e {
                kube::Error::Api(s) if s.code == 403 => OncallError::Forbidden {
                    verb: "list",
                    resource: "modeldeployments",
                    namespace: if all_namespaces {
                        "(all)".into()
                    } else {
                        self.namespace.clone()
                    },
                    message: s.message.clone(),
                },
                _ => OncallError::Kube(e),
            })?;
            items.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => lp = lp.continue_token(&token),
                None => return Ok(items),
            }
        }
    }

    pub async fn get(&self, name: &str) -> Result<ModelDeployment, OncallError> {
        self.resources
            .get(name)
            .await
            .map_err(self.named("get", "modeldeployments", name))
    }

    /// The resource's Events, oldest first.
    pub async fn events(&self, md: &ModelDeployment) -> Result<Vec<EventLine>, OncallError> {
        let name = md.metadata.name.clone().unwrap_or_default();
        let lp = ListParams::default().fields(&format!("regarding.name={name}"));
        let list = self
            .events
            .list(&lp)
            .await
            .map_err(self.named("list", "events", &name))?;
        let uid = md.metadata.uid.as_deref();
        let mut items = list.items;
        // Newest last; events of the same instant in the order the API server stored them.
        let rv = |e: &Event| {
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        items.sort_by_key(rv);
        let mut lines: Vec<EventLine> = items
            .into_iter()
            // The field selector is a server-side filter; the kind and uid make sure.
            .filter(|e| {
                let r = e.regarding.as_ref();
                r.and_then(|r| r.name.as_deref()) == Some(name.as_str())
                    && r.and_then(|r| r.kind.as_deref()) == Some("ModelDeployment")
                    && (uid.is_none() || r.and_then(|r| r.uid.as_deref()) == uid)
            })
            .map(|e| EventLine {
                at: e
                    .series
                    .as_ref()
                    .map(|s| s.last_observed_time.0)
                    .or(e.event_time.as_ref().map(|t| t.0))
                    .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0)),
                kind: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                note: e.note.unwrap_or_default(),
                count: e.series.map_or(1, |s| s.count),
            })
            .collect();
        lines.sort_by_key(|l| l.at);
        Ok(lines)
    }

    /// The `status` screen of `name` now.
    pub async fn screen(&self, name: &str, now: Timestamp) -> Result<String, OncallError> {
        let md = self.get(name).await?;
        self.screen_of(&md, now).await
    }

    /// The screen of a resource already read (its Events are read now).
    pub async fn screen_of(
        &self,
        md: &ModelDeployment,
        now: Timestamp,
    ) -> Result<String, OncallError> {
        let events = self.events(md).await?;
        Ok(screen::status(md, &events, now))
    }

    /// Sets the gates as `change` asks: the spec for pause and resume ([`gates::patch`]),
    /// the status subresource for a request ([`gates::request`]).
    pub async fn change(
        &self,
        name: &str,
        change: GateChange,
        force: bool,
    ) -> Result<Changed, OncallError> {
        let md = self.get(name).await?;
        let refused = |r| match r {
            Refusal::Nothing { gate, phase } => OncallError::Nothing { gate, phase },
            Refusal::Owned(o) => OncallError::OwnedElsewhere(o),
        };
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        if let GateChange::Request(gate) = change {
            let Some(body) =
                gates::request(&md, gate, &Timestamp::now().to_string()).map_err(refused)?
            else {
                return Ok(Changed::Already);
            };
            let rollout = body["status"]["requests"][gate.field()]["rollout"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            self.resources
                .patch_status(name, &pp, &Patch::Merge(&body))
                .await
                .map_err(self.named("patch", "modeldeployments/status", name))?;
            return Ok(Changed::Requested { rollout });
        }
        if gates::fields(&md, change).is_empty() {
            return Ok(Changed::Already);
        }
        let body = gates::patch(&md, change, force).map_err(refused)?;
        let patched = self
            .resources
            .patch(name, &pp, &Patch::Merge(&body))
            .await
            .map_err(self.named("patch", "modeldeployments", name))?;
        Ok(Changed::Patched {
            generation: patched.metadata.generation,
        })
    }

    /// Calls `show` with the resource and its screen now and after every change of the resource (and every
    /// `tick`, so that countdowns move), until the rollout is at rest for the generation the
    /// controller has seen: Succeeded, RolledBack or Failed.
    pub async fn watch(
        &self,
        name: &str,
        tick: std::time::Duration,
        mut show: impl FnMut(&ModelDeployment, &str),
    ) -> Result<ModelDeployment, OncallError> {
        // Any change wakes the loop, which reads the resource and its Events again.
        // Reconnects with backoff after a dropped connection or an expired resourceVersion.
        let mut changes = watcher::watch_object(self.resources.clone(), name)
            .default_backoff()
            .boxed();
        let mut ticks = tokio::time::interval(tick);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                change = changes.next() => match change {
                    Some(Ok(_)) | None => {}
                    // No permission to watch is for the person to fix; anything else (a
                    // dropped connection, an expired resourceVersion) is retried with backoff.
                    Some(Err(
                        watcher::Error::InitialListFailed(kube::Error::Api(s))
                        | watcher::Error::WatchStartFailed(kube::Error::Api(s)),
                    )) if s.code == 403 => {
                        return Err(OncallError::Forbidden {
                            verb: "watch",
                            resource: "modeldeployments",
                            namespace: self.namespace.clone(),
                            message: s.message.clone(),
                        });
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "watch interrupted; reconnecting");
                        continue;
                    }
                },
            }
            let md = self.get(name).await?;
            let events = self.events(&md).await?;
            show(&md, &screen::status(&md, &events, Timestamp::now()));
            if at_rest(&md) {
                return Ok(md);
            }
        }
    }
}

/// Succeeded, RolledBack or Failed, for the resource's current generation.
pub fn at_rest(md: &ModelDeployment) -> bool {
    md.status.as_ref().is_some_and(|s| {
        matches!(
            s.phase,
            Some(Phase::Succeeded | Phase::RolledBack | Phase::Failed)
        ) && s.observed_generation == md.metadata.generation
    })
}
