//! The request fence below every SDK client (`aws::sdk`), over HTTP against the emulator:
//! each HTTP request a call sends takes a token of the account's bucket — the SDK's own
//! retries included, which a per-call token would miss — and a mutating request is not sent
//! once the leadership gate has closed.

use std::sync::Arc;

use serde_json::json;

use sagemaker_rollout::aws::Settings;
use sagemaker_rollout::aws::clients_from;
use sagemaker_rollout::aws::limit::{Limiter, RequestRate};
use sagemaker_rollout::aws::sdk::{Fence, fenced};

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
        gate: Some(Arc::new(|| false)),
    };
    let refused = fenced(closed, clients.endpoints.delete_model("m-gated")).await;
    assert!(refused.is_err(), "the call fails: {refused:?}");
    assert_eq!(sent(&emu, "DeleteModel"), 0, "the request never left");
    let open = Fence {
        bucket: None,
        gate: Some(Arc::new(|| true)),
    };
    let _ = fenced(open, clients.endpoints.delete_model("m-open")).await;
    assert_eq!(
        sent(&emu, "DeleteModel"),
        1,
        "with the gate open it is sent"
    );
}
