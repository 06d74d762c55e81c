//! The engine on the simulator in virtual time: candidate resolution, every strategy end to
//! end, rollbacks, failures, throttling, crash and restart after every mutating call.

mod components;
mod copies;
mod flux;
mod holds;
mod picture;
mod requests;
mod resolve;
mod serverless;
mod sim;
mod sources;
mod watch;

use sagemaker_rollout::api::ValidSpec;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, Rest, drive};
use sagemaker_rollout::sim::Simulator;

/// The spec of `deploy/examples/<name>.yaml`.
fn example(name: &str) -> sagemaker_rollout::api::ModelDeploymentSpec {
    let path = format!("deploy/examples/{name}.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    sagemaker_rollout::api::document::load_valid(&path, &text)
        .unwrap()
        .remove(0)
        .0
        .spec
}

/// Applies `valid` on `sim` as `owner` to rest; returns where it ended and how many passes
/// were retried (a permanent problem must cost none).
async fn drive_counting_retries(sim: &Simulator, valid: &ValidSpec, owner: &str) -> (Rest, u32) {
    let engine = Engine::new(sim.clients(), owner);
    let mut retries = 0;
    let rest = drive(
        &engine,
        Goal::Apply(valid),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let Progress::Retry { .. } = p {
                retries += 1;
            }
        },
    )
    .await
    .unwrap();
    (rest, retries)
}

/// A validation's inflate workers (each holding a member of up to 4 MiB) do not grow with the
/// node: 64 cores get 4, one core gets one.
#[test]
fn validation_workers_are_capped_whatever_the_node() {
    use sagemaker_rollout::engine::{MAX_VALIDATION_WORKERS, validation_workers};
    assert_eq!(validation_workers(64), MAX_VALIDATION_WORKERS);
    assert_eq!(validation_workers(4), 4);
    assert_eq!(validation_workers(1), 1);
    assert_eq!(
        validation_workers(0),
        1,
        "a node that says nothing still validates"
    );
}

use bytes::Bytes;
use sagemaker_rollout::aws::AwsError;
use sagemaker_rollout::aws::s3::{ObjectHead, ObjectStore, S3Uri};

/// One of the controller's requests to S3, as [`Hooked`] tells its hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S3Call {
    Head,
    PinnedRange,
    Copy,
}

/// The simulator's S3, with `hook` run on the simulator before each head, pinned ranged read
/// and copy: a test's way to change an object between two of the controller's requests.
struct Hooked<F> {
    sim: Simulator,
    hook: F,
}

#[async_trait::async_trait]
impl<F: Fn(S3Call, &Simulator) + Send + Sync> ObjectStore for Hooked<F> {
    async fn size(&self, uri: &S3Uri) -> Result<u64, AwsError> {
        self.sim.size(uri).await
    }
    async fn head(&self, uri: &S3Uri) -> Result<ObjectHead, AwsError> {
        (self.hook)(S3Call::Head, &self.sim);
        self.sim.head(uri).await
    }
    async fn get_range(&self, uri: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError> {
        self.sim.get_range(uri, start, end).await
    }
    async fn get_range_of(
        &self,
        uri: &S3Uri,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, AwsError> {
        (self.hook)(S3Call::PinnedRange, &self.sim);
        self.sim.get_range_of(uri, start, end, etag).await
    }
    async fn get_prefix(&self, uri: &S3Uri, max: u64) -> Result<Bytes, AwsError> {
        self.sim.get_prefix(uri, max).await
    }
    async fn put(&self, uri: &S3Uri, body: Bytes) -> Result<(), AwsError> {
        self.sim.put(uri, body).await
    }
    async fn upload_file(&self, uri: &S3Uri, path: &std::path::Path) -> Result<(), AwsError> {
        self.sim.upload_file(uri, path).await
    }
    async fn copy_pinned(
        &self,
        from: &S3Uri,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        (self.hook)(S3Call::Copy, &self.sim);
        self.sim.copy_pinned(from, to, etag).await
    }
    async fn delete(&self, uri: &S3Uri) -> Result<(), AwsError> {
        self.sim.delete(uri).await
    }
}
