//! Every strategy from a champion (and the first deployment, which is always Direct).

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::{Action, NativePolicy};
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

#[test]
fn first_deployment_creates_the_endpoint_directly_whatever_the_strategy() {
    for strategy in [
        Strategy::Direct,
        Strategy::Canary,
        Strategy::Linear,
        Strategy::BlueGreen,
        Strategy::Shadow,
    ] {
        let s = spec(strategy);
        let mut w = World::empty();
        let plans = w.run(&s, 100);
        let kinds: Vec<&str> = plans.iter().flat_map(|p| p.kinds()).collect();
        assert!(kinds.contains(&"CreateEndpoint"), "{strategy:?}: {kinds:?}");
        assert!(
            !kinds.contains(&"UpdateEndpoint"),
            "{strategy:?} must not update a new endpoint: {kinds:?}"
        );
        assert!(!kinds.contains(&"UpdateWeights"), "{strategy:?}: {kinds:?}");
        assert_eq!(serving(&w), vec![candidate_variant()], "{strategy:?}");
        assert_eq!(
            w.status.as_ref().unwrap().phase,
            Some(Phase::Succeeded),
            "{strategy:?}"
        );
        assert_eq!(condition(&w, "Ready").status, "True");
    }
}

#[test]
fn first_deployment_validates_the_artifact_before_creating_anything() {
    let s = spec(Strategy::Canary);
    let mut w = World::empty();
    w.candidate = CandidateLookup::Found(Candidate {
        artifact: ArtifactCheck::Unchecked,
        ..candidate(CANDIDATE_ARN, "run-2")
    });
    let first = w.step(&s);
    assert_eq!(first.kinds(), vec!["ValidateArtifact"]);
    assert_eq!(first.status.phase, Some(Phase::Validating));
    let second = w.step(&s);
    assert!(
        second.kinds().contains(&"CreateEndpoint"),
        "{:?}",
        second.kinds()
    );
}

#[test]
fn canary_adds_the_candidate_at_zero_smoke_tests_then_steps_10_then_50_then_promotes() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    let start = w.now;
    let plans = w.run(&s, 200);
    let kinds: Vec<&str> = plans.iter().flat_map(|p| p.kinds()).collect();
    let smoke = kinds
        .iter()
        .position(|k| *k == "RunSmokeTest")
        .expect("smoke test");
    let first_weights = kinds
        .iter()
        .position(|k| *k == "UpdateWeights")
        .expect("weights");
    assert!(
        smoke < first_weights,
        "the smoke test runs before any traffic moves: {kinds:?}"
    );
    assert_eq!(weights_sent(&plans), vec![10, 50]);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert_eq!(w.stage(), Some(Stage::Done));
    assert_eq!(last_history(&w).outcome, "Succeeded");
    assert!(
        w.now >= start + mins(30),
        "bakes of 10m and 20m must elapse, ended at {}",
        w.now
    );
    assert!(
        w.owned_alarms.is_empty(),
        "rollout alarms are removed at the end: {:?}",
        w.owned_alarms
    );
}

#[test]
fn canary_step_waits_for_its_bake_and_says_when_the_next_step_is_due() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 50);
    assert_eq!(w.markers().since, None, "no bake before 10 % is in effect");
    let start = w.plan(&s, false);
    assert_eq!(
        start.kinds(),
        vec!["TagEndpoint"],
        "the pass that sees 10 % in effect starts the bake clock"
    );
    w.apply_all(&start.actions);
    let plan = w.plan(&s, false);
    assert!(plan.actions.is_empty(), "{:?}", plan.kinds());
    let Next::At(due) = plan.next else {
        panic!("expected a due time, got {:?}", plan.next)
    };
    assert_eq!(due, w.markers().since.unwrap() + mins(10));
    let progress = plan.status.rollout.expect("rollout progress");
    assert_eq!(
        (progress.step, progress.total_steps, progress.weight),
        (1, 2, 10)
    );
    assert_eq!(progress.step_label, "1/2");
    assert_eq!(plan.status.candidate.unwrap().weight, Some(10));
    assert_eq!(plan.status.champion.unwrap().weight, Some(90));
}

