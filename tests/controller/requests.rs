//! The exact Kubernetes requests of single reconciles, scripted with tower-test: which verb,
//! path, content type and body, in which order — the contract with the API server (and
//! with RBAC) that the in-memory fake checks only as a whole.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use kube::runtime::controller::Action;
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::aws::Settings;
use sagemaker_rollout::aws::{Clients, NoRegion};
use sagemaker_rollout::controller::http::Readiness;
use sagemaker_rollout::controller::lease::Leadership;
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::controller::{
    AwsProvider, Config, Context, ControllerError, Deps, FINALIZER, error_policy, reconcile,
};
use sagemaker_rollout::engine::drive::SystemClock;
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, Simulator, seed};
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type Mock = Handle<Request<kube::client::Body>, Response<Full<Bytes>>>;

struct SimAws(Simulator);

#[async_trait]
impl AwsProvider for SimAws {
    async fn clients(&self, _: &Settings) -> Result<Clients, NoRegion> {
        Ok(self.0.clients())
    }
}

fn object(finalizer: bool, tweak: impl FnOnce(&mut Value)) -> Value {
    let text = std::fs::read_to_string("deploy/examples/direct.yaml").unwrap();
    let mut v: Value = serde_saphyr::from_str(&text).unwrap();
    v["metadata"]["name"] = json!("churn");
    v["metadata"]["namespace"] = json!("ml-prod");
    v["metadata"]["resourceVersion"] = json!("7");
    v["metadata"]["generation"] = json!(3);
    v["metadata"]["uid"] = json!("u-1");
    if finalizer {
        v["metadata"]["finalizers"] = json!([FINALIZER]);
    }
    tweak(&mut v);
    v
}

/// An environment with no AWS region anywhere: every set of clients is refused.
struct Regionless;

#[async_trait]
impl AwsProvider for Regionless {
    async fn clients(&self, _: &Settings) -> Result<Clients, NoRegion> {
        Err(NoRegion)
    }
}

fn setup(md: &Value) -> (Arc<Context>, Mock, Simulator) {
    setup_with(md, |sim| Arc::new(SimAws(sim)))
}

fn setup_with(
    md: &Value,
    aws: impl FnOnce(Simulator) -> Arc<dyn AwsProvider>,
) -> (Arc<Context>, Mock, Simulator) {
    let (service, handle) = mock::pair::<Request<kube::client::Body>, Response<Full<Bytes>>>();
    let client = kube::Client::new(service, "default");
    let sim = Simulator::new(start_time(), &Scenario::default());
    let raw: sagemaker_rollout::api::ModelDeploymentSpec =
        serde_json::from_value(md["spec"].clone()).unwrap();
    if let Ok(spec) = sagemaker_rollout::api::ValidSpec::new(&raw) {
        seed(&sim, &spec, "ml-prod/churn", true);
    }
    let deps = Deps {
        aws: aws(sim.clone()),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(Metrics::new()),
        ready: Readiness::default(),
    };
    let config = Config {
        identity: Some("test".into()),
        tenancy: sagemaker_rollout::tenancy::Tenancy::Single,
        cluster_id: Some("test-cluster".into()),
        ..Config::defaults()
    };
    let ctx = Context::new(client, config, deps, Leadership::always());
    (Arc::new(ctx), handle, sim)
}

/// The next request: method, path?query, content type, JSON body.
async fn next(
    handle: &mut Mock,
) -> (
    String,
    String,
    Value,
    mock::SendResponse<Response<Full<Bytes>>>,
) {
    let (req, send) = handle.next_request().await.expect("a request");
    let line = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (line, ct, body, send)
}

fn ok(body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(200)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn conflict() -> Response<Full<Bytes>> {
    let s = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "reason": "Conflict", "code": 409, "message": "stale"});
    Response::builder()
        .status(409)
        .body(Full::new(Bytes::from(s.to_string())))
        .unwrap()
}

/// kube's `Action` keeps its delay private; its Debug form is `Action { requeue_after: Some(1.5s) }`.
fn requeue_after(a: &Action) -> Option<Duration> {
    let text = format!("{a:?}");
    let inner = text.split("Some(").nth(1)?.split(')').next()?;
    humantime::parse_duration(inner).ok().or_else(|| {
        let secs: f64 = inner.strip_suffix('s')?.parse().ok()?;
        Some(Duration::from_secs_f64(secs))
    })
}

const BASE: &str = "/apis/sagemaker.mlops.dev/v1alpha1/namespaces/ml-prod/modeldeployments/churn";

