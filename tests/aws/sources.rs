//! Artifact-store candidates over real HTTP: the engine's results reader (`engine::store`)
//! through the S3 adapter against moto — a present file is the candidate, a missing one a
//! verdict rather than an error to retry (S3-10), a pinned rollout keeps its candidate when
//! the file names another run.

use crate::emulator::Emulator;

use bytes::Bytes;
use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::aws::s3::{ObjectStore, S3Uri, SdkS3};
use sagemaker_rollout::engine::resolve::Lookup;
use sagemaker_rollout::engine::store::resolve;
use sagemaker_rollout::plan::Origin;

const RESULTS: &str = "s3://ml-artifacts/churn/2026-11-20-abc123/validation_results.json";
const MODEL: &str = "s3://ml-artifacts/churn/2026-11-20-abc123/model.tar.gz";

fn spec() -> ValidSpec {
    let path = "deploy/examples/from-validation.yaml";
    let text = std::fs::read_to_string(path).unwrap();
    ValidSpec::new(&load_valid(path, &text).unwrap().remove(0).0.spec).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_results_are_read_over_http_and_a_missing_file_is_a_verdict() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let s3 = SdkS3::new(&config);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket("ml-artifacts")
    .send()
    .await
    .unwrap();
    let spec = spec();

    match resolve(&s3, &spec, Some("us-east-1"), None).await.unwrap() {
        Lookup::NotFound(why) => {
            assert_eq!(why, format!("validation results {RESULTS} do not exist"))
        }
        other => panic!("{other:?}"),
    }

    let body = format!(
        r#"{{"candidate_run_id": "2026-11-20-abc123", "passed": false,
            "artifact": {{"s3_uri": "{MODEL}", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}},
            "gates": [{{"name": "auc", "passed": false}}]}}"#
    );
    s3.put(&S3Uri::parse(RESULTS).unwrap(), Bytes::from(body))
        .await
        .unwrap();
    let Lookup::Found(r) = resolve(&s3, &spec, Some("us-east-1"), None).await.unwrap() else {
        panic!("a results file names a candidate");
    };
    assert_eq!(r.info.arn, MODEL);
    assert_eq!(r.run_id().as_deref(), Some("2026-11-20-abc123"));
    assert_eq!(
        r.origin,
        Origin::Validation {
            results: RESULTS.into(),
            failed: Some("gates auc did not pass".into())
        }
    );

    match resolve(
        &s3,
        &spec,
        Some("us-east-1"),
        Some("s3://ml-artifacts/churn/older/model.tar.gz"),
    )
    .await
    .unwrap()
    {
        Lookup::NotFound(why) => assert!(
            why.contains("not the pinned candidate s3://ml-artifacts/churn/older/model.tar.gz"),
            "{why}"
        ),
        other => panic!("a file naming another run does not replace the pinned one: {other:?}"),
    }
    emu.assert_clean();
}

/// An archived results file is named as such, not as a missing one or a missing permission
/// (S3-11): S3 answers its GET with InvalidObjectState.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_results_file_is_named_with_what_to_do() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let raw = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    raw.create_bucket()
        .bucket("ml-artifacts")
        .send()
        .await
        .unwrap();
    let uri = S3Uri::parse(RESULTS).unwrap();
    raw.put_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
        .body(Bytes::from_static(b"{}").into())
        .send()
        .await
        .unwrap();
    let s3 = SdkS3::new(&config);
    match resolve(&s3, &spec(), Some("us-east-1"), None)
        .await
        .unwrap()
    {
        Lookup::NotFound(why) => assert!(
            why.contains("are archived") && why.contains("RestoreObject"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}
