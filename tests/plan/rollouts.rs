//! Planner scenarios, one per situation, driven through the instant-effect `World`.
//! Each test name says what must happen.

use crate::support;

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::Action;
use sagemaker_rollout::plan::*;
use support::*;

fn weights_sent(plans: &[Plan]) -> Vec<i64> {
    plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter_map(|a| match a {
            Action::UpdateWeights { weights } => {
                let cand = weights
                    .iter()
                    .find(|(k, _)| k.starts_with("v-") && **k != champion_variant());
                cand.map(|(_, w)| w.round() as i64)
            }
            _ => None,
        })
        .collect()
}

fn champion_variant() -> String {
    let s = spec(Strategy::Canary);
    desired::variant_name(&valid(&s), CHAMPION_ARN)
}

fn candidate_variant() -> String {
    let s = spec(Strategy::Canary);
    desired::variant_name(&valid(&s), CANDIDATE_ARN)
}

fn serving(w: &World) -> Vec<String> {
    w.endpoint
        .as_ref()
        .map(|e| e.variants.iter().map(|v| v.name.clone()).collect())
        .unwrap_or_default()
}

fn last_history(w: &World) -> HistoryEntry {
    w.status
        .as_ref()
        .and_then(|s| s.history.first().cloned())
        .expect("a history entry")
}

fn condition(w: &World, t: &str) -> Condition {
    w.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == t).cloned())
        .expect("condition")
}

/// Steps until the rollout reaches `stage` (or panics after `limit`).
fn until_stage(
    w: &mut World,
    s: &ModelDeploymentSpec,
    stage: Stage,
    step: u32,
    limit: usize,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for _ in 0..limit {
        plans.push(w.step(s));
        let m = w.markers();
        if m.stage == Some(stage) && (stage != Stage::Step || m.step == step) && w.pending.is_none()
        {
            return plans;
        }
    }
    panic!("never reached {stage:?} {step}; markers {:?}", w.markers());
}

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
        deployment.termination_wait,
        std::time::Duration::from_secs(600)
    );
    assert!(deployment.alarms.contains(&"churn-kpi".to_owned()));
    assert_eq!(
        deployment.alarms.len(),
        2,
        "existing and created alarms: {:?}",
        deployment.alarms
    );
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert_eq!(last_history(&w).outcome, "Succeeded");
}

#[test]
fn blue_green_auto_rollback_by_sagemaker_is_reported_as_rolled_back() {
    let s = spec(Strategy::BlueGreen);
    let mut w = World::with_champion(&s);
    w.fail_next_update = Some("Deployment rolled back: alarm churn-kpi in ALARM".into());
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::RolledBack));
    assert_eq!(last_history(&w).outcome, "RolledBack");
    assert_eq!(condition(&w, "Stalled").status, "True");
}

#[test]
fn shadow_mirrors_for_its_duration_then_runs_the_canary_steps() {
    let s = spec(Strategy::Shadow);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Shadow, 0, 20);
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
    s.rollout.promote = true;
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn alarm_during_second_step_rolls_back_to_champion() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 2, 100);
    w.set_alarm("churn-kpi", AlarmState::Alarm);
    let plan = w.step(&s);
    assert_eq!(
        plan.kinds(),
        vec!["TagEndpoint", "UpdateWeights"],
        "champion back to 100 % in place first"
    );
    assert_eq!(plan.status.phase, Some(Phase::RollingBack));
    assert!(
        plan.events
            .iter()
            .any(|e| e.reason == "AlarmFired" && e.warning)
    );
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::RolledBack));
    let h = last_history(&w);
    assert_eq!(
        (h.outcome.as_str(), h.candidate_run_id.as_deref()),
        ("RolledBack", Some("run-2"))
    );
    assert!(h.reason.contains("churn-kpi"), "{}", h.reason);
    assert_eq!(condition(&w, "Stalled").reason, "RolledBack");
}

#[test]
fn owned_alarm_firing_at_step_one_rolls_back_too() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let owned = w
        .owned_alarms
        .iter()
        .next()
        .cloned()
        .expect("an owned alarm exists during the rollout");
    assert!(
        owned.contains(&candidate_variant()),
        "owned alarms are scoped to the candidate variant: {owned}"
    );
    w.set_alarm(&owned, AlarmState::Alarm);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert_eq!(w.status.unwrap().phase, Some(Phase::RolledBack));
}

