//! The `DeploymentPolicy` custom resource: what a cluster admin grants the ModelDeployments of
//! some namespaces. Cluster-scoped, so a tenant cannot write one for itself (RBAC on
//! cluster-scoped resources is the admin's); the controller's multi-tenant mode refuses every
//! ModelDeployment no policy selects, and every one that asks for more than its policy grants
//! (the tenancy module decides, before any AWS call).
//!
//! Patterns (`endpointNames`, `executionRoles`, `snsTopics`, `modelPackageGroups`) are globs:
//! `*` matches any run of characters (including none), everything else matches itself.

#![allow(unreachable_pub)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::ByteSize;

/// Grants the ModelDeployments of the selected namespaces an AWS role, accounts, regions,
/// endpoint names, execution roles, S3 prefixes, SNS topics and options.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sagemaker.mlops.dev",
    version = "v1alpha1",
    kind = "DeploymentPolicy",
    doc = "A DeploymentPolicy grants the ModelDeployments of some namespaces what they may deploy, where and as whom. Cluster-scoped: written by cluster admins.",
    plural = "deploymentpolicies",
    shortname = "mdpol",
    category = "mlops",
    printcolumn = r#"{"name":"Namespaces","type":"string","jsonPath":".spec.namespaces.names"}"#,
    printcolumn = r#"{"name":"Endpoints","type":"string","jsonPath":".spec.endpointNames"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPolicySpec {
    /// Which namespaces this policy governs: by name, by label, or both (either selects).
    pub namespaces: NamespaceSelection,

    /// The AWS roles the controller assumes for these namespaces, tried in order: a
    /// ModelDeployment's `spec.assumeRoleArn` must be one of them (for its region); without
    /// it, the first role whose `regions` include the resource's region is used.
    #[schemars(length(min = 1))]
    pub roles: Vec<RoleGrant>,

    /// Accounts (12 digits) every ARN of the spec must belong to: roles, execution role,
    /// model packages, SNS topic. Empty: the accounts of `roles`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,

    /// Regions the endpoints may be in. Empty: any region a role grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,

    /// Endpoint names the ModelDeployments may drive (globs, e.g. `fraud-*`).
    #[schemars(length(min = 1))]
    pub endpoint_names: Vec<String>,

    /// Execution roles (ARN globs) the models may run as (`spec.executionRoleArn`).
    #[schemars(length(min = 1))]
    pub execution_roles: Vec<String>,

    /// Model package groups (names or ARN globs) candidates may come from. Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_package_groups: Vec<String>,

    /// S3 prefixes (`s3://bucket/prefix/`) the controller may read and write for them.
    #[serde(default)]
    pub s3: S3Grant,

    /// SNS topics (ARN globs) `spec.notify` may publish to. Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sns_topics: Vec<String>,

    /// Whether `adopt: true` is allowed, and for which endpoint names. Absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<AdoptGrant>,

    /// Ceiling on `spec.artifact.maxUncompressedBytes` (also bounds its default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uncompressed_bytes: Option<ByteSize>,

    /// Whether `spec.artifact.validate: false` (skipping the artifact contract check) is
    /// allowed. Default false.
    #[serde(default)]
    pub allow_skip_validation: bool,
}

/// Namespaces by name or label selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelection {
    /// Namespace names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A role the controller assumes, and where.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleGrant {
    /// The tenant role (its trust policy must allow the controller's role with
    /// `sts:TagSession` and `sts:SetSourceIdentity`; see `deploy/iam/`).
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"))]
    pub role_arn: String,
    /// Regions this role is used for. Empty: every allowed region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

/// S3 prefixes, as `s3://bucket/prefix/`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Grant {
    /// Readable: artifacts and validation results (`spec.candidate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Writable: audit records (`spec.audit`) and data capture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

/// Which endpoints may be adopted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdoptGrant {
    /// Endpoint names (globs) `adopt: true` may take over — for a resource that targets an
    /// inference component, the component's names. In AWS, the tenant role also needs
    /// the administrator's tag `sagemaker-rollout:adopt-by=<namespace>` on the endpoint.
    #[schemars(length(min = 1))]
    pub endpoint_names: Vec<String>,
}
