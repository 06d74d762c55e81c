//! `register`: the hand-off from the training pipeline to the controller. Validates a packaged
//! artifact, uploads it content-addressed (`<prefix>/<sha256>/model.tar.gz`, so a re-run
//! uploads to the same key), and creates a model package version whose tags and
//! CustomerMetadataProperties carry the lineage from `model-info.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Violation;
use super::validate::{ValidateError, validate_file};
use crate::aws::AwsError;
use crate::aws::registry::{ModelRegistry, NewPackage};
use crate::aws::s3::{ObjectStore, S3Uri};
use crate::tags::{self, tag_safe};

/// SageMaker allows 50 CustomerMetadataProperties per package.
const MAX_METADATA: usize = 50;

#[derive(Clone, Debug)]
pub struct RegisterRequest {
    pub artifact: PathBuf,
    /// Prefix the artifact is uploaded under.
    pub s3_prefix: S3Uri,
    pub group: String,
    /// Inference container image URI.
    pub image: String,
    pub approval: String,
    pub content_types: Vec<String>,
    pub response_types: Vec<String>,
    pub description: String,
    pub extra_tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Registered {
    pub package_arn: String,
    pub model_data_url: String,
    pub sha256: String,
    /// The package version's CustomerMetadataProperties: lineage first.
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    Read(#[from] ValidateError),
    #[error("the artifact is invalid:\n{}", .0.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Violation>),
    #[error("{0}")]
    Aws(#[from] AwsError),
}

/// The CustomerMetadataProperties of a new package version: the lineage (managed-by,
/// artifact_sha256, candidate_run_id, data_version, git_commit, metrics_hash), then the
/// user's `--tag`s, then the other scalar fields of model-info.json, up to SageMaker's 50
/// entries. Keys and values are made valid for the API (1-128 / 1-256 characters of the
/// tag character set); empty ones are dropped.
pub fn metadata(
    lineage: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
    model_info: &Value,
) -> BTreeMap<String, String> {
    let scalars = model_info
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), s))
        });
    let mut out = BTreeMap::new();
    let ordered = lineage
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(extra.iter().map(|(k, v)| (k.clone(), v.clone())))
        .chain(scalars);
    for (k, v) in ordered {
        let key: String = tag_safe(&k)
            .trim()
            .chars()
            .take(tags::MAX_KEY_CHARS)
            .collect();
        let value = tag_safe(&v).trim().to_owned();
        if key.is_empty() || value.is_empty() || out.contains_key(&key) {
            continue;
        }
        if out.len() == MAX_METADATA {
            break;
        }
        out.insert(key, value);
    }
    out
}

/// CreateModelPackage's idempotency token: the same artifact registered to the same group
/// with the same approval is one version, however often a pipeline retries.
fn client_token(group: &str, sha256: &str, approval: &str) -> String {
    let digest = Sha256::digest(format!("{group}\n{sha256}\n{approval}").as_bytes());
    hex::encode(digest)[..36].to_owned()
}

/// Validates, uploads and registers.
pub async fn register(
    req: &RegisterRequest,
    store: &dyn ObjectStore,
    registry: &dyn ModelRegistry,
    workers: usize,
) -> Result<Registered, RegisterError> {
    let path = req.artifact.clone();
    let report = tokio::task::spawn_blocking(move || {
        validate_file(&path, &super::Limits::default(), workers)
    })
    .await
    .map_err(|e| ValidateError::Io(std::io::Error::other(e.to_string())))??;
    if !report.valid {
        return Err(RegisterError::Invalid(report.violations));
    }
    let sha256 = report.sha256.clone().unwrap_or_default();
    let model_info = report.model_info.clone().unwrap_or(Value::Null);
    let target = req.s3_prefix.join(&sha256).join("model.tar.gz");
    store.upload_file(&target, &req.artifact).await?;
    let mut lineage = tags::lineage(&BTreeMap::new(), Some(&model_info), report.metrics.as_ref());
    lineage.insert(tags::MANAGED_BY_KEY.to_owned(), tags::MANAGED_BY.to_owned());
    lineage.insert(tags::ARTIFACT_SHA256.to_owned(), sha256.clone());
    let metadata = metadata(&lineage, &req.extra_tags, &model_info);
    registry
        .ensure_group(&req.group, "Model packages registered by sagemaker-rollout")
        .await?;
    let package_arn = registry
        .create_package(&NewPackage {
            group: req.group.clone(),
            description: req.description.clone(),
            image: req.image.clone(),
            model_data_url: target.to_string(),
            content_types: req.content_types.clone(),
            response_types: req.response_types.clone(),
            approval: req.approval.clone(),
            metadata: metadata.clone(),
            client_token: Some(client_token(&req.group, &sha256, &req.approval)),
        })
        .await?;
    Ok(Registered {
        package_arn,
        model_data_url: target.to_string(),
        sha256,
        metadata,
    })
}
