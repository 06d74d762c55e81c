//! Status projection: turns the planner's verdict, the markers and the observed endpoint into
//! the `ModelDeploymentStatus` on-call reads, with kstatus conditions whose
//! `lastTransitionTime` only moves when their status changes.

use jiff::Timestamp;

use super::desired::{judging_alarms, variant_name, watched_alarms};
use super::markers::{Smoke, Stage};
use super::observed::{ArtifactCheck, CandidateLookup, Component, Endpoint, region_of};
use super::{Event, Planner, Verdict, later};
use crate::api::conditions::{self, ConditionType, Health};
use crate::api::{
    AlarmView, ComparisonView, ComponentStatusView, EndpointStatusView, HISTORY_LIMIT,
    HistoryEntry, Links, ModelDeploymentStatus, Phase, RolloutProgress, SmokeTestView, SpecErrors,
    TargetView, VariantView,
};

pub(super) fn project(p: &Planner<'_>) -> ModelDeploymentStatus {
    let verdict = p.verdict.clone().unwrap_or(Verdict {
        phase: Phase::Pending,
        health: Health::Progressing,
        reason: "Planning",
        message: "planning".into(),
    });
    let previous = p.input.previous;
    let ep = p.endpoint();
    // An endpoint that only hosts the component: its variants are not the rollout's.
    let serving = ep.filter(|_| !p.input.observed.targets_component);
    let mut history: Vec<HistoryEntry> = p.history.iter().rev().cloned().collect();
    history.extend(previous.map(|s| s.history.clone()).unwrap_or_default());
    history.truncate(HISTORY_LIMIT);
    ModelDeploymentStatus {
        observed_generation: p.input.generation,
        phase: Some(verdict.phase),
        conditions: conditions::for_health(
            previous
                .map(|s| s.conditions.as_slice())
                .unwrap_or_default(),
            verdict.health,
            verdict.reason,
            &verdict.message,
            p.input.generation,
            p.now(),
        ),
        target: target_view(p),
        endpoint: Some(endpoint_view(ep, &p.spec().endpoint_name)),
        inference_component: component_view(p),
        champion: champion_view(p, serving),
        candidate: candidate_view(p, serving),
        rollout: rollout_view(p, serving, &verdict),
        alarms: alarm_views(p),
        comparison: comparison_views(p),
        smoke_test: p.markers.smoke.map(|s| SmokeTestView {
            result: if s == Smoke::Passed {
                "Passed"
            } else {
                "Failed"
            }
            .into(),
            at: p.markers.smoke_at.map(|t| t.to_string()),
            latency_ms: None,
            response: None,
        }),
        history,
        links: links(p, ep),
        undo_until: super::rollout::undo_until(p).map(|t| t.to_string()),
        rollout_id: super::requests::rollout_id(&p.markers),
        rollout_in_flight: super::requests::in_flight(&p.markers),
        // Only on-call writes requests; the controller's status apply leaves them out.
        requests: None,
    }
}

/// The target once this resource owns the endpoint (it created or adopted it, and the
/// owner marker names it); kept from then on.
fn target_view(p: &Planner<'_>) -> Option<TargetView> {
    let kept = p.input.previous.and_then(|s| s.target.clone());
    // Owned as AWS shows it (the endpoint's tags as observed), not as this plan intends: a
    // first deployment or an adoption whose calls fail records no target.
    let markers = super::markers_of(p.input.observed);
    let owns = super::claim::claim_of(&markers, p.input.owner, p.input.driver).is_ours();
    kept.or_else(|| {
        owns.then(|| TargetView {
            endpoint_name: p.spec().endpoint_name.clone(),
            region: p.spec().region.clone(),
            assume_role_arn: p.spec().assume_role_arn.clone(),
            assumed_role_arn: None,
            inference_component: p.spec().serving.component.as_ref().map(|c| c.name.clone()),
        })
    })
}

