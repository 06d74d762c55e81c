//! The engine on the simulator in virtual time: candidate resolution, every strategy end to
//! end, rollbacks, failures, throttling, crash and restart after every mutating call.

mod flux;
mod holds;
mod picture;
mod requests;
mod resolve;
mod sim;
mod sources;
mod watch;

use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, Rest, drive};
use sagemaker_rollout::sim::Simulator;

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