#[test]
fn rolled_back_candidate_is_not_retried_until_the_spec_changes() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.set_alarm("churn-kpi", AlarmState::Alarm);
    w.run(&s, 100);
    w.set_alarm("churn-kpi", AlarmState::Ok);
    for _ in 0..5 {
        let p = w.step(&s);
        assert!(!p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
        assert_eq!(p.status.phase, Some(Phase::RolledBack));
    }
    let mut changed = s.clone();
    changed.rollout.canary.as_mut().unwrap().steps[0].weight = 5;
    w.run(&changed, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn manual_rollback_policy_pauses_instead_of_rolling_back() {
    let mut s = spec(Strategy::Canary);
    s.analysis.rollback_on = RollbackOn::Manual;
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.set_alarm("churn-kpi", AlarmState::Alarm);
    let p = w.step(&s);
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert!(!p.kinds().contains(&"UpdateWeights"));
    w.now += mins(60);
    let p = w.step(&s);
    assert_eq!(
        p.status.phase,
        Some(Phase::Paused),
        "bakes do not advance while an alarm holds the rollout"
    );
    assert_eq!(w.markers().step, 1);
    s.rollout.abort = true;
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
}

#[test]
fn paused_holds_the_current_step_and_resuming_bakes_it_again() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    s.rollout.paused = true;
    let p = w.step(&s);
    assert_eq!(p.status.phase, Some(Phase::Paused));
    assert_eq!(condition(&w, "Reconciling").status, "False");
    w.now += mins(120);
    let p = w.step(&s);
    assert!(p.actions.is_empty());
    assert_eq!(w.markers().step, 1);
    s.rollout.paused = false;
    let resumed_at = w.now;
    let p = w.step(&s);
    assert!(p.events.iter().any(|e| e.reason == "Resumed"));
    assert_eq!(w.markers().since, Some(resumed_at));
    assert_eq!(
        p.next,
        Next::At(resumed_at + mins(10)),
        "the step bakes its full 10 minutes again"
    );
}

#[test]
fn paused_before_start_does_not_touch_the_endpoint() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    s.rollout.paused = true;
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::Paused));
}

#[test]
fn promote_fast_forwards_the_candidate_to_100_percent() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    s.rollout.promote = true;
    let p = w.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    w.run(&s, 50);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn abort_rolls_back_now_and_stays_on_the_champion() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 2, 100);
    s.rollout.abort = true;
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert!(last_history(&w).reason.contains("abort"));
    let p = w.step(&s);
    assert!(p.actions.is_empty());
}

#[test]
fn smoke_test_failure_rolls_back_before_any_traffic_moves() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.smoke_passes = false;
    let plans = w.run(&s, 100);
    assert!(
        weights_sent(&plans).iter().all(|w| *w == 0),
        "no traffic to a candidate that failed its smoke test"
    );
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert_eq!(last_history(&w).reason, "smoke test failed");
}

#[test]
fn smoke_test_failure_on_a_new_endpoint_fails_with_nothing_to_roll_back_to() {
    let s = spec(Strategy::Canary);
    let mut w = World::empty();
    w.smoke_passes = false;
    w.run(&s, 100);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::Failed));
    assert!(condition(&w, "Stalled").message.contains("no champion"));
}

#[test]
fn silent_rollback_is_reported_as_a_failed_rollout() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.fail_next_update = Some(
        "The primary container for production variant v-x did not pass the ping health check"
            .into(),
    );
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::Failed));
    let msg = condition(&w, "Stalled").message;
    assert!(msg.contains("ping health check"), "{msg}");
    assert!(
        msg.contains("inference.py"),
        "carries an actionable hint: {msg}"
    );
    assert_eq!(last_history(&w).outcome, "Failed");
    let p = w.step(&s);
    assert!(
        !p.kinds().contains(&"UpdateEndpoint"),
        "not retried without a spec change"
    );
}

