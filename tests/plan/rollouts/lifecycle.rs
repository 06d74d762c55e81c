//! Deletion policies and ownership of the endpoint.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

#[test]
fn deletion_with_retain_at_rest_only_releases_the_finalizer() {
    let mut s = spec(Strategy::Canary);
    s.deletion_policy = DeletionPolicy::Retain;
    let w = World::with_champion(&s);
    let p = w.plan(&s, true);
    assert_eq!(p.kinds(), vec!["RemoveFinalizer"]);
}

#[test]
fn deletion_with_retain_mid_rollout_removes_only_the_rollout_alarms() {
    let mut s = spec(Strategy::Canary);
    s.deletion_policy = DeletionPolicy::Retain;
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 100);
    assert!(!w.owned_alarms.is_empty(), "the canary created its alarms");
    let (configs, models) = (w.configs.clone(), w.models.clone());
    let p = w.plan(&s, true);
    w.apply_all(&p.actions);
    assert!(w.finalizer_removed);
    assert!(w.owned_alarms.is_empty(), "{:?}", p.kinds());
    assert_eq!(w.configs.len(), configs.len());
    assert_eq!(w.models.len(), models.len());
    assert_eq!(
        w.endpoint.as_ref().unwrap().variants.len(),
        2,
        "weights left as they are"
    );
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
