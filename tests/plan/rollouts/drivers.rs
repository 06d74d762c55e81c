//! Who drives an endpoint for its owner: a controller of one cluster (with the resource's
//! UID) or the CLI. Two clusters sharing an account, or a laptop running `apply`, never act on
//! one endpoint at once; taking over is explicit.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::claim::Driver;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

const MARKER: &str = "sagemaker-rollout:owner";

fn stalled(p: &Plan) -> Option<(String, String)> {
    p.status
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled" && c.status == "True")
        .map(|c| (c.reason.clone(), c.message.clone()))
}

/// The owner marker a plan writes first, if it writes one.
fn marked(p: &Plan) -> Option<String> {
    p.actions.iter().find_map(|a| match a {
        Action::TagEndpoint { tags } => tags.get(MARKER).cloned(),
        _ => None,
    })
}

#[test]
fn each_driver_claims_only_what_is_its_own_and_taking_over_is_explicit() {
    let controller = Driver::controller("test", Some("uid-1"));
    let cli = Driver::cli();
    let take_over = Driver {
        take_over: true,
        ..Driver::cli()
    };
    // (sentence, owner marker on the endpoint, who plans, adopt, stalled reason + hint or
    // the owner marker written)
    type Row = (
        &'static str,
        &'static str,
        Driver,
        bool,
        Result<&'static str, (&'static str, &'static str)>,
    );
    let rows: Vec<Row> = vec![
        (
            "an endpoint marked before drivers existed is claimed and marked",
            "ml-prod/churn",
            controller.clone(),
            false,
            Ok("ml-prod/churn driver=test uid=uid-1"),
        ),
        (
            "another cluster's endpoint is never driven, adopt or not",
            "ml-prod/churn driver=prod-us uid=uid-9",
            controller.clone(),
            true,
            Err(("Conflict", "another cluster")),
        ),
        (
            "an endpoint the CLI drives is refused without adopt",
            "ml-prod/churn driver=cli",
            controller.clone(),
            false,
            Err(("Conflict", "spec.adopt: true")),
        ),
        (
            "an endpoint the CLI drives is taken over with adopt",
            "ml-prod/churn driver=cli",
            controller.clone(),
            true,
            Ok("ml-prod/churn driver=test uid=uid-1"),
        ),
        (
            "an earlier resource of the same name is refused without adopt",
            "ml-prod/churn driver=test uid=uid-0",
            controller.clone(),
            false,
            Err(("Conflict", "earlier ModelDeployment")),
        ),
        (
            "an earlier resource of the same name is taken over with adopt",
            "ml-prod/churn driver=test uid=uid-0",
            controller.clone(),
            true,
            Ok("ml-prod/churn driver=test uid=uid-1"),
        ),
        (
            "the CLI refuses an endpoint a controller drives",
            "ml-prod/churn driver=test uid=uid-1",
            cli.clone(),
            true,
            Err(("Conflict", "--take-over")),
        ),
        (
            "the CLI takes it over only when told to",
            "ml-prod/churn driver=test uid=uid-1",
            take_over,
            false,
            Ok("ml-prod/churn driver=cli"),
        ),
        (
            "another owner stays a conflict whoever asks",
            "ml-prod/other driver=test uid=uid-1",
            controller.clone(),
            true,
            Err(("Conflict", "ml-prod/other")),
        ),
    ];
    for (name, marker, driver, adopt, expected) in rows {
        let mut s = spec(Strategy::Canary);
        s.adopt = adopt;
        let mut w = World::with_champion(&s);
        w.driver = driver;
        w.endpoint
            .as_mut()
            .unwrap()
            .tags
            .insert(MARKER.into(), marker.into());
        let p = w.plan(&s, false);
        match expected {
            Ok(written) => {
                assert_eq!(stalled(&p), None, "{name}");
                assert_eq!(marked(&p).as_deref(), Some(written), "{name}");
            }
            Err((reason, hint)) => {
                let (r, message) = stalled(&p).unwrap_or_default();
                assert_eq!(r, reason, "{name}: {message}");
                assert!(message.contains(hint), "{name}: {message}");
                assert!(p.actions.is_empty(), "{name}: {:?}", p.kinds());
            }
        }
    }
}

#[test]
fn the_same_driver_and_uid_drive_on_without_marking_again() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    w.endpoint
        .as_mut()
        .unwrap()
        .tags
        .insert(MARKER.into(), "ml-prod/churn driver=test uid=uid-1".into());
    let p = w.plan(&s, false);
    assert_eq!(stalled(&p), None);
    assert!(
        p.events.iter().all(|e| e.reason != "Adopted"),
        "{:?}",
        p.events
    );
}

#[test]
fn deleting_a_resource_whose_endpoint_another_driver_holds_deletes_nothing() {
    for policy in [DeletionPolicy::Delete, DeletionPolicy::Retain] {
        let mut s = spec(Strategy::Canary);
        s.deletion_policy = policy;
        let mut w = World::with_champion(&s);
        until_stage(&mut w, &s, Stage::Step, 1, 100);
        // Another cluster took the endpoint (same namespace/name there).
        let tags = &mut w.endpoint.as_mut().unwrap().tags;
        tags.insert(
            MARKER.into(),
            "ml-prod/churn driver=prod-us uid=uid-9".into(),
        );
        let p = w.plan(&s, true);
        assert_eq!(
            p.kinds(),
            vec!["RemoveFinalizer"],
            "{policy:?}: its configs, models and alarms are in use"
        );
        assert!(p.events.iter().any(|e| e.reason == "Released"));
    }
}