#[test]
fn transitional_endpoint_statuses_only_wait() {
    let s = spec(Strategy::Canary);
    for status in [
        EndpointStatus::Creating,
        EndpointStatus::Updating,
        EndpointStatus::SystemUpdating,
        EndpointStatus::RollingBack,
        EndpointStatus::Deleting,
    ] {
        let mut w = World::with_champion(&s);
        w.endpoint.as_mut().unwrap().status = status;
        w.set_alarm("churn-kpi", AlarmState::Alarm);
        let p = w.plan(&s, false);
        assert!(p.actions.is_empty(), "{status:?}: {:?}", p.kinds());
        assert_eq!(p.next, Next::Poll, "{status:?}");
        assert_eq!(p.status.endpoint.unwrap().status, status.as_str());
    }
}

#[test]
fn endpoint_stuck_creating_points_at_role_image_and_s3() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    let ep = w.endpoint.as_mut().unwrap();
    ep.status = EndpointStatus::Creating;
    ep.last_modified = w.now - mins(60);
    let p = w.plan(&s, false);
    let msg = p.status.conditions[0].message.clone();
    assert!(
        msg.contains("execution role") && msg.contains("image URI") && msg.contains("S3"),
        "{msg}"
    );
}

#[test]
fn failed_first_deployment_is_stalled_and_a_spec_change_recreates_the_endpoint() {
    let s = spec(Strategy::Canary);
    let mut w = World::empty();
    w.step(&s);
    let ep = w.endpoint.as_mut().unwrap();
    ep.status = EndpointStatus::Failed;
    ep.failure_reason = Some("Image ecr/churn:1 does not exist".into());
    w.pending = None;
    let p = w.step(&s);
    assert_eq!(p.status.phase, Some(Phase::Failed));
    assert!(p.kinds().contains(&"RecordHistory"));
    let stalled = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap()
        .clone();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "EndpointFailed")
    );
    assert!(stalled.message.contains("image URI"), "{}", stalled.message);
    let again = w.step(&s);
    assert!(
        again.actions.is_empty(),
        "stalled until the spec changes: {:?}",
        again.kinds()
    );
    let mut changed = s.clone();
    changed.serving.instance_count = 3;
    let p = w.step(&changed);
    assert_eq!(p.kinds(), vec!["DeleteEndpoint"]);
    w.run(&changed, 100);
    assert_eq!(w.status.unwrap().phase, Some(Phase::Succeeded));
}

#[test]
fn candidate_already_serving_needs_nothing() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.run(&s, 200);
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    assert_eq!(p.next, Next::Idle);
    assert_eq!(p.status.phase, Some(Phase::Succeeded));
    assert_eq!(p.status.candidate.unwrap().weight, Some(100));
}

#[test]
fn autoscaling_is_registered_on_the_serving_variant_and_deregistered_before_updates() {
    let mut s = spec(Strategy::Canary);
    s.autoscaling = Some(AutoscalingSpec {
        min: 1,
        max: 4,
        target: ScalingTarget {
            metric: ScalingMetric::InvocationsPerInstance,
            value: 70.0,
        },
        scale_in_cooldown: DurationString::new("300s"),
        scale_out_cooldown: DurationString::new("60s"),
    });
    let mut w = World::with_champion(&s);
    assert_eq!(
        w.scaling.len(),
        1,
        "the champion fixture registered scaling"
    );
    let p = w.step(&s);
    let kinds = p.kinds();
    let dereg = kinds
        .iter()
        .position(|k| *k == "DeregisterScaling")
        .expect("deregister");
    let update = kinds
        .iter()
        .position(|k| *k == "UpdateEndpoint")
        .expect("update");
    assert!(dereg < update, "{kinds:?}");
    w.run(&s, 200);
    assert_eq!(w.scaling.len(), 1);
    assert_eq!(w.scaling[0].variant, candidate_variant());
    s.autoscaling = None;
    w.run(&s, 10);
    assert!(
        w.scaling.is_empty(),
        "scaling removed from the spec is deregistered"
    );
}

#[test]
fn new_candidate_mid_rollout_supersedes_the_in_flight_one() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let mut newer = s.clone();
    newer.candidate.match_tags = Some(
        [("candidate_run_id".to_owned(), "run-3".to_owned())]
            .into_iter()
            .collect(),
    );
    w.candidate = CandidateLookup::Found(candidate(NEWER_ARN, "run-3"));
    let plans = w.run(&newer, 300);
    let outcomes: Vec<String> = w
        .status
        .as_ref()
        .unwrap()
        .history
        .iter()
        .map(|h| h.outcome.clone())
        .collect();
    assert_eq!(
        outcomes[..2],
        ["Succeeded".to_owned(), "Superseded".to_owned()],
        "{outcomes:?}"
    );
    let newer_variant = desired::variant_name(&valid(&newer), NEWER_ARN);
    assert_eq!(serving(&w), vec![newer_variant]);
    assert!(
        plans
            .iter()
            .any(|p| p.events.iter().any(|e| e.reason == "Superseded"))
    );
}

