//! Serverless variants on the simulator: the candidate is created with ServerlessConfig, rolled
//! out by SageMaker's blue/green all at once and rolled back by it on an alarm; its provisioned
//! concurrency is what autoscaling scales; a serverless candidate never replaces an
//! instance-backed endpoint (SageMaker does not convert one), and an instance-backed candidate
//! may replace a serverless one.

use super::example;
use sagemaker_rollout::api::{ModelDeploymentSpec, Phase, ValidSpec};
use sagemaker_rollout::aws::scaling::Scaling;
use sagemaker_rollout::sim::Scenario;
use sagemaker_rollout::sim::simulate::{SimOptions, Simulation, simulate};

const OWNER: &str = "ml-prod/churn-serverless";

async fn run(spec: &ModelDeploymentSpec, scenario: &str) -> Simulation {
    let options = SimOptions {
        empty: false,
        scenario: Scenario::parse(scenario).unwrap(),
        verbose: false,
    };
    simulate(&ValidSpec::new(spec).unwrap(), OWNER, &options)
        .await
        .unwrap()
}

/// Applies `spec` on `sim` and expects it refused with EndpointIncompatible before anything
/// changes; returns the refusal's message.
async fn refused_unchanged(sim: &sagemaker_rollout::sim::Simulator, spec: &ValidSpec) -> String {
    let before = sim.inventory();
    let engine = sagemaker_rollout::engine::Engine::new(sim.clients(), OWNER);
    let rest = sagemaker_rollout::engine::drive::drive(
        &engine,
        sagemaker_rollout::engine::drive::Goal::Apply(spec),
        &sim.clock,
        Default::default(),
        |_| {},
    )
    .await
    .unwrap();
    let ready = rest.status.unwrap().conditions.remove(0);
    assert_eq!(ready.reason, "EndpointIncompatible", "{}", ready.message);
    assert_eq!(sim.inventory(), before, "nothing changed");
    ready.message
}

#[tokio::test]
async fn a_serverless_candidate_replaces_its_champion_and_scales_its_provisioned_concurrency() {
    let spec = example("serverless");
    let s = run(&spec, "").await;
    let st = s.rest.status.as_ref().unwrap();
    assert_eq!(
        st.phase,
        Some(Phase::Succeeded),
        "{}",
        s.timeline.join("\n")
    );
    let updates: Vec<&String> = s
        .timeline
        .iter()
        .filter(|l| l.contains("UpdateEndpoint "))
        .collect();
    assert_eq!(updates.len(), 1, "{}", s.timeline.join("\n"));
    assert!(updates[0].contains("(blue/green)"), "{}", updates[0]);
    let variant = st.candidate.as_ref().unwrap().variant.clone().unwrap();
    let regs = s
        .simulator
        .registrations(&spec.endpoint_name, std::slice::from_ref(&variant))
        .await
        .unwrap();
    let policy = regs[0].policy.as_ref().unwrap();
    assert_eq!(
        (regs[0].min, regs[0].max, policy.metric.as_str()),
        (1, 10, "SageMakerVariantProvisionedConcurrencyUtilization")
    );
}

#[tokio::test]
async fn sagemaker_rolls_a_serverless_blue_green_back_on_an_alarm() {
    let spec = example("serverless");
    let s = run(
        &spec,
        "events: [{at: 10m, alarm: churn-serverless-error-budget, state: ALARM}]",
    )
    .await;
    let st = s.rest.status.as_ref().unwrap();
    assert_eq!(
        st.phase,
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    assert!(
        st.history[0].reason.contains("blue/green"),
        "{}",
        st.history[0].reason
    );
}

#[tokio::test]
async fn a_failed_smoke_test_after_a_direct_serverless_switch_rolls_back() {
    let mut spec = example("serverless");
    spec.rollout.strategy = sagemaker_rollout::api::Strategy::Direct;
    spec.rollout.blue_green = None;
    let s = run(&spec, "smoke: {status: 500, body: \"boom\"}").await;
    let st = s.rest.status.as_ref().unwrap();
    assert_eq!(
        st.phase,
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    let adds = s
        .timeline
        .iter()
        .filter(|l| l.contains("CreateEndpointConfig"))
        .count();
    assert!(adds >= 1);
    assert!(
        !s.timeline.iter().any(|l| l.contains("weight 0")),
        "never beside the champion: {}",
        s.timeline.join("\n")
    );
}

#[tokio::test]
async fn a_serverless_candidate_never_replaces_an_instance_backed_endpoint() {
    // The champion as the instance-backed canary example serves it.
    let mut spec = example("serverless");
    let instances = example("canary");
    spec.serving = instances.serving.clone();
    spec.autoscaling = None;
    let sim = sagemaker_rollout::sim::Simulator::new(
        sagemaker_rollout::sim::simulate::start_time(),
        &Scenario::default(),
    );
    let on_instances = ValidSpec::new(&spec).unwrap();
    sagemaker_rollout::sim::seed(&sim, &on_instances, OWNER, true);
    let serverless = ValidSpec::new(&example("serverless")).unwrap();
    sagemaker_rollout::sim::seed(&sim, &serverless, OWNER, false);
    let message = refused_unchanged(&sim, &serverless).await;
    assert!(message.contains("serverless-endpoints.html"), "{message}");
}

/// The other way: an instance-backed candidate on a serverless endpoint may replace it
/// (Direct, BlueGreen), but never beside it (Canary): refused before anything changes.
#[tokio::test]
async fn a_serverless_endpoint_takes_no_second_variant_whatever_the_candidate_runs_on() {
    let sim = sagemaker_rollout::sim::Simulator::new(
        sagemaker_rollout::sim::simulate::start_time(),
        &Scenario::default(),
    );
    let serverless = ValidSpec::new(&example("serverless")).unwrap();
    sagemaker_rollout::sim::seed(&sim, &serverless, OWNER, true);
    let mut canary = example("canary");
    canary.endpoint_name = serverless.endpoint_name.clone();
    canary.candidate = serverless.raw().candidate.clone();
    canary.analysis.alarms = serverless.raw().analysis.alarms.clone();
    canary.data_capture = None;
    let canary = ValidSpec::new(&canary).unwrap();
    sagemaker_rollout::sim::seed(&sim, &canary, OWNER, false);
    let message = refused_unchanged(&sim, &canary).await;
    assert!(message.contains("is serverless"), "{message}");
}
