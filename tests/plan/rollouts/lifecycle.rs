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
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty(), "not without the administrator's tag");
    assert_eq!(p.status.conditions[2].reason, "AdoptionNotPermitted");
    assert!(
        p.status.conditions[2]
            .message
            .contains("sagemaker-rollout:adopt-by=ml-prod")
    );
    let tags = &mut w.endpoint.as_mut().unwrap().tags;
    tags.insert("sagemaker-rollout:adopt-by".into(), "fraud".into());
    let p = w.plan(&s, false);
    assert!(
        p.actions.is_empty(),
        "not when adoptable by another namespace"
    );
    assert!(p.status.conditions[2].message.contains("\"fraud\""));
    let tags = &mut w.endpoint.as_mut().unwrap().tags;
    tags.insert("sagemaker-rollout:adopt-by".into(), "ml-prod".into());
    let p = w.step(&s);
    assert_eq!(p.kinds()[0], "TagEndpoint");
    let Action::TagEndpoint { tags } = &p.actions[0] else {
        unreachable!()
    };
    assert_eq!(
        tags.get("managed-by").map(String::as_str),
        Some("sagemaker-rollout"),
        "the IAM policy allows tagging an endpoint not yet ours only with managed-by in the request"
    );
    assert_eq!(
        tags.get("sagemaker-rollout:namespace").map(String::as_str),
        Some("ml-prod"),
        "and with the tenant's namespace"
    );
    assert!(p.events.iter().any(|e| e.reason == "Adopted"));
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

#[test]
fn foreign_tags_that_leave_no_room_stall_the_rollout_naming_them() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    let ep = w.endpoint.as_mut().unwrap();
    // Room for every tag but one of the whole rollout (the champion's endpoint leaves some
    // markers unset at rest).
    let room = 50 - ep.tags.len() - 1;
    for i in 0..room {
        ep.tags.insert(format!("cost-center-{i}"), "x".into());
    }
    let p = w.plan(&s, false);
    assert!(p.actions.is_empty(), "{:?}", p.kinds());
    let stalled = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap()
        .clone();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "TagBudget")
    );
    assert!(
        stalled.message.contains("cost-center-0"),
        "{}",
        stalled.message
    );
    // Freeing room lets it go.
    let ep = w.endpoint.as_mut().unwrap();
    ep.tags.retain(|k, _| !k.starts_with("cost-center-1"));
    w.run(&s, 200);
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert!(w.endpoint.as_ref().unwrap().tags.len() <= 50);
}

#[test]
fn the_old_models_lineage_the_new_one_lacks_is_removed_from_the_endpoint() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.endpoint
        .as_mut()
        .unwrap()
        .tags
        .insert("git_commit".into(), "champion-commit".into());
    w.run(&s, 200);
    let tags = &w.endpoint.as_ref().unwrap().tags;
    assert_eq!(serving(&w), vec![candidate_variant()]);
    assert!(!tags.contains_key("git_commit"), "{tags:?}");
    assert_eq!(
        tags.get("data_version").map(String::as_str),
        Some("data-run-2")
    );
}

#[test]
fn an_adopted_champion_is_recreated_from_its_own_config_with_its_settings() {
    let mut s = spec(Strategy::Canary);
    s.adopt = true;
    s.data_capture = None;
    let mut w = World::with_champion(&s);
    let ep = w.endpoint.as_mut().unwrap();
    ep.tags.clear();
    ep.tags
        .insert("sagemaker-rollout:adopt-by".into(), "ml-prod".into());
    // A config the controller did not name: someone else's.
    let foreign = "hand-made-config".to_owned();
    let config = w.configs.remove(&ep.config_name).unwrap();
    ep.config_name = foreign.clone();
    w.configs.insert(foreign.clone(), config);
    let plans = w.run(&s, 200);
    let created: Vec<&actions::ConfigPlan> = plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter_map(|a| match a {
            Action::CreateEndpointConfig(c) => Some(c),
            _ => None,
        })
        .collect();
    let first = created[0];
    let champion = first
        .production
        .iter()
        .find(|v| v.name == champion_variant())
        .unwrap();
    assert_eq!(
        champion.template.as_ref().map(|t| t.config.as_str()),
        Some(foreign.as_str()),
        "the champion variant is copied from the config that served it"
    );
    let inherit = first.inherit.clone().unwrap();
    assert_eq!(
        (inherit.config.as_str(), inherit.data_capture),
        (foreign.as_str(), true),
        "endpoint-wide settings and the adopted data capture come along"
    );
    let last = created.last().unwrap();
    assert!(last.production.iter().all(|v| v.template.is_none()));
    assert!(
        !last.inherit.clone().unwrap().data_capture,
        "the candidate alone follows the spec's data capture"
    );
    assert_eq!(serving(&w), vec![candidate_variant()]);
}

