//! The Kubernetes controller: kube-runtime `Controller`s over ModelDeployments (one per
//! watched namespace, or one for the whole cluster) driving the same engine as the CLI.
//!
//! Contract: every replica watches (so a standby is warm and ready), only the lease holder
//! reconciles, and the engine's gate re-checks the lease before every AWS action. Status is
//! written by server-side apply on the status subresource with one field manager; a
//! finalizer guards the AWS resources; Events mark every transition; requeues follow the
//! plan (bake end, poll while AWS transitions, jittered resync at rest).

pub mod config;
pub mod http;
pub mod lease;
pub mod metrics;
mod reconcile;
pub mod tenancy;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

pub use config::{Config, LogFormat, SHARD_LABEL};
pub use reconcile::{
    Cached, FIELD_MANAGER, FINALIZER, error_policy, error_policy_cached, reconcile,
    reconcile_cached,
};

use crate::aws::{Clients, ErrorClass, NoRegion, Settings};
use crate::engine::drive::Clock;
use crate::engine::journal::Journal;
use crate::engine::{Engine, EngineError};
use http::Readiness;
use lease::{Elector, Leadership};
use metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("the resource changed while it was being reconciled; retrying with the new version")]
    Conflict,
    #[error(
        "no cluster id: --cluster-id (chart: tenancy.clusterId) is unset and the kube-system namespace's UID cannot be read ({0})"
    )]
    ClusterId(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl ControllerError {
    /// The `class` label of the failure metric.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Engine(EngineError::Gated) => "not_leader",
            Self::Engine(e) => match e.class() {
                ErrorClass::Throttling => "throttling",
                ErrorClass::Transient => "transient",
                ErrorClass::NotFound => "not_found",
                ErrorClass::Terminal => "terminal",
            },
            Self::Kube(_) | Self::Listen { .. } | Self::ClusterId(_) => "kubernetes",
            Self::Conflict => "conflict",
        }
    }
}

/// Where the engine's AWS clients come from (the SDK in production, the simulator in tests).
#[async_trait]
pub trait AwsProvider: Send + Sync {
    async fn clients(&self, settings: &Settings) -> Result<Clients, NoRegion>;
}

/// Most SDK client sets kept ([`SdkProvider`]).
pub const CLIENT_SETS: usize = 256;

/// The official SDK clients, one set per (region, role, session). Bounded, least recently
/// used first out: a tenant cycling role ARNs, or many resources each assuming a role as
/// itself, never grows it past [`CLIENT_SETS`] (an evicted set is rebuilt on its next use;
/// an engine keeps the set it holds).
pub struct SdkProvider {
    cache: tokio::sync::Mutex<lru::LruCache<Settings, Clients>>,
}

#[async_trait]
impl AwsProvider for SdkProvider {
    async fn clients(&self, settings: &Settings) -> Result<Clients, NoRegion> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(settings) {
            return Ok(c.clone());
        }
        let c = crate::aws::clients(settings).await?;
        cache.put(settings.clone(), c.clone());
        Ok(c)
    }
}

impl SdkProvider {
    /// At most `limit` client sets (at least one).
    pub fn bounded(limit: usize) -> Self {
        let limit = std::num::NonZeroUsize::new(limit).unwrap_or(std::num::NonZeroUsize::MIN);
        Self {
            cache: tokio::sync::Mutex::new(lru::LruCache::new(limit)),
        }
    }

    /// Whether a client set for `settings` is held now.
    pub async fn holds(&self, settings: &Settings) -> bool {
        self.cache.lock().await.contains(settings)
    }
}

impl Default for SdkProvider {
    fn default() -> Self {
        Self::bounded(CLIENT_SETS)
    }
}

/// What `run` needs besides the Kubernetes client and flags; tests supply the simulator and
/// its clock, and keep handles on metrics and readiness.
#[derive(Clone)]
pub struct Deps {
    pub aws: Arc<dyn AwsProvider>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub ready: Readiness,
}

impl Deps {
    pub fn production() -> Self {
        Self {
            aws: Arc::new(SdkProvider::default()),
            clock: Arc::new(crate::engine::drive::SystemClock),
            metrics: Arc::new(Metrics::new()),
            ready: Readiness::default(),
        }
    }
}

/// kubectl's client-side apply keeps a second copy of the spec in this annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from a cached ModelDeployment's metadata what the controller never reads: the managed fields of
/// every field manager and kubectl's last-applied copy of the spec. On a real API server they
/// are most of an object's size; the status writes are server-side applies that never send
/// them back.
fn compact(md: &mut Cached) {
    md.metadata.managed_fields = None;
    if let Some(a) = md.metadata.annotations.as_mut() {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            md.metadata.annotations = None;
        }
    }
}