/// The endpoint as on-call sees it (`NotFound` when it does not exist).
pub(super) fn endpoint_view(ep: Option<&Endpoint>, name: &str) -> EndpointStatusView {
    match ep {
        Some(e) => EndpointStatusView {
            name: e.name.clone(),
            arn: Some(e.arn.clone()),
            status: e.status.as_str().into(),
            config_name: Some(e.config_name.clone()),
            failure_reason: e.failure_reason.clone(),
        },
        None => EndpointStatusView {
            name: name.to_owned(),
            status: "NotFound".into(),
            ..Default::default()
        },
    }
}

/// The targeted inference component as on-call sees it (`NotFound` before it is created).
fn component_view(p: &Planner<'_>) -> Option<ComponentStatusView> {
    let ic = p.spec().serving.component.as_ref()?;
    Some(component_status(
        &ic.name,
        p.input.observed.component.as_ref(),
    ))
}

/// An inference component as on-call sees it (`NotFound` when it does not exist).
pub(super) fn component_status(name: &str, c: Option<&Component>) -> ComponentStatusView {
    match c {
        Some(c) => ComponentStatusView {
            name: c.name.clone(),
            arn: Some(c.arn.clone()),
            status: c.status.as_str().into(),
            model_name: c.model_name.clone(),
            desired_copies: c.desired_copies,
            current_copies: c.current_copies,
            failure_reason: c.failure_reason.clone(),
        },
        None => ComponentStatusView {
            name: name.to_owned(),
            status: "NotFound".into(),
            ..Default::default()
        },
    }
}

fn candidate_variant_name(p: &Planner<'_>) -> Option<String> {
    p.markers
        .variant
        .clone()
        .or_else(|| match &p.input.observed.candidate {
            CandidateLookup::Found(c) => Some(variant_name(p.spec(), &c.candidate_id)),
            CandidateLookup::NotFound(_) | CandidateLookup::Unread => None,
        })
}

fn candidate_view(p: &Planner<'_>, ep: Option<&Endpoint>) -> Option<VariantView> {
    let found = match &p.input.observed.candidate {
        CandidateLookup::Found(c) => Some(c),
        CandidateLookup::NotFound(_) | CandidateLookup::Unread => None,
    };
    let arn = p
        .markers
        .candidate
        .clone()
        .filter(|_| p.markers.stage.is_some_and(Stage::in_flight));
    let arn = arn.or_else(|| found.map(|c| c.candidate_id.clone()))?;
    let from_lookup = found.filter(|c| c.candidate_id == arn);
    let variant = candidate_variant_name(p);
    let weight = ep.map(|e| e.candidate_weight(&arn));
    Some(VariantView {
        candidate_run_id: from_lookup
            .and_then(|c| c.run_id.clone())
            .or(p.markers.run_id.clone()),
        variant,
        weight,
        artifact_sha256: from_lookup.and_then(|c| match &c.artifact {
            ArtifactCheck::Valid { sha256 } => Some(sha256.clone()),
            _ => None,
        }),
        ..VariantView::naming(Some(arn))
    })
}

/// The heaviest variant that does not run the candidate's package (by package, not by
/// variant name: a blue/green deployment reuses the champion's name for the candidate).
fn champion_view(p: &Planner<'_>, ep: Option<&Endpoint>) -> Option<VariantView> {
    let ep = ep?;
    let cand_arn = candidate_view(p, Some(ep)).and_then(|c| c.candidate_id().map(str::to_owned));
    let cand_variant = candidate_variant_name(p);
    let weights = ep.percent_weights();
    let champ = ep
        .variants
        .iter()
        .filter(|v| match (&v.candidate_id, &cand_arn) {
            (Some(a), Some(c)) => a != c,
            _ => Some(&v.name) != cand_variant.as_ref(),
        })
        .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))?;
    Some(VariantView {
        candidate_run_id: champ.run_id.clone(),
        variant: Some(champ.name.clone()),
        weight: weights.get(&champ.name).copied(),
        artifact_sha256: None,
        ..VariantView::naming(champ.candidate_id.clone())
    })
}

