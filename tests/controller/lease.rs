//! Leader election and the HTTP endpoints, in virtual time.

use crate::fake_api;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use fake_api::{FakeApi, FakeBody};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use sagemaker_rollout::controller::http::{Readiness, router};
use sagemaker_rollout::controller::lease::Elector;
use sagemaker_rollout::controller::metrics::Metrics;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The fake API as seen through a network that can be cut (503s) or slow (each reply
/// `delay` late, in virtual time).
#[derive(Clone)]
struct Network {
    api: FakeApi,
    cut: Arc<AtomicBool>,
    delay: Arc<std::sync::Mutex<Duration>>,
}

impl Network {
    fn new(api: &FakeApi) -> Self {
        Self {
            api: api.clone(),
            cut: Arc::default(),
            delay: Arc::default(),
        }
    }

    fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }
}

impl tower::Service<Request<kube::client::Body>> for Network {
    type Response = Response<FakeBody>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        if self.cut.load(Ordering::SeqCst) {
            let r = Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body(Full::new(Bytes::from_static(b"{}")).boxed())
                .unwrap();
            return Box::pin(async move { Ok(r) });
        }
        let mut api = self.api.clone();
        let delay = *self.delay.lock().unwrap();
        Box::pin(async move {
            let answer = api.call(req).await;
            tokio::time::sleep(delay).await;
            answer
        })
    }
}

/// Leader `a` running behind a network whose reply delay the test sets (none at first).
fn leader_behind_a_slow_network() -> (
    sagemaker_rollout::controller::lease::Leadership,
    Arc<std::sync::Mutex<Duration>>,
    CancellationToken,
) {
    let net = Network::new(&FakeApi::new());
    let stop = CancellationToken::new();
    let a = elector(net.client(), "a");
    let lead = a.leadership();
    tokio::spawn(a.run(stop.clone()));
    (lead, net.delay.clone(), stop)
}

fn elector(client: kube::Client, id: &str) -> Elector {
    let api: Api<Lease> = Api::namespaced(client, "ops");
    Elector::new(api, "sagemaker-rollout", id, Duration::from_secs(15))
}

#[tokio::test(start_paused = true)]
async fn a_leader_cut_off_stops_acting_before_a_standby_takes_over() {
    let fake = FakeApi::new();
    let net = Network::new(&fake);
    let (cut, a_client) = (net.cut.clone(), net.client());
    let stop = CancellationToken::new();
    let a = elector(a_client, "a");
    let a_lead = a.leadership();
    tokio::spawn(a.run(stop.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(a_lead.is_held());

    let b = elector(fake.client(), "b");
    let b_lead = b.leadership();
    tokio::spawn(b.run(stop.clone()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(a_lead.is_held() && !b_lead.is_held(), "a renews; b waits");

    cut.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let (mut a_lost, mut b_won) = (None, None);
    while b_won.is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if a_lost.is_none() && !a_lead.is_held() {
            a_lost = Some(start.elapsed());
        }
        if b_lead.is_held() {
            b_won = Some(start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "b never took over"
        );
    }
    let (a_lost, b_won) = (a_lost.unwrap(), b_won.unwrap());
    eprintln!("cut off: a stopped acting after {a_lost:?}, b took over after {b_won:?}");
    assert!(
        a_lost < b_won,
        "a stopped at {a_lost:?}, b started at {b_won:?}"
    );
    assert!(!(a_lead.is_held() && b_lead.is_held()));
    let lease: Lease = Api::namespaced(fake.client(), "ops")
        .get("sagemaker-rollout")
        .await
        .unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_stopping_leader_releases_the_lease_for_an_immediate_takeover() {
    let fake = FakeApi::new();
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let a = elector(fake.client(), "a");
    let a_lead = a.leadership();
    let a_task = tokio::spawn(a.run(stop_a.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = elector(fake.client(), "b");
    let b_lead = b.leadership();
    tokio::spawn(b.run(stop_b.clone()));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(a_lead.is_held() && !b_lead.is_held());
    stop_a.cancel();
    a_task.await.unwrap();
    assert!(!a_lead.is_held());
    let start = Instant::now();
    while !b_lead.is_held() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        start.elapsed() <= Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
    stop_b.cancel();
}

/// A renewal counts from when its request was sent, not from its reply: with each reply
/// taking 1 s (a renewal is a GET and a replace), a leader may act for at most the renew
/// deadline (10 s) less those 2 s after one.
#[tokio::test(start_paused = true)]
async fn a_renewal_counts_from_when_it_was_sent() {
    let (lead, delay, stop) = leader_behind_a_slow_network();
    tokio::time::sleep(Duration::from_secs(1)).await;
    *delay.lock().unwrap() = Duration::from_secs(1);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut most = Duration::ZERO;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(lead.valid_for().expect("a still leads"));
    }
    assert!(
        most <= Duration::from_secs(8) && most > Duration::from_secs(7),
        "left to act right after a renewal: {most:?}"
    );
    stop.cancel();
}

/// A lease request that hangs is given up after the retry interval: the leader stops acting
/// at its deadline as always, and once the API server answers again it leads again within
/// a few seconds — not after the hung request finally returns.
#[tokio::test(start_paused = true)]
async fn a_hung_lease_request_is_given_up_and_retried() {
    let (lead, delay, stop) = leader_behind_a_slow_network();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(lead.is_held());
    *delay.lock().unwrap() = Duration::from_secs(120);
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert!(
        !lead.is_held(),
        "no renewal for the renew deadline: no longer acting"
    );
    tokio::time::sleep(Duration::from_secs(9)).await;
    *delay.lock().unwrap() = Duration::ZERO;
    let back = Instant::now();
    while !lead.is_held() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "still waiting on the hung request"
        );
    }
    stop.cancel();
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn http_endpoints_report_liveness_readiness_and_metrics() {
    let metrics = Arc::new(Metrics::new());
    let ready = Readiness::default();
    let app = router(metrics.clone(), ready.clone());
    assert_eq!(get(&app, "/livez").await.0, StatusCode::OK);
    assert_eq!(
        get(&app, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    ready.set(true);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    metrics.reconcile_started();
    metrics.reconcile_failed("throttling");
    metrics.observe_duration(0.02);
    let (code, text) = get(&app, "/metrics").await;
    assert_eq!(code, StatusCode::OK);
    for line in [
        "sagemaker_rollout_reconciles_total 1",
        r#"sagemaker_rollout_reconcile_failures_total{class="throttling"} 1"#,
        "sagemaker_rollout_reconcile_duration_seconds_count 1",
        "sagemaker_rollout_leader 0",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert_eq!(get(&app, "/nope").await.0, StatusCode::NOT_FOUND);
}