#[test]
fn linear_steps_25_50_75_then_promotes() {
    let s = spec(Strategy::Linear);
    let mut w = World::with_champion(&s);
    let plans = w.run(&s, 200);
    assert_eq!(weights_sent(&plans), vec![25, 50, 75]);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn direct_with_a_smoke_test_adds_at_zero_then_replaces_in_one_update() {
    let s = spec(Strategy::Direct);
    let mut w = World::with_champion(&s);
    let plans = w.run(&s, 100);
    let kinds: Vec<&str> = plans.iter().flat_map(|p| p.kinds()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "UpdateEndpoint").count(),
        2,
        "{kinds:?}"
    );
    assert!(weights_sent(&plans).is_empty());
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn direct_without_a_smoke_test_replaces_the_champion_in_one_update() {
    let mut s = spec(Strategy::Direct);
    s.smoke_test = None;
    let mut w = World::with_champion(&s);
    let plans = w.run(&s, 100);
    let kinds: Vec<&str> = plans.iter().flat_map(|p| p.kinds()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "UpdateEndpoint").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn blue_green_hands_sagemaker_a_deployment_config_with_the_watched_alarms() {
    let s = spec(Strategy::BlueGreen);
    let mut w = World::with_champion(&s);
    let plan = w.step(&s);
    let deployment = plan
        .actions
        .iter()
        .find_map(|a| match a {
            Action::UpdateEndpoint { deployment, .. } => deployment.clone(),
            _ => None,
        })
        .expect("native deployment");
    assert_eq!(deployment.bake, std::time::Duration::from_secs(900));
    assert_eq!(
        deployment.policy,
        NativePolicy::BlueGreen {
            termination_wait: std::time::Duration::from_secs(600),
            canary_percent: None,
        }
    );
    assert!(deployment.alarms.contains(&"churn-kpi".to_owned()));
    assert_eq!(
        deployment.alarms.len(),
        2,
        "existing and created alarms: {:?}",
        deployment.alarms
    );
    w.run(&s, 100);
    assert_eq!(
        serving(&w),
        vec![champion_variant()],
        "SageMaker's blue/green deployment keeps the variant's name"
    );
    assert_eq!(serving_packages(&w), vec![CANDIDATE_ARN.to_owned()]);
    assert_eq!(last_history(&w).outcome, "Succeeded");
}

#[test]
fn blue_green_auto_rollback_by_sagemaker_is_reported_as_rolled_back() {
    let s = spec(Strategy::BlueGreen);
    let mut w = World::with_champion(&s);
    w.fail_next_update = Some("Deployment rolled back".into());
    let first = w.step(&s);
    assert!(
        first.kinds().contains(&"UpdateEndpoint"),
        "{:?}",
        first.kinds()
    );
    // The alarm SageMaker watched fires during the bake: SageMaker rolls back.
    w.set_alarm("churn-kpi", AlarmState::Alarm);
    w.run(&s, 100);
    assert_eq!(serving_packages(&w), vec![CHAMPION_ARN.to_owned()]);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::RolledBack));
    // Both fleets had the same variant name: the views go by package.
    let champion = st.champion.clone().unwrap();
    assert_eq!(
        (champion.model_package_arn.as_deref(), champion.weight),
        (Some(CHAMPION_ARN), Some(100))
    );
    assert_eq!(st.candidate.clone().unwrap().weight, Some(0));
    assert_eq!(last_history(&w).outcome, "RolledBack");
    assert_eq!(condition(&w, "Stalled").status, "True");
}

#[test]
fn shadow_mirrors_for_its_duration_then_runs_the_canary_steps() {
    let s = spec(Strategy::Shadow);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Shadow, 0, 20);
    assert_eq!(w.markers().since, None);
    w.step(&s);
    let ep = w.endpoint.clone().unwrap();
    assert_eq!(ep.shadow_variants.len(), 1);
    assert!(
        (ep.shadow_variants[0].current_weight - 0.5).abs() < 1e-9,
        "50 % sampling"
    );
    let shadow_start = w.markers().since.unwrap();
    let plans = until_stage(&mut w, &s, Stage::Added, 0, 50);
    assert!(
        w.now >= shadow_start + mins(60),
        "shadow lasts its duration"
    );
    assert!(plans.iter().all(|p| p.status.phase != Some(Phase::Failed)));
    let rest = w.run(&s, 200);
    assert_eq!(weights_sent(&rest), vec![10, 50]);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert!(w.endpoint.as_ref().unwrap().shadow_variants.is_empty());
}

#[test]
fn shadow_then_promote_skips_the_steps() {
    let mut s = spec(Strategy::Shadow);
    s.rollout.shadow.as_mut().unwrap().then = ShadowThen::Promote;
    let mut w = World::with_champion(&s);
    let plans = w.run(&s, 200);
    assert!(weights_sent(&plans).is_empty());
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn shadow_then_hold_stays_in_shadow_until_promote_is_set() {
    let mut s = spec(Strategy::Shadow);
    s.rollout.shadow.as_mut().unwrap().then = ShadowThen::Hold;
    let mut w = World::with_champion(&s);
    w.run(&s, 200);
    assert_eq!(w.stage(), Some(Stage::Shadow));
    assert!(
        w.now >= w.markers().since.unwrap() + mins(60),
        "the shadow period is over"
    );
    let held = w.plan(&s, false);
    assert!(
        held.status
            .rollout
            .unwrap()
            .message
            .contains("holding in shadow")
    );
    w.request(Gate::Promote);
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn blue_green_and_shadow_refuse_an_endpoint_with_two_production_variants() {
    for strategy in [Strategy::BlueGreen, Strategy::Shadow] {
        let s = spec(strategy);
        let mut w = World::with_champion(&s);
        let ep = w.endpoint.as_mut().unwrap();
        let mut second = ep.variants[0].clone();
        second.name = "v-legacy".into();
        ep.variants.push(second);
        let p = w.step(&s);
        assert!(
            !p.kinds().contains(&"UpdateEndpoint"),
            "{strategy:?}: {:?}",
            p.kinds()
        );
        let ready = condition(&w, "Ready");
        assert_eq!(ready.reason, "EndpointIncompatible", "{strategy:?}");
        assert!(ready.message.contains("2 production"), "{}", ready.message);
    }
}
