//! Watched alarms: rollback on ALARM at any step, the manual policy, missing alarms, no retry of a rolled-back candidate.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

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
    assert_eq!(
        condition(&w, "Stalled").status,
        "True",
        "waiting for a human is not healthy to GitOps (kstatus Failed)"
    );
    assert!(!p.kinds().contains(&"UpdateWeights"));
    w.now += mins(60);
    let p = w.step(&s);
    assert_eq!(
        p.status.phase,
        Some(Phase::Paused),
        "bakes do not advance while an alarm holds the rollout"
    );
    assert_eq!(w.markers().step, 1);
    let mut promoted = w.clone();
    w.request(Gate::Abort);
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    // The other decision: promote goes to 100 % though the alarm still fires.
    promoted.request(Gate::Promote);
    let p = promoted.step(&s);
    assert!(p.kinds().contains(&"UpdateEndpoint"), "{:?}", p.kinds());
    assert!(
        p.events
            .iter()
            .any(|e| e.message.contains("promoted by on-call"))
    );
    promoted.run(&s, 100);
    assert_eq!(serving(&promoted), vec![candidate_variant()]);
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
fn status_lists_the_alarms_watched_in_flight_and_none_at_rest() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let in_flight = w.plan(&s, false).status.alarms;
    assert_eq!(in_flight.len(), 2, "the existing alarm and the created one");
    assert!(
        in_flight.iter().all(|a| a.state != "Missing"),
        "{in_flight:?}"
    );
    let last = w.run(&s, 200).pop().unwrap();
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert!(
        last.status.alarms.is_empty(),
        "a finished rollout's deleted alarms are not listed: {:?}",
        last.status.alarms
    );
}

#[test]
fn a_rollout_does_not_start_while_a_watched_existing_alarm_is_missing() {
    for strategy in [Strategy::Canary, Strategy::BlueGreen] {
        let s = spec(strategy);
        let mut w = World::with_champion(&s);
        w.alarms.remove("churn-kpi");
        let p = w.step(&s);
        assert!(p.actions.is_empty(), "{strategy:?}: {:?}", p.kinds());
        let stalled = condition(&w, "Stalled");
        assert_eq!(stalled.reason, "AlarmMissing", "{strategy:?}");
        assert!(stalled.message.contains("churn-kpi"));
        w.set_alarm("churn-kpi", AlarmState::Ok);
        w.run(&s, 200);
        assert_eq!(
            serving_packages(&w),
            vec![CANDIDATE_ARN.to_owned()],
            "{strategy:?}"
        );
    }
}

#[test]
fn blue_green_alarms_watch_the_new_fleet_by_its_endpoint_config() {
    let s = spec(Strategy::BlueGreen);
    let mut w = World::with_champion(&s);
    let p = w.step(&s);
    let config = p
        .actions
        .iter()
        .find_map(|a| match a {
            Action::UpdateEndpoint { config_name, .. } => Some(config_name.clone()),
            _ => None,
        })
        .expect("the blue/green update");
    let created: Vec<&actions::AlarmPlan> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::EnsureAlarm(al) => Some(al),
            _ => None,
        })
        .collect();
    assert!(!created.is_empty());
    for al in created {
        assert_eq!(
            al.dimensions.get("EndpointConfigName"),
            Some(&config),
            "{}",
            al.name
        );
        assert_eq!(al.dimensions.get("VariantName"), Some(&champion_variant()));
    }
}

/// The canary spec with an Invocations floor of 5 requests a minute over 3 minutes.
fn with_floor() -> ModelDeploymentSpec {
    let mut s = spec(Strategy::Canary);
    s.analysis.alarms.create.push(AlarmRule {
        metric: AlarmMetric::Invocations,
        statistic: "Sum".into(),
        threshold: "5".into(),
        periods: 3,
        datapoints: None,
        custom: None,
    });
    s
}

fn floor_of(w: &World) -> String {
    w.owned_alarms
        .iter()
        .find(|n| n.contains(".Invocations."))
        .cloned()
        .expect("the floor alarm was created")
}

#[test]
fn a_floor_in_alarm_for_want_of_data_judges_only_after_its_periods_of_traffic() {
    let s = with_floor();
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let floor = floor_of(&w);
    assert_eq!(
        w.alarms[&floor].state,
        AlarmState::Alarm,
        "breaching without data"
    );
    // Until SageMaker reports step 1's weights in effect the floor cannot arm; after that,
    // no rollback before it arms, and a pass is planned for the moment it does (not the
    // bake's end).
    // It arms after 3 complete minutes of traffic and CloudWatch's 2 minutes to publish a
    // new metric (CW-30), counted from the first whole minute.
    let arms = |t: jiff::Timestamp| {
        let minute = jiff::Timestamp::from_second((t.as_second() + 59) / 60 * 60).unwrap();
        minute + jiff::SignedDuration::from_mins(5)
    };
    let mut nexts = Vec::new();
    while w.markers().since.is_none_or(|t| w.now < arms(t)) {
        let plan = w.step(&s);
        assert_ne!(
            plan.status.phase,
            Some(Phase::RollingBack),
            "rolled back at {}",
            w.now
        );
        assert!(
            plan.watch
                .as_ref()
                .is_none_or(|wt| !wt.alarms.contains(&floor))
        );
        if w.markers().since.is_some() {
            let shown = plan.status.alarms.iter().find(|a| a.name == floor).unwrap();
            assert_eq!(shown.state, "ALARM (floor not judging yet)");
        }
        nexts.push(plan.next);
    }
    let armed = arms(w.markers().since.unwrap());
    assert!(
        nexts.contains(&Next::At(armed)),
        "{nexts:?}, armed at {armed}"
    );
    // Still no traffic once armed: the candidate is rolled back.
    let plan = w.step(&s);
    assert_eq!(plan.status.phase, Some(Phase::RollingBack));
    w.run(&s, 100);
    assert_eq!(serving(&w), vec![champion_variant()]);
    assert!(
        last_history(&w).reason.contains(".Invocations."),
        "{}",
        last_history(&w).reason
    );
}

#[test]
fn a_floor_that_turns_ok_with_traffic_lets_the_rollout_finish() {
    let s = with_floor();
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let floor = floor_of(&w);
    w.set_alarm(&floor, AlarmState::Ok);
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert_eq!(w.status.unwrap().phase, Some(Phase::Succeeded));
}

#[test]
fn error_rate_alarms_are_metric_math_on_the_candidate_variant() {
    let mut s = spec(Strategy::Canary);
    s.analysis.alarms.create = vec![AlarmRule {
        metric: AlarmMetric::Invocation5XXErrorRate,
        statistic: "Sum".into(),
        threshold: "2%".into(),
        periods: 2,
        datapoints: None,
        custom: None,
    }];
    let mut w = World::with_champion(&s);
    let plans = until_stage(&mut w, &s, Stage::Step, 1, 100);
    let alarm = plans
        .iter()
        .flat_map(|p| &p.actions)
        .find_map(|a| match a {
            Action::EnsureAlarm(a) => Some(a.clone()),
            _ => None,
        })
        .expect("the rate alarm is created");
    assert_eq!(alarm.kind, actions::AlarmKind::RateAbove);
    assert_eq!(alarm.metric_name, "Invocation5XXErrors", "the numerator");
    assert_eq!(alarm.threshold, 2.0, "percent");
    assert!(
        alarm.name.ends_with(".Invocation5XXErrorRate.Sum"),
        "{}",
        alarm.name
    );
    assert_eq!(alarm.dimensions["VariantName"], candidate_variant());
    assert_eq!(alarm.armed_after(), std::time::Duration::ZERO);
}
