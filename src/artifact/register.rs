//! `register`: the hand-off from the training pipeline to the controller. Validates a packaged
//! artifact, uploads it content-addressed (`<prefix>/<sha256>/model.tar.gz`, so a re-run
//! uploads to the same key), and creates a model package version whose tags and
//! CustomerMetadataProperties carry the lineage from `model-info.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

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
    pub tags: BTreeMap<String, String>,
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

/// Scalar fields of model-info.json as CustomerMetadataProperties.
pub fn metadata(model_info: &Value) -> BTreeMap<String, String> {
    let Some(obj) = model_info.as_object() else {
        return BTreeMap::new();
    };
    obj.iter()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.chars().take(128).collect(), s.chars().take(256).collect()))
        })
        .take(MAX_METADATA)
        .collect()
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
    let mut tags = tags::lineage(&BTreeMap::new(), Some(&model_info), report.metrics.as_ref());
    tags.insert(tags::MANAGED_BY_KEY.to_owned(), tags::MANAGED_BY.to_owned());
    tags.insert(tags::ARTIFACT_SHA256.to_owned(), sha256.clone());
    for (k, v) in &req.extra_tags {
        tags.entry(k.clone()).or_insert_with(|| tag_safe(v));
    }
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
            metadata: metadata(&model_info),
            tags: tags.clone(),
        })
        .await?;
    Ok(Registered {
        package_arn,
        model_data_url: target.to_string(),
        sha256,
        tags,
    })
}