#[test]
fn registry_change_with_the_same_selector_keeps_the_pinned_candidate() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let tags = w.endpoint.as_ref().unwrap().tags.clone();
    assert_eq!(
        pinned_candidate(&valid(&s), &tags).as_deref(),
        Some(CANDIDATE_ARN)
    );
    // Even if an engine handed the planner a newer match, the pin holds.
    w.candidate = CandidateLookup::Found(candidate(NEWER_ARN, "run-2"));
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    let mut other = s.clone();
    other.candidate.match_tags = Some(
        [("candidate_run_id".to_owned(), "run-9".to_owned())]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        pinned_candidate(&valid(&other), &tags),
        None,
        "a new matchTags value unpins"
    );
}

#[test]
fn editing_canary_weights_mid_rollout_reweights_in_place_without_restarting() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let since = w.markers().since;
    s.rollout.canary.as_mut().unwrap().steps[0].weight = 20;
    let p = w.step(&s);
    assert_eq!(p.kinds(), vec!["UpdateWeights"]);
    assert_eq!(w.markers().since, since, "the bake clock is kept");
    w.step(&s);
    assert_eq!(
        w.endpoint.as_ref().unwrap().percent_weights()[&candidate_variant()],
        20
    );
}

#[test]
fn serving_settings_changed_after_success_are_applied_in_place() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.run(&s, 200);
    s.data_capture = Some(DataCaptureSpec {
        sampling_percent: 5,
        destination_s3_uri: "s3://cap/churn".into(),
    });
    let p = w.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    assert_eq!(p.status.phase, Some(Phase::Deploying));
    w.run(&s, 50);
    let ep = w.endpoint.clone().unwrap();
    assert!(w.configs[&ep.config_name].data_capture.is_some());
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn changing_the_instance_type_rolls_the_same_package_out_again() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.run(&s, 200);
    s.serving.instance_type = "ml.c5.xlarge".into();
    let plans = w.run(&s, 200);
    assert_eq!(
        weights_sent(&plans).len(),
        2,
        "a full canary with the new hardware"
    );
    assert_eq!(
        w.endpoint.as_ref().unwrap().variants[0].instance_type,
        "ml.c5.xlarge"
    );
}

#[test]
fn crash_between_tagging_and_updating_resends_the_update() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    let p = w.plan(&s, false);
    let update = p
        .kinds()
        .iter()
        .position(|k| *k == "UpdateEndpoint")
        .unwrap();
    w.apply_all(&p.actions[..update]);
    w.now += mins(1);
    let again = w.plan(&s, false);
    assert!(
        again.kinds().contains(&"UpdateEndpoint"),
        "{:?}",
        again.kinds()
    );
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn deletion_with_retain_only_releases_the_finalizer() {
    let mut s = spec(Strategy::Canary);
    s.deletion_policy = DeletionPolicy::Retain;
    let w = World::with_champion(&s);
    let p = w.plan(&s, true);
    assert_eq!(p.kinds(), vec!["RemoveFinalizer"]);
}

#[test]
fn deletion_with_delete_removes_the_endpoint_then_everything_owned() {
    let mut s = spec(Strategy::Canary);
    s.deletion_policy = DeletionPolicy::Delete;
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    for _ in 0..20 {
        let p = w.plan(&s, true);
        w.apply_all(&p.actions);
        if w.finalizer_removed {
            break;
        }
        w.advance(p.next);
    }
    assert!(w.finalizer_removed);
    assert!(
        w.endpoint.is_none()
            && w.configs.is_empty()
            && w.models.is_empty()
            && w.owned_alarms.is_empty()
    );
}

