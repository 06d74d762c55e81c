//! Property tests of the planner over random rollouts. `World::step` itself asserts, on
//! every plan, that the planner is deterministic, that sent weights sum to 100 %, that the
//! candidate's share never rises while a watched alarm fires or the endpoint transitions, and
//! that no update reaches a transitioning endpoint (the model rejects it as SageMaker does).

use crate::support;

use proptest::prelude::*;
use sagemaker_rollout::api::Strategy as Rollout;
use sagemaker_rollout::api::{
    CanarySpec, CanaryStep, DurationString, ModelDeploymentSpec, Phase, RollbackOn,
};
use sagemaker_rollout::plan::actions::Action;
use sagemaker_rollout::plan::desired::variant_name;
use sagemaker_rollout::plan::*;
use support::*;

#[derive(Clone, Debug)]
struct Scenario {
    strategy: Rollout,
    from_champion: bool,
    smoke_passes: bool,
    fail_update: bool,
    manual: bool,
    /// Reconcile index at which the kpi alarm goes to ALARM.
    alarm_at: Option<usize>,
    /// Reconcile index at which `paused` flips on, and how many reconciles it stays on.
    pause: Option<(usize, usize)>,
    /// Reconcile index at which `promote` is set.
    promote_at: Option<usize>,
}