/// The deployment record goes before the tags that end the rollout, in every strategy's
/// ending and in a rollback: should it fail (or the process stop) the ending is planned
/// again and the record written again, never lost behind a finished marker.
#[test]
fn the_deployment_record_is_written_before_the_tags_that_end_the_rollout() {
    for (strategy, alarm) in [
        (Strategy::Canary, false),
        (Strategy::Direct, false),
        (Strategy::Canary, true),
    ] {
        let s = spec(strategy);
        let mut w = World::with_champion(&s);
        if alarm {
            until_stage(&mut w, &s, Stage::Step, 1, 100);
            w.set_alarm("churn-kpi", AlarmState::Alarm);
        }
        let plans = w.run(&s, 200);
        let ending = plans
            .iter()
            .find(|p| p.kinds().contains(&"RecordHistory"))
            .expect("a plan records the rollout");
        let record = ending
            .actions
            .iter()
            .position(|a| matches!(a, Action::RecordHistory(_)))
            .unwrap();
        let ends = ending
            .actions
            .iter()
            .position(|a| match a {
                Action::TagEndpoint { tags } => Markers::from_tags(tags)
                    .stage
                    .is_some_and(|s| !s.in_flight()),
                _ => false,
            })
            .expect("the ending's tags");
        assert!(
            record < ends,
            "{strategy:?} alarm {alarm}: {:?}",
            ending.kinds()
        );
    }
}

/// The target is recorded once AWS shows the endpoint as this resource's (its owner tag), not
/// when a plan merely intends to create it: a first deployment whose calls fail records none,
/// and its target fields stay free to fix.
#[test]
fn the_target_is_recorded_only_once_aws_shows_the_endpoint_as_ours() {
    let s = spec(Strategy::Canary);
    let mut w = World::empty();
    let first = w.plan(&s, false);
    assert!(
        first.kinds().contains(&"CreateEndpoint"),
        "{:?}",
        first.kinds()
    );
    assert!(
        first.status.target.is_none(),
        "planned, not yet ours on AWS"
    );
    w.run(&s, 100);
    let target = w
        .status
        .as_ref()
        .and_then(|st| st.target.clone())
        .expect("recorded");
    assert_eq!(target.endpoint_name, s.endpoint_name);
}

/// `spec.tags` the controller applied and the spec no longer lists are removed at the end of
/// the next rollout (they are its own: recorded in the `user-tags` marker), so a team that
/// changes 15 tags at every release never reaches SageMaker's 50-tag limit; a tag someone
/// else put on the endpoint stays.
#[test]
fn spec_tags_the_spec_no_longer_lists_are_removed_and_foreign_ones_stay() {
    let tags = |release: &str| -> std::collections::BTreeMap<String, String> {
        (0..15)
            .map(|i| (format!("{release}-key-{i}"), "v".to_owned()))
            .collect()
    };
    let mut s = spec(Strategy::Canary);
    s.tags = tags("first");
    let mut w = World::with_champion(&s);
    w.endpoint
        .as_mut()
        .unwrap()
        .tags
        .insert("cost-center".into(), "ml-42".into());
    w.run(&s, 300);
    let releases = [
        ("second", NEWER_ARN, "run-3"),
        (
            "third",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/4",
            "run-4",
        ),
    ];
    for (release, arn, run) in releases {
        s.tags = tags(release);
        s.candidate.match_tags = Some(
            [("candidate_run_id".to_owned(), run.to_owned())]
                .into_iter()
                .collect(),
        );
        w.candidate = CandidateLookup::Found(candidate(arn, run));
        w.run(&s, 300);
        let reason = &w.status.as_ref().unwrap().conditions[0].reason;
        assert_eq!(reason, "Serving", "the {release} release rolls out");
        let ep = &w.endpoint.as_ref().unwrap().tags;
        let user: Vec<&String> = ep.keys().filter(|k| k.contains("-key-")).collect();
        assert_eq!(
            user.len(),
            15,
            "only the {release} release's tags: {user:?}"
        );
        assert!(user.iter().all(|k| k.starts_with(release)), "{user:?}");
        assert_eq!(ep.get("cost-center").map(String::as_str), Some("ml-42"));
    }
}
