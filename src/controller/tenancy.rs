//! Multi-tenant mode's view of the cluster: the DeploymentPolicies and the namespaces' labels
//! (watch caches), and the triggers that re-check ModelDeployments when either changes, so a
//! revoked grant stops a tenant at its next pass and a new one frees a stalled resource.
//!
//! Contract: a policy change re-checks every ModelDeployment (policies are rare admin writes;
//! the check itself needs no AWS call, but each pass also reads AWS), a namespace change only
//! that namespace's. Until both caches have synced the controller is not ready, so no pass
//! ever judges against a half-read set of policies.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::Cached;
use crate::api::policy::DeploymentPolicy;

/// What must be re-checked: every resource (None) or one namespace's.
pub type Change = Option<String>;

/// The policy and namespace caches, and the change feed.
#[derive(Clone)]
pub struct Policies {
    policies: Store<DeploymentPolicy>,
    namespaces: Store<PartialObjectMeta<Namespace>>,
    changes: broadcast::Sender<Change>,
}

impl Policies {
    /// Starts both watches; they run until `stop`.
    pub fn start(client: &Client, stop: &CancellationToken) -> Self {
        let (changes, _) = broadcast::channel(64);
        let (policies, writer) = reflector::store();
        let feed = changes.clone();
        let policy_events = watcher(
            Api::<DeploymentPolicy>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .reflect(writer)
        .touched_objects()
        .for_each(move |_| {
            let _ = feed.send(None);
            async {}
        });
        let (namespaces, writer) = reflector::store();
        let feed = changes.clone();
        let namespace_events = watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .reflect(writer)
        .touched_objects()
        .for_each(move |ns| {
            if let Ok(ns) = ns {
                let _ = feed.send(ns.metadata.name);
            }
            async {}
        });
        for task in [
            futures::FutureExt::boxed(policy_events),
            futures::FutureExt::boxed(namespace_events),
        ] {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = task => {},
                    () = stop.cancelled() => {},
                }
            });
        }
        Self {
            policies,
            namespaces,
            changes,
        }
    }

    /// Waits until both caches have their first full list.
    pub async fn ready(&self) {
        let _ = self.policies.wait_until_ready().await;
        let _ = self.namespaces.wait_until_ready().await;
    }

    /// [`Self::ready`], saying every 30 s what it waits for; false if `stop` came first.
    pub async fn synced(&self, stop: &CancellationToken) -> bool {
        loop {
            tokio::select! {
                () = self.ready() => return true,
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(std::time::Duration::from_secs(30)) => tracing::warn!(
                    "waiting for the DeploymentPolicy and Namespace caches (is the DeploymentPolicy CRD installed, and may the controller list both?)"
                ),
            }
        }
    }

    /// Every policy, as cached.
    pub fn all(&self) -> Vec<DeploymentPolicy> {
        self.policies
            .state()
            .iter()
            .map(|p| (**p).clone())
            .collect()
    }

    /// A namespace's labels (empty when unknown).
    pub fn labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces
            .get(&ObjectRef::new(namespace))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default()
    }

    /// The resources of `store` to re-check on each change; `urgent` is told first, so that
    /// a pass does not skip them as unchanged since its own status write.
    pub fn triggers(
        &self,
        store: Store<Cached>,
        urgent: Arc<dyn Fn(&Change) + Send + Sync>,
    ) -> impl futures::Stream<Item = ObjectRef<Cached>> + Send + 'static {
        let rx = self.changes.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(change) => Some((change, rx)),
                // Missed changes: re-check everything.
                Err(broadcast::error::RecvError::Lagged(_)) => Some((None, rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .flat_map(move |change: Change| {
            urgent(&change);
            let refs: Vec<ObjectRef<Cached>> = store
                .state()
                .iter()
                .filter(|md| change.is_none() || md.metadata.namespace == change)
                .map(|md| ObjectRef::from_obj(md.as_ref()))
                .collect();
            futures::stream::iter(refs)
        })
    }
}

/// The cluster's id when none is configured: the UID of `kube-system`, which every cluster
/// has and no two clusters share. Tried a few times; never guessed, since a wrong id makes
/// every endpoint this cluster drives look like another cluster's (and two clusters that
/// guessed alike would both drive one endpoint).
pub async fn cluster_id(client: &Client) -> Result<String, String> {
    let api = Api::<Namespace>::all(client.clone());
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(1 << attempt)).await;
        }
        match api.get_metadata_opt("kube-system").await {
            Ok(Some(ns)) => match ns.metadata.uid {
                Some(uid) => return Ok(uid),
                None => last = "kube-system has no UID".into(),
            },
            Ok(None) => last = "there is no kube-system namespace".into(),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}
