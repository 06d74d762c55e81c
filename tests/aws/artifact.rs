//! S3 and Model Registry adapters over real HTTP against moto, and the artifact commands that
//! use them: `validate s3://…` through concurrent ranged GETs, and `register`.

use crate::emulator::Emulator;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use sagemaker_rollout::artifact::Limits;
use sagemaker_rollout::artifact::package::package;
use sagemaker_rollout::artifact::register::{RegisterError, RegisterRequest, register};
use sagemaker_rollout::artifact::validate::{Input, validate, validate_file};
use sagemaker_rollout::aws::registry::{ModelRegistry, SdkRegistry};
use sagemaker_rollout::aws::s3::{ObjectStore, RangeTuning, S3Uri, SdkS3, range_reader};
use sagemaker_rollout::aws::{AwsError, ErrorClass};

fn write_tree(root: &std::path::Path, model_bytes: usize) {
    std::fs::create_dir_all(root.join("model")).unwrap();
    std::fs::create_dir_all(root.join("artifacts")).unwrap();
    std::fs::write(
        root.join("inference.py"),
        "def model_fn(d):\n    return d\n",
    )
    .unwrap();
    std::fs::write(root.join("requirements.txt"), "xgboost==2.1\n").unwrap();
    std::fs::write(
        root.join("model-info.json"),
        r#"{"candidate_run_id": "run-42", "data_version": "dv-7", "git_commit": "0badc0de", "epochs": 12}"#,
    )
    .unwrap();
    let weights: Vec<u8> = (0..model_bytes)
        .map(|i| ((i * 2654435761) >> 11) as u8)
        .collect();
    std::fs::write(root.join("model/model.json"), weights).unwrap();
    std::fs::write(
        root.join("artifacts/feature_schema.json"),
        r#"{"features": ["a"]}"#,
    )
    .unwrap();
    std::fs::write(root.join("artifacts/splits.json"), r#"{"train": 1.0}"#).unwrap();
    std::fs::write(
        root.join("artifacts/metrics.json"),
        r#"{"auc": 0.88, "rmse": 1.5}"#,
    )
    .unwrap();
}

async fn bucket(config: &aws_config::SdkConfig, name: &str) {
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    client
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("create bucket");
}

/// Creates bucket `name` in eu-west-1; returns the configuration for that region.
async fn eu_bucket(config: &aws_config::SdkConfig, name: &str) -> aws_config::SdkConfig {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let eu = config
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&eu)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(name)
    .create_bucket_configuration(
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::EuWest1)
            .build(),
    )
    .send()
    .await
    .expect("create bucket");
    eu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_adapter_reads_ranges_sizes_and_uploads_in_parts() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "models").await;
    let s3 = SdkS3::new(&config);
    let small = S3Uri::parse("s3://models/a/small.bin").unwrap();
    s3.put(&small, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    assert_eq!(s3.size(&small).await.unwrap(), 10);
    assert_eq!(&s3.get_range(&small, 2, 5).await.unwrap()[..], b"2345");
    // One GET of a prefix: a range past the end is clamped, an empty object is no bytes
    // (its range is unsatisfiable, S3-3).
    assert_eq!(&s3.get_prefix(&small, 4).await.unwrap()[..], b"0123");
    assert_eq!(
        &s3.get_prefix(&small, 1 << 20).await.unwrap()[..],
        b"0123456789"
    );
    let empty = S3Uri::parse("s3://models/a/empty.json").unwrap();
    s3.put(&empty, Bytes::new()).await.unwrap();
    assert!(s3.get_prefix(&empty, 1 << 20).await.unwrap().is_empty());
    // A read pinned to a version (If-Match on HeadObject's ETag) of an object replaced since
    // is refused with 412, a Transient error: the version read is never mixed (S3-12).
    let head = s3.head(&small).await.unwrap();
    let etag = head.etag.clone().expect("an ETag");
    assert_eq!(
        &s3.get_range_of(&small, 2, 5, Some(&etag)).await.unwrap()[..],
        b"2345"
    );
    s3.put(&small, Bytes::from_static(b"9876543210"))
        .await
        .unwrap();
    let changed = s3
        .get_range_of(&small, 2, 5, Some(&etag))
        .await
        .unwrap_err();
    assert_eq!(
        (changed.status, changed.class),
        (Some(412), ErrorClass::Transient),
        "{changed}"
    );

    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..40u32 << 20).map(|i| (i % 253) as u8).collect();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &big).unwrap();
    let uri = S3Uri::parse("s3://models/a/big.bin").unwrap();
    s3.upload_file(&uri, &path).await.unwrap();
    assert_eq!(s3.size(&uri).await.unwrap(), big.len() as u64);
    let start = (17u64 << 20) - 5;
    assert_eq!(
        &s3.get_range(&uri, start, start + 9).await.unwrap()[..],
        &big[start as usize..start as usize + 10]
    );

    let missing = s3
        .size(&S3Uri::parse("s3://models/nope").unwrap())
        .await
        .unwrap_err();
    assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_streams_an_s3_artifact_through_concurrent_ranges() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "artifacts").await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("src"), 3 << 20);
    let local = dir.path().join("m.tar.gz");
    package(&dir.path().join("src"), &local, 6, 2).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(SdkS3::new(&config));
    let uri = S3Uri::parse("s3://artifacts/run-42/model.tar.gz").unwrap();
    store.upload_file(&uri, &local).await.unwrap();
    let head = store.head(&uri).await.unwrap();
    assert!(head.etag.is_some(), "the emulator names the version");
    let len = head.size;
    let handle = tokio::runtime::Handle::current();
    let tuning = RangeTuning {
        chunk: 256 << 10,
        concurrency: 3,
        attempts: 3,
    };
    let report = tokio::task::spawn_blocking(move || {
        let reader = range_reader(store, uri, head, tuning, &handle);
        validate(
            Input {
                reader: Box::new(reader),
                compressed_len: Some(len),
            },
            &Limits::default(),
            2,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let local_report = validate_file(&local, &Limits::default(), 2).unwrap();
    assert!(report.valid, "{:?}", report.violations);
    assert_eq!(report.sha256, local_report.sha256);
    assert!(report.parallel);
}

/// An in-memory store whose every third range fails once with a transient error.
struct Flaky {
    data: Bytes,
    calls: AtomicUsize,
}

#[async_trait]
impl ObjectStore for Flaky {
    async fn size(&self, _: &S3Uri) -> Result<u64, AwsError> {
        Ok(self.data.len() as u64)
    }
    async fn get_range(&self, _: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(3) {
            return Err(AwsError::new(
                ErrorClass::Transient,
                "s3",
                "GetObject",
                "connection reset",
            ));
        }
        Ok(self.data.slice(start as usize..=end as usize))
    }
    async fn get_prefix(&self, _: &S3Uri, max: u64) -> Result<Bytes, AwsError> {
        Ok(self.data.slice(..self.data.len().min(max as usize)))
    }
    async fn put(&self, _: &S3Uri, _: Bytes) -> Result<(), AwsError> {
        Ok(())
    }
    async fn upload_file(&self, _: &S3Uri, _: &std::path::Path) -> Result<(), AwsError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_range_is_retried_and_the_bytes_arrive_in_order() {
    let data: Bytes = (0..1_000_003u32)
        .map(|i| (i * 7 % 256) as u8)
        .collect::<Vec<_>>()
        .into();
    let store: Arc<dyn ObjectStore> = Arc::new(Flaky {
        data: data.clone(),
        calls: AtomicUsize::new(0),
    });
    let handle = tokio::runtime::Handle::current();
    let got = tokio::task::spawn_blocking(move || {
        let tuning = RangeTuning {
            chunk: 64 << 10,
            concurrency: 4,
            attempts: 3,
        };
        let mut reader = range_reader(
            store,
            S3Uri::parse("s3://b/k").unwrap(),
            sagemaker_rollout::aws::s3::ObjectHead {
                size: data.len() as u64,
                etag: None,
            },
            tuning,
            &handle,
        );
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut out).map(|_| out)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got.len(), 1_000_003);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, b)| *b == (i as u32 * 7 % 256) as u8)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_uploads_content_addressed_and_creates_a_package_with_lineage() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "ml-models").await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("src"), 200_000);
    let artifact = dir.path().join("model.tar.gz");
    let packaged = package(&dir.path().join("src"), &artifact, 6, 2).unwrap();
    let s3 = SdkS3::new(&config);
    let registry = SdkRegistry::new(&config);
    let req = RegisterRequest {
        artifact: artifact.clone(),
        s3_prefix: S3Uri::parse("s3://ml-models/churn").unwrap(),
        group: "churn-models".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:2.1".into(),
        approval: "PendingManualApproval".into(),
        content_types: vec!["text/csv".into()],
        response_types: vec!["application/json".into()],
        description: "test".into(),
        extra_tags: BTreeMap::from([("team".to_owned(), "growth".to_owned())]),
    };
    let done = register(&req, &s3, &registry, 2).await.unwrap();
    assert_eq!(done.sha256, packaged.sha256);
    assert_eq!(
        done.model_data_url,
        format!("s3://ml-models/churn/{}/model.tar.gz", packaged.sha256)
    );
    for (k, v) in [
        ("candidate_run_id", "run-42"),
        ("data_version", "dv-7"),
        ("git_commit", "0badc0de"),
        ("team", "growth"),
    ] {
        assert_eq!(done.metadata.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(done.metadata["artifact_sha256"], packaged.sha256);
    assert_eq!(done.metadata["metrics_hash"].len(), 16);
    assert_eq!(done.metadata["managed-by"], "sagemaker-rollout");

    let info = registry.describe_package(&done.package_arn).await.unwrap();
    assert_eq!(
        info.model_data_url.as_deref(),
        Some(done.model_data_url.as_str())
    );
    assert_eq!(info.approval, "PendingManualApproval");
    assert_eq!(
        info.metadata.get("candidate_run_id").map(String::as_str),
        Some("run-42")
    );
    assert_eq!(info.metadata.get("epochs").map(String::as_str), Some("12"));
    let listed = registry.list_packages("churn-models").await.unwrap();
    assert_eq!(listed, vec![done.package_arn.clone()]);

    let uploaded = s3
        .size(&S3Uri::parse(&done.model_data_url).unwrap())
        .await
        .unwrap();
    assert_eq!(uploaded, packaged.compressed_bytes);

    // Registering the same artifact again (a retried pipeline) reuses the same key and the
    // same version (CreateModelPackage's ClientToken); another approval is another version.
    let again = register(&req, &s3, &registry, 2).await.unwrap();
    assert_eq!(again.model_data_url, done.model_data_url);
    assert_eq!(again.package_arn, done.package_arn);
    let approved = RegisterRequest {
        approval: "Approved".into(),
        ..req.clone()
    };
    let other = register(&approved, &s3, &registry, 2).await.unwrap();
    assert_ne!(other.package_arn, done.package_arn);
    assert_eq!(
        registry.list_packages("churn-models").await.unwrap().len(),
        2
    );
    // A versioned package carries no tags: the lineage is in its metadata.
    assert!(
        registry
            .package_tags(&done.package_arn)
            .await
            .unwrap()
            .is_empty()
    );
    emu.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_refuses_an_invalid_artifact_before_uploading() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "ml-models").await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.tar.gz");
    std::fs::write(&bad, b"definitely not gzip").unwrap();
    let s3 = SdkS3::new(&config);
    let req = RegisterRequest {
        artifact: bad,
        s3_prefix: S3Uri::parse("s3://ml-models/churn").unwrap(),
        group: "churn-models".into(),
        image: "img".into(),
        approval: "Approved".into(),
        content_types: vec!["text/csv".into()],
        response_types: vec!["application/json".into()],
        description: "test".into(),
        extra_tags: BTreeMap::new(),
    };
    let err = register(&req, &s3, &SdkRegistry::new(&config), 2)
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::Invalid(_)), "{err}");
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let listed = client
        .list_objects_v2()
        .bucket("ml-models")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0), "nothing was uploaded");
}

