//! Candidates from the artifact store: a model.tar.gz named in the spec, or the one a
//! validation run names. They run from their image and data (never a package ARN), carry
//! their URI as identity and lineage, and a run that did not pass never serves.

use std::collections::BTreeMap;

use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::actions::{Action, ModelContainer, ModelPlan};
use sagemaker_rollout::plan::*;

use super::*;
use crate::support::*;

const MODEL: &str = "s3://ml-artifacts/churn/run-2/model.tar.gz";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.4";
const RESULTS: &str = "s3://ml-artifacts/churn/run-2/validation_results.json";

fn artifact_spec(strategy: Strategy, image: &str) -> ModelDeploymentSpec {
    let mut s = spec(strategy);
    s.candidate.model_package_group = None;
    s.candidate.match_tags = None;
    s.candidate.artifact = Some(ArtifactSource {
        s3_uri: MODEL.into(),
        image: image.into(),
        environment: Some([("WORKERS".to_owned(), "2".to_owned())].into()),
    });
    s.serving.environment = [("TIMEOUT".to_owned(), "60".to_owned())].into();
    s
}

/// The spec with `validationResults` at RESULTS as its candidate source.
fn validation_spec(strategy: Strategy) -> ModelDeploymentSpec {
    let mut s = artifact_spec(strategy, IMAGE);
    s.candidate.artifact = None;
    s.candidate.validation_results = Some(RESULTS.into());
    s
}

/// The origin of a run read from RESULTS; `failed` says why it did not pass.
fn validated(failed: Option<&str>) -> Origin {
    Origin::Validation {
        results: RESULTS.into(),
        failed: failed.map(str::to_owned),
    }
}

fn from_store(origin: Origin, image: &str) -> Candidate {
    Candidate {
        candidate_id: MODEL.into(),
        origin,
        approval: String::new(),
        status: String::new(),
        image: Some(image.into()),
        model_data_url: MODEL.into(),
        environment: [("WORKERS".to_owned(), "2".to_owned())].into(),
        ..candidate(MODEL, "run-2")
    }
}

