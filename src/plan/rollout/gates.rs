//! The gates before a rollout starts: whether the candidate may run at all (a rejected or
//! unfinished package, an artifact that failed its check, a validation run that did not
//! pass), whether it is worse than the champion (`compareWithChampion`), whether the same
//! artifact is already serving under another container; and refusing it, recorded once.

use super::super::actions::Action;
use super::super::desired::environment_hash;
use super::super::observed::{ArtifactCheck, Candidate, Endpoint, Origin};
use super::super::{Next, Planner};
use super::common::run_label;
use crate::api::conditions::Health;
use crate::api::{HistoryEntry, Phase};

/// Artifact validation and the champion comparison. Returns true when the candidate may go.
pub(super) fn gates_pass(p: &mut Planner<'_>, cand: &Candidate) -> bool {
    let spec = p.spec();
    if let Some(why) = undeployable(cand) {
        refuse(p, cand, "PackageUnusable", why);
        return false;
    }
    if spec.artifact.validate {
        match &cand.artifact {
            ArtifactCheck::Unchecked => {
                p.push(Action::ValidateArtifact {
                    candidate_id: cand.candidate_id.clone(),
                    model_data_url: cand.model_data_url.clone(),
                    max_uncompressed_bytes: spec.artifact.max_uncompressed_bytes,
                });
                p.next = Next::Poll;
                p.judge(
                    Phase::Validating,
                    Health::Progressing,
                    "ValidatingArtifact",
                    format!(
                        "checking {} against the artifact contract",
                        cand.model_data_url
                    ),
                );
                return false;
            }
            ArtifactCheck::Invalid { reason } => {
                refuse(
                    p,
                    cand,
                    "ArtifactInvalid",
                    format!("artifact {} is invalid: {reason}", cand.model_data_url),
                );
                return false;
            }
            ArtifactCheck::Valid { .. } => {}
        }
    }
    let has_champion = p.endpoint().is_some_and(|e| !e.variants.is_empty());
    if let (Some(cmp), true) = (&spec.candidate.compare_with_champion, has_champion) {
        let values = cand.comparison.clone().unwrap_or_default();
        match (values.candidate, values.champion) {
            (Some(c), Some(ch)) => {
                let delta = if cmp.higher_is_better { c - ch } else { ch - c };
                if delta < cmp.min_delta {
                    refuse(
                        p,
                        cand,
                        "WorseThanChampion",
                        format!(
                            "candidate {} = {c} vs champion {} = {ch} ({} is better); required improvement {}",
                            cmp.metric,
                            cmp.metric,
                            if cmp.higher_is_better {
                                "higher"
                            } else {
                                "lower"
                            },
                            cmp.min_delta
                        ),
                    );
                    return false;
                }
            }
            (c, _) => {
                let missing = if c.is_none() { "candidate" } else { "champion" };
                refuse(
                    p,
                    cand,
                    "MetricMissing",
                    format!(
                        "metric {} is missing from the {missing}'s artifacts/metrics.json",
                        cmp.metric
                    ),
                );
                return false;
            }
        }
    }
    true
}

/// Why this candidate may not or cannot run at all. A package: it was Rejected (a pinned
/// ARN keeps resolving after a rejection), or it is not Approved — so it must run from its
/// own container definition — and lacks one, or it has no model artifact. An artifact:
/// its validation run did not pass, or (known only from the markers) its image is unknown.
pub(super) fn undeployable(cand: &Candidate) -> Option<String> {
    let arn = &cand.candidate_id;
    match &cand.origin {
        Origin::Registry => {}
        Origin::Validation {
            results,
            failed: Some(why),
        } => {
            return Some(format!(
                "validation run {} did not pass its gates ({results}: {why}); it is never deployed",
                cand.run_id.as_deref().unwrap_or("?")
            ));
        }
        Origin::Artifact | Origin::Validation { .. } => {
            return cand.image.is_none().then(|| {
                format!(
                    "artifact {arn} has no inference image to run it from; set spec.candidate again"
                )
            });
        }
    }
    if cand.approval == "Rejected" {
        return Some(format!(
            "model package {arn} is Rejected and is never deployed"
        ));
    }
    // Not for a pinned candidate read back from the markers alone (status unknown).
    if !cand.status.is_empty() && cand.status != "Completed" {
        return Some(format!(
            "model package {arn} is {} (ModelPackageStatus); only a Completed version can be deployed",
            cand.status
        ));
    }
    if cand.model_data_url.is_empty() {
        return Some(format!(
            "model package {arn} has no ModelDataUrl in its inference specification; register it with its model.tar.gz"
        ));
    }
    if cand.approval != "Approved" && cand.image.is_none() {
        return Some(format!(
            "model package {arn} is {} and has no container image to run it from (only an Approved version can be deployed by its ARN)",
            cand.approval
        ));
    }
    None
}

/// A validation run naming an artifact that already serves on the endpoint with another
/// image or environment: the artifact's URI is its identity and its model keeps its
/// container, so the change would silently not be deployed. (`spec.candidate.artifact`
/// names its model by its image and environment too, so a change there is a new model; a
/// candidate known only from the markers has no image.)
pub(super) fn container_changed(cand: &Candidate, ep: &Endpoint) -> Option<String> {
    let validated = matches!(cand.origin, Origin::Validation { .. });
    let image = cand.image.as_deref().filter(|_| validated)?;
    let serving = ep
        .variants
        .iter()
        .chain(&ep.shadow_variants)
        .find(|v| v.candidate_id.as_deref() == Some(&cand.candidate_id))?;
    let what = match (
        serving.image.as_deref(),
        serving.environment_hash.as_deref(),
    ) {
        (Some(was), _) if was != crate::tags::tag_safe(image) => {
            format!(
                "with image {was}; run {} names image {image}",
                run_label(cand)
            )
        }
        (_, Some(was)) if was != environment_hash(cand) => format!(
            "with another container environment than run {} names",
            run_label(cand)
        ),
        _ => return None,
    };
    Some(format!(
        "artifact {} already serves {what} for the same artifact, and a model keeps its container: write the model under a new key",
        cand.candidate_id
    ))
}

/// The candidate may not be deployed; record it once.
pub(super) fn refuse(p: &mut Planner<'_>, cand: &Candidate, reason: &'static str, message: String) {
    let already = p
        .input
        .previous
        .and_then(|s| s.history.first())
        .is_some_and(|h| {
            h.candidate_id() == cand.candidate_id && h.outcome == "Refused" && h.reason == message
        });
    if !already {
        let entry = HistoryEntry {
            finished_at: p.now().to_string(),
            ..HistoryEntry::of(
                &cand.candidate_id,
                cand.run_id.clone(),
                "Refused",
                message.clone(),
            )
        };
        p.record(entry);
        p.event(reason, message.clone(), true);
    }
    p.judge(Phase::Failed, Health::Stalled, reason, message);
}
