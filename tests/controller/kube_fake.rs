//! The in-memory Kubernetes API used by the controller tests behaves like the API server
//! for the verbs the controller uses: resourceVersion and generation bookkeeping, status
//! subresource, conflicts, finalizers, watch replay, Leases and Events.

use crate::fake_api;

use fake_api::FakeApi;
use futures::{StreamExt, TryStreamExt};
use http::Method;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Resource, ResourceExt};
use sagemaker_rollout::api::ModelDeployment;
use serde_json::json;

fn manifest(weight: i64) -> serde_json::Value {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let mut v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    v["spec"]["rollout"]["canary"]["steps"][0]["weight"] = json!(weight);
    v
}

fn apply() -> PatchParams {
    PatchParams::apply("test").force()
}

/// The canary example applied as `ml-prod/churn`.
async fn created(fake: &FakeApi) -> (Api<ModelDeployment>, ModelDeployment) {
    let api: Api<ModelDeployment> = Api::namespaced(fake.client(), "ml-prod");
    let a = api
        .patch("churn", &apply(), &Patch::Apply(manifest(10)))
        .await
        .unwrap();
    (api, a)
}

#[tokio::test]
async fn apply_bumps_generation_on_spec_changes_only_and_status_never() {
    let fake = FakeApi::new();
    let (api, a) = created(&fake).await;
    assert_eq!(a.metadata.generation, Some(1));
    let same = api
        .patch("churn", &apply(), &Patch::Apply(manifest(10)))
        .await
        .unwrap();
    assert_eq!(
        same.resource_version(),
        a.resource_version(),
        "a no-op apply writes nothing"
    );
    let b = api
        .patch("churn", &apply(), &Patch::Apply(manifest(20)))
        .await
        .unwrap();
    assert_eq!(b.metadata.generation, Some(2));
    let status = json!({"apiVersion": "sagemaker.mlops.dev/v1alpha1", "kind": "ModelDeployment",
                        "status": {"phase": "Pending", "observedGeneration": 2}});
    let c = api
        .patch_status("churn", &apply(), &Patch::Apply(&status))
        .await
        .unwrap();
    assert_eq!(
        c.metadata.generation,
        Some(2),
        "status writes do not bump generation"
    );
    assert_ne!(c.resource_version(), b.resource_version());
    assert_eq!(
        c.spec.rollout.canary.unwrap().steps[0].weight,
        20,
        "status apply keeps spec"
    );
    // The object's apply ignores status (it is a subresource).
    let d = api
        .patch("churn", &apply(), &Patch::Apply(manifest(20)))
        .await
        .unwrap();
    assert!(d.status.is_some());
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let fake = FakeApi::new();
    let (api, a) = created(&fake).await;
    api.patch("churn", &apply(), &Patch::Apply(manifest(20)))
        .await
        .unwrap();
    let stale = json!({"apiVersion": "sagemaker.mlops.dev/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"resourceVersion": a.resource_version()}, "status": {"phase": "Pending"}});
    let err = api
        .patch_status("churn", &apply(), &Patch::Apply(&stale))
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
    // A failed JSON-patch test is 422.
    let p: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": a.resource_version()},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}]))
    .unwrap();
    let err = api
        .patch("churn", &PatchParams::default(), &Patch::Json::<()>(p))
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 422));
}

