//! What SageMaker can do wrong: smoke-test failures, silent rollbacks, transitional and stuck statuses, a failed first deployment.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

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
fn a_rollout_in_flight_whose_variant_marker_was_removed_stalls_naming_it_and_changes_nothing() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    let ep = w.endpoint.as_mut().unwrap();
    let mut m = Markers::from_tags(&ep.tags);
    m.variant = None;
    ep.tags.retain(|k, _| !k.starts_with("sagemaker-rollout:"));
    ep.tags
        .extend(m.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
    let p = w.step(&s);
    assert!(p.actions.is_empty(), "nothing is guessed: {:?}", p.kinds());
    let stalled = condition(&w, "Stalled");
    assert_eq!(stalled.status, "True");
    assert_eq!(stalled.reason, "MarkersUnreadable");
    assert!(stalled.message.contains("variant"), "{}", stalled.message);
}
