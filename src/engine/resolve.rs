//! Candidate resolution in the Model Registry: the pinned package while `spec.candidate` is
//! unchanged; otherwise the explicit ARN, or the newest version of the group carrying every
//! `matchTags` entry with an acceptable approval. A versioned package carries its lineage in
//! CustomerMetadataProperties (it cannot be tagged at creation), so `matchTags` is matched
//! there first and against the package's tags only as a fallback. Rejected packages are
//! never candidates, nor is a package whose ModelPackageStatus is not Completed.

use std::collections::BTreeMap;

use crate::api::ApprovalPolicy;
use crate::api::valid::{CandidateSource, ValidSpec};
use crate::aws::AwsError;
use crate::aws::registry::{ModelRegistry, PackageInfo};
use crate::plan::Origin;

/// A package chosen as candidate, with what the planner and lineage need.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub info: PackageInfo,
    pub tags: BTreeMap<String, String>,
    pub origin: Origin,
    /// The artifact source's container environment (empty for a package).
    pub environment: BTreeMap<String, String>,
}

impl Resolved {
    pub fn package(info: PackageInfo, tags: BTreeMap<String, String>) -> Self {
        Self {
            info,
            tags,
            origin: Origin::Registry,
            environment: BTreeMap::new(),
        }
    }

    pub fn run_id(&self) -> Option<String> {
        self.info
            .metadata
            .get(crate::tags::RUN_ID)
            .or_else(|| self.tags.get(crate::tags::RUN_ID))
            .cloned()
    }
}

/// Outcome of a lookup.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value per pass; boxing would buy nothing
pub enum Lookup {
    Found(Resolved),
    NotFound(String),
}

fn approval_ok(policy: ApprovalPolicy, status: &str) -> bool {
    match policy {
        ApprovalPolicy::Approved => status == "Approved",
        ApprovalPolicy::PendingManualApproval => status == "PendingManualApproval",
        ApprovalPolicy::Any => status == "Approved" || status == "PendingManualApproval",
    }
}

/// Finds the candidate. `pinned` is the ARN a rollout was started for (see
/// [`crate::plan::pinned_candidate`]).
pub async fn resolve(
    registry: &dyn ModelRegistry,
    spec: &ValidSpec,
    pinned: Option<&str>,
) -> Result<Lookup, AwsError> {
    let policy = spec.candidate.approval;
    let explicit = match &spec.candidate.source {
        CandidateSource::Pinned { arn } => Some(arn.as_str()),
        _ => None,
    };
    if let Some(arn) = pinned.or(explicit) {
        let info = match registry.describe_package(arn).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => {
                return Ok(Lookup::NotFound(format!(
                    "model package {arn} does not exist"
                )));
            }
            Err(e) => return Err(e),
        };
        if info.approval == "Rejected" && pinned.is_none() {
            return Ok(Lookup::NotFound(format!(
                "model package {arn} is Rejected and is never deployed"
            )));
        }
        let tags = if info.metadata.contains_key(crate::tags::RUN_ID) {
            BTreeMap::new()
        } else {
            registry.package_tags(arn).await?
        };
        return Ok(Lookup::Found(Resolved::package(info, tags)));
    }
    let CandidateSource::Group {
        group,
        match_tags: wanted,
    } = &spec.candidate.source
    else {
        return Ok(Lookup::NotFound(
            "spec.candidate names no package group or ARN".into(),
        ));
    };
    let arns = match registry.list_packages(group).await {
        Ok(arns) => arns,
        Err(e) if e.is_not_found() => {
            return Ok(Lookup::NotFound(format!(
                "model package group {group} does not exist"
            )));
        }
        Err(e) => return Err(e),
    };
    let mut rejected = 0;
    let mut wrong_approval = Vec::new();
    let mut not_completed = Vec::new();
    for arn in arns {
        let info = registry.describe_package(&arn).await?;
        let in_metadata = wanted.iter().all(|(k, v)| info.metadata.get(k) == Some(v));
        let tags = if in_metadata {
            BTreeMap::new()
        } else {
            registry.package_tags(&arn).await?
        };
        let matches = wanted
            .iter()
            .all(|(k, v)| info.metadata.get(k).or_else(|| tags.get(k)) == Some(v));
        if !matches {
            continue;
        }
        if info.approval == "Rejected" {
            rejected += 1;
            continue;
        }
        if !approval_ok(policy, &info.approval) {
            wrong_approval.push(format!("{} ({})", arn, info.approval));
            continue;
        }
        if info.status != "Completed" {
            not_completed.push(format!("{} ({})", arn, info.status));
            continue;
        }
        return Ok(Lookup::Found(Resolved::package(info, tags)));
    }
    let selector = wanted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let why = if !not_completed.is_empty() {
        format!(
            "packages in {group} match {selector} but none is Completed yet: {}",
            not_completed.join(", ")
        )
    } else if rejected > 0 && wrong_approval.is_empty() {
        format!(
            "only Rejected packages in {group} match {selector}; Rejected packages are never deployed"
        )
    } else if !wrong_approval.is_empty() {
        format!(
            "packages in {group} match {selector} but none has approval {policy:?}: {}",
            wrong_approval.join(", ")
        )
    } else {
        format!("no package in {group} matches {selector}")
    };
    Ok(Lookup::NotFound(why))
}