#[tokio::test]
async fn a_new_resource_gets_the_finalizer_first_and_nothing_else() {
    let md = object(false, |_| {});
    let (ctx, mut api, sim) = setup(&md);
    let typed: ModelDeployment = serde_json::from_value(md.clone()).unwrap();
    let task = tokio::spawn(reconcile(Arc::new(typed), ctx));

    let (line, ct, body, send) = next(&mut api).await;
    assert_eq!(line, format!("PATCH {BASE}?"));
    assert_eq!(ct, "application/json-patch+json");
    assert_eq!(
        body,
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
               {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    );
    send.send_response(ok(&md));
    let action = task.await.unwrap().unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(
        sim.mutations(),
        0,
        "no AWS call before the finalizer is in place"
    );
}

#[tokio::test]
async fn an_invalid_spec_publishes_a_warning_then_a_stalled_status() {
    let md = object(true, |v| v["spec"]["serving"]["instanceCount"] = json!(0));
    let (ctx, mut api, sim) = setup(&md);
    let typed: ModelDeployment = serde_json::from_value(md.clone()).unwrap();
    let task = tokio::spawn(reconcile(Arc::new(typed), ctx.clone()));

    let (line, _, body, send) = next(&mut api).await;
    assert_eq!(
        line,
        "POST /apis/events.k8s.io/v1/namespaces/ml-prod/events?"
    );
    assert_eq!(body["reason"], "InvalidSpec");
    assert_eq!(body["type"], "Warning");
    assert_eq!(body["regarding"]["name"], "churn");
    assert!(
        body["note"]
            .as_str()
            .unwrap()
            .contains("spec.serving.instanceCount")
    );
    send.send_response(ok(&body));

    let (line, ct, body, send) = next(&mut api).await;
    assert_eq!(
        line,
        format!("PATCH {BASE}/status?&force=true&fieldManager=sagemaker-rollout")
    );
    assert_eq!(ct, "application/apply-patch+yaml");
    assert_eq!(
        body["metadata"]["resourceVersion"], "7",
        "apply is conditional on the version read"
    );
    assert_eq!(body["status"]["observedGeneration"], 3);
    let stalled = body["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Stalled")
        .unwrap()
        .clone();
    assert_eq!(
        (stalled["status"].clone(), stalled["reason"].clone()),
        (json!("True"), json!("InvalidSpec"))
    );
    let mut updated = md.clone();
    updated["status"] = body["status"].clone();
    send.send_response(ok(&updated));

    let action = task.await.unwrap().unwrap();
    // Waits for a spec change; only the (jittered) resync comes back.
    let after = requeue_after(&action).unwrap();
    assert!(after >= Duration::from_secs(540), "{action:?}");
    assert_eq!(sim.mutations(), 0);
    assert!(!ctx.deps.metrics.render().contains("aws_calls_total{"));
}

#[tokio::test]
async fn no_region_anywhere_stalls_the_resource_on_spec_region_without_an_aws_call() {
    let md = object(true, |v| {
        v["spec"].as_object_mut().unwrap().remove("region");
    });
    let (ctx, mut api, sim) = setup_with(&md, |_| Arc::new(Regionless));
    let typed: ModelDeployment = serde_json::from_value(md.clone()).unwrap();
    let task = tokio::spawn(reconcile(Arc::new(typed), ctx.clone()));

    let (_, _, body, send) = next(&mut api).await;
    assert_eq!(body["reason"], "InvalidSpec");
    let note = body["note"].as_str().unwrap().to_owned();
    assert!(
        note.contains("spec.region") && note.contains("AWS_REGION"),
        "{note}"
    );
    send.send_response(ok(&body));
    let (line, _, body, send) = next(&mut api).await;
    assert!(line.contains("/status"), "{line}");
    let stalled = body["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Stalled")
        .unwrap()
        .clone();
    assert_eq!(stalled["reason"], "InvalidSpec");
    let mut updated = md.clone();
    updated["status"] = body["status"].clone();
    send.send_response(ok(&updated));
    task.await.unwrap().unwrap();
    assert_eq!(sim.mutations(), 0);
}

#[tokio::test]
async fn a_conflicting_status_write_is_retried_soon() {
    let md = object(true, |_| {});
    let (ctx, mut api, _sim) = setup(&md);
    let typed = Arc::new(serde_json::from_value::<ModelDeployment>(md.clone()).unwrap());
    let task = tokio::spawn(reconcile(typed.clone(), ctx.clone()));
    loop {
        let (line, _, body, send) = next(&mut api).await;
        if line.contains("/events") {
            send.send_response(ok(&body));
            continue;
        }
        assert!(line.starts_with(&format!("PATCH {BASE}/status")), "{line}");
        send.send_response(conflict());
        break;
    }
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, ControllerError::Conflict));
    let action = error_policy(typed, &err, ctx);
    let after = requeue_after(&action).unwrap();
    assert!(after <= Duration::from_millis(1500), "{action:?}");
}
