//! A rollout in flight: advancing stage by stage (shadow, candidate added at weight 0 with
//! its smoke test, weight steps with bakes, the final candidate-only config), holding on a
//! pause or a manual-rollback alarm, and noticing when a new candidate supersedes it.

use jiff::Timestamp;

use super::super::actions::{Action, VariantPlan};
use super::super::compare::BakeEnd;
use super::super::desired::{
    candidate_variant, champion_variant, config_plan, judging_alarms, lineage_tags, model_plan,
    owned_alarms, variant_name,
};
use super::super::markers::{Ending, InFlight, Smoke, Stage};
use super::super::observed::{AlarmState, Candidate, CandidateLookup, Endpoint, Origin};
use super::super::{Next, Planner, later};
use super::begin::{start, switch_config};
use super::common::{others, pinned_candidate_info, scope, traffic_since, weights_for};
use super::finish::{enter_final, final_stage, smoke_pending};
use super::rollback::{begin_rollback, rollback, update_failed};
use super::schedule::{hold_for_window, overdue, wait_for_window, window_closed};
use super::{AWAITING_PROMOTION, DEADLINE_MISSED};
use crate::api::conditions::Health;
use crate::api::{Gate, Phase, RollbackOn, ShadowThen};

/// An in-flight rollout on an InService endpoint.
pub(in crate::plan) fn advance(p: &mut Planner<'_>, ep: &Endpoint) {
    let flight = match p.markers.in_flight() {
        Ok(flight) => flight,
        Err(missing) => return unreadable(p, ep, &missing),
    };
    let f = &flight;
    let stage = p.markers.stage.unwrap_or(Stage::Final);
    if stage == Stage::Rollback {
        return rollback(p, ep, f);
    }
    if let Some(ending) = superseded(p) {
        return begin_rollback(p, ep, Ending::Superseded, ending, "Superseded", f);
    }
    // Did the last requested config take effect?
    if p.markers.target_config.as_deref() != Some(ep.config_name.as_str()) {
        let requested_after = p.markers.requested.unwrap_or(Timestamp::UNIX_EPOCH);
        if ep.last_modified > requested_after {
            return update_failed(p, ep);
        }
        // The update was never sent (a crash between tagging and updating): send it again.
        return reenter(p, ep, stage, f);
    }
    if ended(p, ep, f) || held(p) {
        return;
    }
    if let Some(why) = overdue(p) {
        return missed_deadline(p, ep, why, f);
    }
    if p.markers.paused {
        if let Some(opens) = window_closed(p) {
            return wait_for_window(p, opens, "the next step waits for it");
        }
        // Resuming restarts the current bake so that paused time never counts as baking.
        let now = p.now();
        p.write_markers(|m| {
            m.paused = false;
            m.since = Some(now);
        });
        p.event(
            "Resumed",
            "rollout resumed; the current step bakes again from now",
            false,
        );
    }
    match stage {
        Stage::Shadow => shadow_stage(p, ep, f),
        Stage::Added => added_stage(p, ep, f),
        Stage::Step => step_stage(p, ep, f),
        _ => final_stage(p, ep, f),
    }
}

/// A rollout in flight whose markers lost what its stages need (a person edited the
/// endpoint's tags): nothing is guessed and nothing changes; Stalled, naming what is missing.
fn unreadable(p: &mut Planner<'_>, ep: &Endpoint, missing: &[&str]) {
    p.next = Next::Idle;
    p.judge(
        Phase::Failed,
        Health::Stalled,
        "MarkersUnreadable",
        format!(
            "the rollout in flight on endpoint {} has lost its {} marker ({}* tags); nothing changes until it is restored, or the {}state tag is removed so that the endpoint is taken as it serves now",
            ep.name,
            missing.join(" and "),
            crate::tags::MARKER_PREFIX,
            crate::tags::MARKER_PREFIX,
        ),
    );
}

