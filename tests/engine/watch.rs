//! Alarms are acted on within one `analysis.interval` while the candidate takes traffic, not
//! at the end of the bake: for random strategies, steps, bakes, intervals and alarm instants,
//! on the simulator in virtual time.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::api::{
    CanarySpec, CanaryStep, DurationString, LinearSpec, ModelDeploymentSpec, ShadowSpec,
    ShadowThen, Strategy as Rollout, ValidSpec,
};
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, drive};
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, Simulator, seed};

const OWNER: &str = "ml-prod/churn";
const KPI: &str = "churn-business-kpi";

fn base() -> ModelDeploymentSpec {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    load_valid("canary.yaml", &text).unwrap().remove(0).0.spec
}

/// A rollout shape: strategy, step weights, bake (minutes), interval (seconds).
#[derive(Clone, Debug)]
struct Shape {
    strategy: Rollout,
    weights: Vec<i32>,
    bake_min: u32,
    interval_s: u32,
}

fn spec(shape: &Shape) -> ValidSpec {
    let mut s = base();
    let bake = DurationString::new(format!("{}m", shape.bake_min));
    s.rollout.strategy = shape.strategy;
    s.rollout.canary = Some(CanarySpec {
        steps: shape
            .weights
            .iter()
            .map(|w| CanaryStep {
                weight: *w,
                bake: Some(bake.clone()),
                pause: false,
            })
            .collect(),
    });
    s.rollout.linear = Some(LinearSpec {
        step_weight: shape.weights[0].min(50),
        bake: bake.clone(),
    });
    s.rollout.shadow = Some(ShadowSpec {
        sampling_percent: 20,
        duration: bake,
        then: ShadowThen::Canary,
    });
    s.analysis.interval = DurationString::new(format!("{}s", shape.interval_s));
    ValidSpec::new(&s).expect("a valid shape")
}

/// Runs the rollout with `KPI` going to ALARM at `alarm` (None: never). Returns the
/// windows in which the candidate took traffic with a bake running (from the passes that
/// set a watch), and the time of the first call that moved traffic after the alarm.
async fn run(
    valid: &ValidSpec,
    alarm: Option<SignedDuration>,
) -> (Vec<(Timestamp, Timestamp)>, Option<Timestamp>) {
    let scenario = match alarm {
        Some(at) => Scenario::parse(&format!(
            "events:\n  - {{at: {}ms, alarm: {KPI}, state: ALARM}}\n",
            at.as_millis()
        ))
        .unwrap(),
        None => Scenario::default(),
    };
    let sim = Simulator::new(start_time(), &scenario);
    seed(&sim, valid, OWNER, true);
    let engine = Engine::new(sim.clients(), OWNER);
    let mut windows = Vec::new();
    let poll = DriveOptions::default().poll;
    drive(
        &engine,
        Goal::Apply(valid),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Pass { at, pass, .. } = p
                && pass.plan.watch.is_some()
                && let Some(due) = pass.plan.next_pass(at, poll)
            {
                windows.push((at, due));
            }
        },
    )
    .await
    .unwrap();
    let first = alarm.and_then(|at| {
        let t = start_time() + at;
        engine
            .calls()
            .into_iter()
            .find(|c| {
                c.at >= t
                    && matches!(
                        c.operation.as_str(),
                        "UpdateEndpointWeightsAndCapacities" | "UpdateEndpoint"
                    )
            })
            .map(|c| c.at)
    });
    (windows, first)
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop_oneof![
            Just(Rollout::Canary),
            Just(Rollout::Linear),
            Just(Rollout::Shadow)
        ],
        prop::collection::btree_set(1i32..99, 1..4),
        1u32..40,
        5u32..120,
    )
        .prop_map(|(strategy, weights, bake_min, interval_s)| Shape {
            strategy,
            weights: weights.into_iter().collect(),
            bake_min,
            interval_s,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn an_alarm_during_a_bake_is_acted_on_within_one_interval(shape in shape(), at in 0.0f64..1.0) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let valid = spec(&shape);
        let (windows, _) = rt.block_on(run(&valid, None));
        prop_assert!(!windows.is_empty(), "the candidate baked with traffic: {shape:?}");
        // An instant inside one of the windows, chosen by `at`.
        let total: i64 = windows.iter().map(|(a, b)| b.duration_since(*a).as_millis() as i64).sum();
        let mut offset = (total as f64 * at) as i64;
        let mut instant = windows[0].0;
        for (a, b) in &windows {
            let len = b.duration_since(*a).as_millis() as i64;
            if offset < len {
                instant = *a + SignedDuration::from_millis(offset);
                break;
            }
            offset -= len;
        }
        let alarm = instant.duration_since(start_time());
        let (_, first) = rt.block_on(run(&valid, Some(alarm)));
        let first = first.expect("a rollback action");
        let reaction = first.duration_since(instant);
        let bound = SignedDuration::from_secs(i64::from(shape.interval_s));
        prop_assert!(
            reaction <= bound,
            "{shape:?}: alarm at {instant}, first rollback call at {first} ({reaction:?} > {bound:?})"
        );
    }
}

/// The example: canary.yaml (step 1 bakes 10 minutes from about 10:00), the KPI
/// alarm at minute 12 — the rollback starts within 15 s instead of at 18:30.
#[tokio::test]
async fn the_canary_example_rolls_back_within_fifteen_seconds_of_the_alarm() {
    let valid = ValidSpec::new(&base()).unwrap();
    let alarm = SignedDuration::from_secs(12 * 60);
    let (_, first) = run(&valid, Some(alarm)).await;
    let reaction = first.unwrap().duration_since(start_time() + alarm);
    assert!(reaction <= SignedDuration::from_secs(15), "{reaction:?}");
}