fn models_created(plans: &[Plan]) -> Vec<ModelPlan> {
    plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter_map(|a| match a {
            Action::CreateModel(m) if m.candidate_id == MODEL => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_artifact_candidate_is_created_from_its_image_and_data_not_a_package() {
    let s = artifact_spec(Strategy::Direct, IMAGE);
    let mut w = World::with_champion(&spec(s.rollout.strategy));
    w.candidate = CandidateLookup::Found(from_store(Origin::Artifact, IMAGE));
    let plans = w.run(&s, 60);
    assert_eq!(w.stage(), Some(Stage::Done), "{:?}", w.status);
    let models = models_created(&plans);
    assert_eq!(models.len(), 1, "{models:?}");
    let m = &models[0];
    assert_eq!(
        m.container,
        ModelContainer::Image {
            image: IMAGE.into(),
            model_data_url: MODEL.into()
        }
    );
    let env: BTreeMap<String, String> = [("TIMEOUT", "60"), ("WORKERS", "2")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    assert_eq!(
        m.environment, env,
        "the artifact's environment with the serving one on top"
    );
    assert_eq!(
        m.tags.get("model_artifact_uri").map(String::as_str),
        Some(MODEL)
    );
    assert!(!m.tags.contains_key("model_package_arn"), "{:?}", m.tags);
    let st = w.status.clone().unwrap();
    let cand = st.candidate.unwrap();
    assert_eq!(
        (
            cand.artifact_uri.as_deref(),
            cand.model_package_arn,
            cand.weight
        ),
        (Some(MODEL), None, Some(100))
    );
    assert_eq!(last_history(&w).artifact_uri.as_deref(), Some(MODEL));
    assert_eq!(last_history(&w).outcome, "Succeeded");
    assert_eq!(serving_packages(&w), vec![MODEL.to_owned()]);
}

#[test]
fn a_validation_run_that_did_not_pass_is_refused_and_the_champion_keeps_serving() {
    let s = validation_spec(Strategy::Canary);
    let mut w = World::with_champion(&spec(s.rollout.strategy));
    let failed = validated(Some("gates auc did not pass"));
    w.candidate = CandidateLookup::Found(from_store(failed, IMAGE));
    let plans = w.run(&s, 20);
    assert!(models_created(&plans).is_empty());
    assert!(plans.iter().all(|p| !p.kinds().contains(&"UpdateEndpoint")));
    let h = last_history(&w);
    assert_eq!(
        (
            h.outcome.as_str(),
            h.artifact_uri.as_deref(),
            h.model_package_arn.as_str()
        ),
        ("Refused", Some(MODEL), "")
    );
    assert_eq!(
        h.reason,
        format!(
            "validation run run-2 did not pass its gates ({RESULTS}: gates auc did not pass); it is never deployed"
        )
    );
    assert_eq!(w.status.clone().unwrap().phase, Some(Phase::Failed));
    assert_eq!(serving_packages(&w), vec![CHAMPION_ARN.to_owned()]);
}

#[test]
fn a_rollout_whose_validation_run_is_withdrawn_rolls_back_to_the_champion() {
    let s = validation_spec(Strategy::Canary);
    let mut w = World::with_champion(&spec(s.rollout.strategy));
    let passed = validated(None);
    w.candidate = CandidateLookup::Found(from_store(passed, IMAGE));
    until_stage(&mut w, &s, Stage::Step, 1, 60);
    let withdrawn = validated(Some("passed is false"));
    w.candidate = CandidateLookup::Found(from_store(withdrawn, IMAGE));
    w.run(&s, 60);
    assert_eq!(w.stage(), Some(Stage::RolledBack), "{:?}", w.status);
    assert_eq!(serving_packages(&w), vec![CHAMPION_ARN.to_owned()]);
    let h = last_history(&w);
    assert_eq!(h.outcome, "RolledBack");
    assert!(
        h.reason.contains("validation run run-2 did not pass"),
        "{}",
        h.reason
    );
}

#[test]
fn a_new_image_for_the_same_artifact_supersedes_the_rollout_in_flight() {
    let s = artifact_spec(Strategy::Canary, IMAGE);
    let mut w = World::with_champion(&spec(s.rollout.strategy));
    w.candidate = CandidateLookup::Found(from_store(Origin::Artifact, IMAGE));
    until_stage(&mut w, &s, Stage::Step, 1, 60);
    let first = w.markers().variant.unwrap();
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.5";
    let s2 = artifact_spec(Strategy::Canary, image);
    w.candidate = CandidateLookup::Found(from_store(Origin::Artifact, image));
    let plans = w.run(&s2, 200);
    assert_eq!(w.stage(), Some(Stage::Done), "{:?}", w.status);
    let history = w.status.clone().unwrap().history;
    assert!(
        history.iter().any(|h| h.outcome == "Superseded"),
        "{history:?}"
    );
    assert_ne!(
        w.markers().variant.unwrap(),
        first,
        "a new variant for the new image"
    );
    assert!(models_created(&plans).iter().any(|m| matches!(&m.container,
        ModelContainer::Image { image: i, .. } if i == image)));
}

/// The run at RESULTS serves alone; then a re-validation at another results URI names the
/// same artifact as `rerun` (what it changes). Returns the refusal and whether a model was made.
fn revalidated(rerun: impl FnOnce(Candidate) -> Candidate) -> (World, HistoryEntry, bool) {
    let mut s = validation_spec(Strategy::Direct);
    let mut w = World::with_champion(&spec(s.rollout.strategy));
    let passed = validated(None);
    w.candidate = CandidateLookup::Found(from_store(passed.clone(), IMAGE));
    w.run(&s, 60);
    assert_eq!(w.stage(), Some(Stage::Done), "{:?}", w.status);
    s.candidate.validation_results =
        Some("s3://ml-artifacts/churn/run-2b/validation_results.json".into());
    w.candidate = CandidateLookup::Found(rerun(from_store(passed, IMAGE)));
    let plans = w.run(&s, 20);
    let h = last_history(&w);
    (w, h, !models_created(&plans).is_empty())
}

#[test]
fn a_validation_run_naming_a_serving_artifact_with_another_image_is_refused_not_ignored() {
    let newer = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.5";
    let (w, h, created) = revalidated(|c| Candidate {
        image: Some(newer.into()),
        ..c
    });
    assert!(!created, "nothing deployed");
    assert_eq!(h.outcome, "Refused");
    assert!(
        h.reason
            .contains(&format!("already serves with image {IMAGE}"))
            && h.reason.contains("write the model under a new key"),
        "{}",
        h.reason
    );
    assert_eq!(serving_packages(&w), vec![MODEL.to_owned()]);
}

#[test]
fn a_validation_run_naming_a_serving_artifact_with_another_environment_is_refused() {
    let (_, h, created) = revalidated(|c| Candidate {
        environment: [("WORKERS".to_owned(), "4".to_owned())].into(),
        ..c
    });
    assert!(!created, "nothing deployed");
    assert_eq!(h.outcome, "Refused");
    assert!(
        h.reason
            .contains("already serves with another container environment than run run-2 names"),
        "{}",
        h.reason
    );
}
