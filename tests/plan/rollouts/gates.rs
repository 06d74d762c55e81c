//! What stops a candidate before it takes traffic (invalid spec, invalid artifact, a worse metric, no candidate), and the status fields every pass carries.

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

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

#[test]
fn a_pending_package_runs_from_its_container_definition_not_its_arn() {
    use sagemaker_rollout::plan::actions::{Action, ModelContainer};
    let mut s = spec(Strategy::Direct);
    s.candidate.approval = ApprovalPolicy::PendingManualApproval;
    let mut w = World::with_champion(&s);
    w.candidate = CandidateLookup::Found(Candidate {
        approval: "PendingManualApproval".into(),
        ..candidate(CANDIDATE_ARN, "run-2")
    });
    let plans = w.run(&s, 40);
    let models: Vec<_> = plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter_map(|a| match a {
            Action::CreateModel(m) if m.candidate_id == CANDIDATE_ARN => Some(m.container.clone()),
            _ => None,
        })
        .collect();
    assert!(!models.is_empty());
    assert!(
        models.iter().all(
            |c| matches!(c, ModelContainer::Image { image, model_data_url }
            if image.ends_with("catboost:1") && model_data_url == "s3://models/run-2/model.tar.gz")
        ),
        "{models:?}"
    );
    assert_eq!(w.stage(), Some(Stage::Done));
}

#[test]
fn an_approved_package_runs_by_its_arn() {
    use sagemaker_rollout::plan::actions::{Action, ModelContainer};
    let s = spec(Strategy::Direct);
    let mut w = World::with_champion(&s);
    let plans = w.run(&s, 40);
    assert!(plans.iter().flat_map(|p| &p.actions).any(|a| matches!(a,
        Action::CreateModel(m) if m.candidate_id == CANDIDATE_ARN && m.container == ModelContainer::Package)));
}

#[test]
fn a_rejected_unfinished_or_unrunnable_package_is_refused_with_the_reason() {
    let s = spec(Strategy::Canary);
    for (approval, status, image, url, why) in [
        ("Rejected", "Completed", true, true, "is Rejected"),
        (
            "PendingManualApproval",
            "Completed",
            false,
            true,
            "has no container image",
        ),
        ("Approved", "Completed", true, false, "has no ModelDataUrl"),
        (
            "Approved",
            "InProgress",
            true,
            true,
            "is InProgress (ModelPackageStatus)",
        ),
        ("Approved", "Failed", true, true, "only a Completed version"),
    ] {
        let mut w = World::with_champion(&s);
        let mut c = candidate(CANDIDATE_ARN, "run-2");
        c.approval = approval.into();
        c.status = status.into();
        if !image {
            c.image = None;
        }
        if !url {
            c.model_data_url = String::new();
        }
        w.candidate = CandidateLookup::Found(c);
        let plans = w.run(&s, 10);
        assert!(
            plans.iter().all(|p| !p.kinds().contains(&"UpdateEndpoint")),
            "{approval}"
        );
        let ready = condition(&w, "Ready");
        assert_eq!(ready.reason, "PackageUnusable", "{approval}");
        assert!(ready.message.contains(why), "{approval}: {}", ready.message);
    }
}

#[test]
fn a_package_rejected_mid_rollout_is_rolled_back() {
    let s = spec(Strategy::Canary);
    let mut w = World::with_champion(&s);
    until_stage(&mut w, &s, Stage::Step, 1, 40);
    if let CandidateLookup::Found(c) = &mut w.candidate {
        c.approval = "Rejected".into();
    }
    w.run(&s, 60);
    assert_eq!(w.stage(), Some(Stage::RolledBack));
    assert!(
        last_history(&w).reason.contains("Rejected"),
        "{:?}",
        last_history(&w)
    );
}
