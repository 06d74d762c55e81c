//! Candidates from the artifact store on the simulator: a model.tar.gz named in the spec
//! and the run a validation_results.json names, from an empty account and beside a champion;
//! what is refused (a run that did not pass, an artifact of another run, a file that is
//! missing or malformed), each without retrying and before any model is created.

use super::example;
use bytes::Bytes;
use sagemaker_rollout::api::{Phase, ValidSpec};
use sagemaker_rollout::aws::endpoints::Endpoints;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, drive};
use sagemaker_rollout::sim::simulate::{SimOptions, simulate, start_time};
use sagemaker_rollout::sim::{Scenario, Simulator, artifact};

const OWNER: &str = "ml-prod/churn-store";
const RESULTS: &str = "s3://ml-artifacts/churn/2026-11-20-abc123/validation_results.json";
const MODEL: &str = "s3://ml-artifacts/churn/2026-11-20-abc123/model.tar.gz";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.4";

async fn model_tags(sim: &Simulator, endpoint: &str) -> std::collections::BTreeMap<String, String> {
    let model = sim.serving_models(endpoint).remove(0);
    sim.model_tags(&model).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_artifact_named_in_the_spec_is_deployed_with_lineage_from_its_model_info() {
    let spec = example("artifact");
    let valid = ValidSpec::new(&spec).unwrap();
    for empty in [true, false] {
        let options = SimOptions {
            empty,
            ..SimOptions::default()
        };
        let s = simulate(&valid, OWNER, &options).await.unwrap();
        let st = s.rest.status.clone().unwrap();
        assert_eq!(
            st.phase,
            Some(Phase::Succeeded),
            "{}",
            s.timeline.join("\n")
        );
        let cand = st.candidate.unwrap();
        let uri = &spec.candidate.artifact.as_ref().unwrap().s3_uri;
        assert_eq!(cand.artifact_uri.as_ref(), Some(uri));
        assert_eq!(cand.candidate_run_id.as_deref(), Some("sim-candidate"));
        let tags = model_tags(&s.simulator, &spec.endpoint_name).await;
        assert_eq!(tags.get("model_artifact_uri"), Some(uri));
        assert_eq!(
            tags.get("candidate_run_id").map(String::as_str),
            Some("sim-candidate")
        );
        assert_eq!(
            tags.get("data_version").map(String::as_str),
            Some("dv-sim-candidate")
        );
        assert!(tags.contains_key("artifact_sha256"), "{tags:?}");
        assert_eq!(st.history[0].artifact_uri.as_ref(), Some(uri));
    }
}

#[tokio::test]
async fn the_run_a_validation_results_file_names_is_rolled_out_against_the_champion() {
    let spec = example("from-validation");
    let valid = ValidSpec::new(&spec).unwrap();
    let s = simulate(&valid, OWNER, &SimOptions::default())
        .await
        .unwrap();
    let st = s.rest.status.clone().unwrap();
    assert_eq!(
        st.phase,
        Some(Phase::Succeeded),
        "{}",
        s.timeline.join("\n")
    );
    assert_eq!(st.candidate.unwrap().artifact_uri.as_deref(), Some(MODEL));
    let joined = s.timeline.join("\n");
    assert!(
        joined.contains("step 2/2"),
        "a canary with both steps:\n{joined}"
    );
    let tags = model_tags(&s.simulator, &spec.endpoint_name).await;
    assert_eq!(
        tags.get("model_artifact_uri").map(String::as_str),
        Some(MODEL)
    );
}

#[tokio::test]
async fn a_validation_run_that_did_not_pass_is_refused_before_any_model_is_created() {
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let options = SimOptions {
        scenario: Scenario::parse("validationFailed: true").unwrap(),
        ..SimOptions::default()
    };
    let s = simulate(&valid, OWNER, &options).await.unwrap();
    let st = s.rest.status.clone().unwrap();
    assert_eq!(st.phase, Some(Phase::Failed));
    let ready = &st.conditions[0];
    assert_eq!(ready.reason, "PackageUnusable");
    assert!(
        ready
            .message
            .contains("validation run sim-candidate did not pass its gates")
            && ready.message.contains("gates auc did not pass"),
        "{}",
        ready.message
    );
    assert_eq!(st.history[0].outcome, "Refused");
    let (_, _, models, _, _) = s.simulator.inventory();
    assert_eq!(models, 1, "only the champion's model");
}

/// Drives `valid` on a simulator holding `objects` (and the example's alarms); returns the
/// status and how many passes were retried.
async fn drive_with(
    valid: &ValidSpec,
    objects: &[(&str, Bytes)],
) -> (
    sagemaker_rollout::api::ModelDeploymentStatus,
    u32,
    Simulator,
) {
    let sim = Simulator::new(start_time(), &Scenario::default());
    for (uri, body) in objects {
        sim.put_object(uri, body.clone());
    }
    let (rest, retries) = super::drive_counting_retries(&sim, valid, OWNER).await;
    (rest.status.unwrap(), retries, sim)
}

fn results(run: &str, model: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"candidate_run_id": "{run}", "passed": true, "artifact": {{"s3_uri": "{model}", "image": "{IMAGE}"}}}}"#
    ))
}

