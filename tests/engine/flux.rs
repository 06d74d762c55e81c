//! The Flux health check of `deploy/flux/kustomization.yaml` (CEL `healthCheckExprs`),
//! evaluated with the CEL engine kube ships against status documents of simulated rollouts:
//! a new resource and one mid-rollout are in progress, a finished rollout is current, a
//! rollback and a hold waiting for a human have failed, a pause asked for in Git is current.

use super::example;
use kube::core::cel::cel::{Context, Program, Value as Cel, to_value};
use sagemaker_rollout::api::{ModelDeploymentSpec, ModelDeploymentStatus, RollbackOn, ValidSpec};
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, drive};
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, Simulator, seed};
use serde_json::{Value, json};

const OWNER: &str = "ml-prod/churn";

/// What Flux decides from the three expressions, in its order.
#[derive(Debug, PartialEq)]
enum Health {
    InProgress,
    Failed,
    Current,
}

fn expressions() -> [Program; 3] {
    let text = std::fs::read_to_string("deploy/flux/kustomization.yaml").unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let check = &doc["spec"]["healthCheckExprs"][0];
    assert_eq!(check["kind"], "ModelDeployment");
    ["inProgress", "failed", "current"]
        .map(|k| Program::compile(check[k].as_str().unwrap()).expect("CEL compiles"))
}

fn health(generation: i64, status: &Value) -> Health {
    let mut ctx = Context::default();
    ctx.add_variable(
        "metadata",
        to_value(json!({"generation": generation})).unwrap(),
    )
    .unwrap();
    ctx.add_variable("status", to_value(status).unwrap())
        .unwrap();
    let [in_progress, failed, current] = expressions();
    let yes = |p: &Program| p.execute(&ctx).unwrap() == Cel::Bool(true);
    if yes(&in_progress) {
        Health::InProgress
    } else if yes(&failed) {
        Health::Failed
    } else if yes(&current) {
        Health::Current
    } else {
        Health::InProgress
    }
}

/// Every status a rollout of `spec` published, pass by pass, as the API server holds it
/// (observed at generation 1).
async fn statuses(spec: &ModelDeploymentSpec, scenario: &str) -> Vec<Value> {
    let sim = Simulator::new(start_time(), &Scenario::parse(scenario).unwrap());
    let valid = ValidSpec::new(spec).unwrap();
    seed(&sim, &valid, OWNER, true);
    let engine = Engine::new(sim.clients(), OWNER);
    let mut out = Vec::new();
    drive(
        &engine,
        Goal::Apply(&valid),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Pass { pass, .. } = p {
                let mut st: ModelDeploymentStatus = pass.status.clone();
                st.observed_generation = Some(1);
                out.push(serde_json::to_value(st).unwrap());
            }
        },
    )
    .await
    .unwrap();
    out
}

#[tokio::test]
async fn flux_reads_each_rollout_state_as_kstatus_means_it() {
    // Before the controller has looked: the CRD's default status.
    assert_eq!(
        health(1, &json!({"observedGeneration": -1})),
        Health::InProgress
    );

    let canary = example("canary");
    let done = statuses(&canary, "").await;
    assert!(
        done.iter().any(|s| health(1, s) == Health::InProgress),
        "mid-rollout is in progress"
    );
    let last = done.last().unwrap();
    assert_eq!(last["phase"], "Succeeded");
    assert_eq!(health(1, last), Health::Current);
    assert_eq!(
        health(2, last),
        Health::InProgress,
        "a newer generation not yet seen"
    );

    let alarm = "events: [{at: 12m, alarm: churn-business-kpi, state: ALARM}]";
    let rolled_back = statuses(&canary, alarm).await;
    let last = rolled_back.last().unwrap();
    assert_eq!(last["phase"], "RolledBack");
    assert_eq!(health(1, last), Health::Failed);

    let mut manual = canary.clone();
    manual.analysis.rollback_on = RollbackOn::Manual;
    let held = statuses(&manual, alarm).await;
    let last = held.last().unwrap();
    assert_eq!(last["phase"], "Paused");
    assert_eq!(
        health(1, last),
        Health::Failed,
        "waiting for a human is not healthy"
    );

    let mut paused = canary.clone();
    paused.rollout.paused = true;
    let gated = statuses(&paused, "").await;
    let last = gated.last().unwrap();
    assert_eq!(last["phase"], "Paused");
    assert_eq!(
        health(1, last),
        Health::Current,
        "a pause asked for in Git is the state wanted"
    );
}
