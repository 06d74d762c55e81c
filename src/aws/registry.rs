//! The SageMaker Model Registry: package groups and versioned model packages, with the
//! lineage that travels with them (tags and CustomerMetadataProperties).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, ModelPackageType,
    SortOrder,
};

use super::{AwsError, ErrorClass, classify};

/// A model package version to create. A versioned package cannot carry tags (the API
/// reference of CreateModelPackage: with a ModelPackageGroupName "you cannot supply a tag
/// argument"), so its lineage travels in `metadata` (CustomerMetadataProperties).
#[derive(Clone, Debug, PartialEq)]
pub struct NewPackage {
    pub group: String,
    pub description: String,
    pub image: String,
    pub model_data_url: String,
    pub content_types: Vec<String>,
    pub response_types: Vec<String>,
    /// `Approved`, `PendingManualApproval` or `Rejected`.
    pub approval: String,
    /// CustomerMetadataProperties: 1-50 entries, keys and values in the tag character set.
    pub metadata: BTreeMap<String, String>,
    /// Makes a repeated create return the package the first one made (1-36 of
    /// `[a-zA-Z0-9-]`).
    pub client_token: Option<String>,
}

/// A model package version as described by the registry.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageInfo {
    pub arn: String,
    pub group: Option<String>,
    pub version: Option<i32>,
    pub approval: String,
    /// ModelPackageStatus (`Completed` once the package may be used).
    pub status: String,
    pub image: Option<String>,
    pub model_data_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Registry operations.
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    /// Creates the group unless it exists.
    async fn ensure_group(&self, name: &str, description: &str) -> Result<(), AwsError>;
    /// Creates a package version; returns its ARN.
    async fn create_package(&self, package: &NewPackage) -> Result<String, AwsError>;
    async fn describe_package(&self, arn: &str) -> Result<PackageInfo, AwsError>;
    /// Version ARNs of a group, newest first.
    async fn list_packages(&self, group: &str) -> Result<Vec<String>, AwsError>;
    /// Tags of a package version.
    async fn package_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError>;
}

/// The production implementation.
#[derive(Clone, Debug)]
pub struct SdkRegistry {
    client: aws_sdk_sagemaker::Client,
}

impl SdkRegistry {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            client: aws_sdk_sagemaker::Client::from_conf(
                crate::aws::sdk::sdk_config!(aws_sdk_sagemaker, config, "sagemaker", scope = scope)
                    .build(),
            ),
        }
    }
}

fn invalid(op: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::new(ErrorClass::Terminal, "sagemaker", op, e.to_string())
}

#[async_trait]
impl ModelRegistry for SdkRegistry {
    async fn ensure_group(&self, name: &str, description: &str) -> Result<(), AwsError> {
        let exists = self
            .client
            .describe_model_package_group()
            .model_package_group_name(name)
            .send()
            .await;
        match exists {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = classify("sagemaker", "DescribeModelPackageGroup", e);
                if !e.is_not_found() && e.class != ErrorClass::Terminal {
                    return Err(e);
                }
            }
        }
        let created = self
            .client
            .create_model_package_group()
            .model_package_group_name(name)
            .model_package_group_description(description)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = classify("sagemaker", "CreateModelPackageGroup", e);
                // Lost a race with another creator: the group exists, which is all we need.
                if e.message.to_ascii_lowercase().contains("already exist") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn create_package(&self, p: &NewPackage) -> Result<String, AwsError> {
        const OP: &str = "CreateModelPackage";
        let container = ModelPackageContainerDefinition::builder()
            .image(&p.image)
            .model_data_url(&p.model_data_url)
            .build();
        let spec = InferenceSpecification::builder()
            .containers(container)
            .set_supported_content_types(Some(p.content_types.clone()))
            .set_supported_response_mime_types(Some(p.response_types.clone()))
            .build();
        let metadata = (!p.metadata.is_empty()).then(|| p.metadata.clone().into_iter().collect());
        let out = self
            .client
            .create_model_package()
            .model_package_group_name(&p.group)
            .model_package_description(&p.description)
            .inference_specification(spec)
            .model_approval_status(ModelApprovalStatus::from(p.approval.as_str()))
            .set_customer_metadata_properties(metadata)
            .set_client_token(p.client_token.clone())
            .send()
            .await
            .map_err(|e| classify("sagemaker", OP, e))?;
        out.model_package_arn()
            .map(str::to_owned)
            .ok_or_else(|| invalid(OP, "no ModelPackageArn in the response"))
    }

    async fn describe_package(&self, arn: &str) -> Result<PackageInfo, AwsError> {
        let out = self
            .client
            .describe_model_package()
            .model_package_name(arn)
            .send()
            .await
            .map_err(|e| classify("sagemaker", "DescribeModelPackage", e))?;
        let container = out
            .inference_specification()
            .and_then(|s| s.containers().first());
        Ok(PackageInfo {
            arn: out.model_package_arn().unwrap_or(arn).to_owned(),
            group: out.model_package_group_name().map(str::to_owned),
            version: out.model_package_version(),
            approval: out
                .model_approval_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status: out
                .model_package_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            image: container.and_then(|c| c.image()).map(str::to_owned),
            model_data_url: container
                .and_then(|c| c.model_data_url())
                .map(str::to_owned),
            metadata: out
                .customer_metadata_properties()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        })
    }

    async fn list_packages(&self, group: &str) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .client
            .list_model_packages()
            .model_package_group_name(group)
            // The default lists unversioned packages (API reference of ListModelPackages).
            .model_package_type(ModelPackageType::Versioned)
            .sort_by(aws_sdk_sagemaker::types::ModelPackageSortBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("sagemaker", "ListModelPackages", e))?;
            arns.extend(
                page.model_package_summary_list()
                    .iter()
                    .filter_map(|s| s.model_package_arn().map(str::to_owned)),
            );
        }
        Ok(arns)
    }

    async fn package_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        list_tags(&self.client, arn).await
    }
}

/// ListTags on any SageMaker resource ARN, all pages.
pub(crate) async fn list_tags(
    client: &aws_sdk_sagemaker::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut pages = client.list_tags().resource_arn(arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("sagemaker", "ListTags", e))?;
        tags.extend(page.tags().iter().filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        }));
    }
    Ok(tags)
}
