//! Tenancy: which DeploymentPolicy governs a ModelDeployment, and whether its spec stays
//! inside what that policy grants — decided before any AWS call, pure (no I/O), so the
//! controller, `check` and the tests share one answer.
//!
//! Contract:
//! - [`Tenancy::Single`] admits everything (a one-team cluster: today's behaviour, the
//!   controller's own role or `spec.assumeRoleArn`).
//! - [`Tenancy::Multi`] admits a resource only through a policy that selects its namespace and
//!   grants every field it asks for; the grant names the role to assume. Every violation is
//!   reported at once, each with its field, its value and the policy.
//! - Our check is the first line, not the last: the tenant role's IAM policy (session tags
//!   against resource tags, `deploy/iam/tenant-role.json`) is what AWS enforces.

mod check;

use std::collections::BTreeMap;

use kube::core::{Selector, SelectorExt};

use crate::api::policy::{DeploymentPolicy, DeploymentPolicySpec};
use crate::api::{FieldError, SpecErrors, Teardown, ValidSpec};

pub use check::{glob, inside};

/// Whether the controller is shared by tenants (policies required) or serves one team.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tenancy {
    /// Every ModelDeployment needs a DeploymentPolicy; sessions carry the tenant.
    #[default]
    Multi,
    /// No policies: the controller's own role (or `spec.assumeRoleArn`) acts for everyone.
    Single,
}

/// Who a session acts for: sent as STS session tags, so the target account's IAM policies
/// can compare them with resource tags (`aws:PrincipalTag`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub namespace: String,
    pub name: String,
    pub cluster: String,
}

/// Session tag keys: the namespace's is also the tag every created resource carries
/// ([`crate::tags::NAMESPACE_KEY`]). Under the marker prefix, so `spec.tags` cannot set them.
pub const NAMESPACE_TAG: &str = crate::tags::NAMESPACE_KEY;
pub const NAME_TAG: &str = "sagemaker-rollout:name";
pub const CLUSTER_TAG: &str = "sagemaker-rollout:cluster";
/// The administrator's tag that makes an existing endpoint adoptable by one namespace.
pub const ADOPT_BY_TAG: &str = crate::tags::ADOPT_BY_KEY;

impl Tenant {
    /// The session tags, in a stable order.
    pub fn session_tags(&self) -> [(&'static str, &str); 3] {
        [
            (NAMESPACE_TAG, &self.namespace),
            (NAME_TAG, &self.name),
            (CLUSTER_TAG, &self.cluster),
        ]
    }
}

/// What a policy granted a resource: the policy's name, the role to assume, and the
/// ceiling its artifact checks run under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub policy: String,
    pub role_arn: String,
    /// The policy's `maxUncompressedBytes`: a spec asking more (or defaulting to more) is
    /// checked under this instead.
    pub max_uncompressed_bytes: Option<u64>,
    /// The policy's `s3.read`: where a candidate's artifact may come from, including the one
    /// a validation run names (known only once its results are read).
    pub s3_read: Vec<String>,
}

impl Grant {
    fn of(policy: &DeploymentPolicy, role_arn: String) -> Self {
        Self {
            policy: policy.metadata.name.clone().unwrap_or_default(),
            role_arn,
            max_uncompressed_bytes: (policy.spec.max_uncompressed_bytes.as_ref())
                .and_then(|c| c.parse().ok()),
            s3_read: policy.spec.s3.read.clone(),
        }
    }

    /// The spec as the grant lets it run: the artifact limit lowered to the ceiling, reads
    /// only from the granted prefixes.
    pub fn apply(&self, spec: &mut ValidSpec) {
        spec.artifact.read_prefixes = Some(self.s3_read.clone());
        if let Some(max) = self.max_uncompressed_bytes {
            let limit = &mut spec.artifact.max_uncompressed_bytes;
            *limit = (*limit).min(max);
        }
    }
}

/// Why a resource may not act.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// No policy selects the namespace.
    NoPolicy { namespace: String },
    /// Policies select it, and each refuses something: the violations per policy.
    Violations(Vec<(String, SpecErrors)>),
}

impl Refusal {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoPolicy { .. } => "NoPolicy",
            Self::Violations(_) => "PolicyViolation",
        }
    }

    /// Every problem as field errors (a policy's name in each message).
    pub fn errors(&self) -> SpecErrors {
        match self {
            Self::NoPolicy { namespace } => SpecErrors(vec![FieldError::new(
                "metadata.namespace",
                format!(
                    "no DeploymentPolicy selects namespace {namespace:?}; in multi-tenant mode a cluster admin must grant it one (docs/security.md#multi-tenant-mode)"
                ),
            )]),
            Self::Violations(v) => SpecErrors(v.iter().flat_map(|(_, e)| e.0.clone()).collect()),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.errors())
    }
}

/// The policies that select `namespace` (with these labels), in name order.
pub fn selecting<'a>(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    policies: &'a [DeploymentPolicy],
) -> Vec<&'a DeploymentPolicy> {
    let mut out: Vec<&DeploymentPolicy> = policies
        .iter()
        .filter(|p| {
            let s = &p.spec.namespaces;
            s.names.iter().any(|n| n == namespace)
                || s.selector.as_ref().is_some_and(|sel| {
                    // An invalid selector selects nothing, and so does an empty one
                    // (Kubernetes reads `{}` as everything: too easy a grant to make by
                    // accident). Fail closed.
                    Selector::try_from(sel.clone())
                        .is_ok_and(|sel| !sel.selects_all() && sel.matches(labels))
                })
        })
        .collect();
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

/// Admits a ModelDeployment of `namespace`: the first selecting policy (by name) that grants
/// everything it asks for, else every violation of every selecting policy.
pub fn admit(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    spec: &ValidSpec,
    default_region: Option<&str>,
    policies: &[DeploymentPolicy],
) -> Result<Grant, Refusal> {
    first_granting(namespace, labels, policies, |name, p| {
        check::spec(name, p, spec, default_region)
    })
}

/// The role a deletion acts through: only the target must still be granted (its endpoint
/// name, region and role), so a tenant can always clean up what its policy let it create.
pub fn admit_teardown(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    teardown: &Teardown,
    default_region: Option<&str>,
    policies: &[DeploymentPolicy],
) -> Result<Grant, Refusal> {
    first_granting(namespace, labels, policies, |name, p| {
        check::target(name, p, teardown, default_region)
    })
}

/// The grant of the first selecting policy `check` passes (it answers the role to assume),
/// else every policy's violations.
fn first_granting(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    policies: &[DeploymentPolicy],
    check: impl Fn(&str, &DeploymentPolicySpec) -> Result<String, Vec<FieldError>>,
) -> Result<Grant, Refusal> {
    let selected = selecting(namespace, labels, policies);
    if selected.is_empty() {
        return Err(Refusal::NoPolicy {
            namespace: namespace.to_owned(),
        });
    }
    let mut refused = Vec::new();
    for p in selected {
        let name = p.metadata.name.clone().unwrap_or_default();
        match check(&name, &p.spec) {
            Ok(role_arn) => return Ok(Grant::of(p, role_arn)),
            Err(errors) => refused.push((name, SpecErrors(errors))),
        }
    }
    Err(Refusal::Violations(refused))
}
