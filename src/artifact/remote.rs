//! The artifact check of the engine and of `validate s3://…`: the same streaming validator,
//! fed by concurrent ranged GETs, and its verdict in the planner's terms.

use std::sync::Arc;

use super::Limits;
use super::validate::{Input, Report, ValidateError, validate};
use crate::aws::AwsError;
use crate::aws::s3::{ObjectStore, RangeTuning, S3Uri, range_reader};
use crate::plan::ArtifactCheck;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Read(#[from] ValidateError),
    #[error("validation task failed: {0}")]
    Task(String),
}

/// Validates `s3://…` in bounded memory. Runs the (blocking) validator on a blocking thread
/// so the runtime keeps serving the ranged GETs that feed it.
pub async fn validate_s3(
    store: Arc<dyn ObjectStore>,
    uri: &S3Uri,
    limits: Limits,
    workers: usize,
) -> Result<Report, RemoteError> {
    let len = store.size(uri).await?;
    let handle = tokio::runtime::Handle::current();
    let uri = uri.clone();
    let report = tokio::task::spawn_blocking(move || {
        let reader = range_reader(store, uri, len, RangeTuning::default(), &handle);
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
    .map_err(|e| RemoteError::Task(e.to_string()))??;
    Ok(report)
}

/// The planner's view of a report.
pub fn verdict(report: &Report) -> ArtifactCheck {
    if report.valid {
        ArtifactCheck::Valid {
            sha256: report.sha256.clone().unwrap_or_default(),
        }
    } else {
        ArtifactCheck::Invalid {
            reason: report
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}