/// Whatever ends the rollout before its stage runs: abort, a candidate withdrawn, a failed
/// smoke test, a watched alarm in ALARM, a comparison the candidate lost. True when one did.
fn ended(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) -> bool {
    let spec = p.spec();
    if p.requested(Gate::Abort) {
        begin_rollback(
            p,
            ep,
            Ending::RolledBack,
            "aborted by on-call (sagemaker-rollout abort)".into(),
            "Aborted",
            f,
        );
        return true;
    }
    let withdrawn = match &p.input.observed.candidate {
        CandidateLookup::Found(c) if Some(&c.candidate_id) == p.markers.candidate.as_ref() => {
            c.withdrawn().map(|why| (why, c.origin == Origin::Registry))
        }
        _ => None,
    };
    if let Some((why, package)) = withdrawn {
        let reason = if package {
            "PackageRejected"
        } else {
            "ValidationWithdrawn"
        };
        begin_rollback(p, ep, Ending::RolledBack, why, reason, f);
        return true;
    }
    if p.markers.smoke == Some(Smoke::Failed) {
        begin_rollback(
            p,
            ep,
            Ending::RolledBack,
            "smoke test failed".into(),
            "SmokeTestFailed",
            f,
        );
        return true;
    }
    let markers = p.markers.clone();
    let watched = judging_alarms(spec, scope(&markers), traffic_since(&markers), p.now());
    let firing: Vec<String> = watched
        .iter()
        .filter(|n| {
            p.input
                .observed
                .alarm(n)
                .is_some_and(|a| a.state == AlarmState::Alarm)
        })
        .cloned()
        .collect();
    if !firing.is_empty() {
        let why = format!("alarm {} in ALARM", firing.join(", "));
        return judged_worse(p, ep, why, "AlarmFired", f);
    }
    // Candidate against champion, on the metrics read this pass (a Step in effect only).
    if markers.stage == Some(Stage::Step) {
        let judged = crate::plan::compare::judge_step(
            &spec.analysis,
            p.input.observed.comparison.as_ref(),
            markers.since,
            p.now(),
        );
        if let Some(why) = judged.worse {
            return judged_worse(p, ep, why, "ComparisonFailed", f);
        }
    }
    false
}

/// Whatever holds the rollout where it is: a watched alarm that does not exist (the owned
/// ones are put back), `rollout.paused`. True when one does.
fn held(p: &mut Planner<'_>) -> bool {
    let spec = p.spec();
    let markers = p.markers.clone();
    let missing: Vec<&String> = spec
        .analysis
        .existing
        .iter()
        .filter(|n| p.input.observed.alarm(n).is_none())
        .collect();
    for alarm in owned_alarms(spec, scope(&markers)) {
        if p.input.observed.alarm(&alarm.name).is_none() {
            p.push(Action::EnsureAlarm(alarm));
        }
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        p.next = Next::Idle;
        p.judge(
            Phase::Paused,
            Health::Stalled,
            "AlarmMissing",
            format!(
                "watched alarm {} does not exist; the rollout holds until it does",
                names.join(", ")
            ),
        );
        return true;
    }
    if spec.rollout.paused {
        hold(
            p,
            "Paused",
            "rollout.paused is set; holding at the current step".into(),
            Health::Paused,
        );
        return true;
    }
    false
}

/// The current stage's clock: when it started, or — the first time the stage is seen in
/// effect (InService on the target config, weights applied) — now, written to the markers.
fn start_clock(p: &mut Planner<'_>) -> Timestamp {
    if let Some(since) = p.markers.since {
        return since;
    }
    let now = p.now();
    p.write_markers(|m| m.since = Some(now));
    now
}

/// Holds the rollout where it is. `health` says what GitOps tools read of it (kstatus): a
/// hold asked for in the spec is the state Git wants (`Paused`: Current); one that waits for
/// a human decision is not (`Stalled`: Failed until someone promotes or aborts).
pub(super) fn hold(p: &mut Planner<'_>, reason: &'static str, message: String, health: Health) {
    if !p.markers.paused {
        p.write_markers(|m| m.paused = true);
    }
    p.next = Next::Idle;
    p.judge(Phase::Paused, health, reason, message);
}

/// A different candidate (or new serving settings) replaced the in-flight one.
pub(super) fn superseded(p: &Planner<'_>) -> Option<String> {
    let spec = p.spec();
    let pinned_arn = p.markers.candidate.clone()?;
    let pinned = super::super::pinned(spec, &p.markers).is_some();
    let arn = match &p.input.observed.candidate {
        CandidateLookup::Found(c) if !pinned => c.candidate_id.clone(),
        _ => pinned_arn.clone(),
    };
    if arn != pinned_arn {
        return Some(format!("superseded by candidate {arn}"));
    }
    if Some(variant_name(spec, &arn)) != p.markers.settings {
        return Some("superseded by new serving settings".into());
    }
    None
}

