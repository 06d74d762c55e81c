//! The real controller (the `run` that `main` calls) against the in-memory Kubernetes API,
//! with the SageMaker simulator for AWS, in virtual time (tokio's paused clock drives both
//! the kube-runtime scheduler and the simulator).

use crate::fake_api;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fake_api::FakeApi;
use http::Method;
use jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::aws::Settings;
use sagemaker_rollout::aws::{Clients, NoRegion};
use sagemaker_rollout::controller::http::Readiness;
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::controller::{AwsProvider, Config, Deps, FINALIZER, run};
use sagemaker_rollout::engine::drive::Clock;
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, SimClock, Simulator, artifact, seed};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const NS: &str = "ml-prod";
pub(crate) const NAME: &str = "churn";

/// Simulator time follows tokio's (paused) clock.
struct TokioClock {
    base: Timestamp,
    origin: tokio::time::Instant,
    sim: SimClock,
}

#[async_trait]
impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let t = self.base + SignedDuration::try_from(self.origin.elapsed()).unwrap();
        self.sim.advance_to(t);
        t
    }
    async fn sleep_until(&self, t: Timestamp) {
        let wait = t.duration_since(self.now());
        tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
    }
    fn jitter(&self) -> f64 {
        0.5
    }
}

/// The simulator, recording the settings (region, role, session, tenant) each client set
/// was asked for.
struct SimAws(Simulator, Arc<std::sync::Mutex<Vec<Settings>>>);

#[async_trait]
impl AwsProvider for SimAws {
    async fn clients(&self, settings: &Settings) -> Result<Clients, NoRegion> {
        self.1.lock().unwrap().push(settings.clone());
        Ok(self.0.clients())
    }
}

pub(crate) struct World {
    pub(crate) fake: FakeApi,
    sim: Simulator,
    origin: tokio::time::Instant,
    /// Every client set the controller asked for.
    pub(crate) sessions: Arc<std::sync::Mutex<Vec<Settings>>>,
}

pub(crate) struct Instance {
    stop: CancellationToken,
    task: JoinHandle<()>,
    metrics: Arc<Metrics>,
    ready: Readiness,
}

impl Instance {
    pub(crate) async fn shutdown(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }

    /// AWS calls this replica made, from its own /metrics.
    fn aws_calls(&self) -> u64 {
        metric_sum(&self.metrics.render(), "sagemaker_rollout_aws_calls_total")
    }
}

fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

