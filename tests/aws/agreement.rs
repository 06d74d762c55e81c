//! The simulator agrees with the emulator: one scenario list, run by the same engine on
//! both (the simulator in virtual time, the emulator through the SDK adapters over HTTP),
//! must make the same mutating calls in the same order and leave the same AWS state. The
//! engine is the same code on both sides, so any difference comes from how the two answer:
//! the simulator modelling a rule differently from the emulator, which follows AWS's
//! service models and documented rules.

use std::collections::BTreeMap;

use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::aws::Clients;
use sagemaker_rollout::aws::registry::NewPackage;
use sagemaker_rollout::aws::s3::S3Uri;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{Clock, DriveOptions, Goal, SystemClock, drive};
use sagemaker_rollout::engine::timeline::is_read;
use sagemaker_rollout::plan::AlarmState;
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, Simulator, artifact};

use crate::account::{Account, GROUP, KPI};

const OWNER: &str = "wire/churn";
const ENDPOINT: &str = "wire-agree";

/// The rollouts compared: each deploys run-1 on an empty account, then rolls out run-2.
const ROLLOUTS: [(&str, &str); 5] = [
    ("direct", "{strategy: Direct}"),
    (
        "canary",
        "{strategy: Canary, canary: {steps: [{weight: 10, bake: 1s}, {weight: 50, bake: 1s}]}}",
    ),
    (
        "linear",
        "{strategy: Linear, linear: {stepWeight: 50, bake: 1s}}",
    ),
    (
        "blue/green",
        "{strategy: BlueGreen, blueGreen: {bake: 1s, terminationWait: 1s, canaryPercent: 50}}",
    ),
    (
        "shadow",
        "{strategy: Shadow, shadow: {samplingPercent: 20, duration: 1s, then: Promote}}",
    ),
];

const AUTOSCALING: &str = "  autoscaling: {min: 2, max: 4, target: {metric: InvocationsPerInstance, value: 70}, scaleInCooldown: 60s, scaleOutCooldown: 60s}\n";

/// What AWS holds at the end, through the adapters' own reads.
#[derive(Debug, PartialEq)]
struct Final {
    config: String,
    variants: Vec<(String, String, String, i32, i64)>,
    configs: Vec<String>,
    models: Vec<String>,
    alarms: Vec<String>,
    scaling: Vec<(String, i32, i32)>,
    marker_keys: Vec<String>,
}

async fn final_state(c: &Clients) -> Final {
    let ep = c
        .endpoints
        .describe_endpoint(ENDPOINT)
        .await
        .unwrap()
        .unwrap();
    let config = c
        .endpoints
        .describe_endpoint_config(&ep.config_name)
        .await
        .unwrap()
        .unwrap();
    let (mut configs, mut models) = c.endpoints.list_owned(ENDPOINT, OWNER).await.unwrap();
    configs.sort();
    models.sort();
    let variants: Vec<String> = config.production.iter().map(|v| v.name.clone()).collect();
    let tags = c.endpoints.endpoint_tags(&ep.arn).await.unwrap();
    Final {
        config: ep.config_name.clone(),
        variants: config
            .production
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    v.model_name.clone(),
                    v.instance_type.clone(),
                    v.instance_count,
                    (v.weight * 100.0).round() as i64,
                )
            })
            .collect(),
        configs,
        models,
        alarms: c
            .alarms
            .list("sagemaker-rollout")
            .await
            .unwrap()
            .into_iter()
            .map(|a| format!("{} {:?}", a.name, a.tags))
            .collect(),
        scaling: c
            .scaling
            .registrations(ENDPOINT, &variants)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.variant, r.min, r.max))
            .collect(),
        marker_keys: tags.into_keys().collect(),
    }
}

