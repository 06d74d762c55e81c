//! What the three stages share and what uses none of them: failure hints, run labels,
//! garbage collection of a finished rollout, the alarm scope and traffic start of the stage
//! in flight, autoscaling upkeep, history entries, end markers, the pinned candidate as the
//! markers describe it, and the weights that put one variant at a given share.

use std::collections::BTreeMap;

use super::super::Planner;
use super::super::actions::Action;
use super::super::desired::{AlarmScope, scaling_hash, scaling_plan};
use super::super::markers::{Markers, Stage};
use super::super::observed::{
    ArtifactCheck, Candidate, CandidateLookup, Endpoint, Origin, Variant,
};
use crate::api::HistoryEntry;
use crate::tags::tag_safe;

/// An actionable hint for a SageMaker FailureReason.
pub(super) fn hint(reason: &str, endpoint: &str) -> String {
    let r = reason.to_ascii_lowercase();
    let logs = format!("CloudWatch log group /aws/sagemaker/Endpoints/{endpoint}");
    if r.contains("image") || r.contains("ecr") {
        format!(
            "check the container image URI and that the execution role may pull it (ecr:BatchGetImage); see {logs}"
        )
    } else if r.contains("s3")
        || r.contains("access denied")
        || r.contains("accessdenied")
        || r.contains("model data")
    {
        "check that the execution role may s3:GetObject the model artifact and that the object exists".into()
    } else if r.contains("health check")
        || r.contains("ping")
        || r.contains("exit")
        || r.contains("container")
    {
        format!(
            "the container did not start: inference.py must sit at the root of model.tar.gz and requirements.txt must install; see {logs}"
        )
    } else if r.contains("capacity") || r.contains("limit") || r.contains("quota") {
        "not enough capacity or quota for the instance type: request a quota increase or choose another type".into()
    } else {
        format!("see {logs}")
    }
}

pub(super) fn run_label(c: &Candidate) -> String {
    c.run_id.clone().unwrap_or_else(|| c.candidate_id.clone())
}

/// Collects what a finished rollout leaves behind — its alarms, and the configs and models
/// of earlier stages — keeping what serves `ep` now. Planned before the finishing markers
/// are written, so a crash in between collects again on the next pass.
/// Deletes what the resource owns and the endpoint no longer uses, but `also` (a config kept
/// for `undo`; the engine keeps the models a kept config names).
pub(super) fn collect_garbage(p: &mut Planner<'_>, ep: &Endpoint, also: Option<String>) {
    p.push(Action::CollectGarbage {
        keep_configs: std::iter::once(ep.config_name.clone())
            .chain(also)
            .collect(),
        keep_models: ep
            .variants
            .iter()
            .chain(&ep.shadow_variants)
            .map(|v| v.model_name.clone())
            .collect(),
    });
}

/// Since when the candidate has taken traffic in the current stage (a step's weights or the
/// shadow copy in effect); None before any, or while SageMaker runs the deployment.
pub(in crate::plan) fn traffic_since(m: &Markers) -> Option<jiff::Timestamp> {
    match m.stage {
        Some(Stage::Step) if m.step > 0 => m.since,
        Some(Stage::Shadow) => m.since,
        _ => None,
    }
}

/// The alarm scope of the rollout in flight: the candidate's variant, and for a blue/green
/// deployment the new fleet's endpoint config.
pub(in crate::plan) fn scope(m: &Markers) -> AlarmScope<'_> {
    AlarmScope {
        variant: m.variant.as_deref().unwrap_or_default(),
        config: (m.stage == Some(Stage::Native))
            .then_some(m.target_config.as_deref())
            .flatten(),
    }
}

/// Registers autoscaling on the single serving variant — the scalable target and its
/// target-tracking policy, put again when either is missing or differs from the spec — and
/// removes registrations that do not belong (other variants, or autoscaling removed from the
/// spec). What was put in place is remembered as a hash on the endpoint, so a pass at rest
/// reads Application Auto Scaling only when the spec asks for something else.
pub(super) fn ensure_scaling(p: &mut Planner<'_>, ep: Option<&Endpoint>) {
    let Some(ep) = ep.filter(|e| e.variants.len() == 1 && e.shadow_variants.is_empty()) else {
        return;
    };
    ensure_scaling_of(p, &ep.variants[0].name);
}