/// A resource's engine and what it was built for: its settings and the resource's UID.
type Held = (Settings, Option<String>, Arc<Engine>);

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub config: Config,
    pub deps: Deps,
    pub leadership: Leadership,
    pub recorder: Recorder,
    /// Slots of passes (`--concurrency`) and of validations ([`crate::engine::slot`]).
    pools: crate::engine::slot::Pools,
    engines: Mutex<HashMap<String, Held>>,
    failures: Mutex<HashMap<String, u32>>,
    /// Consecutive write conflicts per resource, until a status write goes through.
    conflicts: Mutex<HashMap<String, u32>>,
    /// The resourceVersion of our last status write per resource and when its next pass is
    /// due: the watch event of our own write carries nothing new, so it need not re-read AWS.
    written: Mutex<HashMap<String, (String, tokio::time::Instant)>>,
    /// Alarms read between passes while candidates bake with traffic.
    pub watch: watch::AlarmWatch,
    /// The request buckets, one per (account, region), shared by every reconcile.
    pub limiter: crate::aws::limit::Limiter,
    /// Multi-tenant mode: the DeploymentPolicies and namespace labels.
    pub policies: Option<tenancy::Policies>,
    /// This cluster's id (`--cluster-id`, else kube-system's UID).
    pub cluster: String,
    /// Validations started and not finished (`--validation-journal`).
    journal: Arc<Journal>,
}

impl Context {
    pub fn new(client: Client, config: Config, deps: Deps, leadership: Leadership) -> Self {
        let config_rate = config.request_rate();
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: Some(config.identity()),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            pools: crate::engine::slot::Pools::new(usize::from(config.concurrency)),
            client,
            deps,
            leadership,
            engines: Mutex::default(),
            failures: Mutex::default(),
            conflicts: Mutex::default(),
            written: Mutex::default(),
            watch: watch::AlarmWatch::default(),
            limiter: crate::aws::limit::Limiter::new(config_rate),
            policies: None,
            journal: Arc::new(Journal::new(config.validation_journal.clone())),
            cluster: config
                .cluster_id
                .clone()
                .unwrap_or_else(|| "default".into()),
            config,
        }
    }

    /// The engine of one resource, rebuilt when its region, role or tenant changes. Engines
    /// are kept between passes for their artifact-verdict cache.
    async fn engine(
        &self,
        owner: &str,
        region: Option<String>,
        assume_role_arn: Option<String>,
        tenant: Option<crate::tenancy::Tenant>,
        uid: Option<String>,
    ) -> Result<Arc<Engine>, NoRegion> {
        let mut settings = self.settings(region, assume_role_arn);
        settings.tenant = tenant;
        // A role assumed for a resource is assumed as that resource (CloudTrail, trust
        // policies); without one the controller's own identity acts.
        settings.session = settings
            .assume_role_arn
            .as_ref()
            .map(|_| crate::aws::session_name("controller", owner));
        if let Some((s, u, e)) = self.engines.lock().ok().and_then(|m| m.get(owner).cloned())
            && s == settings
            && u == uid
        {
            return Ok(e);
        }
        let clients = self.deps.aws.clients(&settings).await?;
        let leadership = self.leadership.clone();
        let region = self.config.aws_region.as_deref();
        let engine = Arc::new(
            Engine::new(clients, owner)
                .with_driver(crate::plan::claim::Driver::controller(
                    &self.cluster,
                    uid.as_deref(),
                ))
                .with_gate(Arc::new(move || leadership.valid_for()))
                .with_journal(self.journal.clone())
                .with_bucket(self.limiter.bucket(&settings, region))
                .with_quotas(self.limiter.quotas(&settings, region)),
        );
        if let Ok(mut m) = self.engines.lock() {
            m.insert(owner.to_owned(), (settings, uid, engine.clone()));
        }
        Ok(engine)
    }

    /// Where a resource's AWS calls go: its region (else the controller's) and role.
    pub(crate) fn settings(
        &self,
        region: Option<String>,
        assume_role_arn: Option<String>,
    ) -> Settings {
        Settings {
            region: region.or_else(|| self.config.aws_region.clone()),
            assume_role_arn,
            session: None,
            tenant: None,
        }
    }

    /// The settings `owner`'s engine acts with (its tenant session included), else the
    /// plain settings of `region` and role.
    pub(crate) fn settings_of(
        &self,
        owner: &str,
        region: Option<String>,
        assume_role_arn: Option<String>,
    ) -> Settings {
        (self.engines.lock().ok())
            .and_then(|m| m.get(owner).map(|(s, _, _)| s.clone()))
            .unwrap_or_else(|| self.settings(region, assume_role_arn))
    }

    /// Marks urgent every resource a policy or namespace change touches.
    fn changed(&self, change: &tenancy::Change) {
        if let Ok(mut m) = self.written.lock() {
            match change {
                None => m.clear(),
                Some(ns) => m.retain(|owner, _| !owner.starts_with(&format!("{ns}/"))),
            }
        }
    }

    /// The next trigger of `owner` must read AWS even if nothing changed since our write.
    pub(crate) fn urgent(&self, owner: &str) {
        if let Ok(mut m) = self.written.lock() {
            m.remove(owner);
        }
    }

    fn forget(&self, owner: &str) {
        self.watch.forget(owner);
        if let Ok(mut m) = self.engines.lock() {
            m.remove(owner);
        }
        if let Ok(mut m) = self.written.lock() {
            m.remove(owner);
        }
        if let Ok(mut m) = self.failures.lock() {
            m.remove(owner);
        }
    }

    fn wrote(&self, owner: &str, resource_version: Option<String>, next: Duration) {
        if let Ok(mut m) = self.conflicts.lock() {
            m.remove(owner);
        }
        if let (Ok(mut m), Some(rv)) = (self.written.lock(), resource_version) {
            m.insert(owner.to_owned(), (rv, tokio::time::Instant::now() + next));
        }
    }

    /// Time left before the next pass is due when nothing changed since our own status
    /// write (same resourceVersion); None when the resource must be reconciled now.
    fn unchanged_since_write(
        &self,
        owner: &str,
        resource_version: Option<&str>,
    ) -> Option<Duration> {
        let m = self.written.lock().ok()?;
        let (rv, due) = m.get(owner)?;
        let now = tokio::time::Instant::now();
        (Some(rv.as_str()) == resource_version && *due > now).then(|| *due - now)
    }

    /// Consecutive failures of `owner`, counting this one.
    fn failed(&self, owner: &str) -> u32 {
        count(&self.failures, owner)
    }

    /// Counts a write conflict of `owner`; the count so far.
    fn conflicted(&self, owner: &str) -> u32 {
        count(&self.conflicts, owner)
    }

    fn succeeded(&self, owner: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(owner);
        }
    }
}

