//! The controller with the real SDK clients against the emulator (the Kubernetes side is
//! the in-memory API server): a first deployment, then one canary to the next package, in
//! real time with short bakes. What AWS holds is read from the emulator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::api::{Api, Patch, PatchParams};
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::aws::{Clients, NoRegion, Settings, clients_from};
use sagemaker_rollout::controller::http::Readiness;
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::controller::{AwsProvider, Config, Deps, run};
use sagemaker_rollout::engine::drive::SystemClock;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::account::{Account, report};
use crate::fake_api::FakeApi;

/// The SDK clients of the emulated account, whatever the resource's region or role.
struct Emulated(Clients);

#[async_trait]
impl AwsProvider for Emulated {
    async fn clients(&self, _: &Settings) -> Result<Clients, NoRegion> {
        Ok(self.0.clone())
    }
}

const CANARY: &str =
    "{strategy: Canary, canary: {steps: [{weight: 10, bake: 2s}, {weight: 50, bake: 2s}]}}";

async fn until_phase(api: &Api<ModelDeployment>, generation: i64, phase: &str) {
    let start = Instant::now();
    loop {
        let md = api.get("churn").await.unwrap();
        let status = md.status.clone().unwrap_or_default();
        let seen = status.observed_generation == Some(generation)
            && status.phase.map(|p| format!("{p:?}")) == Some(phase.to_owned());
        if seen {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {phase}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Applies the manifest of ModelDeployment `churn` on `(endpoint, rollout)` for `run`, as
/// kubectl's server-side apply would.
async fn apply_run(api: &Api<ModelDeployment>, acct: &Account, on: (&str, &str), run: &str) {
    let text = std::fs::read_to_string(acct.manifest("churn", on.0, run, on.1, "")).unwrap();
    let doc = serde_saphyr::from_str::<Value>(&text).unwrap();
    let pp = PatchParams::apply("kubectl").force();
    api.patch("churn", &pp, &Patch::Apply(doc)).await.unwrap();
}

/// A controller (no leader election, polling every 200 ms) with the account's SDK clients on
/// an in-memory API server; stop it with the token and await the task.
fn start(acct: &Account, identity: &str) -> (FakeApi, CancellationToken, JoinHandle<()>) {
    let fake = FakeApi::new();
    let deps = Deps {
        aws: Arc::new(Emulated(clients_from(&acct.config))),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(Metrics::new()),
        ready: Readiness::default(),
    };
    let config = Config {
        listen_address: "127.0.0.1:0".parse().unwrap(),
        identity: Some(identity.into()),
        leader_election: false,
        poll_interval: Duration::from_millis(200),
        tenancy: sagemaker_rollout::tenancy::Tenancy::Single,
        cluster_id: Some("test-cluster".into()),
        ..Config::defaults()
    };
    let stop = CancellationToken::new();
    let (client, s) = (fake.client(), stop.clone());
    let task = tokio::spawn(async move { run(client, config, deps, s).await.unwrap() });
    (fake, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_rolls_a_canary_out_with_sdk_clients() {
    let acct = Account::new().await;
    acct.package("run-1", 0.90).await;
    let (fake, stop, task) = start(&acct, "sdk-test");
    let api: Api<ModelDeployment> = Api::namespaced(fake.client(), "wire");
    let apply = |run| apply_run(&api, &acct, ("wire-ctl", CANARY), run);
    apply("run-1").await;
    until_phase(&api, 1, "Succeeded").await;
    let candidate = acct.package("run-2", 0.91).await;
    acct.requests();
    apply("run-2").await;
    until_phase(&api, 2, "Succeeded").await;
    let serving = acct.serving("wire-ctl");
    assert_eq!(serving.len(), 1, "{serving:?}");
    assert_eq!(serving[0].package, candidate);
    let md = api.get("churn").await.unwrap();
    let st = md.status.unwrap();
    assert_eq!(
        st.candidate.and_then(|c| c.model_package_arn),
        Some(candidate)
    );
    assert!(st.alarms.is_empty(), "nothing is watched at rest");
    let (configs, _, alarms) = acct.owned("wire/churn");
    assert_eq!(configs.len(), 1, "{configs:?}");
    assert!(alarms.is_empty());
    acct.emu.assert_clean();
    report("controller canary (SDK clients)", acct.requests());
    stop.cancel();
    task.await.unwrap();
}

/// The SDK client cache is bounded, least recently used out first: a tenant cycling role ARNs
/// (or many resources each assuming a role as itself) cannot grow it.
#[tokio::test]
async fn the_sdk_client_cache_is_bounded_least_recently_used_first() {
    use sagemaker_rollout::aws::session_name;
    use sagemaker_rollout::controller::SdkProvider;
    let provider = SdkProvider::bounded(2);
    let settings = |role: &str| Settings {
        region: Some("us-east-1".into()),
        assume_role_arn: Some(format!("arn:aws:iam::123456789012:role/{role}")),
        session: Some(session_name("controller", &format!("ns/{role}"))),
        tenant: None,
    };
    for role in ["a", "b", "a", "c"] {
        provider.clients(&settings(role)).await.unwrap();
    }
    assert!(provider.holds(&settings("a")).await, "used last but one");
    assert!(provider.holds(&settings("c")).await, "used last");
    assert!(
        !provider.holds(&settings("b")).await,
        "least recently used: out"
    );
    for i in 0..50 {
        provider
            .clients(&settings(&format!("cycled-{i}")))
            .await
            .unwrap();
    }
    assert!(provider.holds(&settings("cycled-49")).await);
    assert!(!provider.holds(&settings("a")).await);
}

/// `undo` over the wire: with a rollback window the controller keeps the champion's config and
/// model when the canary succeeds; on-call's undo (a request through the status subresource)
/// returns traffic to it with one UpdateEndpoint and nothing created, recorded in history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_returns_the_kept_champion_with_one_update_endpoint() {
    const WINDOWED: &str = "{strategy: Canary, rollbackWindow: 1h, canary: {steps: [{weight: 10, bake: 2s}, {weight: 50, bake: 2s}]}}";
    let acct = Account::new().await;
    let champion = acct.package("run-1", 0.90).await;
    let (fake, stop, task) = start(&acct, "sdk-undo");
    let api: Api<ModelDeployment> = Api::namespaced(fake.client(), "wire");
    let apply = |run| apply_run(&api, &acct, ("wire-undo", WINDOWED), run);
    apply("run-1").await;
    until_phase(&api, 1, "Succeeded").await;
    acct.package("run-2", 0.91).await;
    apply("run-2").await;
    until_phase(&api, 2, "Succeeded").await;
    let st = api.get("churn").await.unwrap().status.unwrap();
    assert!(st.undo_until.is_some(), "{st:?}");
    let (configs, models, _) = acct.owned("wire/churn");
    assert_eq!(
        (configs.len(), models.len()),
        (2, 2),
        "the champion is kept"
    );
    let before = acct.emu.counts();

    let on = sagemaker_rollout::oncall::Oncall::new(fake.client(), "wire");
    on.change("churn", sagemaker_rollout::oncall::GateChange::UNDO, false)
        .await
        .unwrap();
    until_phase(&api, 2, "RolledBack").await;
    let serving = acct.serving("wire-undo");
    assert_eq!(serving.len(), 1, "{serving:?}");
    assert_eq!(serving[0].package, champion);
    let after = acct.emu.counts();
    let grew = |op: &str| {
        let key = format!("sagemaker:{op}");
        after.get(&key).copied().unwrap_or(0) - before.get(&key).copied().unwrap_or(0)
    };
    assert_eq!(grew("UpdateEndpoint"), 1, "one UpdateEndpoint");
    assert_eq!(
        grew("CreateModel") + grew("CreateEndpointConfig"),
        0,
        "nothing created"
    );
    let st = api.get("churn").await.unwrap().status.unwrap();
    assert!(
        st.history[0].reason.contains("undone"),
        "{:?}",
        st.history[0]
    );
    let (configs, models, _) = acct.owned("wire/churn");
    assert_eq!(
        (configs.len(), models.len()),
        (1, 1),
        "the candidate's are collected"
    );
    acct.emu.assert_clean();
    stop.cancel();
    task.await.unwrap();
}
