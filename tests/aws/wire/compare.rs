//! `analysis.compare` over the wire: both variants' SageMaker metrics are in the emulator's
//! CloudWatch, published minute after minute by a feeder as SageMaker would; the binary reads
//! them with GetMetricData one value per minute and judges the latency by the sequential
//! test. A candidate three times as slow is rolled back; an equal one passes and is promoted
//! (with `onInconclusive: Hold`, it could not advance without passing). Each waits for the
//! three whole minutes of data a latency verdict needs, in real time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::scenarios::{alone, spawn, two_weighted, wait_until, with_champion};
use crate::account::Account;

/// Publishes, every 5 s until `stop`, 5 requests for each serving variant with a model
/// latency around `latency(is_champion)` microseconds (± 5 %): 60 requests a minute each.
fn feed(
    acct: &Account,
    endpoint: &str,
    champion: &str,
    latency: fn(bool) -> f64,
    stop: &AtomicBool,
) {
    let serving = acct.serving(endpoint);
    while !stop.load(Ordering::Relaxed) {
        for s in &serving {
            let base = latency(s.package == champion);
            let values: Vec<f64> = (0..5)
                .map(|_| base * (0.95 + 0.1 * fastrand::f64()))
                .collect();
            for (metric, values) in [("Invocations", vec![1.0; 5]), ("ModelLatency", values)] {
                acct.emu.control(
                    "POST",
                    "service-metrics",
                    Some(
                        serde_json::json!({"namespace": "AWS/SageMaker", "metric": metric,
                        "dimensions": {"EndpointName": endpoint, "VariantName": s.variant},
                        "values": values}),
                    ),
                );
            }
        }
        for _ in 0..50 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs the candidate against the champion with a latency comparison; returns the exit code
/// of `apply --wait` and the champion's package.
async fn rollout(
    endpoint: &'static str,
    latency: fn(bool) -> f64,
) -> (Account, Option<i32>, String) {
    let acct = Account::new().await;
    let steps = "{strategy: Canary, canary: {steps: [{weight: 10, bake: 1m}]}}";
    let (champion, _) = with_champion(&acct, endpoint, steps, "").await;
    let file = acct.manifest("churn", endpoint, "run-2", steps, "");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "    interval: 5s\n",
        "    interval: 5s\n    onInconclusive: Hold\n    compare: [{metric: ModelLatency, maxRatio: 1.5, minInvocations: 20}]\n",
    );
    std::fs::write(&file, text).unwrap();
    let mut child = spawn(&acct, &file);
    wait_until("the canary step", || two_weighted(&acct, endpoint));
    let stop = AtomicBool::new(false);
    let status = std::thread::scope(|scope| {
        scope.spawn(|| feed(&acct, endpoint, &champion, latency, &stop));
        let status = child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        status
    });
    (acct, status.code(), champion)
}

fn reads(acct: &Account) -> usize {
    (acct.emu.requests().into_iter())
        .filter(|r| r["operation"] == "GetMetricData")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_three_times_as_slow_as_the_champion_is_rolled_back() {
    let (acct, code, champion) =
        rollout(
            "wire-slower",
            |champion| if champion { 100_000.0 } else { 300_000.0 },
        )
        .await;
    assert_eq!(code, Some(1), "RolledBack");
    assert_eq!(alone(&acct, "wire-slower").package, champion);
    assert!(
        reads(&acct) >= 3,
        "the metrics were read with GetMetricData"
    );
    acct.emu.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_as_fast_as_the_champion_passes_and_is_promoted() {
    let (acct, code, champion) = rollout("wire-equal", |_| 100_000.0).await;
    assert_eq!(code, Some(0), "Succeeded");
    assert_ne!(alone(&acct, "wire-equal").package, champion);
    assert!(
        reads(&acct) >= 3,
        "the metrics were read with GetMetricData"
    );
    acct.emu.assert_clean();
}