/// Autoscaling on `scaled` — the serving variant, or an inference component's copies (its
/// target `inference-component/<name>`, read alone: `observed.scaling` then holds nothing
/// of the endpoint's) — as the spec says.
pub(super) fn ensure_scaling_of(p: &mut Planner<'_>, scaled: &str) {
    let want = scaling_plan(p.spec(), scaled);
    let hash = scaling_hash(p.spec(), scaled);
    if !p.input.observed.scaling_read {
        // Read only when the hash differs (see `reads_scaling`): nothing to do.
        return;
    }
    for reg in &p.input.observed.scaling {
        if want.as_ref().is_none_or(|w| w.variant != reg.variant) {
            p.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
    }
    if let Some(w) = want
        && !p.input.observed.scaling.iter().any(|r| w.is_registered(r))
    {
        p.push(Action::RegisterScaling(w));
    }
    if p.markers.scaling.as_deref() != Some(hash.as_str()) {
        p.write_markers(|m| m.scaling = Some(hash));
    }
}

pub(super) fn history(p: &Planner<'_>, outcome: &str, reason: String) -> HistoryEntry {
    HistoryEntry {
        started_at: p.markers.started.map(|t| t.to_string()),
        finished_at: p.now().to_string(),
        ..HistoryEntry::of(
            p.markers.candidate.as_deref().unwrap_or_default(),
            p.markers.run_id.clone(),
            outcome,
            reason,
        )
    }
}

/// Sets terminal markers. `reject_under` makes the candidate ineligible until the spec hash
/// changes.
pub(super) fn finish_markers(
    m: &mut Markers,
    stage: Stage,
    reject_under: Option<&str>,
    reason: &str,
) {
    m.stage = Some(stage);
    m.reason = Some(tag_safe(reason)).filter(|r| !r.is_empty());
    m.paused = false;
    m.step = 0;
    if let Some(hash) = reject_under {
        m.rejected = m.candidate.clone();
        m.rejected_spec = Some(hash.to_owned());
    }
}

/// The in-flight candidate as a [`Candidate`] (lineage from the lookup when it matches).
pub(super) fn pinned_candidate_info(p: &Planner<'_>) -> Option<Candidate> {
    let arn = p.markers.candidate.clone()?;
    match &p.input.observed.candidate {
        CandidateLookup::Found(c) if c.candidate_id == arn => Some(c.clone()),
        _ => Some(Candidate {
            origin: Origin::of_id(&arn),
            environment: BTreeMap::new(),
            // An artifact's id is its model.tar.gz.
            model_data_url: if Origin::of_id(&arn) == Origin::Registry {
                String::new()
            } else {
                arn.clone()
            },
            candidate_id: arn,
            run_id: p.markers.run_id.clone(),
            approval: String::new(),
            status: String::new(),
            image: None,
            lineage: BTreeMap::new(),
            artifact: ArtifactCheck::Unchecked,
            comparison: None,
        }),
    }
}

/// Production variants other than the candidate, with their current weights.
pub(super) fn others<'e>(ep: &'e Endpoint, candidate_variant: &str) -> Vec<&'e Variant> {
    ep.variants
        .iter()
        .filter(|v| v.name != candidate_variant)
        .collect()
}

/// Relative weights giving the candidate `pct` percent, others keeping their proportions.
pub(super) fn weights_for(
    ep: &Endpoint,
    candidate_variant: &str,
    pct: i32,
) -> BTreeMap<String, f64> {
    let rest = others(ep, candidate_variant);
    let total: f64 = rest.iter().map(|v| v.current_weight.max(0.0)).sum();
    let mut w: BTreeMap<String, f64> = rest
        .iter()
        .map(|v| {
            let share = if total > 0.0 {
                v.current_weight.max(0.0) / total
            } else {
                1.0 / rest.len() as f64
            };
            (v.name.clone(), share * f64::from(100 - pct))
        })
        .collect();
    w.insert(candidate_variant.to_owned(), f64::from(pct));
    w
}

/// Deregisters the scalable targets of variants an update removes or moves to another
/// instance type; `kept` are the (variant, instance type) pairs of the new config.
pub(super) fn deregister_unless_kept(p: &mut Planner<'_>, kept: &[(String, String)]) {
    let current = p
        .endpoint()
        .map(|e| e.variants.as_slice())
        .unwrap_or_default();
    for reg in &p.input.observed.scaling {
        let now_type = current
            .iter()
            .find(|v| v.name == reg.variant)
            .map(|v| v.instance_type.as_str());
        let survives = kept
            .iter()
            .any(|(name, t)| *name == reg.variant && Some(t.as_str()) == now_type);
        if !survives {
            p.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
    }
}

/// The history entry of the rollout the markers say has ended, when the status lacks it (a
/// status write lost after the tags that end the rollout were written, or a fresh process
/// without the last status): history entries are delivered at least once. Its end is when
/// it was noticed; outcome, reason, candidate and start come from the markers.
pub(super) fn recover_history(p: &mut Planner<'_>) {
    let m = &p.markers;
    let outcome = match m.stage {
        Some(Stage::Done) => "Succeeded",
        Some(Stage::RolledBack) => "RolledBack",
        Some(Stage::Failed) => "Failed",
        _ => return,
    };
    let (Some(candidate), Some(started_at)) = (m.candidate.clone(), m.started) else {
        return;
    };
    let started = started_at.to_string();
    let this = |h: &HistoryEntry| {
        h.started_at.as_deref() == Some(started.as_str()) && h.candidate_id() == candidate
    };
    let previous = p
        .input
        .previous
        .map(|s| s.history.as_slice())
        .unwrap_or_default();
    if previous.iter().chain(&p.history).any(this) {
        return;
    }
    // Only a rollout newer than every kept entry was lost: an older one may simply have
    // been pushed out of the bounded history.
    let newest = previous
        .iter()
        .filter_map(|h| h.finished_at.parse::<jiff::Timestamp>().ok())
        .max();
    if newest.is_some_and(|n| n >= started_at) {
        return;
    }
    let entry = history(p, outcome, p.markers.reason.clone().unwrap_or_default());
    p.history.push(entry);
}