/// An S3 object whose size is beyond the uncompressed cap is refused from its size alone: no
/// ranged read, and no read plan of tens of terabytes made up front.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_beyond_the_cap_is_refused_from_its_size_alone() {
    struct Huge;
    #[async_trait]
    impl ObjectStore for Huge {
        async fn size(&self, _: &S3Uri) -> Result<u64, AwsError> {
            Ok(60 << 40)
        }
        async fn get_range(&self, _: &S3Uri, _: u64, _: u64) -> Result<Bytes, AwsError> {
            panic!("a refused archive is not read")
        }
        async fn get_prefix(&self, _: &S3Uri, _: u64) -> Result<Bytes, AwsError> {
            panic!("a refused archive is not read")
        }
        async fn put(&self, _: &S3Uri, _: Bytes) -> Result<(), AwsError> {
            Ok(())
        }
        async fn upload_file(&self, _: &S3Uri, _: &std::path::Path) -> Result<(), AwsError> {
            Ok(())
        }
    }
    let uri = S3Uri::parse("s3://models/huge/model.tar.gz").unwrap();
    let report = sagemaker_rollout::artifact::remote::validate_s3(
        Arc::new(Huge),
        &uri,
        Limits::default(),
        2,
    )
    .await
    .unwrap();
    assert!(!report.valid);
    assert_eq!(
        report.violations[0].rule,
        sagemaker_rollout::artifact::Rule::TooLarge
    );
}

