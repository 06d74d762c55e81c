//! `spec.artifact.copyTo` on the simulator: a model reads a copy of the version validated,
//! made with the validated ETag as its condition (S3-14), so an artifact overwritten after
//! deployment is not what a new instance loads; a replaced artifact is never copied; the copy
//! goes with its model (S3-15).

use bytes::Bytes;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::api::{Phase, ValidSpec};
use sagemaker_rollout::aws::endpoints::Endpoints;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, drive};
use sagemaker_rollout::plan::actions::ModelContainer;
use sagemaker_rollout::sim::simulate::start_time;
use sagemaker_rollout::sim::{Scenario, Simulator, artifact};

const OWNER: &str = "ml-staging/fraud-artifact";
const MODEL: &str = "s3://ml-artifacts/fraud/2026-11-21-def456/model.tar.gz";
const COPIES: &str = "s3://ml-artifacts/deployed/";

/// The artifact-store example with `copyTo`.
fn spec() -> ValidSpec {
    let path = "deploy/examples/artifact.yaml";
    let text = std::fs::read_to_string(path).unwrap();
    let mut spec = load_valid(path, &text).unwrap().remove(0).0.spec;
    spec.artifact.copy_to = Some(COPIES.into());
    ValidSpec::new(&spec).unwrap()
}

async fn apply(
    sim: &Simulator,
    engine: &Engine,
    valid: &ValidSpec,
) -> sagemaker_rollout::api::ModelDeploymentStatus {
    drive(
        engine,
        Goal::Apply(valid),
        &sim.clock,
        DriveOptions::default(),
        |_| {},
    )
    .await
    .unwrap()
    .status
    .unwrap()
}

#[tokio::test]
async fn a_model_reads_a_copy_of_the_version_validated_which_later_overwrites_leave_alone() {
    let valid = spec();
    let sim = Simulator::new(start_time(), &Scenario::default());
    let validated = artifact("run-7", 0.92);
    sim.put_object(MODEL, validated.clone());
    let engine = Engine::new(sim.clients(), OWNER);
    let st = apply(&sim, &engine, &valid).await;
    assert_eq!(st.phase, Some(Phase::Succeeded), "{:?}", st.conditions);
    let start = sim.clock.now();
    let model = sim.serving_models(&valid.endpoint_name).remove(0);
    let copy = format!("{COPIES}{model}/model.tar.gz");
    let Some(ModelContainer::Image { model_data_url, .. }) = sim.model_container(&model) else {
        panic!("an artifact-store model is created from its container definition")
    };
    assert_eq!(model_data_url, copy, "the model reads the copy");
    let tags = sim.model_tags(&model).await.unwrap().unwrap();
    assert_eq!(
        tags["model_artifact_uri"], MODEL,
        "its lineage names the source"
    );
    assert_eq!(tags["model_artifact_copy"], copy);
    // The pipeline writes another archive over the key: the copy is what was validated.
    sim.put_object(MODEL, artifact("run-8", 0.5));
    assert_eq!(sim.objects(&copy), vec![(copy.clone(), validated.clone())]);
    // A new process, and a change applied in place (the instance count): the existing model's
    // copy is never copied over again.
    let mut wider = valid.raw().clone();
    wider.serving.instance_count = 2;
    let wider = ValidSpec::new(&wider).unwrap();
    let restarted = Engine::new(sim.clients(), OWNER);
    let st = apply(&sim, &restarted, &wider).await;
    assert_eq!(st.phase, Some(Phase::Succeeded), "{:?}", st.conditions);
    assert_eq!(sim.objects(&copy), vec![(copy.clone(), validated)]);
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.operation == "CopyObject" && r.at > start),
        "no copy after the first"
    );
    // Deleted with its model.
    let teardown = wider.teardown();
    drive(
        &restarted,
        Goal::Delete(&teardown),
        &sim.clock,
        DriveOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0));
    assert!(
        sim.objects(COPIES).is_empty(),
        "the copy is deleted with the model"
    );
}

/// Replaced between the look before CreateModel and the copy: S3 refuses the copy (412), the
/// verdict is dropped, the new bytes are validated and refused, and nothing is deployed.
#[tokio::test]
async fn an_artifact_replaced_just_before_its_copy_is_never_copied_nor_deployed() {
    let valid = spec();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sim.put_object(MODEL, artifact("run-7", 0.92));
    // Replaced just before it is copied: after the pass's look at the object
    // (`Engine::pinned`), so only the copy's own condition stands between the new bytes and
    // production.
    let mut clients = sim.clients();
    clients.s3 = std::sync::Arc::new(super::Hooked {
        sim: sim.clone(),
        hook: |call, sim: &Simulator| {
            if call == super::S3Call::Copy {
                sim.put_object(MODEL, Bytes::from_static(b"not a model archive"));
            }
        },
    });
    let engine = Engine::new(clients, OWNER);
    let st = apply(&sim, &engine, &valid).await;
    assert_eq!(
        (st.phase, st.conditions[0].reason.as_str()),
        (Some(Phase::Failed), "ArtifactInvalid"),
        "{:?}",
        st.conditions
    );
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "nothing deployed");
    assert!(sim.objects(COPIES).is_empty(), "nothing copied");
}
