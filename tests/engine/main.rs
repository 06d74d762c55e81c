//! The engine on the simulator in virtual time: candidate resolution, every strategy end to
//! end, rollbacks, failures, throttling, crash and restart after every mutating call.

mod copies;
mod flux;
mod holds;
mod picture;
mod requests;
mod resolve;
mod serverless;
mod sim;
mod sources;
mod watch;

use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, Rest, drive};
use sagemaker_rollout::sim::Simulator;

/// The spec of `deploy/examples/<name>.yaml`.
fn example(name: &str) -> sagemaker_rollout::api::ModelDeploymentSpec {
    let path = format!("deploy/examples/{name}.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    sagemaker_rollout::api::document::load_valid(&path, &text)
        .unwrap()
        .remove(0)
        .0
        .spec
}

/// Applies `valid` on `sim` as `owner` to rest; returns where it ended and how many passes
/// were retried (a permanent problem must cost none).
async fn drive_counting_retries(sim: &Simulator, valid: &ValidSpec, owner: &str) -> (Rest, u32) {
    let engine = Engine::new(sim.clients(), owner);
    let mut retries = 0;
    let rest = drive(
        &engine,
        Goal::Apply(valid),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Retry { .. } = p {
                retries += 1;
            }
        },
    )
    .await
    .unwrap();
    (rest, retries)
}

/// A validation's inflate workers (each holding a member of up to 4 MiB) do not grow with the
/// node: 64 cores get 4, one core gets one.
#[test]
fn validation_workers_are_capped_whatever_the_node() {
    use sagemaker_rollout::engine::{MAX_VALIDATION_WORKERS, validation_workers};
    assert_eq!(validation_workers(64), MAX_VALIDATION_WORKERS);
    assert_eq!(validation_workers(4), 4);
    assert_eq!(validation_workers(1), 1);
    assert_eq!(
        validation_workers(0),
        1,
        "a node that says nothing still validates"
    );
}
