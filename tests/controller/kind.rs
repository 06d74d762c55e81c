//! The controller against a real Kubernetes API server (never in the default run).
//!
//! ```sh
//! kind create cluster --name sr
//! kubectl apply --server-side -f crds/
//! kubectl create namespace ml-prod
//! # AWS: a real account (credentials in the environment), or moto:
//! #   .venv/bin/moto_server -p 5000 &
//! #   export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=test \
//! #          AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
//! #   (register the candidate first: sagemaker-rollout register …)
//! SAGEMAKER_ROLLOUT_SPEC=deploy/examples/direct.yaml \
//!   cargo test --test controller_kind -- --ignored --nocapture
//! ```
//!
//! It runs the same `run` as `sagemaker-rollout controller` (leader election on, a Lease in
//! the manifest's namespace), applies the manifest server-side, waits for Ready=True
//! (`kubectl wait` semantics), checks the finalizer, observedGeneration and Events, then
//! deletes the resource and waits for the finalizer to release it.
//!
//! With moto 5.2.5 the rollout stops at candidate resolution: moto answers ListTags on a
//! model-package ARN with HTTP 500 (../shared/NOTES.md), which the controller reports as
//! `Reconciling` / `RetryingAfterError` with backoff — the failure path of this test.
//! A real account runs it through.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::controller::{Config, Deps, FINALIZER, run};
use tokio_util::sync::CancellationToken;

#[tokio::test]
#[ignore = "needs a Kubernetes cluster (kind) and AWS or moto; see the header"]
async fn create_succeeds_and_delete_releases_on_a_real_cluster() {
    let path = std::env::var("SAGEMAKER_ROLLOUT_SPEC").expect("SAGEMAKER_ROLLOUT_SPEC");
    let text = std::fs::read_to_string(&path).unwrap();
    let md = load_valid(&path, &text).unwrap().remove(0).0;
    let ns = md.namespace().unwrap_or_else(|| "default".into());
    let name = md.name_any();
    let client = kube::Client::try_default().await.unwrap();
    let stop = CancellationToken::new();
    let config = Config {
        lease_namespace: ns.clone(),
        listen_address: "127.0.0.1:0".parse().unwrap(),
        identity: Some("controller-kind-test".into()),
        tenancy: sagemaker_rollout::tenancy::Tenancy::Single,
        cluster_id: Some("test-cluster".into()),
        ..Config::defaults()
    };
    let controller = tokio::spawn(run(
        client.clone(),
        config,
        Deps::production(),
        stop.clone(),
    ));

    let api: Api<ModelDeployment> = Api::namespaced(client, &ns);
    let pp = PatchParams::apply("controller-kind-test").force();
    api.patch(&name, &pp, &Patch::Apply(&md)).await.unwrap();
    let ready = |o: &ModelDeployment| {
        o.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    };
    let mut last = None;
    for _ in 0..720 {
        let o = api.get(&name).await.unwrap();
        if ready(&o) {
            assert!(o.finalizers().iter().any(|f| f == FINALIZER));
            assert_eq!(
                o.status.as_ref().and_then(|s| s.observed_generation),
                o.metadata.generation
            );
            last = Some(o);
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let o = last.expect("Ready=True within an hour");
    println!("{}", serde_json::to_string_pretty(&o.status).unwrap());

    api.delete(&name, &DeleteParams::default()).await.unwrap();
    for _ in 0..360 {
        if api.get_opt(&name).await.unwrap().is_none() {
            stop.cancel();
            controller.await.unwrap().unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    panic!("the finalizer was not released within 30 minutes");
}
