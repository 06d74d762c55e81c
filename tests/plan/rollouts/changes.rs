//! Changes while serving or in flight: a new candidate, registry changes, edited weights or serving settings, autoscaling, a crash between two actions.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

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
fn autoscaling_stays_on_a_kept_variant_and_is_deregistered_before_the_update_that_removes_it() {
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
    assert!(kinds.contains(&"UpdateEndpoint"), "{kinds:?}");
    assert!(
        !kinds.contains(&"DeregisterScaling"),
        "adding the candidate keeps the champion's variant and instance type: {kinds:?}"
    );
    let plans = w.run(&s, 200);
    let kinds: Vec<&str> = plans.iter().flat_map(|p| p.kinds()).collect();
    let dereg = kinds
        .iter()
        .position(|k| *k == "DeregisterScaling")
        .expect("the champion's registration goes with it");
    let removal = kinds
        .iter()
        .rposition(|k| *k == "UpdateEndpoint")
        .expect("the update that removes the champion");
    assert!(dereg < removal, "{kinds:?}");
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
    let newer = for_run(&s, "run-3");
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