#[tokio::test]
async fn delete_waits_for_finalizers_and_watch_replays_every_change() {
    let fake = FakeApi::new();
    let (api, a) = created(&fake).await;
    let add: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/finalizers", "value": ["keep"]}]))
    .unwrap();
    api.patch("churn", &PatchParams::default(), &Patch::Json::<()>(add))
        .await
        .unwrap();
    api.delete("churn", &DeleteParams::default()).await.unwrap();
    let held = api.get("churn").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    assert_eq!(
        held.metadata.generation,
        Some(2),
        "deletion bumps generation"
    );
    let remove: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "keep"},
        {"op": "remove", "path": "/metadata/finalizers/0"}]))
    .unwrap();
    api.patch("churn", &PatchParams::default(), &Patch::Json::<()>(remove))
        .await
        .unwrap();
    assert!(api.get_opt("churn").await.unwrap().is_none());

    // A watch from the first version sees everything after it, in order.
    let rv = a.resource_version().unwrap();
    let lines: Vec<_> = api
        .watch(&kube::api::WatchParams::default().timeout(1), &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|e| match e {
            kube::api::WatchEvent::Added(_) => "ADDED",
            kube::api::WatchEvent::Modified(_) => "MODIFIED",
            kube::api::WatchEvent::Deleted(_) => "DELETED",
            _ => "OTHER",
        })
        .collect();
    assert_eq!(kinds, ["MODIFIED", "MODIFIED", "DELETED"]);
}

#[tokio::test]
async fn watcher_lists_then_streams_live_changes() {
    let fake = FakeApi::new();
    let api: Api<ModelDeployment> = Api::all(fake.client());
    let ns: Api<ModelDeployment> = Api::namespaced(fake.client(), "ml-prod");
    ns.patch("churn", &apply(), &Patch::Apply(manifest(10)))
        .await
        .unwrap();
    let mut events = watcher::watcher(api, watcher::Config::default()).boxed();
    let mut seen = Vec::new();
    while let Some(e) = events.try_next().await.unwrap() {
        match e {
            WatchEvent::InitApply(o) => seen.push(format!("init {}", o.name_any())),
            WatchEvent::InitDone => {
                seen.push("synced".into());
                ns.patch("other", &apply(), &Patch::Apply(manifest(10)))
                    .await
                    .unwrap();
            }
            WatchEvent::Apply(o) => {
                seen.push(format!("apply {}", o.name_any()));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["init churn", "synced", "apply other"]);
}

#[tokio::test]
async fn leases_are_created_once_and_replaced_with_the_current_version_only() {
    let fake = FakeApi::new();
    let api: Api<Lease> = Api::namespaced(fake.client(), "ops");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "l"},
        "spec": {"holderIdentity": "a"}}))
    .unwrap();
    let created = api.create(&PostParams::default(), &lease).await.unwrap();
    let again = api
        .create(&PostParams::default(), &lease)
        .await
        .unwrap_err();
    assert!(matches!(again, kube::Error::Api(s) if s.code == 409));
    let mut mine = created.clone();
    mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
    api.replace("l", &PostParams::default(), &mine)
        .await
        .unwrap();
    // `created` carries the old resourceVersion now.
    let err = api
        .replace("l", &PostParams::default(), &created)
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
    assert_eq!(
        api.get("l")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .as_deref(),
        Some("b")
    );
}

#[tokio::test]
async fn events_are_created_and_merge_patched_and_faults_can_be_injected() {
    let fake = FakeApi::new();
    let api: Api<Event> = Api::namespaced(fake.client(), "ml-prod");
    let e: Event = serde_json::from_value(json!({"metadata": {"name": "e1"}, "reason": "X",
        "eventTime": "2026-01-01T00:00:00.000000Z"}))
    .unwrap();
    api.create(&PostParams::default(), &e).await.unwrap();
    api.patch(
        "e1",
        &PatchParams::default(),
        &Patch::Merge(json!({"series": {"count": 2,
        "lastObservedTime": "2026-01-01T00:00:01.000000Z"}})),
    )
    .await
    .unwrap();
    let got = api.get("e1").await.unwrap();
    assert_eq!(got.series.unwrap().count, 2);
    assert_eq!(got.reason.as_deref(), Some("X"));

    fake.fail_next(Method::GET, "/events/e1", 500);
    assert!(api.get("e1").await.is_err());
    assert!(api.get("e1").await.is_ok(), "a fault fires once");
    assert_eq!(fake.all("events").len(), 1);
    let _ = ModelDeployment::kind(&());
}