/// Adds one to `owner`'s count in a streak counter; the count so far.
fn count(streaks: &Mutex<HashMap<String, u32>>, owner: &str) -> u32 {
    streaks
        .lock()
        .map(|mut m| {
            let n = m.entry(owner.to_owned()).or_insert(0);
            *n += 1;
            *n
        })
        .unwrap_or(1)
}

/// Runs the controller until `stop` is cancelled: HTTP server, leader election, one
/// kube-runtime Controller per watched namespace. In-flight reconciles finish before it
/// returns, and a held lease is released so that a standby takes over at once.
pub async fn run(
    client: Client,
    config: Config,
    deps: Deps,
    stop: CancellationToken,
) -> Result<(), ControllerError> {
    let listener = tokio::net::TcpListener::bind(config.listen_address)
        .await
        .map_err(|source| ControllerError::Listen {
            address: config.listen_address,
            source,
        })?;
    let server = tokio::spawn(http::serve(
        listener,
        deps.metrics.clone(),
        deps.ready.clone(),
        stop.clone(),
    ));
    // The lease outlives `stop`: it is released only once every pass has ended (a pass may
    // still be sending AWS calls when the shutdown begins).
    let lease_stop = CancellationToken::new();
    let (leadership, elector) = elect(&client, &config, &lease_stop);
    let gauge = leader_gauge(leadership.subscribe(), deps.metrics.clone(), stop.clone());
    deps.metrics.leader(leadership.is_held());
    let mut ctx = Context::new(client.clone(), config.clone(), deps, leadership);
    if config.tenancy == crate::tenancy::Tenancy::Multi {
        let policies = tenancy::Policies::start(&client, &stop);
        // No pass judges against a half-read set of policies or namespace labels.
        if !policies.synced(&stop).await {
            return Ok(());
        }
        ctx.policies = Some(policies);
    }
    if config.cluster_id.is_none() {
        ctx.cluster = tenancy::cluster_id(&client)
            .await
            .map_err(ControllerError::ClusterId)?;
    }
    tracing::info!(tenancy = ?config.tenancy, cluster = %ctx.cluster, "starting");
    let ctx = Arc::new(ctx);
    let (stores, runs) = controllers(&client, &config, &ctx, &stop);
    let alarm_watch = tokio::spawn(watch::run(ctx.clone(), stop.clone()));
    let readiness = ready_when_synced(stores, ctx.policies.clone(), ctx.deps.ready.clone());
    futures::future::join_all(runs).await;
    alarm_watch.abort();
    let _ = alarm_watch.await;
    readiness.abort();
    gauge.abort();
    lease_stop.cancel();
    if let Some(e) = elector {
        let _ = e.await;
    }
    let _ = server.await;
    Ok(())
}

