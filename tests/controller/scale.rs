//! A thousand ModelDeployments against an emulated account that throttles above a fixed
//! rate: the controller's request bucket (per account and region, shared by every reconcile)
//! and the SDK's retries get every resource to its end state, none Stalled, and the
//! throttles AWS answered are counted in the metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::api::{Api, ListParams, Patch, PatchParams};
use sagemaker_rollout::api::{ModelDeployment, Phase};
use sagemaker_rollout::aws::{Clients, NoRegion, Settings, clients_from};
use sagemaker_rollout::controller::http::Readiness;
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::controller::{AwsProvider, Config, Deps, run};
use sagemaker_rollout::engine::drive::SystemClock;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::account::{Account, GROUP};
use crate::fake_api::FakeApi;

struct Emulated(Clients);

#[async_trait]
impl AwsProvider for Emulated {
    async fn clients(&self, _: &Settings) -> Result<Clients, NoRegion> {
        Ok(self.0.clone())
    }
}

const RESOURCES: usize = 1000;
/// What the emulated account admits per second (every service together).
const ACCOUNT_RATE: u32 = 200;
/// The controller's bucket: under the account's rate, with a burst.
const BUCKET_RATE: u32 = 150;

fn manifest(i: usize) -> Value {
    json!({
        "apiVersion": "sagemaker.mlops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": format!("md-{i:04}"), "namespace": "scale"},
        "spec": {
            "endpointName": format!("scale-{i:04}"),
            "region": "us-east-1",
            "executionRoleArn": "arn:aws:iam::123456789012:role/sagemaker-exec",
            "candidate": {
                "modelPackageGroup": GROUP,
                "matchTags": {"candidate_run_id": "run-1"},
                "approval": "Approved",
            },
            "serving": {"instanceType": "ml.m5.large", "instanceCount": 1},
            "rollout": {"strategy": "Direct"},
            "deletionPolicy": "Delete",
        }
    })
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_resources_under_a_throttling_account_all_reach_their_end_state() {
    let acct = Account::new().await;
    acct.emu
        .set(json!({"create_seconds": 0.5, "update_seconds": 0.5}));
    acct.package("run-1", 0.90).await;
    acct.emu.faults(json!({"rate_per_second": ACCOUNT_RATE}));
    let fake = FakeApi::new();
    let metrics = Arc::new(Metrics::new());
    let deps = Deps {
        aws: Arc::new(Emulated(clients_from(&acct.config))),
        clock: Arc::new(SystemClock),
        metrics: metrics.clone(),
        ready: Readiness::default(),
    };
    let config = Config {
        listen_address: "127.0.0.1:0".parse().unwrap(),
        identity: Some("scale-test".into()),
        leader_election: false,
        poll_interval: Duration::from_secs(1),
        concurrency: 64,
        aws_requests_per_second: BUCKET_RATE,
        aws_request_burst: 30,
        tenancy: sagemaker_rollout::tenancy::Tenancy::Single,
        cluster_id: Some("test-cluster".into()),
        ..Config::defaults()
    };
    let api: Api<ModelDeployment> = Api::namespaced(fake.client(), "scale");
    let pp = PatchParams::apply("kubectl").force();
    for i in 0..RESOURCES {
        let name = format!("md-{i:04}");
        api.patch(&name, &pp, &Patch::Apply(manifest(i)))
            .await
            .unwrap();
    }
    let stop = CancellationToken::new();
    let (client, s) = (fake.client(), stop.clone());
    let started = Instant::now();
    let task = tokio::spawn(async move { run(client, config, deps, s).await.unwrap() });
    let (done, stalled) = loop {
        let list = api.list(&ListParams::default()).await.unwrap();
        let phase = |md: &ModelDeployment| md.status.as_ref().and_then(|s| s.phase);
        let done = list
            .items
            .iter()
            .filter(|m| phase(m) == Some(Phase::Succeeded))
            .count();
        let stalled: Vec<String> = list
            .items
            .iter()
            .filter(|m| {
                m.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Stalled" && c.status == "True")
                })
            })
            .map(|m| {
                format!(
                    "{}: {:?}",
                    m.metadata.name.clone().unwrap_or_default(),
                    m.status
                )
            })
            .collect();
        if done == RESOURCES || !stalled.is_empty() || started.elapsed() > Duration::from_secs(600)
        {
            break (done, stalled);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let elapsed = started.elapsed();
    let requests = acct.emu.requests();
    let throttled = requests.iter().filter(|r| r["injected"] == true).count();
    let mut by_service = std::collections::BTreeMap::new();
    for r in requests.iter().filter(|r| r["injected"] == true) {
        *by_service
            .entry(format!("{}:{}", r["service"], r["operation"]))
            .or_insert(0) += 1;
    }
    println!("throttled: {by_service:?}");
    let text = metrics.render();
    println!(
        "{RESOURCES} resources: {done} Succeeded in {:.1} s; {} requests ({:.0}/s), {throttled} throttled by the account; metrics: throttles {}, held back by the bucket {}",
        elapsed.as_secs_f64(),
        requests.len(),
        requests.len() as f64 / elapsed.as_secs_f64(),
        metric(&text, "sagemaker_rollout_aws_throttles_total"),
        metric(&text, "sagemaker_rollout_aws_rate_limited_total"),
    );
    assert!(
        stalled.is_empty(),
        "Stalled: {:?}",
        &stalled[..stalled.len().min(3)]
    );
    assert_eq!(done, RESOURCES, "every resource Succeeded");
    assert_eq!(
        acct.emu.state()["sagemaker"]["endpoints"]
            .as_array()
            .map(Vec::len),
        Some(RESOURCES)
    );
    assert!(
        metric(&text, "sagemaker_rollout_aws_rate_limited_total") > 0.0,
        "the bucket held requests back"
    );
    // At least: the counter is per process, and other tests of this binary share it.
    assert!(
        throttled > 0,
        "the account throttled: the bucket is per operation, the SDK's retries come on top"
    );
    assert!(
        metric(&text, "sagemaker_rollout_aws_throttles_total") as usize >= throttled,
        "every throttle the account answered is counted"
    );
    stop.cancel();
    task.await.unwrap();
}
