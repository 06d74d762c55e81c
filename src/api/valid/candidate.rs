//! `spec.candidate`: where the candidate comes from (a package group and its tags, a pinned
//! package, a named artifact, or a validation run's results) and the approval it needs.

use std::collections::BTreeMap;

use regex::Regex;

use super::collect::*;
use super::*;
use crate::api::spec::*;
use crate::api::units::S3Uri;
use crate::tags;

/// Where the candidate comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum CandidateSource {
    /// The newest version of a package group carrying every `match_tags` entry.
    Group {
        group: String,
        match_tags: BTreeMap<String, String>,
    },
    /// One package version, pinned by ARN.
    Pinned { arn: String },
    /// A model.tar.gz in the artifact store (its S3 URI is the candidate's id), served by
    /// `image` with `environment`.
    Artifact {
        uri: String,
        image: String,
        environment: BTreeMap<String, String>,
    },
    /// The artifact the validation run at `uri` (a validation_results.json) names.
    Results { uri: String },
}

impl CandidateSource {
    /// What the lookup is logged under: the group, ARN, artifact or results URI.
    pub fn label(&self) -> &str {
        match self {
            Self::Group { group, .. } => group,
            Self::Pinned { arn } => arn,
            Self::Artifact { uri, .. } | Self::Results { uri } => uri,
        }
    }

    /// The artifact source's own image and environment, which name its model (a spec
    /// change of either is a new model); None for the other sources.
    pub fn artifact_settings(&self) -> Option<(&str, &BTreeMap<String, String>)> {
        match self {
            Self::Artifact {
                image, environment, ..
            } => Some((image, environment)),
            _ => None,
        }
    }
}

/// How the candidate is found and gated.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidatePolicy {
    pub source: CandidateSource,
    pub approval: ApprovalPolicy,
    pub compare_with_champion: Option<ChampionComparison>,
}

pub(super) const PACKAGE_ARN: &str =
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[\w/-]+$";

pub(super) fn candidate(
    c: &mut Collector,
    cand: &CandidateSpec,
    spec: &ModelDeploymentSpec,
) -> Option<CandidatePolicy> {
    let set = [
        cand.model_package_group.is_some(),
        cand.model_package_arn.is_some(),
        cand.artifact.is_some(),
        cand.validation_results.is_some(),
    ];
    let source = if set.iter().filter(|s| **s).count() != 1 {
        c.err(
            "spec.candidate",
            "set exactly one of modelPackageGroup (with matchTags), modelPackageArn, artifact and validationResults",
        );
        None
    } else if let Some(group) = &cand.model_package_group {
        c.name(
            "spec.candidate.modelPackageGroup",
            group,
            "a model package group name",
        );
        Some(CandidateSource::Group {
            group: group.clone(),
            match_tags: cand.match_tags.clone().unwrap_or_default(),
        })
    } else if let Some(arn) = &cand.model_package_arn {
        c.pattern(
            "spec.candidate.modelPackageArn",
            arn,
            re!(PACKAGE_ARN),
            "a model package version ARN",
        );
        Some(CandidateSource::Pinned { arn: arn.clone() })
    } else if let Some(a) = &cand.artifact {
        let environment = a.environment.clone().unwrap_or_default();
        c.0.extend(container::artifact_uri(
            "spec.candidate.artifact.s3Uri",
            &a.s3_uri,
        ));
        c.0.extend(container::image(
            "spec.candidate.artifact.image",
            &a.image,
            spec.region.as_deref(),
        ));
        let path = "spec.candidate.artifact.environment";
        c.0.extend(container::environment_entries(path, &environment));
        c.0.extend(container::merged_size(
            path,
            &environment,
            &spec.serving.environment,
        ));
        Some(CandidateSource::Artifact {
            uri: a.s3_uri.clone(),
            image: a.image.clone(),
            environment,
        })
    } else {
        let uri = cand.validation_results.clone().unwrap_or_default();
        match S3Uri::parse(&uri) {
            Ok(u) if !u.key.is_empty() && !u.key.ends_with('/') => {}
            Ok(_) => c.err(
                "spec.candidate.validationResults",
                format!("\"{uri}\" names a bucket or prefix, not a validation_results.json object"),
            ),
            Err(e) => c.err("spec.candidate.validationResults", e),
        }
        Some(CandidateSource::Results { uri })
    };
    if cand.approval != ApprovalPolicy::default()
        && (cand.artifact.is_some() || cand.validation_results.is_some())
    {
        c.err(
            "spec.candidate.approval",
            "applies to Model Registry packages only; an artifact-store candidate is gated by its artifact check and validation results",
        );
    }
    if let Some(tags) = &cand.match_tags {
        if cand.model_package_group.is_none() {
            c.err(
                "spec.candidate.matchTags",
                "needs spec.candidate.modelPackageGroup to search in",
            );
        }
        for k in tags.keys() {
            if k.is_empty() || k.chars().count() > tags::MAX_KEY_CHARS {
                c.err(
                    format!("spec.candidate.matchTags[{k}]"),
                    "tag keys are 1-128 characters",
                );
            }
        }
    }
    if let Some(cmp) = &cand.compare_with_champion {
        if cmp.metric.trim().is_empty() {
            c.err(
                "spec.candidate.compareWithChampion.metric",
                "must name a key of artifacts/metrics.json",
            );
        }
        if !cmp.min_delta.is_finite() || cmp.min_delta < 0.0 {
            c.err(
                "spec.candidate.compareWithChampion.minDelta",
                format!("{} must be a finite number >= 0", cmp.min_delta),
            );
        }
    }
    Some(CandidatePolicy {
        source: source?,
        approval: cand.approval,
        compare_with_champion: cand.compare_with_champion.clone(),
    })
}