/// Artifacts and packages for run-1 and run-2, through the adapters (so both accounts get
/// the same ARNs: version 1 and 2 of the group).
async fn register(c: &Clients) {
    c.registry.ensure_group(GROUP, "agreement").await.unwrap();
    for (run, auc) in [("run-1", 0.90), ("run-2", 0.91)] {
        let url = format!("s3://wire-models/{run}/model.tar.gz");
        c.s3.put(&S3Uri::parse(&url).unwrap(), artifact(run, auc))
            .await
            .unwrap();
        c.registry
            .create_package(&NewPackage {
                group: GROUP.into(),
                description: format!("run {run}"),
                image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/catboost:1".into(),
                model_data_url: url,
                content_types: vec!["text/csv".into()],
                response_types: vec!["application/json".into()],
                approval: "Approved".into(),
                metadata: [("candidate_run_id".to_owned(), run.to_owned())].into(),
                client_token: None,
            })
            .await
            .unwrap();
    }
}

fn spec(acct: &Account, run: &str, rollout: &str) -> ValidSpec {
    let path = acct.manifest("churn", ENDPOINT, run, rollout, AUTOSCALING);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = load_valid(&path.to_string_lossy(), &text)
        .unwrap()
        .remove(0)
        .0;
    ValidSpec::new(&doc.spec).unwrap()
}

/// Both rollouts on one account; the mutating calls in order (operation and target).
async fn both_rollouts(
    c: Clients,
    clock: &dyn Clock,
    options: DriveOptions,
    specs: &[ValidSpec; 2],
) -> Vec<String> {
    let mut calls = Vec::new();
    for spec in specs {
        let engine = Engine::new(c.clone(), OWNER);
        let rest = drive(&engine, Goal::Apply(spec), clock, options, |_| {})
            .await
            .unwrap();
        let phase = rest.status.and_then(|s| s.phase);
        assert_eq!(
            phase,
            Some(sagemaker_rollout::api::Phase::Succeeded),
            "{:?}",
            rest.rejected
        );
        calls.extend(
            engine
                .calls()
                .into_iter()
                .filter(|c| !is_read(&c.operation) && c.operation != "InvokeEndpoint")
                .map(|c| format!("{} {}", c.operation, stable(&c.detail))),
        );
    }
    calls
}

/// A call's target without the clock values progress markers carry.
fn stable(detail: &str) -> String {
    detail
        .split_whitespace()
        .filter(|w| !w.contains("T") || !w.contains(':'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One strategy on both; the number of mutating calls.
async fn agree(name: &str, rollout: &str) -> usize {
    let acct = Account::new().await;
    let specs = [spec(&acct, "run-1", rollout), spec(&acct, "run-2", rollout)];

    let sim = Simulator::new(start_time(), &Scenario::default());
    sim.add_alarm(KPI, AlarmState::Ok);
    register(&sim.clients()).await;
    let on_sim = both_rollouts(sim.clients(), &sim.clock, DriveOptions::default(), &specs).await;
    let sim_final = final_state(&sim.clients()).await;

    let emu = sagemaker_rollout::aws::clients_from(&acct.config);
    register(&emu).await;
    let fast = DriveOptions {
        poll: std::time::Duration::from_millis(100),
        ..DriveOptions::default()
    };
    let on_emu = both_rollouts(emu.clone(), &SystemClock, fast, &specs).await;
    let emu_final = final_state(&emu).await;
    acct.emu.assert_clean();

    assert_eq!(
        on_sim, on_emu,
        "{name}: the same mutating calls in the same order"
    );
    assert_eq!(sim_final, emu_final, "{name}: the same final state");
    on_emu.len()
}

/// All strategies at once (each on its own emulator): the emulator side runs in real time
/// and mostly waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_and_the_emulator_agree_on_every_strategy() {
    let counts =
        futures::future::join_all(ROLLOUTS.iter().map(|(name, rollout)| agree(name, rollout)))
            .await;
    let table: BTreeMap<&str, usize> = ROLLOUTS.iter().map(|(n, _)| *n).zip(counts).collect();
    println!("mutating calls per strategy (both rollouts): {table:?}");
}