/// An archive that trickles in (every range slow) is refused when the validation's deadline
/// passes, as a verdict (rule `deadline`), instead of holding a reconcile slot for as long
/// as it keeps trickling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_past_its_deadline_is_refused_as_a_verdict() {
    struct Trickle(Bytes);
    #[async_trait]
    impl ObjectStore for Trickle {
        async fn size(&self, _: &S3Uri) -> Result<u64, AwsError> {
            Ok(self.0.len() as u64)
        }
        async fn get_range(&self, _: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError> {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            Ok(self.0.slice(start as usize..=end as usize))
        }
        async fn get_prefix(&self, _: &S3Uri, max: u64) -> Result<Bytes, AwsError> {
            Ok(self.0.slice(..self.0.len().min(max as usize)))
        }
        async fn put(&self, _: &S3Uri, _: Bytes) -> Result<(), AwsError> {
            Ok(())
        }
        async fn upload_file(&self, _: &S3Uri, _: &std::path::Path) -> Result<(), AwsError> {
            Ok(())
        }
    }
    // A tar.gz of 3 MiB of incompressible bytes: two ranges, many reads.
    let noise: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(noise.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "model.bin", noise.as_slice())
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
    let data: Bytes = gz.finish().unwrap().into();
    let limits = Limits {
        max_duration: std::time::Duration::from_secs(1),
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let report = sagemaker_rollout::artifact::remote::validate_s3(
        Arc::new(Trickle(data)),
        &S3Uri::parse("s3://models/slow/model.tar.gz").unwrap(),
        limits,
        2,
    )
    .await
    .unwrap();
    assert!(!report.valid);
    assert_eq!(
        report.violations[0].rule,
        sagemaker_rollout::artifact::Rule::Deadline,
        "{:?}",
        report.violations
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "stopped at the deadline: {:?}",
        started.elapsed()
    );
}

/// A bucket in another region answers 301 with its region (S3-13, enforced by the emulator);
/// the SDK does not follow it, the adapter does: a results file or an artifact there is read
/// as any other, and every later request about the bucket goes to its region at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_in_another_regions_bucket_is_read_from_that_region() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let eu = eu_bucket(&config, "eu-results").await;
    let uri = S3Uri::parse("s3://eu-results/run-7/validation_results.json").unwrap();
    SdkS3::new(&eu)
        .put(&uri, Bytes::from_static(b"{\"passed\": true}"))
        .await
        .unwrap();
    let s3 = SdkS3::new(&config);
    assert_eq!(s3.size(&uri).await.unwrap(), 16);
    assert_eq!(
        &s3.get_prefix(&uri, 1 << 20).await.unwrap()[..],
        b"{\"passed\": true}"
    );
    let redirects = emu
        .requests()
        .iter()
        .filter(|r| r["error_code"] == "PermanentRedirect")
        .count();
    assert_eq!(
        redirects, 1,
        "the bucket's region is remembered after one redirect"
    );
}