pub(crate) fn manifest(file: &str) -> Value {
    let text = std::fs::read_to_string(format!("deploy/examples/{file}.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn spec_of(v: &Value) -> sagemaker_rollout::api::ValidSpec {
    let raw: sagemaker_rollout::api::ModelDeploymentSpec =
        serde_json::from_value(v["spec"].clone()).unwrap();
    sagemaker_rollout::api::ValidSpec::new(&raw).unwrap()
}

impl World {
    /// A simulator seeded for `manifest` (with a serving champion unless `empty`).
    pub(crate) fn new(manifest: &Value, empty: bool) -> Self {
        Self::with_scenario(manifest, empty, "")
    }

    pub(crate) fn with_scenario(manifest: &Value, empty: bool, scenario: &str) -> Self {
        let sim = Simulator::new(start_time(), &Scenario::parse(scenario).unwrap());
        // An invalid spec needs no seeding: the controller must not call AWS for it.
        let raw: sagemaker_rollout::api::ModelDeploymentSpec =
            serde_json::from_value(manifest["spec"].clone()).unwrap();
        if let Ok(spec) = sagemaker_rollout::api::ValidSpec::new(&raw) {
            seed(&sim, &spec, &format!("{NS}/{NAME}"), !empty);
        }
        Self {
            fake: FakeApi::new(),
            sim,
            origin: tokio::time::Instant::now(),
            sessions: Arc::default(),
        }
    }

    pub(crate) fn config(id: &str) -> Config {
        Config {
            listen_address: "127.0.0.1:0".parse().unwrap(),
            lease_namespace: "sagemaker-rollout-system".into(),
            identity: Some(id.into()),
            tenancy: sagemaker_rollout::tenancy::Tenancy::Single,
            cluster_id: Some("test-cluster".into()),
            ..Config::defaults()
        }
    }

    pub(crate) fn start(&self, id: &str) -> Instance {
        self.start_with(Self::config(id))
    }

    pub(crate) fn start_with(&self, config: Config) -> Instance {
        let deps = Deps {
            aws: Arc::new(SimAws(self.sim.clone(), self.sessions.clone())),
            clock: Arc::new(TokioClock {
                base: self.sim.start,
                origin: self.origin,
                sim: self.sim.clock.clone(),
            }),
            metrics: Arc::new(Metrics::new()),
            ready: Readiness::default(),
        };
        let stop = CancellationToken::new();
        let (metrics, ready) = (deps.metrics.clone(), deps.ready.clone());
        let client = self.fake.client();
        let s = stop.clone();
        let task = tokio::spawn(async move { run(client, config, deps, s).await.unwrap() });
        Instance {
            stop,
            task,
            metrics,
            ready,
        }
    }

    fn api(&self) -> Api<ModelDeployment> {
        Api::namespaced(self.fake.client(), NS)
    }

    /// Registers a second candidate (run `2026-11-27-def456`) and points `manifest` at it;
    /// returns its package ARN.
    pub(crate) fn next_candidate(&self, manifest: &mut Value) -> String {
        let run = "2026-11-27-def456";
        let tags = [("candidate_run_id", run), ("data_version", "dv-2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let arn = self
            .sim
            .add_package("churn-models", tags, "Approved", artifact(run, 0.93));
        manifest["spec"]["candidate"]["matchTags"]["candidate_run_id"] = json!(run);
        arn
    }

    pub(crate) async fn apply(&self, manifest: &Value) {
        let pp = PatchParams::apply("kubectl").force();
        self.api()
            .patch(NAME, &pp, &Patch::Apply(manifest))
            .await
            .unwrap();
    }

    pub(crate) fn object(&self) -> Option<Value> {
        self.fake.get("modeldeployments", NS, NAME)
    }

    pub(crate) fn phase(&self) -> String {
        self.object()
            .and_then(|o| o["status"]["phase"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub(crate) fn condition(&self, t: &str) -> (String, String, String) {
        let o = self.object().unwrap_or_default();
        let empty = vec![];
        let c = o["status"]["conditions"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|c| c["type"] == t)
            .cloned()
            .unwrap_or_default();
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        (s("status"), s("reason"), s("message"))
    }

    pub(crate) fn event_reasons(&self) -> Vec<String> {
        let mut events = self.fake.all("events");
        events.sort_by_key(|e| e["eventTime"].as_str().unwrap_or_default().to_owned());
        events
            .iter()
            .filter(|e| e["regarding"]["name"] == NAME)
            .filter_map(|e| e["reason"].as_str().map(str::to_owned))
            .collect()
    }

    /// Waits (virtual time) until `done` holds.
    pub(crate) async fn until(&self, what: &str, limit: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: phase {:?}, events {:?}",
                self.phase(),
                self.event_reasons()
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    /// Deletes the resource and waits until the controller has released it.
    pub(crate) async fn delete_and_wait(&self) {
        self.api()
            .delete(NAME, &DeleteParams::default())
            .await
            .unwrap();
        self.until("the resource to go", Duration::from_secs(3600), |w| {
            w.object().is_none()
        })
        .await;
    }

    pub(crate) async fn until_phase(&self, phase: &str) {
        let what = format!("phase {phase}");
        self.until(&what, Duration::from_secs(6 * 3600), |w| w.phase() == phase)
            .await;
    }
}

#[tokio::test(start_paused = true)]
async fn create_rolls_out_to_succeeded_with_conditions_and_events() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;

    let o = w.object().unwrap();
    assert_eq!(o["metadata"]["finalizers"], json!([FINALIZER]));
    assert_eq!(
        o["status"]["observedGeneration"],
        o["metadata"]["generation"]
    );
    assert_eq!(w.condition("Ready").0, "True");
    assert_eq!(w.condition("Reconciling").0, "False");
    assert_eq!(w.condition("Stalled").0, "False");
    assert_eq!(o["status"]["candidate"]["weight"], 100);
    let reasons = w.event_reasons();
    for expected in [
        "CandidateResolved",
        "ArtifactValidated",
        "VariantAdded",
        "SmokeTestPassed",
        "StepAdvanced",
        "Promoting",
        "RolloutSucceeded",
    ] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} missing from {reasons:?}"
        );
    }
    assert!(c.ready.get(), "ready once the watch synced");
    let text = c.metrics.render();
    assert!(text.contains(r#"sagemaker_rollout_modeldeployment_phase{namespace="ml-prod",name="churn",phase="Succeeded"} 1"#), "{text}");
    assert!(text.contains(r#"sagemaker_rollout_modeldeployment_candidate_weight{namespace="ml-prod",name="churn"} 100"#));
    assert!(text.contains("sagemaker_rollout_reconcile_duration_seconds_count"));
    assert!(text.contains(r#"operation="UpdateEndpoint",outcome="ok""#));
    assert!(text.contains("sagemaker_rollout_leader 1"));

    // At rest the controller sleeps until the resync: no hot loop.
    // No more passes than the CLI's drive loop needs for the same rollout: the watch event
    // of the controller's own status write does not cost a pass.
    let before = metric_sum(&c.metrics.render(), "sagemaker_rollout_reconciles_total");
    let cli = sagemaker_rollout::sim::simulate::simulate(
        &spec_of(&m),
        &format!("{NS}/{NAME}"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(
        before as usize <= cli.rest.passes + 1,
        "controller {before} passes, CLI {}",
        cli.rest.passes
    );
    tokio::time::sleep(Duration::from_secs(300)).await;
    let after = metric_sum(&c.metrics.render(), "sagemaker_rollout_reconciles_total");
    assert!(
        after - before <= 1,
        "{} reconciles in 5 idle minutes",
        after - before
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn spec_change_starts_a_new_rollout() {
    let mut m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let first = w.object().unwrap()["status"]["candidate"]["modelPackageArn"].clone();

    let second = w.next_candidate(&mut m);
    w.apply(&m).await;
    w.until("the second candidate", Duration::from_secs(6 * 3600), |w| {
        let o = w.object().unwrap();
        o["status"]["phase"] == "Succeeded"
            && o["status"]["candidate"]["modelPackageArn"] == json!(second)
            && o["status"]["observedGeneration"] == 2
    })
    .await;
    let o = w.object().unwrap();
    let history = o["status"]["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["modelPackageArn"] == first),
        "{history:?}"
    );
    assert!(
        history
            .iter()
            .any(|h| h["modelPackageArn"] == json!(second))
    );
    c.shutdown().await;
}

async fn delete_with(policy: &str) -> (World, usize) {
    let mut m = manifest("canary");
    m["spec"]["deletionPolicy"] = json!(policy);
    let w = World::new(&m, true);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    w.delete_and_wait().await;
    let endpoints = w.sim.inventory().0;
    c.shutdown().await;
    (w, endpoints)
}

#[tokio::test(start_paused = true)]
async fn delete_with_retain_keeps_the_endpoint_and_releases_the_finalizer() {
    let (w, endpoints) = delete_with("Retain").await;
    assert_eq!(endpoints, 1, "Retain leaves the endpoint serving");
    assert!(
        w.event_reasons().iter().any(|r| r == "Retained"),
        "{:?}",
        w.event_reasons()
    );
}

#[tokio::test(start_paused = true)]
async fn delete_with_delete_removes_everything_it_owns() {
    let (w, endpoints) = delete_with("Delete").await;
    let (_, configs, models, alarms, scaling) = w.sim.inventory();
    assert_eq!(
        (endpoints, configs, models, alarms, scaling),
        (0, 0, 0, 0, 0)
    );
    assert!(
        w.event_reasons().iter().any(|r| r == "Deleted"),
        "{:?}",
        w.event_reasons()
    );
}

#[tokio::test(start_paused = true)]
async fn a_cleanup_that_keeps_failing_is_shown_in_status_and_events_then_finishes() {
    let mut m = manifest("direct");
    m["spec"]["deletionPolicy"] = json!("Delete");
    // AWS throttles every call from 2 h to 3 h of virtual time.
    let storm = "events: [{at: 2h, throttlePercent: 100}, {at: 3h, throttlePercent: 0}]";
    let w = World::with_scenario(&m, false, storm);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    tokio::time::sleep_until(w.origin + Duration::from_secs(2 * 3600 + 60)).await;
    w.api()
        .delete(NAME, &DeleteParams::default())
        .await
        .unwrap();
    w.until("CleanupFailing", Duration::from_secs(1800), |w| {
        w.condition("Reconciling").1 == "CleanupFailing"
    })
    .await;
    let (status, _, message) = w.condition("Reconciling");
    assert_eq!(status, "True");
    assert!(message.contains("Throttling"), "{message}");
    assert!(w.event_reasons().iter().any(|r| r == "CleanupFailing"));
    assert!(
        w.object().is_some(),
        "the finalizer holds the resource meanwhile"
    );
    w.until("the resource to go", Duration::from_secs(3 * 3600), |w| {
        w.object().is_none()
    })
    .await;
    assert_eq!(
        w.sim.inventory().0,
        0,
        "the endpoint was deleted after the storm"
    );
    let text = c.metrics.render();
    assert!(
        text.contains(r#"reconcile_failures_total{class="throttling"}"#),
        "{text}"
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_spec_is_stalled_with_the_message_and_no_aws_call() {
    let mut m = manifest("canary");
    // The API server's CEL rules would refuse this; the fake lets it through, as an older
    // CRD or a disabled validation would.
    m["spec"]["rollout"]["canary"]["steps"][1]["weight"] = json!(5);
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until("Stalled", Duration::from_secs(600), |w| {
        w.condition("Stalled").0 == "True"
    })
    .await;
    let (_, reason, message) = w.condition("Stalled");
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.contains("spec.rollout.canary.steps[1].weight"),
        "{message}"
    );
    assert_eq!(c.aws_calls(), 0);
    assert_eq!(w.sim.mutations(), 0);
    assert!(w.event_reasons().iter().any(|r| r == "InvalidSpec"));
    c.shutdown().await;
}

/// A resource whose spec became invalid must still go when deleted: with Retain only the
/// finalizer goes, with Delete what it owns on AWS goes too (only the endpoint's name and
/// location are needed, and once deployed they are the ones in `status.target`, so even a
/// spec whose endpoint name broke cleans up the endpoint it deployed).
#[tokio::test(start_paused = true)]
async fn a_resource_whose_spec_became_invalid_can_still_be_deleted() {
    for (policy, break_endpoint_name, endpoints_left) in [
        ("Retain", false, 1),
        ("Delete", false, 0),
        ("Delete", true, 0),
    ] {
        let mut m = manifest("direct");
        m["spec"]["deletionPolicy"] = json!(policy);
        let w = World::new(&m, true);
        let c = w.start("a");
        w.apply(&m).await;
        w.until_phase("Succeeded").await;
        m["spec"]["rollout"]["strategy"] = json!("Linear");
        if break_endpoint_name {
            m["spec"]["endpointName"] = json!("-not-a-name");
        }
        w.apply(&m).await;
        w.until("Stalled", Duration::from_secs(600), |w| {
            w.condition("Stalled").1 == "InvalidSpec"
        })
        .await;
        w.delete_and_wait().await;
        assert_eq!(
            w.sim.inventory().0,
            endpoints_left,
            "{policy}, endpoint name broken: {break_endpoint_name}"
        );
        c.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_status_conflict_is_retried() {
    let m = manifest("direct");
    let w = World::new(&m, false);
    w.fake
        .fail_next(Method::PATCH, &format!("/{NAME}/status"), 409);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let text = c.metrics.render();
    assert!(
        text.contains(r#"sagemaker_rollout_reconcile_failures_total{class="conflict"} 1"#),
        "{text}"
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_mid_rollout_resumes_without_duplicates() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let first = w.start("a");
    w.apply(&m).await;
    w.until("the first canary step", Duration::from_secs(3600), |w| {
        w.object().unwrap()["status"]["rollout"]["step"] == 1
    })
    .await;
    first.shutdown().await;
    let calls_before = w.sim.mutations();

    let second = w.start("b");
    w.until_phase("Succeeded").await;
    assert!(second.aws_calls() > 0);
    assert!(w.sim.mutations() > calls_before);
    let (endpoints, _, _, rollout_alarms, _) = w.sim.inventory();
    assert_eq!((endpoints, rollout_alarms), (1, 0));
    assert_eq!(w.sim.serving_models("churn-prod").len(), 1);
    second.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn two_controllers_sharing_a_lease_exactly_one_acts() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let a = w.start("a");
    let b = w.start("b");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let (ca, cb) = (a.aws_calls(), b.aws_calls());
    assert!(
        (ca > 0) != (cb > 0),
        "exactly one replica called AWS: a={ca} b={cb}"
    );
    assert!(a.ready.get() && b.ready.get(), "the standby is ready too");
    let (leader, standby) = if ca > 0 { (a, b) } else { (b, a) };
    assert!(
        standby
            .metrics
            .render()
            .contains("sagemaker_rollout_leader 0")
    );

    // The leader goes away (rolling update): the standby takes over and acts.
    leader.shutdown().await;
    let mut m2 = manifest("direct");
    m2["metadata"]["name"] = json!("fraud");
    m2["spec"]["endpointName"] = json!("fraud-prod");
    seed(&w.sim, &spec_of(&m2), &format!("{NS}/fraud"), false);
    let pp = PatchParams::apply("kubectl").force();
    w.api()
        .patch("fraud", &pp, &Patch::Apply(&m2))
        .await
        .unwrap();
    w.until(
        "the standby to roll out fraud",
        Duration::from_secs(3600),
        |w| w.fake.get("modeldeployments", NS, "fraud").unwrap()["status"]["phase"] == "Succeeded",
    )
    .await;
    assert!(standby.aws_calls() > 0);
    standby.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn only_the_listed_namespaces_are_watched() {
    let m = manifest("direct");
    let w = World::new(&m, false);
    let c = w.start_with(Config {
        namespaces: vec!["other".into()],
        leader_election: false,
        ..World::config("a")
    });
    w.apply(&m).await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(c.ready.get());
    assert_eq!(w.phase(), "", "ml-prod is not watched");
    assert_eq!(c.aws_calls(), 0);
    c.shutdown().await;
}

/// Over real HTTP (hyper client and server), a replica that never leads still turns ready:
/// kube-runtime's store readiness wakes only its latest waiter, and the Controller's runner
/// waits on it too.
#[tokio::test(flavor = "multi_thread")]
async fn ready_over_http_while_another_replica_leads() {
    let m = manifest("direct");
    let w = World::new(&m, false);
    w.fake.insert(
        "leases",
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "sagemaker-rollout", "namespace": "sagemaker-rollout-system"},
               "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 15}}),
    );
    let port = w.fake.serve().await;
    let url = format!("http://127.0.0.1:{port}").parse().unwrap();
    let client = kube::Client::try_from(kube::Config::new(url)).unwrap();
    let ready = Readiness::default();
    let deps = Deps {
        aws: Arc::new(SimAws(w.sim.clone(), w.sessions.clone())),
        clock: Arc::new(sagemaker_rollout::engine::drive::SystemClock),
        metrics: Arc::new(Metrics::new()),
        ready: ready.clone(),
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(client, World::config("standby"), deps, stop.clone()));
    for _ in 0..100 {
        if ready.get() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready.get());
    stop.cancel();
    task.await.unwrap().unwrap();
}

/// Between passes the controller reads the watched alarms every `analysis.interval` (15 s in
/// the example); the alarm at minute 12 of step 1's 10-minute bake starts the rollback within
/// that, not at the end of the bake.
#[tokio::test(start_paused = true)]
async fn an_alarm_during_a_bake_starts_the_rollback_within_one_interval() {
    let m = manifest("canary");
    let w = World::with_scenario(
        &m,
        false,
        "events:\n  - {at: 12m, alarm: churn-business-kpi, state: ALARM}\n",
    );
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("RolledBack").await;
    let alarm = start_time() + SignedDuration::from_mins(12);
    let first = w
        .sim
        .requests()
        .into_iter()
        .find(|r| {
            r.at >= alarm
                && matches!(
                    r.operation,
                    "UpdateEndpointWeightsAndCapacities" | "UpdateEndpoint"
                )
        })
        .expect("a rollback call");
    let reaction = first.at.duration_since(alarm);
    assert!(
        reaction <= SignedDuration::from_secs(15),
        "first rollback call {reaction:?} after the alarm"
    );
    assert!(
        metric_sum(
            &c.metrics.render(),
            "sagemaker_rollout_alarm_watch_reads_total"
        ) > 0,
        "read between passes"
    );
    c.shutdown().await;
}

/// Two shards on one API server: each reconciles only its own resources (a named shard
/// those labelled with it, the default shard the unlabelled ones), each holds its own
/// Lease, and relabelling a resource moves it to the other shard.
#[tokio::test(start_paused = true)]
async fn two_shards_each_reconcile_only_their_resources_and_a_label_moves_one() {
    let mut x = manifest("direct");
    x["metadata"]["labels"] = json!({(sagemaker_rollout::controller::SHARD_LABEL): "a"});
    let w = World::new(&x, false);
    let mut y = manifest("direct");
    y["metadata"]["name"] = json!("other");
    y["spec"]["endpointName"] = json!("churn-other");
    seed(&w.sim, &spec_of(&y), &format!("{NS}/other"), true);
    let a = w.start_with(Config {
        shard: Some("a".into()),
        ..World::config("shard-a")
    });
    let d = w.start("default");
    let pp = PatchParams::apply("kubectl").force();
    w.apply(&x).await;
    w.api()
        .patch("other", &pp, &Patch::Apply(&y))
        .await
        .unwrap();
    let succeeded = |w: &World, name: &str| {
        w.fake.get("modeldeployments", NS, name).is_some_and(|o| {
            o["status"]["phase"] == "Succeeded" && o["status"]["observedGeneration"] == 1
        })
    };
    w.until("both Succeeded", Duration::from_secs(3600), |w| {
        succeeded(w, NAME) && succeeded(w, "other")
    })
    .await;
    let serves =
        |i: &Instance, name: &str| i.metrics.render().contains(&format!("name=\"{name}\""));
    assert!(
        serves(&a, NAME) && !serves(&a, "other"),
        "shard a: only its labelled resource"
    );
    assert!(
        serves(&d, "other") && !serves(&d, NAME),
        "default shard: only the unlabelled one"
    );
    let holder = |lease: &str| {
        w.fake
            .get("leases", "sagemaker-rollout-system", lease)
            .map(|l| l["spec"]["holderIdentity"].clone())
    };
    assert_eq!(holder("sagemaker-rollout-a"), Some(json!("shard-a")));
    assert_eq!(holder("sagemaker-rollout"), Some(json!("default")));

    // Relabel `other` into shard a: the default shard lets it go, shard a takes it.
    y["metadata"]["labels"] = json!({(sagemaker_rollout::controller::SHARD_LABEL): "a"});
    w.api()
        .patch("other", &pp, &Patch::Apply(&y))
        .await
        .unwrap();
    w.until("shard a took it", Duration::from_secs(3600), |_| {
        serves(&a, "other")
    })
    .await;
    // A pass already under way when the label moved may finish; nothing after it.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before = d.aws_calls();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(
        d.aws_calls(),
        before,
        "the default shard no longer touches the moved resource (hours of resyncs later)"
    );
    a.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_controller_publishes_each_milestone_once() {
    let mut m = manifest("canary");
    m["spec"]["notify"] = json!({"snsTopicArn": "arn:aws:sns:eu-west-1:123456789012:ml-rollouts"});
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let milestones: Vec<String> = w
        .sim
        .published()
        .iter()
        .map(|n| n.attributes[0].1.clone())
        .collect();
    assert_eq!(
        milestones,
        ["started", "step_advanced", "step_advanced", "succeeded"]
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_controller_rolls_back_a_candidate_slower_than_the_champion() {
    let mut m = manifest("canary");
    m["spec"]["analysis"]["compare"] = json!([{"metric": "ModelLatency", "statistic": "p99", "maxRatio": 1.2, "minInvocations": 100}]);
    let scenario = "metrics:\n  - {at: 0s, variant: champion, metric: Invocations, value: 5000}\n  - {at: 0s, variant: champion, metric: ModelLatency, value: 100000}\n  - {at: 12m, variant: candidate, metric: Invocations, value: 1500}\n  - {at: 12m, variant: candidate, metric: ModelLatency, value: 200000}\n";
    let w = World::with_scenario(&m, false, scenario);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("RolledBack").await;
    let o = w.object().unwrap();
    let reason = o["status"]["history"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("ModelLatency p99"), "{reason}");
    assert!(
        w.event_reasons().iter().any(|r| r == "RolledBack"),
        "{:?}",
        w.event_reasons()
    );
    c.shutdown().await;
}

/// The artifact-store example under this file's resource name.
fn from_validation() -> Value {
    let mut m = manifest("from-validation");
    m["metadata"]["name"] = json!(NAME);
    m["metadata"]["namespace"] = json!(NS);
    m
}

#[tokio::test(start_paused = true)]
async fn the_controller_rolls_out_the_run_a_validation_stage_vouched_for() {
    let m = from_validation();
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let o = w.object().unwrap();
    let model = "s3://ml-artifacts/churn/2026-11-20-abc123/model.tar.gz";
    assert_eq!(o["status"]["candidate"]["artifactUri"], model);
    assert_eq!(o["status"]["candidate"]["weight"], 100);
    assert_eq!(o["status"]["history"][0]["artifactUri"], model);
    let reasons = w.event_reasons();
    for expected in ["CandidateResolved", "ArtifactValidated", "RolloutSucceeded"] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} missing from {reasons:?}"
        );
    }
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_controller_refuses_a_run_that_did_not_pass_and_keeps_the_champion() {
    let m = from_validation();
    let w = World::with_scenario(&m, false, "validationFailed: true");
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Failed").await;
    assert_eq!(w.condition("Stalled").0, "True");
    let o = w.object().unwrap();
    assert_eq!(o["status"]["history"][0]["outcome"], "Refused");
    assert!(
        o["status"]["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("gates auc did not pass"),
        "{}",
        o["status"]["history"][0]
    );
    assert!(w.event_reasons().iter().any(|r| r == "PackageUnusable"));
    assert_eq!(o["status"]["champion"]["weight"], 100);
    c.shutdown().await;
}

/// Moving a deployed resource to another endpoint by editing its spec (which the CRD refuses;
/// the fake API server lets it through, as an older CRD would) stalls before any AWS call,
/// naming the field and how to move properly; deleting it then cleans up the endpoint it
/// deployed, not the one the spec now names.
#[tokio::test(start_paused = true)]
async fn a_target_changed_after_deploying_is_refused_and_deletion_cleans_up_the_deployed_one() {
    let mut m = manifest("canary");
    m["spec"]["deletionPolicy"] = json!("Delete");
    let w = World::new(&m, true);
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let target = w.object().unwrap()["status"]["target"].clone();
    assert_eq!(
        target["endpointName"], m["spec"]["endpointName"],
        "{target}"
    );
    let mutations = w.sim.mutations();
    m["spec"]["endpointName"] = json!("churn-elsewhere");
    w.apply(&m).await;
    w.until("Stalled", Duration::from_secs(600), |w| {
        w.condition("Stalled").1 == "InvalidSpec"
    })
    .await;
    let (_, _, message) = w.condition("Stalled");
    assert!(
        message.contains("spec.endpointName") && message.contains("create a new ModelDeployment"),
        "{message}"
    );
    assert_eq!(w.sim.mutations(), mutations, "nothing changed on AWS");
    w.delete_and_wait().await;
    assert_eq!(w.sim.inventory().0, 0, "the deployed endpoint was deleted");
    c.shutdown().await;
}