#[tokio::test]
async fn an_artifact_that_is_not_there_is_refused_before_any_model_is_created() {
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let (st, retries, sim) = drive_with(&valid, &[(RESULTS, results("run-7", MODEL))]).await;
    let ready = &st.conditions[0];
    assert_eq!(
        (st.phase, ready.reason.as_str()),
        (Some(Phase::Failed), "ArtifactInvalid")
    );
    assert!(
        ready.message.contains("does not exist"),
        "{}",
        ready.message
    );
    assert_eq!(retries, 0, "a permanent problem is not retried");
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "nothing deployed");
}

#[tokio::test]
async fn an_artifact_trained_by_another_run_than_the_validated_one_is_refused() {
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let objects = [
        (RESULTS, results("run-7", MODEL)),
        (MODEL, artifact("run-8", 0.93)),
    ];
    let (st, retries, sim) = drive_with(&valid, &objects).await;
    let ready = &st.conditions[0];
    assert_eq!(
        (st.phase, ready.reason.as_str()),
        (Some(Phase::Failed), "ArtifactInvalid")
    );
    assert!(
        ready.message.contains(&format!(
            "its model-info.json names run run-8 but {RESULTS} validated run run-7"
        )),
        "{}",
        ready.message
    );
    assert_eq!(retries, 0);
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn a_missing_or_malformed_results_file_waits_and_says_which_field_is_wrong() {
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let bad = Bytes::from_static(br#"{"passed": 1, "artifact": {"image": "x y"}}"#);
    for (objects, needle) in [
        (vec![], format!("validation results {RESULTS} do not exist")),
        (
            vec![(RESULTS, bad)],
            "candidate_run_id: is required; passed: must be true or false; artifact.s3_uri: is required; artifact.image: \"x y\" is not an image URI".to_owned(),
        ),
    ] {
        let (st, retries, sim) = drive_with(&valid, &objects).await;
        let ready = &st.conditions[0];
        assert_eq!(ready.reason, "WaitingForCandidate");
        assert!(ready.message.contains(&needle), "{}", ready.message);
        assert_eq!(retries, 0);
        assert_eq!(sim.inventory(), (0, 0, 0, 0, 0));
    }
}

/// A restarted process finds the validation_results.json overwritten by a newer run: the
/// rollout in flight keeps its pinned artifact to the end, wherever the crash was, and the
/// newer run is not deployed behind its back.
#[tokio::test]
async fn a_newer_run_written_over_the_results_mid_rollout_does_not_replace_the_pinned_one() {
    use sagemaker_rollout::sim::seed;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let clean = simulate(&valid, OWNER, &SimOptions::default())
        .await
        .unwrap();
    let clean_models = clean.simulator.serving_models(&valid.endpoint_name);
    for n in 1..clean.simulator.mutations() {
        let sim = Simulator::new(start_time(), &Scenario::default());
        seed(&sim, &valid, OWNER, true);
        sim.crash_after(Some(n));
        let first = Engine::new(sim.clients(), OWNER);
        let options = DriveOptions::default();
        let crashed = drive(&first, Goal::Apply(&valid), &sim.clock, options, |_| {})
            .await
            .unwrap();
        assert!(crashed.rejected.is_some(), "crash {n}");
        sim.crash_after(None);
        let newer = "s3://ml-artifacts/churn/2026-11-27-fff999/model.tar.gz";
        sim.put_object(newer, artifact("2026-11-27-fff999", 0.95));
        sim.put_object(RESULTS, results("2026-11-27-fff999", newer));
        let second = Engine::new(sim.clients(), OWNER);
        let rest = drive(&second, Goal::Apply(&valid), &sim.clock, options, |_| {})
            .await
            .unwrap();
        let st = rest.status.unwrap();
        let serving = sim.serving_models(&valid.endpoint_name);
        if serving == clean_models {
            assert_eq!(
                st.phase,
                Some(Phase::Succeeded),
                "crash {n}: {:?}",
                st.conditions
            );
        } else {
            // Crashed before the rollout pinned its candidate: the newer run is the candidate.
            let tags = model_tags(&sim, &valid.endpoint_name).await;
            assert_eq!(
                tags.get("model_artifact_uri").map(String::as_str),
                Some(newer),
                "crash {n}: {tags:?} {serving:?} vs {clean_models:?}: {:?} {:?}",
                st.conditions,
                st.history
            );
            assert_eq!(
                st.phase,
                Some(Phase::Succeeded),
                "crash {n}: {:?}",
                st.conditions
            );
        }
    }
}

/// A manifest committed before its artifact finished uploading: refused while the object is
/// missing, and deployed once it is there (the verdict is checked again after five minutes,
/// not remembered for the life of the process).
#[tokio::test]
async fn an_artifact_uploaded_after_it_was_refused_is_deployed_on_a_later_pass() {
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sim.put_object(RESULTS, results("run-7", MODEL));
    let engine = Engine::new(sim.clients(), OWNER);
    let options = DriveOptions::default();
    let first = drive(&engine, Goal::Apply(&valid), &sim.clock, options, |_| {})
        .await
        .unwrap();
    let st = first.status.unwrap();
    assert_eq!(st.conditions[0].reason, "ArtifactInvalid");
    sim.put_object(MODEL, artifact("run-7", 0.92));
    let again = drive(&engine, Goal::Apply(&valid), &sim.clock, options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        again.status.unwrap().conditions[0].reason,
        "ArtifactInvalid",
        "within five minutes the verdict stands"
    );
    sim.clock
        .advance_to(sim.clock.now() + jiff::SignedDuration::from_mins(6));
    let later = drive(&engine, Goal::Apply(&valid), &sim.clock, options, |_| {})
        .await
        .unwrap();
    let st = later.status.unwrap();
    assert_eq!(st.phase, Some(Phase::Succeeded), "{:?}", st.conditions);
    assert_eq!(st.candidate.unwrap().artifact_uri.as_deref(), Some(MODEL));
}

/// A validation that stopped the controller three times (its journal entry was never ended:
/// out of memory on the archive, say) is refused after the restart, not run a fourth time; two
/// are forgiven, and a finished validation clears the entry.
#[tokio::test]
async fn an_archive_that_stopped_the_controller_three_times_is_refused_after_the_restart() {
    use sagemaker_rollout::engine::journal::Journal;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    for (interrupted, refused) in [(3, true), (2, false)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("validations.json");
        std::fs::write(&path, format!(r#"{{"{MODEL}": {interrupted}}}"#)).unwrap();
        let sim = Simulator::new(start_time(), &Scenario::default());
        sim.put_object(RESULTS, results("run-7", MODEL));
        sim.put_object(MODEL, artifact("run-7", 0.92));
        let engine = Engine::new(sim.clients(), OWNER)
            .with_journal(std::sync::Arc::new(Journal::new(Some(path.clone()))));
        let rest = drive(
            &engine,
            Goal::Apply(&valid),
            &sim.clock,
            DriveOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
        let st = rest.status.unwrap();
        let ready = &st.conditions[0];
        if refused {
            assert_eq!(
                (st.phase, ready.reason.as_str()),
                (Some(Phase::Failed), "ArtifactInvalid")
            );
            assert!(
                ready.message.contains("interrupted 3 times"),
                "{}",
                ready.message
            );
            assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "nothing deployed");
        } else {
            assert_eq!(st.phase, Some(Phase::Succeeded), "{:?}", st.conditions);
            let left = std::fs::read_to_string(&path).unwrap();
            assert_eq!(left, "{}", "the finished validation is forgotten");
        }
    }
}

/// The artifact overwritten after its validation: no model is created from what was
/// validated; the new bytes are validated and refused, and nothing of the candidate is
/// deployed (S3-12).
#[tokio::test]
async fn an_artifact_replaced_after_validation_is_validated_again_before_any_model_is_created() {
    use sagemaker_rollout::engine::drive::Progress;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sim.put_object(RESULTS, results("run-7", MODEL));
    sim.put_object(MODEL, artifact("run-7", 0.92));
    // The artifact overwritten (an archive that fails the contract put in its place) once it
    // has been read whole: between its validation and CreateModel.
    let read = std::sync::atomic::AtomicBool::new(false);
    let mut clients = sim.clients();
    clients.s3 = std::sync::Arc::new(super::Hooked {
        sim: sim.clone(),
        hook: move |call, sim: &Simulator| match call {
            super::S3Call::PinnedRange => read.store(true, std::sync::atomic::Ordering::SeqCst),
            super::S3Call::Head if read.load(std::sync::atomic::Ordering::SeqCst) => {
                sim.put_object(MODEL, Bytes::from_static(b"not a model archive"))
            }
            _ => {}
        },
    });
    let engine = Engine::new(clients, OWNER);
    let (mut retries, mut changed) = (0, String::new());
    let rest = drive(
        &engine,
        Goal::Apply(&valid),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Retry { error, .. } = p {
                retries += 1;
                changed = error.to_string();
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(retries, 1, "one pass ended at CreateModel: {changed}");
    assert!(
        changed.contains("changed since it was validated"),
        "{changed}"
    );
    let st = rest.status.unwrap();
    assert_eq!(
        (st.phase, st.conditions[0].reason.as_str()),
        (Some(Phase::Failed), "ArtifactInvalid"),
        "{:?}",
        st.conditions
    );
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "nothing deployed");
}

use sagemaker_rollout::aws::AwsError;
use sagemaker_rollout::aws::s3::{ObjectStore, S3Uri};

/// A store that answers HEAD with `size` and a GET with `body` (clamped to the range asked,
/// as S3 clamps it), and is never written to (the results reader only reads).
struct Answers {
    size: Result<u64, AwsError>,
    body: Result<Bytes, AwsError>,
}

impl Answers {
    /// S3 without `s3:ListBucket`: every object, present or not, answers a bare 403.
    fn no_list_bucket() -> Self {
        let mut e = AwsError::new(
            sagemaker_rollout::aws::ErrorClass::Terminal,
            "s3",
            "GetObject",
            "Access Denied",
        );
        e.status = Some(403);
        Self {
            size: Err(e.clone()),
            body: Err(e),
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for Answers {
    async fn size(&self, _: &S3Uri) -> Result<u64, AwsError> {
        self.size.clone()
    }
    async fn get_range(&self, _: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError> {
        let body = self.body.clone()?;
        Ok(body.slice(start as usize..=(end as usize).min(body.len() - 1)))
    }
    async fn get_prefix(&self, _: &S3Uri, max: u64) -> Result<Bytes, AwsError> {
        let body = self.body.clone()?;
        Ok(body.slice(..body.len().min(max as usize)))
    }
    async fn put(&self, _: &S3Uri, _: Bytes) -> Result<(), AwsError> {
        unreachable!("the results reader never writes")
    }
    async fn upload_file(&self, _: &S3Uri, _: &std::path::Path) -> Result<(), AwsError> {
        unreachable!("the results reader never writes")
    }
}

#[tokio::test]
async fn a_validation_results_file_the_role_may_not_read_is_a_verdict_not_a_stall() {
    use sagemaker_rollout::engine::resolve::Lookup;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let found =
        sagemaker_rollout::engine::store::resolve(&Answers::no_list_bucket(), &valid, None, None)
            .await
            .expect("a 403 is a verdict on the candidate, not a failed pass");
    let Lookup::NotFound(why) = found else {
        panic!("{found:?}")
    };
    assert_eq!(
        why,
        format!(
            "validation results {RESULTS} do not exist, or the controller's role may not read them (s3:GetObject; grant s3:ListBucket to tell the two apart; a Requester Pays bucket also answers 403)"
        )
    );
}

/// A results file overwritten while it is read: a HEAD (size) then a ranged GET would read a
/// size of one write and bytes of another (a truncated file refused, or a prefix taken for the
/// whole). The reader makes one GET, so what it reads is one version; this store answers a
/// HEAD with the old size and a GET with the new, longer file.
#[tokio::test]
async fn a_results_file_is_read_in_one_get_so_an_overwrite_never_mixes_two_versions() {
    use sagemaker_rollout::engine::resolve::Lookup;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let store = Answers {
        size: Ok(20),
        body: Ok(results("run-8", MODEL)),
    };
    let found = sagemaker_rollout::engine::store::resolve(&store, &valid, None, None)
        .await
        .unwrap();
    assert!(matches!(found, Lookup::Found(_)), "{found:?}");
}

/// Multi-tenant mode: a validation run naming an artifact outside the S3 prefixes its
/// DeploymentPolicy grants (another team's model) is never deployed.
#[tokio::test]
async fn a_run_naming_an_artifact_outside_the_granted_prefixes_is_not_deployed() {
    let mut valid = ValidSpec::new(&example("from-validation")).unwrap();
    valid.artifact.read_prefixes = Some(vec!["s3://ml-artifacts/churn/".into()]);
    let foreign = "s3://ml-artifacts/fraud/2026-11-20-abc123/model.tar.gz";
    let (st, _, sim) = drive_with(&valid, &[(RESULTS, results("run-7", foreign))]).await;
    let ready = &st.conditions[0];
    assert_eq!(ready.reason, "WaitingForCandidate", "{}", ready.message);
    assert!(
        ready.message.contains("outside the S3 prefixes"),
        "{}",
        ready.message
    );
    assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "nothing deployed");
}

/// The verdict outlives a restart (the journal's volume outlives the container): a new
/// process on an account holding the same version of the artifact asks S3 only for its
/// ETag and deploys it with the lineage the validation read, streaming nothing; another
/// version under the same key is validated again.
#[tokio::test]
async fn a_verdict_kept_across_a_restart_spares_streaming_the_same_version_again() {
    use sagemaker_rollout::engine::journal::Journal;
    let valid = ValidSpec::new(&example("from-validation")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("validations.json");
    let run_as = |owner: &'static str, body: Bytes| {
        let (valid, path) = (valid.clone(), path.clone());
        async move {
            let sim = Simulator::new(start_time(), &Scenario::default());
            sim.put_object(RESULTS, results("run-7", MODEL));
            sim.put_object(MODEL, body);
            // A process of its own: nothing in memory but what the journal kept.
            let engine = Engine::new(sim.clients(), owner)
                .with_journal(std::sync::Arc::new(Journal::new(Some(path))));
            let rest = drive(
                &engine,
                Goal::Apply(&valid),
                &sim.clock,
                DriveOptions::default(),
                |_| {},
            )
            .await
            .unwrap();
            let gets = sim
                .requests()
                .iter()
                .filter(|r| r.operation == "GetObject")
                .count();
            (rest.status.unwrap(), gets, sim)
        }
    };
    let run = |body: Bytes| run_as(OWNER, body);
    let (first, streamed, _) = run(artifact("run-7", 0.92)).await;
    assert_eq!(
        first.phase,
        Some(Phase::Succeeded),
        "{:?}",
        first.conditions
    );
    let (again, gets, sim) = run(artifact("run-7", 0.92)).await;
    assert_eq!(
        again.phase,
        Some(Phase::Succeeded),
        "{:?}",
        again.conditions
    );
    assert!(
        streamed > 1,
        "the first process read the results and the archive"
    );
    assert_eq!(
        gets, 1,
        "only the results file is read again, not the archive"
    );
    assert_eq!(
        model_tags(&sim, "churn-store-prod").await["candidate_run_id"],
        "run-7"
    );
    let (other, gets, _) = run(artifact("run-7", 0.5)).await;
    assert_eq!(
        other.phase,
        Some(Phase::Succeeded),
        "{:?}",
        other.conditions
    );
    assert_eq!(gets, streamed, "another version is streamed again");
    // Another namespace's session never relies on this one's verdict (its role may not be
    // allowed to read or decrypt the object): it streams the archive itself.
    let (theirs, gets, _) = run_as("ml-dev/churn-store", artifact("run-7", 0.5)).await;
    assert_eq!(
        theirs.phase,
        Some(Phase::Succeeded),
        "{:?}",
        theirs.conditions
    );
    assert_eq!(gets, streamed, "validated again under its own namespace");
}
