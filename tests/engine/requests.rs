//! Request budgets, from the simulator's request log (every call through the adapters'
//! traits, as the SDK adapters would send them): while SageMaker transitions the endpoint a
//! poll is one DescribeEndpoint; between the passes of a bake the only request is one
//! DescribeAlarms per `analysis.interval`; at rest a resync is DescribeEndpoint and ListTags.
//! The request benchmark (`tests/aws/wire/bench.rs`) counts the same over HTTP.

use jiff::{SignedDuration, Timestamp};
use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, drive};
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, SimRequest, Simulator, seed};

const OWNER: &str = "ml-prod/churn";

fn example(name: &str) -> ValidSpec {
    let path = format!("deploy/examples/{name}.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let spec = load_valid(&path, &text).unwrap().remove(0).0.spec;
    ValidSpec::new(&spec).unwrap()
}

fn ops(requests: &[&SimRequest]) -> Vec<&'static str> {
    requests.iter().map(|r| r.operation).collect()
}

/// Drives `name` from a serving champion; returns the simulator, the engine and the passes
/// (time, the endpoint status the pass observed).
async fn rollout(name: &str) -> (Simulator, Engine, ValidSpec, Vec<(Timestamp, String)>) {
    let spec = example(name);
    let sim = Simulator::new(start_time(), &Scenario::default());
    seed(&sim, &spec, OWNER, true);
    let engine = Engine::new(sim.clients(), OWNER);
    let mut passes = Vec::new();
    let clock = sim.clock.clone();
    drive(
        &engine,
        Goal::Apply(&spec),
        &clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Pass { at, pass, .. } = p {
                let status = pass
                    .status
                    .endpoint
                    .as_ref()
                    .map(|e| e.status.clone())
                    .unwrap_or_default();
                passes.push((at, status));
            }
        },
    )
    .await
    .unwrap();
    (sim, engine, spec, passes)
}

#[tokio::test]
async fn a_poll_while_sagemaker_transitions_the_endpoint_is_one_describe_endpoint() {
    for name in ["direct", "canary", "linear", "blue-green", "shadow"] {
        let (sim, _, _, passes) = rollout(name).await;
        let log = sim.requests();
        let mut polls = 0;
        for (at, status) in &passes {
            if ["Creating", "Updating", "RollingBack"].contains(&status.as_str()) {
                let here: Vec<&SimRequest> = log.iter().filter(|r| r.at == *at).collect();
                assert_eq!(ops(&here), ["DescribeEndpoint"], "{name}: poll at {at}");
                polls += 1;
            }
        }
        assert!(polls > 0, "{name}: the rollout waited on SageMaker");
    }
}

#[tokio::test]
async fn between_the_passes_of_a_bake_only_the_watched_alarms_are_read_once_per_interval() {
    for name in ["canary", "linear", "shadow"] {
        let (sim, _, spec, passes) = rollout(name).await;
        let pass_times: Vec<Timestamp> = passes.iter().map(|p| p.0).collect();
        let between: Vec<SimRequest> = sim
            .requests()
            .into_iter()
            .filter(|r| !pass_times.contains(&r.at))
            .collect();
        assert!(!between.is_empty(), "{name}: alarms were watched");
        assert!(
            between.iter().all(|r| r.operation == "DescribeAlarms"),
            "{name}: {:?}",
            between.iter().map(|r| r.operation).collect::<Vec<_>>()
        );
        let interval = SignedDuration::try_from(spec.analysis.interval).unwrap();
        for pair in between.windows(2) {
            assert!(
                pair[1].at.duration_since(pair[0].at) >= interval,
                "{name}: two watch reads closer than one interval"
            );
        }
    }
}

#[tokio::test]
async fn a_resync_at_rest_is_describe_endpoint_and_list_tags() {
    for name in ["direct", "canary", "blue-green"] {
        let (sim, engine, spec, _) = rollout(name).await;
        for _ in 0..5 {
            let at = sim.clock.now() + SignedDuration::from_mins(10);
            sim.clock.advance_to(at);
            let pass = engine.reconcile(&spec, None, None, at).await.unwrap();
            assert!(pass.plan.actions.is_empty(), "{name}: at rest");
            let log = sim.requests();
            let here: Vec<&SimRequest> = log.iter().filter(|r| r.at == at).collect();
            assert_eq!(ops(&here), ["DescribeEndpoint", "ListTags"], "{name}");
        }
    }
}
