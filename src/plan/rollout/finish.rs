//! The end of a rollout that succeeds: the config of the candidate alone ([`enter_final`]),
//! its smoke test, and the final stage — garbage collected, markers finished, the endpoint's
//! tags brought in line with what now serves it and with `spec.tags`, the record written.
//!
//! `spec.tags` the controller applied and the spec no longer lists are removed: the keys it
//! applied are recorded (as short hashes, 20 keys fit one tag value) in the `user-tags`
//! marker, so a key someone else set is never taken for one of ours, and an old key never
//! stays to be counted against the endpoint's 50-tag budget as "set outside it".

use std::collections::BTreeMap;

use super::super::actions::Action;
use super::super::markers::{InFlight, Smoke, Stage};
use super::super::observed::{Candidate, Endpoint};
use super::super::{Next, Planner};
use super::begin::switch_config;
use super::common::{
    collect_garbage, ensure_scaling, finish_markers, history, pinned_candidate_info, run_label,
};
use crate::api::Phase;
use crate::api::conditions::Health;
use crate::plan::desired::{candidate_only, lineage_tags, model_plan, variant_name};
use crate::tags;

/// The tag writes that record `spec_tags` as ours and remove the keys recorded earlier that
/// the spec no longer lists (an empty value removes a key).
fn user_tags(
    spec_tags: &BTreeMap<String, String>,
    endpoint: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = tags::stale_user_tags(spec_tags, endpoint)
        .map(|k| (k.clone(), String::new()))
        .collect();
    let mine: Vec<String> = spec_tags.keys().map(|k| tags::short_key(k)).collect();
    out.insert(tags::USER_TAGS_KEY.to_owned(), mine.join(" "));
    out
}

pub(super) fn enter_final(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let variant = p
        .markers
        .variant
        .clone()
        .unwrap_or_else(|| variant_name(spec, &cand.candidate_id));
    let config = candidate_only(spec, cand, &model, &lineage, &variant, Some(ep));
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Final);
    // The candidate's model already serves on the endpoint (models are immutable per name).
    if !ep.variants.iter().any(|v| v.model_name == model.name) {
        p.push(Action::CreateModel(model));
    }
    switch_config(p, m, config, None);
    p.event(
        "Promoting",
        format!(
            "promoting candidate {} to 100 % on {}",
            run_label(cand),
            ep.name
        ),
        false,
    );
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "Promoting",
        "replacing the config with the candidate alone",
    );
}

/// Runs the smoke test while it has not passed yet; true when it is pending (the stage waits).
pub(super) fn smoke_pending(p: &mut Planner<'_>, when: &str, f: &InFlight) -> bool {
    let variant = f.variant.clone();
    if p.spec().smoke_test.is_none() || p.markers.smoke == Some(Smoke::Passed) {
        return false;
    }
    p.push(Action::RunSmokeTest {
        variant: variant.clone(),
    });
    p.next = Next::Poll;
    p.judge(
        Phase::Progressing,
        Health::Progressing,
        "SmokeTesting",
        format!("smoke-testing variant {variant}{when}"),
    );
    true
}

pub(super) fn final_stage(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    if smoke_pending(p, "", f) {
        return;
    }
    let spec = p.spec();
    // With a rollback window the previous champion's config stays for `undo` (undo.rs).
    let keep = (spec.rollout.rollback_window.is_some())
        .then(|| p.markers.champion_config.clone())
        .flatten();
    let kept = keep.is_some();
    collect_garbage(p, ep, keep);
    let mut m = p.markers.clone();
    finish_markers(&mut m, Stage::Done, None, "");
    // When it finished: the rollback window counts from here. At rest the champion's config
    // is named only while it is kept.
    m.since = Some(p.now());
    if !kept {
        m.champion_config = None;
    }
    let mut tags = m.to_tags();
    // The endpoint's lineage tags follow the model that now serves it: the old model's
    // lineage keys the new one lacks are removed, not left to describe the wrong model.
    if let Some(c) = pinned_candidate_info(p) {
        let lineage = lineage_tags(spec, p.input.owner, &c);
        for stale in tags::LINEAGE_KEYS
            .iter()
            .filter(|k| ep.tags.contains_key(**k) && !lineage.contains_key(**k))
        {
            tags.insert((*stale).to_owned(), String::new());
        }
        tags.extend(lineage);
    }
    tags.extend(user_tags(&spec.tags, &ep.tags));
    p.push(Action::TagEndpoint { tags });
    let label = p
        .markers
        .run_id
        .clone()
        .or(p.markers.candidate.clone())
        .unwrap_or_default();
    let entry = history(
        p,
        "Succeeded",
        format!("candidate serves 100 % of {}", ep.name),
    );
    p.event(
        "RolloutSucceeded",
        format!("candidate {label} serves 100 % of {}", ep.name),
        false,
    );
    p.markers = m;
    ensure_scaling(p, Some(ep));
    // Recorded last: the record describes the endpoint as this plan leaves it.
    p.record(entry);
    p.judge(
        Phase::Succeeded,
        Health::Ready,
        "Serving",
        format!("candidate {label} serves 100 % of endpoint {}", ep.name),
    );
}
