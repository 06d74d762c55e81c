//! The artifact check of the engine and of `validate s3://…`: the same streaming validator,
//! fed by concurrent ranged GETs. A failed read keeps its AWS error (and so its class:
//! throttling is retried, a missing object is not).

use std::sync::Arc;

use super::Limits;
use super::validate::{Input, Report, ValidateError, validate};
use crate::aws::s3::{ObjectStore, RangeTuning, S3Uri, range_reader};
use crate::aws::{AwsError, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Read(ValidateError),
    #[error("validation task failed: {0}")]
    Task(String),
}

impl From<ValidateError> for RemoteError {
    /// The ranged reader reports a failed GET as an I/O error wrapping the AWS error; unwrap
    /// it so the caller sees the AWS class.
    fn from(e: ValidateError) -> Self {
        let ValidateError::Io(io) = &e;
        match io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<AwsError>())
        {
            Some(aws) => Self::Aws(aws.clone()),
            None => Self::Read(e),
        }
    }
}

impl RemoteError {
    /// As an AWS error: an unreadable stream after the reader's own retries is transient
    /// (the next pass reads again); a crashed validation task is a bug, terminal.
    pub fn into_aws(self) -> AwsError {
        match self {
            Self::Aws(a) => a,
            Self::Read(e) => AwsError::new(ErrorClass::Transient, "s3", "GetObject", e.to_string()),
            Self::Task(t) => AwsError::new(ErrorClass::Terminal, "s3", "GetObject", t),
        }
    }
}

/// Validates `s3://…` in bounded memory. Runs the (blocking) validator on a blocking thread
/// so the runtime keeps serving the ranged GETs that feed it.
pub async fn validate_s3(
    store: Arc<dyn ObjectStore>,
    uri: &S3Uri,
    limits: Limits,
    workers: usize,
) -> Result<Report, RemoteError> {
    let head = store.head(uri).await?;
    let (len, etag) = (head.size, head.etag.clone());
    if let Some(v) = super::validate::too_large(len, &limits) {
        return Ok(Report {
            etag,
            ..Report::refused(v)
        });
    }
    let handle = tokio::runtime::Handle::current();
    let uri = uri.clone();
    let until = tokio::time::Instant::now() + limits.max_duration;
    let max = limits.max_duration;
    let report = tokio::task::spawn_blocking(move || {
        let reader = range_reader(store, uri, head, RangeTuning::default(), &handle);
        let reader = Deadline {
            inner: reader,
            until,
            handle: handle.clone(),
        };
        validate(
            Input {
                reader: Box::new(reader),
                compressed_len: Some(len),
            },
            &limits,
            workers,
        )
    })
    .await
    .map_err(|e| RemoteError::Task(e.to_string()))?;
    match report {
        Ok(report) => Ok(Report { etag, ..report }),
        // Past the deadline: a verdict on the archive, not a read to try again.
        Err(ValidateError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            Ok(Report::refused(super::Violation {
                entry: None,
                rule: super::Rule::Deadline,
                detail: format!(
                    "the validation did not finish within {} min: the archive reads too slowly or inflates too much",
                    max.as_secs() / 60
                ),
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// A reader that fails with `TimedOut` once the runtime's clock (virtual in tests) passes
/// `until`: the blocking validator stops reading, and its ranged GETs with it.
struct Deadline<R> {
    inner: R,
    until: tokio::time::Instant,
    handle: tokio::runtime::Handle,
}

impl<R: std::io::Read> std::io::Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let _runtime = self.handle.enter();
        if tokio::time::Instant::now() >= self.until {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "validation deadline passed",
            ));
        }
        self.inner.read(buf)
    }
}