fn strategy() -> impl Strategy<Value = Rollout> {
    prop_oneof![
        Just(Rollout::Direct),
        Just(Rollout::Canary),
        Just(Rollout::Linear),
        Just(Rollout::BlueGreen),
        Just(Rollout::Shadow),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        strategy(),
        any::<bool>(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
        any::<bool>(),
        prop::option::weighted(0.4, 0usize..40),
        prop::option::weighted(0.3, (0usize..30, 1usize..10)),
        prop::option::weighted(0.2, 0usize..30),
    )
        .prop_map(
            |(
                strategy,
                from_champion,
                smoke_passes,
                fail_update,
                manual,
                alarm_at,
                pause,
                promote_at,
            )| Scenario {
                strategy,
                from_champion,
                smoke_passes,
                fail_update,
                manual,
                alarm_at,
                pause,
                promote_at,
            },
        )
}

fn base_spec(scn: &Scenario) -> ModelDeploymentSpec {
    let mut s = spec(scn.strategy);
    if scn.manual {
        s.analysis.rollback_on = RollbackOn::Manual;
    }
    s
}

fn world(scn: &Scenario, s: &ModelDeploymentSpec) -> World {
    let mut w = if scn.from_champion {
        World::with_champion(s)
    } else {
        World::empty()
    };
    w.smoke_passes = scn.smoke_passes;
    if scn.fail_update {
        w.fail_next_update =
            Some("The primary container did not pass the ping health check".into());
    }
    w
}

/// Spec as a human would have edited it by reconcile `i`.
fn spec_at(scn: &Scenario, base: &ModelDeploymentSpec, i: usize) -> ModelDeploymentSpec {
    let mut s = base.clone();
    if let Some((from, len)) = scn.pause {
        s.rollout.paused = i >= from && i < from + len;
    }
    s
}

/// On-call promotes the rollout in flight from reconcile `promote_at` on (each pass, as a
/// person re-running the command would; a fresh process keeps the resource's requests).
fn promote_by(scn: &Scenario, w: &mut World, i: usize) {
    let shown = w.status.as_ref().is_some_and(|s| s.rollout_id.is_some());
    if scn.promote_at.is_some_and(|at| i >= at) && shown {
        w.request(sagemaker_rollout::api::Gate::Promote);
    }
}

const LIMIT: usize = 400;

/// Runs a scenario; `crash` = (reconcile index, actions performed before the process dies).
fn run(scn: &Scenario, crash: Option<(usize, usize)>) -> (World, bool) {
    let base = base_spec(scn);
    let mut w = world(scn, &base);
    for i in 0..LIMIT {
        let s = spec_at(scn, &base, i);
        promote_by(scn, &mut w, i);
        if scn.alarm_at == Some(i) {
            w.set_alarm("churn-kpi", AlarmState::Alarm);
        }
        if let Some((k, j)) = crash
            && k == i
        {
            let plan = w.plan(&s, false);
            let j = j.min(plan.actions.len());
            w.apply_all(&plan.actions[..j]);
            w.status = None; // a fresh process knows only AWS
            continue;
        }
        let plan = w.step(&s);
        let paused_spec = s.rollout.paused;
        let manual_hold = plan.status.phase == Some(Phase::Paused);
        if plan.actions.is_empty() && plan.next == Next::Idle && w.pending.is_none() && !paused_spec
        {
            return (w, manual_hold);
        }
    }
    (w, true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Every random rollout ends at rest in a terminal phase, with invariants held throughout
    /// (checked inside `World::step`).
    #[test]
    fn every_rollout_reaches_a_terminal_phase_with_invariants_held(scn in scenario()) {
        let (w, held) = run(&scn, None);
        let phase = w.status.as_ref().and_then(|s| s.phase);
        if !held {
            prop_assert!(
                matches!(phase, Some(Phase::Succeeded | Phase::RolledBack | Phase::Failed)),
                "ended in {:?}: {:?}", phase, w.status.as_ref().map(|s| &s.conditions)
            );
        }
        let ep = w.endpoint.as_ref().expect("an endpoint exists after a rollout");
        let total: i32 = ep.percent_weights().values().sum();
        prop_assert!((99..=101).contains(&total), "traffic must sum to 100 %, got {}", total);
    }

    /// A rolled-back candidate never takes traffic again while the spec is unchanged.
    #[test]
    fn rolled_back_candidate_is_never_redeployed_without_a_spec_change(scn in scenario()) {
        let (mut w, _) = run(&scn, None);
        if w.stage() != Some(Stage::RolledBack) {
            return Ok(());
        }
        let s = spec_at(&scn, &base_spec(&scn), LIMIT);
        let variant = variant_name(&valid(&s), CANDIDATE_ARN);
        w.set_alarm("churn-kpi", AlarmState::Ok);
        for _ in 0..20 {
            let plan = w.step(&s);
            for a in &plan.actions {
                let touches = match a {
                    Action::CreateEndpointConfig(c) => c.production.iter().chain(&c.shadow).any(|v| v.name == variant),
                    Action::UpdateWeights { weights } => weights.get(&variant).is_some_and(|x| *x > 0.0),
                    _ => false,
                };
                prop_assert!(!touches, "rolled-back candidate redeployed by {:?}", a.kind());
            }
        }
    }

    /// Crashing after any prefix of any plan's actions, then planning from AWS state alone,
    /// reaches the same end state as the uninterrupted run.
    #[test]
    fn replanning_after_a_crash_at_any_point_reaches_the_same_end_state(
        mut scn in scenario(),
        k in 0usize..60,
        j in 0usize..8,
    ) {
        // Timed alarms and human toggles are pinned to reconcile counts, which a crash
        // shifts; they are covered by the other properties.
        scn.alarm_at = None;
        scn.pause = None;
        scn.promote_at = None;
        let (clean, _) = run(&scn, None);
        let (crashed, _) = run(&scn, Some((k, j)));
        prop_assert_eq!(end_state(&clean), end_state(&crashed));
        prop_assert_eq!(clean.configs.keys().collect::<Vec<_>>(), crashed.configs.keys().collect::<Vec<_>>(),
            "no duplicate or orphaned endpoint config");
        prop_assert_eq!(clean.models.keys().collect::<Vec<_>>(), crashed.models.keys().collect::<Vec<_>>());
    }

    /// The Rust validator and the CRD's CEL rule agree on canary step weights.
    #[test]
    fn validator_and_cel_agree_on_canary_weights(weights in prop::collection::vec(1i32..=99, 1..6)) {
        let canary = CanarySpec {
            steps: weights.iter().map(|w| CanaryStep { weight: *w, bake: Some(DurationString::new("1m")), pause: false }).collect(),
        };
        let increasing = weights.windows(2).all(|p| p[0] < p[1]);
        let cel_ok = CanarySpec::validate_cel(&serde_json::to_value(&canary).unwrap(), None).is_ok();
        let mut s = spec(Rollout::Canary);
        s.rollout.canary = Some(canary);
        let rust_ok = sagemaker_rollout::api::ValidSpec::new(&s).is_ok();
        prop_assert_eq!(cel_ok, increasing);
        prop_assert_eq!(rust_ok, increasing);
    }
}
