//! Candidate resolution against the simulator's registry: newest matching version wins, every
//! matchTags entry must match, Rejected is never chosen, and the messages say why nothing was.

use std::collections::BTreeMap;

use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::api::{ApprovalPolicy, ModelDeploymentSpec, ValidSpec};

fn valid(s: &ModelDeploymentSpec) -> ValidSpec {
    ValidSpec::new(s).expect("valid spec")
}
use sagemaker_rollout::engine::resolve::{Lookup, resolve};
use sagemaker_rollout::sim::{Scenario, Simulator, artifact};

fn spec(run: &str, approval: ApprovalPolicy) -> ModelDeploymentSpec {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let mut s = load_valid("canary.yaml", &text).unwrap().remove(0).0.spec;
    s.candidate.match_tags = Some(
        [("candidate_run_id".to_owned(), run.to_owned())]
            .into_iter()
            .collect(),
    );
    s.candidate.approval = approval;
    s
}

fn tags(run: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut t: BTreeMap<String, String> = [("candidate_run_id".to_owned(), run.to_owned())]
        .into_iter()
        .collect();
    t.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    t
}

fn registry() -> (Simulator, Vec<String>) {
    let sim = Simulator::new(
        "2026-01-05T09:00:00Z".parse().unwrap(),
        &Scenario::default(),
    );
    let arns = vec![
        sim.add_package(
            "churn-models",
            tags("run-a", &[]),
            "Approved",
            artifact("run-a", 0.8),
        ),
        sim.add_package(
            "churn-models",
            tags("run-a", &[("team", "growth")]),
            "Approved",
            artifact("run-a", 0.8),
        ),
        sim.add_package(
            "churn-models",
            tags("run-b", &[]),
            "Rejected",
            artifact("run-b", 0.8),
        ),
        sim.add_package(
            "churn-models",
            tags("run-c", &[]),
            "PendingManualApproval",
            artifact("run-c", 0.8),
        ),
    ];
    (sim, arns)
}

#[tokio::test]
async fn newest_matching_approved_version_wins() {
    let (sim, arns) = registry();
    match resolve(&sim, &valid(&spec("run-a", ApprovalPolicy::Approved)), None)
        .await
        .unwrap()
    {
        Lookup::Found(r) => assert_eq!(r.info.arn, arns[1]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_match_tag_must_match() {
    let (sim, arns) = registry();
    let mut s = spec("run-a", ApprovalPolicy::Approved);
    s.candidate
        .match_tags
        .as_mut()
        .unwrap()
        .insert("team".into(), "growth".into());
    let Lookup::Found(r) = resolve(&sim, &valid(&s), None).await.unwrap() else {
        panic!()
    };
    assert_eq!(r.info.arn, arns[1]);
    s.candidate
        .match_tags
        .as_mut()
        .unwrap()
        .insert("team".into(), "risk".into());
    let Lookup::NotFound(why) = resolve(&sim, &valid(&s), None).await.unwrap() else {
        panic!()
    };
    assert!(
        why.contains("no package in churn-models matches") && why.contains("team=risk"),
        "{why}"
    );
}

#[tokio::test]
async fn rejected_packages_are_never_candidates_and_the_message_says_so() {
    let (sim, _) = registry();
    let Lookup::NotFound(why) = resolve(&sim, &valid(&spec("run-b", ApprovalPolicy::Any)), None)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(why.contains("only Rejected packages"), "{why}");
}

#[tokio::test]
async fn approval_policy_filters_and_explains() {
    let (sim, arns) = registry();
    let Lookup::NotFound(why) =
        resolve(&sim, &valid(&spec("run-c", ApprovalPolicy::Approved)), None)
            .await
            .unwrap()
    else {
        panic!()
    };
    assert!(
        why.contains("PendingManualApproval") && why.contains("none has approval Approved"),
        "{why}"
    );
    let Lookup::Found(r) = resolve(
        &sim,
        &valid(&spec("run-c", ApprovalPolicy::PendingManualApproval)),
        None,
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(r.info.arn, arns[3]);
}

#[tokio::test]
async fn a_pinned_candidate_is_described_whatever_the_registry_now_says() {
    let (sim, arns) = registry();
    let Lookup::Found(r) = resolve(
        &sim,
        &valid(&spec("run-a", ApprovalPolicy::Approved)),
        Some(&arns[0]),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        r.info.arn, arns[0],
        "pinned, although a newer version matches"
    );
    let Lookup::NotFound(why) = resolve(
        &sim,
        &valid(&spec("x", ApprovalPolicy::Any)),
        Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/99"),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert!(why.contains("does not exist"), "{why}");
}

/// SM-53: only a Completed version can be deployed; the newest matching one still being
/// created is skipped for the previous Completed one, and the simulator refuses CreateModel
/// from it as AWS does.
#[tokio::test]
async fn a_version_not_completed_is_skipped_and_cannot_be_deployed() {
    use sagemaker_rollout::aws::endpoints::Endpoints;
    use sagemaker_rollout::plan::actions::{ModelContainer, ModelPlan};
    let (sim, arns) = registry();
    sim.set_package_status(&arns[1], "InProgress");
    match resolve(&sim, &valid(&spec("run-a", ApprovalPolicy::Approved)), None)
        .await
        .unwrap()
    {
        Lookup::Found(r) => assert_eq!(r.info.arn, arns[0], "the Completed one"),
        other => panic!("{other:?}"),
    }
    sim.set_package_status(&arns[0], "Failed");
    match resolve(&sim, &valid(&spec("run-a", ApprovalPolicy::Approved)), None)
        .await
        .unwrap()
    {
        Lookup::NotFound(why) => assert!(why.contains("none is Completed yet"), "{why}"),
        other => panic!("{other:?}"),
    }
    let model = ModelPlan {
        name: "churn-prod-m-0123456789".into(),
        candidate_id: arns[1].clone(),
        container: ModelContainer::Package,
        copy: None,
        execution_role_arn: "arn:aws:iam::123456789012:role/x".into(),
        environment: BTreeMap::new(),
        tags: BTreeMap::new(),
    };
    let refused = sim.create_model(&model).await.unwrap_err();
    assert!(refused.message.contains("InProgress"), "{refused}");
}
