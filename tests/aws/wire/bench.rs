//! Request benchmark (not a test): HTTP requests per operation for the second rollout of
//! each strategy, and at rest, from the emulator's request log. Run with
//! `cargo test --test aws request_counts -- --ignored --nocapture`; set
//! `SAGEMAKER_ROLLOUT_BIN` to an older build's binary for "before" figures. The emulator's
//! transitions take 2 s (create, update) and 1 s (weights), the binary polls every second,
//! bakes are 10 s and alarms are read every 5 s, so each figure is comparable across builds.

use std::collections::BTreeMap;

use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::engine::Engine;

use crate::account::Account;

const ROLLOUTS: [(&str, &str); 5] = [
    ("direct", "{strategy: Direct}"),
    (
        "canary 10/50",
        "{strategy: Canary, canary: {steps: [{weight: 10, bake: 10s}, {weight: 50, bake: 10s}]}}",
    ),
    (
        "linear 25",
        "{strategy: Linear, linear: {stepWeight: 25, bake: 10s}}",
    ),
    (
        "blue/green canary 50",
        "{strategy: BlueGreen, blueGreen: {bake: 10s, terminationWait: 5s, canaryPercent: 50}}",
    ),
    (
        "shadow then canary",
        "{strategy: Shadow, shadow: {samplingPercent: 20, duration: 10s, then: Canary}, canary: {steps: [{weight: 50, bake: 10s}]}}",
    ),
];

fn tally(requests: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in requests {
        *out.entry(r["operation"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    out
}

fn line(name: &str, requests: &[serde_json::Value]) {
    let t = tally(requests);
    let mut top: Vec<(&String, &usize)> = t.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    let top: Vec<String> = top
        .iter()
        .take(6)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("| {name} | {} | {} |", requests.len(), top.join(", "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo test --test aws request_counts -- --ignored --nocapture"]
async fn request_counts_per_strategy_and_at_rest() {
    println!(
        "| rollout (second one, from a serving champion) | HTTP requests | largest operations |"
    );
    println!("|---|---|---|");
    // BENCH_ONLY=canary runs the strategies whose name starts so; BENCH_TRACE=1 prints every
    // request of the measured rollout with the resource it names.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    for (name, rollout) in ROLLOUTS
        .iter()
        .filter(|(n, _)| n.starts_with(only.as_str()))
    {
        let acct = Account::new().await;
        acct.emu.set(serde_json::json!({"create_seconds": 2.0, "update_seconds": 2.0,
            "weights_seconds": 1.0, "delete_seconds": 1.0, "rollback_seconds": 1.0, "wait_scale": 0.01}));
        acct.package("run-1", 0.90).await;
        let apply = |run: &str| {
            let file = acct.manifest("churn", "bench", run, rollout, "");
            let out = acct
                .command(&[
                    "apply",
                    "-f",
                    &file.to_string_lossy(),
                    "--wait",
                    "--poll-interval",
                    "1s",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            file
        };
        apply("run-1");
        acct.package("run-2", 0.91).await;
        acct.emu.clear_requests();
        let file = apply("run-2");
        let measured = acct.emu.requests();
        if trace {
            for r in &measured {
                println!(
                    "  {:.2} {} {}",
                    r["time"].as_f64().unwrap_or(0.0),
                    r["operation"],
                    r["target"]
                );
            }
        }
        line(name, &measured);
        if name.starts_with("canary") {
            // At rest: one pass of a fresh process (CLI), and resyncs of a warm engine (the
            // controller's steady state).
            acct.emu.clear_requests();
            let out = acct
                .command(&["apply", "-f", &file.to_string_lossy()])
                .output()
                .unwrap();
            assert!(out.status.success());
            line(
                "at rest: one `apply` pass (fresh process)",
                &acct.emu.requests(),
            );
            if std::env::var_os("SAGEMAKER_ROLLOUT_BIN").is_none() {
                let text = std::fs::read_to_string(&file).unwrap();
                let doc = load_valid("bench", &text).unwrap().remove(0).0;
                let spec = ValidSpec::new(&doc.spec).unwrap();
                let engine = Engine::new(
                    sagemaker_rollout::aws::clients_from(&acct.config),
                    "wire/churn",
                );
                engine
                    .reconcile(&spec, None, None, jiff::Timestamp::now())
                    .await
                    .unwrap();
                acct.emu.clear_requests();
                for _ in 0..10 {
                    engine
                        .reconcile(&spec, None, None, jiff::Timestamp::now())
                        .await
                        .unwrap();
                }
                let r = acct.emu.requests();
                println!(
                    "| at rest: per resync of a warm engine (10 resyncs) | {:.1} | {:?} |",
                    r.len() as f64 / 10.0,
                    tally(&r)
                );
            }
        }
    }
}