/// Rebuilds and re-sends the config switch of the current stage.
pub(super) fn reenter(p: &mut Planner<'_>, ep: &Endpoint, stage: Stage, f: &InFlight) {
    let Some(cand) = pinned_candidate_info(p) else {
        return p.judge(
            Phase::Pending,
            Health::Progressing,
            "WaitingForCandidate",
            "waiting for the pinned candidate to be resolved",
        );
    };
    // An artifact known only from the markers cannot be sent again (its image is not
    // known): say so rather than create a model without one.
    if cand.origin != Origin::Registry && cand.image.is_none() {
        let why = match &p.input.observed.candidate {
            CandidateLookup::NotFound(why) => format!("{why}; "),
            _ => String::new(),
        };
        return p.judge(
            Phase::Failed,
            Health::Stalled,
            "WaitingForCandidate",
            format!(
                "{why}the in-flight artifact {} must be sent again but its image is not known: point spec.candidate at it again, or at the run to deploy",
                cand.candidate_id
            ),
        );
    }
    match stage {
        Stage::Final => enter_final(p, ep, &cand),
        Stage::Added => enter_added(p, ep, &cand, f),
        _ => {
            // Shadow and Native are entered from rest: forget the stage and start over.
            p.markers.stage = None;
            start(p, Some(ep), &cand);
        }
    }
}

pub(super) fn enter_added(p: &mut Planner<'_>, ep: &Endpoint, cand: &Candidate, f: &InFlight) {
    let spec = p.spec();
    let lineage = lineage_tags(spec, p.input.owner, cand);
    let model = model_plan(spec, cand, &lineage);
    let variant = f.variant.clone();
    let mut prod: Vec<VariantPlan> = others(ep, &variant)
        .into_iter()
        .map(|v| champion_variant(v, v.current_weight.max(0.0), &ep.config_name))
        .collect();
    prod.push(candidate_variant(spec, cand, &model, 0.0));
    let config = config_plan(spec, prod, vec![], &lineage, Some(ep));
    let mut m = p.markers.clone();
    m.stage = Some(Stage::Added);
    m.step = 0;
    p.push(Action::CreateModel(model));
    switch_config(p, m, config, None);
    p.event(
        "VariantAdded",
        format!("adding candidate variant {variant} at weight 0"),
        false,
    );
    p.judge(
        Phase::Deploying,
        Health::Progressing,
        "AddingVariant",
        format!("adding candidate variant {variant} at weight 0"),
    );
}

pub(super) fn shadow_stage(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    let spec = p.spec();
    let Some(sh) = spec.rollout.shadow.as_ref() else {
        return added_or_final(p, ep, f);
    };
    // The shadow period counts from when SageMaker reports the shadow config in effect.
    let since = start_clock(p);
    let due = later(since, sh.duration);
    if p.requested(Gate::Promote) || (p.now() >= due && sh.then != ShadowThen::Hold) {
        return added_or_final(p, ep, f);
    }
    let message = if p.now() >= due {
        "shadow period over; holding in shadow (then: Hold) until promoted (sagemaker-rollout promote)".to_owned()
    } else {
        format!(
            "shadowing {} % of requests until {due}",
            sh.sampling_percent
        )
    };
    p.next = if p.now() >= due {
        Next::Idle
    } else {
        Next::At(due)
    };
    p.judge(
        Phase::Progressing,
        Health::Progressing,
        "Shadowing",
        message,
    );
}

pub(super) fn added_or_final(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    match pinned_candidate_info(p) {
        Some(c) => enter_added(p, ep, &c, f),
        None => p.judge(
            Phase::Pending,
            Health::Progressing,
            "WaitingForCandidate",
            "no pinned candidate",
        ),
    }
}

pub(super) fn added_stage(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    if smoke_pending(p, " at weight 0 before any traffic moves", f) {
        return;
    }
    let spec = p.spec();
    let steps = &spec.rollout.steps;
    if let Some(opens) = window_closed(p) {
        return hold_for_window(p, opens, "traffic waits for it");
    }
    if p.requested(Gate::Promote) || steps.is_empty() {
        let Some(c) = pinned_candidate_info(p) else {
            return;
        };
        return enter_final(p, ep, &c);
    }
    go_to_step(p, ep, 1, steps[0].weight, f);
}

pub(super) fn go_to_step(p: &mut Planner<'_>, ep: &Endpoint, step: u32, weight: i32, f: &InFlight) {
    let variant = f.variant.clone();
    let total = p.spec().rollout.steps.len();
    let now = p.now();
    // The bake counts from when SageMaker reports the new weights in effect (step_stage).
    p.write_markers(|m| {
        m.stage = Some(Stage::Step);
        m.step = step;
        m.since = None;
        m.requested = Some(now);
    });
    p.push(Action::UpdateWeights {
        weights: weights_for(ep, &variant, weight),
    });
    p.next = Next::Poll;
    p.event(
        "StepAdvanced",
        format!("step {step}/{total}: candidate at {weight} %"),
        false,
    );
    p.judge(
        Phase::Progressing,
        Health::Progressing,
        "StepAdvanced",
        format!("moving to step {step}/{total}: candidate at {weight} %"),
    );
}

