//! Controller benchmarks (numbers in docs/benchmarks.md):
//!
//! 1. Memory: the release binary runs `sagemaker-rollout controller` as a standby (another
//!    identity holds the Lease, so it only watches) against the in-memory API server served
//!    over HTTP, with 0, 1,000 and 10,000 ModelDeployments to list and watch; its RSS is read
//!    from /proc once /readyz says the watch cache is filled.
//! 2. CPU: the non-AWS part of a reconcile (plan + status projection + the status patch body
//!    + the change check) timed on every pass of simulated rollouts of every example strategy.
//!
//! ```sh
//! cargo build --release --bin sagemaker-rollout
//! cargo run --release --example controller_bench
//! ```
//!
//! The objects carry what a real API server would send: `managedFields` (kubectl's
//! client-side apply, the controller's finalizer update and status applies) and kubectl's
//! `last-applied-configuration` annotation (`BENCH_HONEST=0` leaves them out).
//! `SAGEMAKER_ROLLOUT_BIN` measures another build; `BENCH_COUNTS=0,10000` picks the sizes and
//! `BENCH_NO_CPU=1` skips the CPU part.

#[path = "../tests/fake_api/mod.rs"]
mod fake_api;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_api::FakeApi;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::plan::{PlanInput, plan};
use sagemaker_rollout::sim::simulate::{SimOptions, simulate, start_time};
use sagemaker_rollout::sim::{Scenario, Simulator, seed};
use serde_json::{Value, json};

const EXAMPLES: [&str; 5] = ["direct", "canary", "linear", "blue-green", "shadow"];