fn rollout_view(p: &Planner<'_>, ep: Option<&Endpoint>, v: &Verdict) -> Option<RolloutProgress> {
    let stage = p.markers.stage?;
    let steps = &p.spec().rollout.steps;
    let total = steps.len() as u32;
    let step = match stage {
        Stage::Step => p.markers.step,
        Stage::Final | Stage::Native | Stage::Done => total,
        _ => 0,
    };
    let label = match stage {
        Stage::Shadow => "shadow".to_owned(),
        Stage::Rollback => "rollback".to_owned(),
        Stage::RolledBack => "rolled back".to_owned(),
        Stage::Failed => "failed".to_owned(),
        Stage::Done => "done".to_owned(),
        _ => format!("{step}/{total}"),
    };
    let weight = match (ep, &p.markers.candidate) {
        (Some(e), Some(arn)) => e.candidate_weight(arn),
        _ => 0,
    };
    let next_step_at = match stage {
        Stage::Step => steps
            .get(step.saturating_sub(1) as usize)
            .and_then(|s| p.markers.since.map(|t| later(t, s.bake))),
        Stage::Shadow => p
            .spec()
            .rollout
            .shadow
            .as_ref()
            .and_then(|s| p.markers.since.map(|t| later(t, s.duration))),
        _ => None,
    };
    Some(RolloutProgress {
        step,
        total_steps: total,
        step_label: label,
        weight,
        step_started_at: p.markers.since.map(|t| t.to_string()),
        next_step_at: next_step_at.map(|t| t.to_string()),
        message: v.message.clone(),
    })
}

/// The comparison verdicts while a step is in effect: this pass's, or the last status's when
/// the metrics were not read this pass. A Pass or Fail keeps the minute it was first reached
/// in the step.
fn comparison_views(p: &Planner<'_>) -> Vec<ComparisonView> {
    if p.markers.stage != Some(Stage::Step) {
        return Vec::new();
    }
    match &p.input.observed.comparison {
        Some(r) => {
            let analysis = &p.spec().analysis;
            let mut views =
                super::compare::judge_step(analysis, Some(r), p.markers.since, p.now()).views;
            let step = |s: &ModelDeploymentStatus| s.rollout.as_ref().map(|r| r.step);
            let same_step = (p.input.previous)
                .filter(|s| step(s) == Some(p.markers.step) && s.rollout.is_some());
            for v in views
                .iter_mut()
                .filter(|v| v.verdict == "Pass" || v.verdict == "Fail")
            {
                let before = same_step
                    .and_then(|s| s.comparison.iter().find(|b| b.metric == v.metric))
                    .filter(|b| b.verdict == v.verdict)
                    .and_then(|b| b.decided_at.clone());
                v.decided_at =
                    Some(before.unwrap_or_else(|| super::compare::data_end(p.now()).to_string()));
            }
            views
        }
        None => p
            .input
            .previous
            .map(|s| s.comparison.clone())
            .unwrap_or_default(),
    }
}

/// The alarms watched now, with the states read this pass: while a rollout is in flight the
/// existing and the rollout's own alarms; at rest none (nothing is watched, and a finished
/// rollout's own alarms are deleted, never listed as Missing).
fn alarm_views(p: &Planner<'_>) -> Vec<AlarmView> {
    if !p.markers.stage.is_some_and(Stage::in_flight) {
        return Vec::new();
    }
    let observed = &p.input.observed;
    let previous = p
        .input
        .previous
        .map(|s| s.alarms.as_slice())
        .unwrap_or_default();
    // A floor that does not judge yet is in ALARM for want of data: say so, or on-call (and
    // the picture) would take it for a firing alarm.
    let judging = judging_alarms(
        p.spec(),
        super::rollout::scope(&p.markers),
        super::rollout::traffic_since(&p.markers),
        p.now(),
    );
    watched_alarms(p.spec(), super::rollout::scope(&p.markers))
        .into_iter()
        .map(|name| match observed.alarm(&name) {
            Some(a) => AlarmView {
                state: if judging.contains(&name) {
                    a.state.as_str().into()
                } else {
                    format!("{} (floor not judging yet)", a.state.as_str())
                },
                name,
                since: a.since.map(|t| t.to_string()),
            },
            // Not read this pass: what the last status said, else unknown.
            None if !observed.alarms_read => previous
                .iter()
                .find(|v| v.name == name)
                .cloned()
                .unwrap_or(AlarmView {
                    name,
                    state: "Unknown".into(),
                    since: None,
                }),
            None => AlarmView {
                name,
                state: "Missing".into(),
                since: None,
            },
        })
        .collect()
}

