//! The request fence below every SDK client (`aws::sdk`), over HTTP against the emulator:
//! each HTTP request a call sends takes a token of the account's bucket — the SDK's own
//! retries included, which a per-call token would miss — and a mutating request is not sent
//! once the leadership gate has closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use sagemaker_rollout::aws::Settings;
use sagemaker_rollout::aws::clients_from;
use sagemaker_rollout::aws::limit::{Limiter, RequestRate};
use sagemaker_rollout::aws::sdk::{Fence, MUTATION_BUDGET, fenced};

use crate::emulator::Emulator;

fn sent(emu: &Emulator, operation: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["operation"] == operation)
        .count()
}

#[tokio::test]
async fn every_http_request_of_a_call_takes_a_token_sdk_retries_included() {
    let emu = Emulator::start();
    let clients = clients_from(&emu.config().await);
    emu.faults(json!({"throttle_percent": 50, "seed": 11, "operations": ["DescribeEndpoint"]}));
    let limiter = Limiter::new(RequestRate::new(1000, 1000));
    let bucket = limiter.bucket(&Settings::default(), Some("us-east-1"));
    let calls = 6;
    for i in 0..calls {
        let fence = Fence {
            bucket: Some(bucket.clone()),
            quota: None,
            gate: None,
        };
        // Answered (None: no such endpoint) or, after the SDK's last attempt, throttled.
        let _ = fenced(fence, clients.endpoints.describe_endpoint(&format!("e{i}"))).await;
    }
    let requests = sent(&emu, "DescribeEndpoint");
    assert!(
        requests > calls,
        "the throttles made the SDK retry ({requests} requests for {calls} calls)"
    );
    assert_eq!(
        bucket.taken(),
        requests as u64,
        "one token per HTTP request, retries included"
    );
    // Outside a fence nothing is taken (tests, one-off CLI commands).
    let _ = clients.endpoints.describe_endpoint("outside").await;
    assert_eq!(bucket.taken(), requests as u64);
}

#[tokio::test]
async fn a_closed_gate_keeps_a_mutating_request_from_leaving() {
    let emu = Emulator::start();
    let clients = clients_from(&emu.config().await);
    let closed = Fence {
        bucket: None,
        quota: None,
        gate: Some(Arc::new(|| None)),
    };
    let refused = fenced(closed, clients.endpoints.delete_model("m-gated")).await;
    assert!(refused.is_err(), "the call fails: {refused:?}");
    assert_eq!(sent(&emu, "DeleteModel"), 0, "the request never left");
    let open = Fence {
        bucket: None,
        quota: None,
        gate: Some(Arc::new(|| Some(Duration::from_secs(10)))),
    };
    let _ = fenced(open, clients.endpoints.delete_model("m-open")).await;
    assert_eq!(
        sent(&emu, "DeleteModel"),
        1,
        "with the gate open it is sent"
    );
}

/// Leadership about to lapse is no leadership: a mutating request leaves only with at least
/// `MUTATION_BUDGET` of it left.
#[tokio::test]
async fn a_mutating_request_leaves_only_with_enough_leadership_left() {
    let emu = Emulator::start();
    let clients = clients_from(&emu.config().await);
    let lapsing = Fence {
        bucket: None,
        quota: None,
        gate: Some(Arc::new(|| Some(MUTATION_BUDGET / 2))),
    };
    let refused = fenced(lapsing, clients.endpoints.delete_model("m-lapsing")).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(sent(&emu, "DeleteModel"), 0, "the request never left");
}

/// The gate is asked after the request's token is had: a leadership lost while the caller
/// waited on the account's bucket keeps the request back.
#[tokio::test]
async fn leadership_lost_while_waiting_for_a_token_keeps_the_request_back() {
    let emu = Emulator::start();
    let clients = clients_from(&emu.config().await);
    let limiter = Limiter::new(RequestRate::new(2, 1));
    let bucket = limiter.bucket(&Settings::default(), Some("us-east-1"));
    bucket.take(1).await; // empty: the next token comes in half a second
    let leads = Arc::new(AtomicBool::new(true));
    let gate = leads.clone();
    let fence = Fence {
        bucket: Some(bucket.clone()),
        quota: None,
        gate: Some(Arc::new(move || {
            gate.load(Ordering::SeqCst)
                .then_some(Duration::from_secs(10))
        })),
    };
    let lose = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        leads.store(false, Ordering::SeqCst);
    });
    let refused = fenced(fence, clients.endpoints.delete_model("m-waited")).await;
    lose.await.unwrap();
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(sent(&emu, "DeleteModel"), 0, "the request never left");
}

/// A mutating request is not waited on past the leadership it left with: after that
/// another leader may act, so its answer could no longer be trusted to come first.
#[tokio::test]
async fn a_mutating_request_is_given_up_when_the_leadership_it_left_with_runs_out() {
    let emu = Emulator::start();
    let clients = clients_from(&emu.config().await);
    emu.faults(json!({"latency_ms": 4000, "operations": ["DeleteModel"]}));
    let fence = Fence {
        bucket: None,
        quota: None,
        gate: Some(Arc::new(|| {
            Some(MUTATION_BUDGET + Duration::from_millis(500))
        })),
    };
    let started = Instant::now();
    let given_up = fenced(fence, clients.endpoints.delete_model("m-slow")).await;
    assert!(given_up.is_err(), "{given_up:?}");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_millis(3800),
        "given up at the end of the leadership, not after the 4 s answer: {waited:?}"
    );
}
