//! `simulate`: a rollout of a spec on the SageMaker simulator in virtual time, from an empty
//! account or from a serving champion, with an optional scenario of alarms, failures and
//! throttling. Returns the timeline and the final status.

use jiff::Timestamp;

use super::{Scenario, Simulator, seed};
use crate::api::ValidSpec;
use crate::engine::drive::Progress;
use crate::engine::drive::{DriveOptions, Goal, Rest, drive_with};
use crate::engine::picture::Sample;
use crate::engine::timeline::render;
use crate::engine::{Engine, EngineError};

/// Options of a simulation.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Start from an empty account instead of a serving champion.
    pub empty: bool,
    pub scenario: Scenario,
    /// List reads in the timeline too.
    pub verbose: bool,
}

/// What a simulation produced.
pub struct Simulation {
    pub rest: Rest,
    pub timeline: Vec<String>,
    /// One per pass, for [`crate::engine::picture`].
    pub samples: Vec<Sample>,
    pub simulator: Simulator,
    pub engine: Engine,
}

/// Virtual start time: fixed, so timelines are reproducible.
pub fn start_time() -> Timestamp {
    "2026-01-05T09:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Runs `spec` on a fresh simulator as `owner`.
pub async fn simulate(
    spec: &ValidSpec,
    owner: &str,
    options: &SimOptions,
) -> Result<Simulation, EngineError> {
    let start = start_time();
    let sim = Simulator::new(start, &options.scenario);
    seed(&sim, spec, owner, !options.empty);
    let mut engine = Engine::new(sim.clients(), owner);
    // Deterministic output: one inflate worker whatever the machine.
    engine.workers = 1;
    let mut timeline = Vec::new();
    let mut samples = Vec::new();
    let mut last_head = String::new();
    let clock = sim.clock.clone();
    let mut requests: Vec<_> = (options.scenario.requests.iter())
        .filter_map(|r| Some((start + r.at.parse().ok()?, r.gate()?)))
        .collect();
    requests.sort_by_key(|(t, _)| *t);
    let rest = drive_with(
        &engine,
        Goal::Apply(spec),
        &clock,
        DriveOptions::default(),
        &requests,
        |p| {
            if let Progress::Pass { at, pass, .. } = &p {
                samples.push(Sample::of(*at, &pass.status));
            }
            let lines = render(start, &p, options.verbose);
            // Collapse repeated waiting lines: same state, nothing done.
            let head = lines[0]
                .split_once(' ')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default();
            if lines.len() > 1 || head != last_head {
                timeline.extend(lines);
            }
            last_head = head;
        },
    )
    .await?;
    Ok(Simulation {
        rest,
        timeline,
        samples,
        simulator: sim,
        engine,
    })
}