fn links(p: &Planner<'_>, ep: Option<&Endpoint>) -> Option<Links> {
    let region = region_of(p.spec(), ep)?;
    let name = &p.spec().endpoint_name;
    Some(Links {
        endpoint: format!(
            "https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/endpoints/{name}"
        ),
        alarms: format!(
            "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:?search={name}"
        ),
    })
}

/// Adds an Event when the Ready condition's reason changed since the last status, so every
/// state change is visible in `kubectl describe` even without an explicit event.
pub(super) fn transition_event(
    previous: Option<&ModelDeploymentStatus>,
    now: &ModelDeploymentStatus,
    events: &mut Vec<Event>,
) {
    let reason_of = |s: &ModelDeploymentStatus| conditions::ready_reason(s).map(str::to_owned);
    milestone_events(previous, now, events);
    let new = reason_of(now);
    if previous.and_then(reason_of) == new || events.iter().any(|e| Some(&e.reason) == new.as_ref())
    {
        return;
    }
    if let (Some(reason), Some(ready)) = (new, conditions::find(now, ConditionType::Ready)) {
        events.push(Event {
            reason,
            message: ready.message.clone(),
            warning: conditions::is_true(now, ConditionType::Stalled),
        });
    }
}

/// Events for milestones the status shows but no action names: the candidate resolved, its
/// artifact validated, its variant on the endpoint, the smoke test's verdict. Derived from
/// the previous status, so a restarted controller does not repeat them.
fn milestone_events(
    previous: Option<&ModelDeploymentStatus>,
    now: &ModelDeploymentStatus,
    events: &mut Vec<Event>,
) {
    let before = previous.and_then(|p| p.candidate.as_ref());
    let mut push = |reason: &str, message: String, warning: bool| {
        if !events.iter().any(|e| e.reason == reason) {
            events.push(Event {
                reason: reason.to_owned(),
                message,
                warning,
            });
        }
    };
    type Field = fn(&VariantView) -> Option<&str>;
    type Message = fn(&str, &str) -> String;
    let milestones: [(&str, Field, Message); 3] = [
        (
            "CandidateResolved",
            VariantView::candidate_id,
            |arn, run| format!("candidate {arn} (run {run})"),
        ),
        (
            "ArtifactValidated",
            |c| c.artifact_sha256.as_deref(),
            |sha, run| format!("artifact of run {run} meets the contract (sha256 {sha})"),
        ),
        (
            "VariantAdded",
            |c| c.variant.as_deref(),
            |variant, _| format!("candidate variant {variant} is on the endpoint"),
        ),
    ];
    if let Some(cand) = &now.candidate {
        let run = cand.candidate_run_id.as_deref().unwrap_or("unknown run");
        for (reason, field, message) in milestones {
            if let Some(value) = field(cand)
                && before.and_then(field) != Some(value)
            {
                push(reason, message(value, run), false);
            }
        }
    }
    let smoke_before = previous.and_then(|p| p.smoke_test.as_ref());
    if let Some(smoke) = &now.smoke_test
        && smoke_before.map(|s| (&s.result, &s.at)) != Some((&smoke.result, &smoke.at))
    {
        let passed = smoke.result == "Passed";
        push(
            if passed {
                "SmokeTestPassed"
            } else {
                "SmokeTestFailed"
            },
            format!(
                "smoke test {}{}",
                smoke.result.to_lowercase(),
                smoke
                    .response
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            !passed,
        );
    }
    verdict_events(previous, now, events);
}

/// An Event when a comparison reaches Pass or Fail in a step (a Warning for Fail): the
/// verdict on-call asks about after a promotion or a rollback. Pending and Inconclusive are
/// where every comparison starts, not news.
fn verdict_events(
    previous: Option<&ModelDeploymentStatus>,
    now: &ModelDeploymentStatus,
    events: &mut Vec<Event>,
) {
    let step = |s: &ModelDeploymentStatus| s.rollout.as_ref().map(|r| r.step);
    let before = previous.filter(|p| step(p) == step(now));
    for c in &now.comparison {
        let was = before
            .and_then(|p| p.comparison.iter().find(|b| b.metric == c.metric))
            .map(|b| b.verdict.as_str());
        let reason = match c.verdict.as_str() {
            "Pass" => "ComparisonPassed",
            "Fail" => "ComparisonFailed",
            _ => continue,
        };
        if was == Some(c.verdict.as_str()) {
            continue;
        }
        let at = now
            .rollout
            .as_ref()
            .map(|r| format!(" (step {})", r.step_label));
        events.push(Event {
            reason: reason.to_owned(),
            message: format!("{}: {}{}", c.metric, c.message, at.unwrap_or_default()),
            warning: c.verdict == "Fail",
        });
    }
}

/// The status of a spec that failed validation: Stalled, every problem in the message, the
/// rest of the previous status (history, endpoint) kept for on-call.
pub(super) fn invalid(
    reason: &str,
    errors: &SpecErrors,
    previous: Option<&ModelDeploymentStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> ModelDeploymentStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    status.phase = Some(Phase::Pending);
    status.conditions = conditions::for_health(
        previous
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default(),
        Health::Stalled,
        reason,
        &errors.summary(),
        generation,
        now,
    );
    status
}

/// What became of a pass after planning, as far as on-call can tell.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The plan's actions ran; `smoke` is the smoke test this process ran, if it did (the
    /// markers only say passed or failed and when; this adds latency and response).
    Acted { smoke: Option<&'a SmokeTestView> },
    /// AWS refused a call for good (validation, permissions, limits): Stalled with AWS's
    /// own message until the spec changes.
    Rejected { message: &'a str },
    /// The pass failed in a way that will pass (throttling, network, a conflict): the
    /// Reconciling condition carries the error until a pass succeeds.
    Retrying {
        reason: &'a str,
        message: &'a str,
        generation: Option<i64>,
    },
}

/// The status to publish: `base` (the plan's projection, or the last published status when
/// there is no plan) settled by what happened to the pass. The one place a status is
/// finished: every front end and every failure path goes through here.
pub fn settle(
    mut base: ModelDeploymentStatus,
    outcome: Outcome<'_>,
    now: Timestamp,
) -> ModelDeploymentStatus {
    match outcome {
        Outcome::Acted { smoke } => {
            if let (Some(view), Some(detail)) = (base.smoke_test.as_mut(), smoke)
                && view.at == detail.at
            {
                *view = detail.clone();
            }
        }
        Outcome::Rejected { message } => {
            let message = format!(
                "{message}; fix the cause (spec, IAM permissions, quotas) and change the spec to retry"
            );
            base.conditions = conditions::for_health(
                &base.conditions,
                Health::Stalled,
                "AwsRejected",
                &message,
                base.observed_generation,
                now,
            );
            base.phase = Some(Phase::Failed);
        }
        Outcome::Retrying {
            reason,
            message,
            generation,
        } => {
            conditions::mark_retrying(&mut base, reason, message, generation, now);
        }
    }
    base
}