fn manifest(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("deploy/examples/{name}.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// `fieldsV1` of a JSON value, as server-side apply tracks it: `f:<key>` per object member
/// (`.` marking a member with children), `k:` entries keyed per list item.
fn fields_v1(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, child) in m {
                let mut f = fields_v1(child);
                if child.is_object() || child.is_array() {
                    f.as_object_mut().unwrap().insert(".".into(), json!({}));
                }
                out.insert(format!("f:{k}"), f);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = serde_json::Map::new();
            for (i, item) in items.iter().enumerate() {
                out.insert(format!("k:{{\"index\":{i}}}"), fields_v1(item));
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

/// What a real API server holds for an object applied with kubectl's client-side apply and
/// whose status the controller writes: the `last-applied-configuration` annotation (a second
/// copy of the manifest) and `managedFields` for kubectl, the controller's finalizer update
/// and its status applies.
fn as_on_a_cluster(o: &mut Value, status: &Value) {
    let applied = serde_json::to_string(&*o).unwrap();
    o["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": applied});
    let spec_fields = json!({"f:metadata": {"f:annotations": {".": {},
        "f:kubectl.kubernetes.io/last-applied-configuration": {}}}, "f:spec": fields_v1(&o["spec"])});
    let entry = |manager: &str, operation: &str, sub: Option<&str>, fields: Value| {
        let mut e = json!({"manager": manager, "operation": operation,
            "apiVersion": "sagemaker.mlops.dev/v1alpha1", "time": "2026-11-30T09:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": fields});
        if let Some(s) = sub {
            e["subresource"] = json!(s);
        }
        e
    };
    o["metadata"]["managedFields"] = json!([
        entry("kubectl-client-side-apply", "Update", None, spec_fields),
        entry(
            "sagemaker-rollout",
            "Update",
            None,
            json!({"f:metadata": {"f:finalizers": {".": {},
            "v:\"sagemaker.mlops.dev/aws-resources\"": {}}}})
        ),
        entry(
            "sagemaker-rollout",
            "Apply",
            Some("status"),
            json!({"f:status": fields_v1(status)})
        ),
    ]);
}

async fn rss_with(n: usize, status: &Value, bin: &str, honest: bool) -> (u64, u64, f64) {
    let api = FakeApi::new();
    let base = manifest("canary");
    for i in 0..n {
        let mut o = base.clone();
        o["metadata"]["name"] = json!(format!("model-{i:05}"));
        o["metadata"]["namespace"] = json!(format!("team-{}", i % 20));
        o["metadata"]["finalizers"] = json!(["sagemaker.mlops.dev/aws-resources"]);
        o["spec"]["endpointName"] = json!(format!("model-{i:05}"));
        if honest {
            as_on_a_cluster(&mut o, status);
        }
        o["status"] = status.clone();
        api.insert("modeldeployments", o);
    }
    // Another replica holds the lease and keeps renewing it: the measured one stays standby.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "sagemaker-rollout", "namespace": "bench"},
        "spec": {"holderIdentity": "holder", "leaseDurationSeconds": 15}});
    api.insert("leases", lease);
    let renewer = api.clone();
    let renew = tokio::spawn(async move {
        for i in 0u64.. {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
                kube::Api::namespaced(renewer.client(), "bench");
            if let Ok(mut l) = leases.get("sagemaker-rollout").await {
                if let Some(s) = l.spec.as_mut() {
                    s.lease_transitions = Some(i as i32);
                }
                let _ = leases
                    .replace("sagemaker-rollout", &Default::default(), &l)
                    .await;
            }
        }
    });
    let port = api.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: u, user: {{}}}}]\ncontexts: [{{name: c, context: {{cluster: fake, user: u}}}}]\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = listen.local_addr().unwrap().port();
    drop(listen);
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "controller",
            "--listen-address",
            &format!("127.0.0.1:{http_port}"),
            "--lease-namespace",
            "bench",
            "--identity",
            "standby",
        ])
        .envs(image_env())
        .env("KUBECONFIG", &kubeconfig)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run cargo build --release --bin sagemaker-rollout first");
    loop {
        if get(http_port, "/readyz")
            .is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("the controller never became ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let synced = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = proc_kib(child.id(), "VmRSS:");
    let hwm = proc_kib(child.id(), "VmHWM:");
    let metrics = get(http_port, "/metrics").unwrap_or_default();
    assert!(
        metrics.contains("sagemaker_rollout_leader 0"),
        "the measured replica must be a standby"
    );
    let _ = child.kill();
    let _ = child.wait();
    renew.abort();
    (rss, hwm, synced)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Times the non-AWS part of every pass of simulated rollouts.
async fn reconcile_cpu() -> Vec<f64> {
    let mut samples = Vec::new();
    for name in EXAMPLES {
        for champion in [true, false] {
            let text = std::fs::read_to_string(format!("deploy/examples/{name}.yaml")).unwrap();
            let spec = load_valid(name, &text).unwrap().remove(0).1;
            let owner = "bench/model";
            let sim = Simulator::new(start_time(), &Scenario::default());
            seed(&sim, &spec, owner, champion);
            let mut engine = Engine::new(sim.clients(), owner);
            engine.workers = 1;
            let mut previous = None;
            for _ in 0..500 {
                let now = sim.clock.now();
                let observed = engine.observe(&spec, now).await.unwrap();
                let t = Instant::now();
                let p = plan(&PlanInput {
                    spec: &spec,
                    owner,
                    driver: &engine.driver,
                    generation: Some(1),
                    observed: &observed,
                    previous: previous.as_ref(),
                    now,
                });
                let body = serde_json::to_vec(&json!({"status": &p.status})).unwrap();
                let changed = previous.as_ref() != Some(&p.status);
                std::hint::black_box((body, changed));
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                let pass = engine
                    .reconcile(&spec, previous.as_ref(), Some(1), now)
                    .await
                    .unwrap();
                previous = Some(pass.status.clone());
                let Some(wake) = pass.plan.next_pass(now, sagemaker_rollout::plan::POLL) else {
                    break;
                };
                sim.clock.advance_to(wake);
            }
        }
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// The environment the controller image sets (`ENV` lines of the Dockerfile, such as the
/// allocator's settings): the binary is measured as it is shipped.
fn image_env() -> Vec<(String, String)> {
    std::fs::read_to_string("Dockerfile")
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[tokio::main]
async fn main() {
    // `controller_bench serve`: only serve an empty in-memory API (for poking at by hand).
    if std::env::args().nth(1).as_deref() == Some("serve") {
        let port = FakeApi::new().serve().await;
        println!("http://127.0.0.1:{port}");
        std::future::pending::<()>().await;
    }
    let bin = std::env::var("SAGEMAKER_ROLLOUT_BIN")
        .unwrap_or_else(|_| "target/release/sagemaker-rollout".into());
    let spec = load_valid(
        "canary",
        &std::fs::read_to_string("deploy/examples/canary.yaml").unwrap(),
    )
    .unwrap()
    .remove(0)
    .1;
    // A realistic status: the end of a simulated canary rollout (conditions, history, links).
    let done = simulate(&spec, "bench/model", &SimOptions::default())
        .await
        .unwrap();
    let status = serde_json::to_value(done.rest.status).unwrap();
    println!("| ModelDeployments in the store | RSS MiB | peak RSS MiB | start → ready s |");
    println!("|---|---|---|---|");
    // BENCH_HONEST=0: the objects as the earlier benchmark built them (no managedFields, no
    // last-applied annotation), for comparison with its figures.
    let honest = std::env::var("BENCH_HONEST").map_or(true, |v| v != "0");
    let counts: Vec<usize> = std::env::var("BENCH_COUNTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 1_000, 10_000]);
    for n in counts {
        let (rss, hwm, synced) = rss_with(n, &status, &bin, honest).await;
        println!(
            "| {n} | {:.1} | {:.1} | {synced:.2} |",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    if std::env::var_os("BENCH_NO_CPU").is_some() {
        return;
    }
    let samples = reconcile_cpu().await;
    println!(
        "\nreconcile CPU excluding AWS (plan + status projection + patch body), {} passes over {} rollouts: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        samples.len(),
        EXAMPLES.len() * 2,
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or(0.0)
    );
}