#[test]
fn endpoint_managed_by_another_resource_is_a_conflict() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    let ep = w.endpoint.as_mut().unwrap();
    ep.tags
        .insert("sagemaker-rollout:owner".into(), "ml-prod/other".into());
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty());
    let stalled = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "Conflict")
    );
    assert!(stalled.message.contains("ml-prod/other"));
}

#[test]
fn unowned_endpoint_is_refused_unless_adopt_is_set() {
    let mut s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.endpoint.as_mut().unwrap().tags.clear();
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty());
    assert_eq!(p.status.conditions[2].reason, "NotOwned");
    s.adopt = true;
    let p = w.step(&s);
    assert_eq!(p.kinds()[0], "TagEndpoint");
    assert!(p.events.iter().any(|e| e.reason == "Adopted"));
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn invalid_spec_is_stalled_with_the_message_and_no_actions() {
    let mut s = spec(Strategy::Canary);
    s.rollout.canary.as_mut().unwrap().steps[1].weight = 5;
    let w = World::with_champion(&spec(Strategy::Canary));
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty());
    let stalled = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(stalled.reason, "InvalidSpec");
    assert!(stalled.message.contains(
        "spec.rollout.canary.steps[1].weight: 5 must be greater than the previous step (10)"
    ));
    assert_eq!(stalled.observed_generation, Some(1));
}

#[test]
fn invalid_artifact_is_refused_before_any_deployment() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.artifact_valid = false;
    w.candidate = CandidateLookup::Found(Candidate {
        artifact: ArtifactCheck::Unchecked,
        ..candidate(CANDIDATE_ARN, "run-2")
    });
    let plans = w.run(&s, 10);
    assert!(plans.iter().all(|p| !p.kinds().contains(&"UpdateEndpoint")));
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::Failed));
    assert_eq!(last_history(&w).outcome, "Refused");
    assert_eq!(
        st.history.iter().filter(|h| h.outcome == "Refused").count(),
        1,
        "recorded once"
    );
}

#[test]
fn candidate_worse_than_the_champion_is_refused_with_both_values() {
    let mut s = spec(Strategy::Canary);
    s.candidate.compare_with_champion = Some(ChampionComparison {
        metric: "auc".into(),
        higher_is_better: true,
        min_delta: 0.0,
    });
    let mut w = World::with_champion(&s);
    let mut c = candidate(CANDIDATE_ARN, "run-2");
    c.comparison = Some(MetricComparison {
        candidate: Some(0.81),
        champion: Some(0.86),
    });
    w.candidate = CandidateLookup::Found(c);
    let p = w.step(&s);
    assert!(
        p.kinds().iter().all(|k| *k == "RecordHistory"),
        "{:?}",
        p.kinds()
    );
    let stalled = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(stalled.reason, "WorseThanChampion");
    assert!(
        stalled.message.contains("0.81") && stalled.message.contains("0.86"),
        "{}",
        stalled.message
    );
}

#[test]
fn no_matching_candidate_waits_and_keeps_the_champion() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.candidate =
        CandidateLookup::NotFound("only a Rejected package matches candidate_run_id=run-2".into());
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty());
    assert_eq!(p.status.phase, Some(Phase::Pending));
    assert!(p.status.conditions[1].message.contains("Rejected"));
}

#[test]
fn missing_existing_alarm_holds_the_rollout() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    w.alarms.remove("churn-kpi");
    w.now += mins(30);
    let p = w.plan(&s, false);
    assert!(!p.kinds().contains(&"UpdateWeights"));
    assert_eq!(p.status.conditions[2].reason, "AlarmMissing");
    assert!(
        p.status
            .alarms
            .iter()
            .any(|a| a.name == "churn-kpi" && a.state == "Missing")
    );
}

#[test]
fn status_carries_observed_generation_links_and_stable_condition_times() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let first = w.plan(&s, false).status;
    w.status = Some(first.clone());
    w.now += mins(1);
    let second = w.plan(&s, false).status;
    assert_eq!(second.observed_generation, Some(1));
    for (a, b) in first.conditions.iter().zip(&second.conditions) {
        assert_eq!(
            a.last_transition_time, b.last_transition_time,
            "{} did not change status",
            a.type_
        );
    }
    let links = second.links.unwrap();
    assert!(links.endpoint.contains("us-east-1") && links.endpoint.contains("churn-prod"));
    assert_eq!(second.alarms.len(), 2);
}
