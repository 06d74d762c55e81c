//! Multi-tenant mode over the wire: the controller with real SDK clients, each resource's
//! session assumed through STS with its tenant as session tags and SourceIdentity, against
//! the emulator, which refuses cross-tenant requests as AWS refuses them under the tenant
//! role's policy (tag-based access). What one tenant's rollout does is allowed; what another
//! tenant's session tries on it is refused by "AWS", whatever our own checks would say.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::api::{Api, Patch, PatchParams};
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::aws::{Clients, ErrorClass, NoRegion, Settings, assume, clients_from};
use sagemaker_rollout::controller::http::Readiness;
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::controller::{AwsProvider, Config, Deps, run};
use sagemaker_rollout::engine::drive::SystemClock;
use sagemaker_rollout::tenancy::{Tenancy, Tenant};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::account::Account;
use crate::fake_api::FakeApi;

/// The emulated account, each client set assuming its role as the controller would.
struct Sessions(aws_config::SdkConfig);

#[async_trait]
impl AwsProvider for Sessions {
    async fn clients(&self, settings: &Settings) -> Result<Clients, NoRegion> {
        Ok(clients_from(&assume(self.0.clone(), settings).await))
    }
}

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-rollout-tenant/wire";
const CANARY: &str =
    "{strategy: Canary, canary: {steps: [{weight: 10, bake: 2s}, {weight: 50, bake: 2s}]}}";

fn policy(namespace: &str) -> Value {
    json!({
        "apiVersion": "sagemaker.mlops.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": namespace},
        "spec": {
            "namespaces": {"names": [namespace]},
            "roles": [{"roleArn": ROLE}],
            "endpointNames": ["wire-*"],
            "executionRoles": ["arn:aws:iam::123456789012:role/sagemaker-exec"],
            "modelPackageGroups": ["*"],
            "s3": {"write": [format!("s3://wire-audit/{namespace}/")]},
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_rollout_passes_aws_tag_checks_and_another_tenants_session_is_refused() {
    let acct = Account::new().await;
    // The artifact under the tenant's prefix: its session reads nothing else.
    acct.package("wire/run-1", 0.90).await;
    let fake = FakeApi::new();
    fake.insert("deploymentpolicies", policy("wire"));
    let deps = Deps {
        aws: Arc::new(Sessions(acct.config.clone())),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(Metrics::new()),
        ready: Readiness::default(),
    };
    let config = Config {
        listen_address: "127.0.0.1:0".parse().unwrap(),
        identity: Some("tenants-wire".into()),
        leader_election: false,
        poll_interval: Duration::from_millis(200),
        tenancy: Tenancy::Multi,
        cluster_id: Some("wire-cluster".into()),
        ..Config::defaults()
    };
    let stop = CancellationToken::new();
    let (client, s) = (fake.client(), stop.clone());
    let task = tokio::spawn(async move { run(client, config, deps, s).await.unwrap() });
    let text = std::fs::read_to_string(acct.manifest("churn", "wire-ctl", "run-1", CANARY, ""))
        .unwrap()
        .replace("candidate_run_id: run-1", "candidate_run_id: wire/run-1")
        // Audit records under the tenant's own prefix, as its policy grants.
        .replace(
            "s3://wire-audit/deployments",
            "s3://wire-audit/wire/deployments",
        );
    let manifest: Value = serde_saphyr::from_str(&text).unwrap();
    let api: Api<ModelDeployment> = Api::namespaced(fake.client(), "wire");
    api.patch(
        "churn",
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(manifest),
    )
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let st = api.get("churn").await.unwrap().status.unwrap_or_default();
        if st.phase.map(|p| format!("{p:?}")) == Some("Succeeded".into()) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "{st:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    task.await.unwrap();

    // Every call went through the tenant's session: the emulator saw the session tags and
    // the source identity AssumeRole sent.
    let sessions = acct.emu.control("GET", "sessions", None);
    let text = sessions.to_string();
    for needle in [
        "sr-controller@wire.churn",
        "sagemaker-rollout:namespace",
        "wire-cluster",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    let endpoint = acct.endpoint("wire-ctl").unwrap();
    assert_eq!(endpoint["status"], "InService");

    // Another tenant's session (its policy mistakenly granted wire-*, or our code was
    // bypassed): AWS refuses it every change to the first tenant's endpoint.
    let intruder = Settings {
        region: Some("us-east-1".into()),
        assume_role_arn: Some(ROLE.into()),
        session: Some("sr-controller@intruder.churn".into()),
        tenant: Some(Tenant {
            namespace: "intruder".into(),
            name: "churn".into(),
            cluster: "wire-cluster".into(),
        }),
    };
    let theirs = clients_from(&assume(acct.config.clone(), &intruder).await);
    let refused = theirs
        .endpoints
        .delete_endpoint("wire-ctl")
        .await
        .unwrap_err();
    assert_eq!(refused.class, ErrorClass::Terminal, "{refused:?}");
    assert!(refused.is_access_denied(), "{refused}");
    assert_eq!(
        acct.endpoint("wire-ctl").unwrap()["status"],
        "InService",
        "the first tenant's endpoint is untouched"
    );
    acct.emu.assert_clean();
}