pub(super) fn step_stage(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    let spec = p.spec();
    let steps = &spec.rollout.steps;
    let i = p.markers.step.max(1) as usize;
    if p.requested(Gate::Promote) || i > steps.len() {
        let Some(c) = pinned_candidate_info(p) else {
            return;
        };
        return enter_final(p, ep, &c);
    }
    let step = &steps[i - 1];
    let variant = f.variant.clone();
    let current = ep.percent_weights().get(&variant).copied().unwrap_or(0);
    if current != step.weight {
        // The spec's weights changed mid-rollout: apply the new weight, keep the bake clock.
        p.push(Action::UpdateWeights {
            weights: weights_for(ep, &variant, step.weight),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "Reweighting",
            format!(
                "step {i}/{}: setting candidate weight to {} % (was {current} %)",
                steps.len(),
                step.weight
            ),
        );
    }
    let due = later(start_clock(p), step.bake);
    if p.now() < due {
        p.next = Next::At(due);
        return p.judge(
            Phase::Progressing,
            Health::Progressing,
            "Baking",
            format!(
                "step {i}/{}: candidate at {} %, baking until {due}",
                steps.len(),
                step.weight
            ),
        );
    }
    let spec = p.spec();
    let readings = p.input.observed.comparison.as_ref();
    let held = p.now().duration_since(due);
    match crate::plan::compare::at_bake_end(&spec.analysis, readings, p.markers.since, p.now()) {
        BakeEnd::Proceed => {}
        BakeEnd::RollBack(why) => {
            judged_worse(p, ep, why, "ComparisonInconclusive", f);
            return;
        }
        BakeEnd::Hold(why, every) => {
            // Baking on, judged every interval, until the comparisons pass (or a human acts);
            // held as long again as the bake itself, it needs that human (kstatus: Stalled).
            p.next = Next::At(later(p.now(), every));
            let long = held >= step.bake;
            let health = if long {
                Health::Stalled
            } else {
                Health::Progressing
            };
            return p.judge(Phase::Progressing, health, "ComparisonInconclusive", why);
        }
    }
    if step.pause {
        // An approval step: hold at this weight until on-call promotes (checked first on
        // every pass); the alarms are watched meanwhile (`Planner::watch`).
        p.next = Next::Idle;
        let message = format!(
            "step {i}/{}: candidate at {} %, baked; waiting for approval (sagemaker-rollout promote)",
            steps.len(),
            step.weight
        );
        return p.judge(Phase::Paused, Health::Paused, AWAITING_PROMOTION, message);
    }
    if let Some(opens) = window_closed(p) {
        return hold_for_window(
            p,
            opens,
            &format!("step {i} baked; the next step waits for it"),
        );
    }
    match steps.get(i) {
        Some(next) => go_to_step(p, ep, i as u32 + 1, next.weight, f),
        None => {
            let Some(c) = pinned_candidate_info(p) else {
                return;
            };
            enter_final(p, ep, &c)
        }
    }
}

/// The rollout missed its progress deadline: roll back, or hold for a human, as the spec
/// says. A hold is not written to the markers, so it lasts until a human acts.
fn missed_deadline(p: &mut Planner<'_>, ep: &Endpoint, why: String, f: &InFlight) {
    if !super::schedule::holds_on_deadline(p) {
        return begin_rollback(p, ep, Ending::RolledBack, why, DEADLINE_MISSED, f);
    }
    p.next = Next::Idle;
    p.judge(
        Phase::Paused,
        Health::Stalled,
        DEADLINE_MISSED,
        format!("{why}; held (progressDeadline.action: Hold): sagemaker-rollout promote or abort decides"),
    );
}

/// The candidate was judged worse (`reason`: an alarm fired, or it lost the comparison):
/// roll back, or with `rollbackOn: Manual` hold for a human.
fn judged_worse(
    p: &mut Planner<'_>,
    ep: &Endpoint,
    why: String,
    reason: &'static str,
    f: &InFlight,
) -> bool {
    if p.spec().analysis.rollback_on == RollbackOn::Alarm {
        begin_rollback(p, ep, Ending::RolledBack, why, reason, f);
        return true;
    }
    if p.requested(Gate::Promote) {
        // The human decided: on to 100 % despite the verdict (the stage promotes).
        p.event(reason, format!("{why}; promoted by on-call over it"), true);
        return false;
    }
    p.event(
        reason,
        format!("{why}; holding for a human (rollbackOn: Manual)"),
        true,
    );
    hold(
        p,
        reason,
        format!(
            "{why}: rollout held (rollbackOn: Manual); sagemaker-rollout abort or promote decides"
        ),
        Health::Stalled,
    );
    true
}