/// The leader election (a Lease per shard), or leadership held for good when it is off.
fn elect(
    client: &Client,
    config: &Config,
    stop: &CancellationToken,
) -> (Leadership, Option<tokio::task::JoinHandle<()>>) {
    if !config.leader_election {
        return (Leadership::always(), None);
    }
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.lease_namespace);
    let elector = Elector::new(
        api,
        &config.shard_lease(),
        &config.identity(),
        config.lease_duration,
    );
    let leadership = elector.leadership();
    (leadership, Some(tokio::spawn(elector.run(stop.clone()))))
}

/// One kube-runtime `Controller` per watched namespace (or one for all): their caches, and
/// the futures that run them until `stop`.
fn controllers(
    client: &Client,
    config: &Config,
    ctx: &Arc<Context>,
    stop: &CancellationToken,
) -> (
    Vec<kube::runtime::reflector::Store<Cached>>,
    Vec<futures::future::BoxFuture<'static, ()>>,
) {
    // `Api<PartialObjectMeta<_>>` lists and watches metadata only.
    let apis: Vec<Api<Cached>> = if config.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        config
            .namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut stores = Vec::new();
    let mut runs: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();
    for api in apis {
        // Only this shard's resources are listed (500 a page) and watched, and only their
        // metadata is cached (without managed fields or kubectl's last-applied copy): a
        // pass reads the whole object when it runs. 10,000 resources then take a few MiB
        // instead of a copy of every spec and status (docs/benchmarks.md).
        let (reader, writer) = kube::runtime::reflector::store::<Cached>();
        let objects = watcher(
            api,
            watcher::Config::default().labels(&config.shard_selector()),
        )
        .default_backoff()
        .modify(compact)
        .reflect(writer)
        .applied_objects();
        let c = Controller::for_stream(objects, reader);
        stores.push(c.store());
        // Multi-tenant mode: a policy or namespace change re-checks what it selects.
        let rechecks = ctx.policies.as_ref().map(|p| {
            let cx = ctx.clone();
            p.triggers(c.store(), Arc::new(move |change| cx.changed(change)))
        });
        let rechecks = futures::stream::iter(rechecks).flatten();
        let fired = ctx.watch.triggers().map(|r| {
            let o = ObjectRef::<Cached>::new(&r.name);
            match r.namespace {
                Some(ns) => o.within(&ns),
                None => o,
            }
        });
        // Every gain of the lease re-checks every resource: the previous leader may have
        // left work half done.
        let gained = leadership_gains(ctx.leadership.subscribe());
        let ctx = ctx.clone();
        runs.push(Box::pin(
            c.with_config(controller::Config::default().concurrency(config.concurrency))
                .reconcile_all_on(gained)
                .reconcile_on(fired)
                .reconcile_on(rechecks)
                .graceful_shutdown_on(stop.clone().cancelled_owned())
                .run(reconcile_cached, error_policy_cached, ctx)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "controller event");
                    }
                }),
        ));
    }
    (stores, runs)
}

/// Ready once every watch cache has synced (the policies' too, in multi-tenant mode).
fn ready_when_synced(
    stores: Vec<kube::runtime::reflector::Store<Cached>>,
    policies: Option<tenancy::Policies>,
    ready: Readiness,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Some(p) = policies {
            p.ready().await;
        }
        for s in stores {
            // kube-runtime's readiness signal wakes only its most recent waiter (the
            // Controller's own runner also waits on it), so look again every half second;
            // once the store is ready the answer is immediate.
            loop {
                match tokio::time::timeout(Duration::from_millis(500), s.wait_until_ready()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(_)) => return,
                    Err(_) => continue,
                }
            }
        }
        ready.set(true);
        tracing::info!("watch caches synced; ready");
    })
}

/// Keeps the leader gauge (and the log) in step with the lease.
fn leader_gauge(
    mut changes: tokio::sync::watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                r = changes.changed() => {
                    if r.is_err() { break; }
                    let held = *changes.borrow_and_update();
                    tracing::info!(held, "leadership changed");
                    metrics.leader(held);
                }
            }
        }
    })
}

/// A stream that yields once each time leadership is gained.
fn leadership_gains(
    rx: tokio::sync::watch::Receiver<bool>,
) -> impl futures::Stream<Item = ()> + Send + 'static {
    futures::stream::unfold(rx, |mut rx| async move {
        loop {
            rx.changed().await.ok()?;
            if *rx.borrow_and_update() {
                return Some(((), rx));
            }
        }
    })
}