/// `copyTo`'s copies over HTTP on the emulator (S3-14, S3-15): a copy conditioned on the
/// validated ETag copies that version; once the object is replaced it answers 412 (Transient)
/// and copies nothing; an object over the single-copy limit is copied in parts, each
/// conditioned the same way; a delete of the copy, twice, succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_is_of_the_version_validated_or_nothing_and_large_ones_go_in_parts() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "models").await;
    // Parts of 5 MiB (S3's smallest) instead of 5 GiB, so that 12 MiB goes in three.
    let s3 = SdkS3::new(&config).with_copy_limit(5 << 20);
    let source = S3Uri::parse("s3://models/churn/model.tar.gz").unwrap();
    let copy = S3Uri::parse("s3://models/deployed/churn-m-1/model.tar.gz").unwrap();
    let validated: Vec<u8> = (0..12u32 << 20).map(|i| (i % 251) as u8).collect();
    s3.put(&source, Bytes::from(validated.clone()))
        .await
        .unwrap();
    let etag = s3.head(&source).await.unwrap().etag.expect("an ETag");
    s3.copy_pinned(&source, &copy, Some(&etag)).await.unwrap();
    assert_eq!(s3.size(&copy).await.unwrap(), validated.len() as u64);
    let at = (7u64 << 20) - 3;
    assert_eq!(
        &s3.get_range(&copy, at, at + 9).await.unwrap()[..],
        &validated[at as usize..at as usize + 10]
    );
    let parts = emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "UploadPartCopy" && r["status"] == 200)
        .count();
    assert_eq!(parts, 3, "12 MiB in parts of 5 MiB");
    // Replaced, by a large object and then by a small one: neither the copy in parts nor the
    // single CopyObject copies anything, and the copy made before is left as it was.
    let small = S3Uri::parse("s3://models/deployed/churn-m-2/model.tar.gz").unwrap();
    let other: Vec<u8> = validated.iter().map(|b| b ^ 0xff).collect();
    for (replacement, to) in [(other, &copy), (b"not what was validated".to_vec(), &small)] {
        s3.put(&source, Bytes::from(replacement)).await.unwrap();
        let refused = s3.copy_pinned(&source, to, Some(&etag)).await.unwrap_err();
        assert_eq!(
            (refused.status, refused.class),
            (Some(412), ErrorClass::Transient),
            "{refused}"
        );
    }
    let refusals: Vec<_> = emu
        .requests()
        .iter()
        .filter(|r| r["status"] == 412)
        .map(|r| r["operation"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(refusals, ["UploadPartCopy", "CopyObject"]);
    assert_eq!(
        &s3.get_range(&copy, at, at + 9).await.unwrap()[..],
        &validated[at as usize..at as usize + 10]
    );
    assert_eq!(
        s3.size(&small).await.unwrap_err().class,
        ErrorClass::NotFound
    );
    let now = s3.head(&source).await.unwrap().etag;
    s3.copy_pinned(&source, &small, now.as_deref())
        .await
        .unwrap();
    assert_eq!(
        &s3.get_prefix(&small, 1 << 20).await.unwrap()[..],
        b"not what was validated",
        "a single CopyObject, conditioned on the version now there"
    );
    for _ in 0..2 {
        s3.delete(&copy).await.unwrap();
    }
    assert_eq!(
        s3.size(&copy).await.unwrap_err().class,
        ErrorClass::NotFound
    );
}

/// A copy to a bucket of another region (S3 answers 301, S3-13) is refused, not followed:
/// SageMaker reads a model's data only from its own region, so nothing is copied there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_another_regions_bucket_is_refused_naming_the_region() {
    let emu = Emulator::start();
    let config = emu.config().await;
    bucket(&config, "models").await;
    eu_bucket(&config, "eu-copies").await;
    let s3 = SdkS3::new(&config);
    let source = S3Uri::parse("s3://models/churn/model.tar.gz").unwrap();
    s3.put(&source, Bytes::from_static(b"archive"))
        .await
        .unwrap();
    let etag = s3.head(&source).await.unwrap().etag;
    let to = S3Uri::parse("s3://eu-copies/deployed/churn-m-1/model.tar.gz").unwrap();
    let refused = s3
        .copy_pinned(&source, &to, etag.as_deref())
        .await
        .unwrap_err();
    assert_eq!(refused.class, ErrorClass::Terminal, "{refused}");
    assert!(refused.message.contains("is in eu-west-1"), "{refused}");
}
