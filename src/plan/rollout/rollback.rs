//! Going back: failed updates (silent rollbacks) and rollbacks to the champion.

use super::super::actions::Action;
use super::super::desired::spec_hash;
use super::super::desired::watched_alarms;
use super::super::markers::{Ending, InFlight, Stage};
use super::super::observed::AlarmState;
use super::super::observed::Endpoint;
use super::super::{Next, Planner};
use super::common::{
    collect_garbage, deregister_unless_kept, ensure_scaling, finish_markers, hint, history, others,
    scope, weights_for,
};
use crate::api::Phase;
use crate::api::conditions::Health;
use crate::tags::tag_safe;

/// The endpoint returned to another config after our update: SageMaker rolled it back.
pub(super) fn update_failed(p: &mut Planner<'_>, ep: &Endpoint) {
    let reason = ep.failure_reason.clone().unwrap_or_else(|| {
        format!(
            "endpoint is InService on {} instead of {}",
            ep.config_name,
            p.markers.target_config.clone().unwrap_or_default()
        )
    });
    let on_champion = p.markers.champion_config.as_deref() == Some(ep.config_name.as_str());
    if !on_champion {
        return p.judge(
            Phase::Failed,
            Health::Stalled,
            "Drift",
            format!(
                "endpoint {} runs config {} which this rollout did not request ({reason}); someone changed it outside the controller",
                ep.name, ep.config_name
            ),
        );
    }
    // SageMaker rolled a blue/green deployment back because of an alarm when one of the
    // alarms it watched is in ALARM, or changed state after the deployment started; the
    // FailureReason's wording is not documented, so it is not relied on.
    let native = p.markers.stage == Some(Stage::Native);
    let requested = p.markers.requested;
    let alarm = native
        && watched_alarms(p.spec(), scope(&p.markers)).iter().any(|n| {
            p.input.observed.alarm(n).is_some_and(|a| {
                a.state == AlarmState::Alarm
                    || a.since
                        .zip(requested)
                        .is_some_and(|(since, req)| since > req)
            })
        });
    let (stage, outcome, why) = if alarm {
        (
            Stage::RolledBack,
            "RolledBack",
            format!(
                "SageMaker rolled back the {} deployment: {reason}",
                p.spec()
                    .rollout
                    .strategy
                    .guardrail()
                    .unwrap_or("blue/green")
            ),
        )
    } else {
        (
            Stage::Failed,
            "Failed",
            format!(
                "update failed and SageMaker restored the champion: {reason}. {}",
                hint(&reason, &ep.name)
            ),
        )
    };
    let hash = spec_hash(p.spec());
    let entry = history(p, outcome, why.clone());
    collect_garbage(p, ep, None);
    p.write_markers(|m| finish_markers(m, stage, Some(&hash), &reason));
    p.record(entry);
    p.event(
        if alarm { "RolledBack" } else { "RolloutFailed" },
        why.clone(),
        true,
    );
    ensure_scaling(p, Some(ep));
    p.judge(
        if alarm {
            Phase::RolledBack
        } else {
            Phase::Failed
        },
        Health::Stalled,
        if alarm { "RolledBack" } else { "UpdateFailed" },
        format!("{why}. Change the spec to retry"),
    );
}

/// Starts returning to the champion.
pub(super) fn begin_rollback(
    p: &mut Planner<'_>,
    ep: &Endpoint,
    ending: Ending,
    why: String,
    reason: &'static str,
    f: &InFlight,
) {
    if p.markers.champion_config.is_none() {
        // First deployment: nothing to return to.
        let hash = spec_hash(p.spec());
        let reject = (ending == Ending::RolledBack).then_some(hash.as_str());
        let why = format!("{why}; no champion to roll back to");
        let entry = history(p, "Failed", why.clone());
        p.write_markers(|m| finish_markers(m, Stage::Failed, reject, &why));
        p.record(entry);
        p.event(reason, why.clone(), true);
        return p.judge(
            Phase::Failed,
            Health::Stalled,
            reason,
            format!("{why}. Change the spec to retry"),
        );
    }
    let now = p.now();
    p.write_markers(|m| {
        m.stage = Some(Stage::Rollback);
        m.ending = Some(ending);
        m.reason = Some(tag_safe(&why));
        m.since = Some(now);
        m.requested = Some(now);
        m.paused = false;
    });
    p.event(
        reason,
        format!("rolling back to the champion: {why}"),
        ending == Ending::RolledBack,
    );
    rollback(p, ep, f);
}

/// Champion back to 100 % in place first (fast), then the champion-only config.
pub(super) fn rollback(p: &mut Planner<'_>, ep: &Endpoint, f: &InFlight) {
    let champion_config = p.markers.champion_config.clone().unwrap_or_default();
    let why = p.markers.reason.clone().unwrap_or_default();
    let ending = p.markers.ending.unwrap_or(Ending::RolledBack);
    if ep.config_name == champion_config {
        let hash = spec_hash(p.spec());
        let outcome = match ending {
            Ending::RolledBack => "RolledBack",
            Ending::Superseded => "Superseded",
        };
        let entry = history(p, outcome, why.clone());
        collect_garbage(p, ep, None);
        p.write_markers(|m| {
            match ending {
                Ending::RolledBack => finish_markers(m, Stage::RolledBack, Some(&hash), &why),
                Ending::Superseded => {
                    finish_markers(m, Stage::Done, None, &why);
                    m.candidate = None;
                    m.selector = None;
                    m.variant = None;
                }
            }
            m.ending = None;
        });
        p.record(entry);
        p.event(
            outcome,
            format!("champion serves again ({why})"),
            ending == Ending::RolledBack,
        );
        ensure_scaling(p, Some(ep));
        p.next = Next::Poll;
        return if ending == Ending::RolledBack {
            p.judge(
                Phase::RolledBack,
                Health::Stalled,
                "RolledBack",
                format!("rolled back: {why}; the champion serves. Change the spec to retry"),
            )
        } else {
            p.judge(
                Phase::Pending,
                Health::Progressing,
                "Superseded",
                format!("previous candidate withdrawn ({why}); starting the new one"),
            )
        };
    }
    let variant = f.variant.clone();
    let cand_pct = ep.percent_weights().get(&variant).copied().unwrap_or(0);
    if cand_pct > 0 && !others(ep, &variant).is_empty() {
        p.push(Action::UpdateWeights {
            weights: weights_for(ep, &variant, 0),
        });
        p.next = Next::Poll;
        return p.judge(
            Phase::RollingBack,
            Health::Progressing,
            "RollingBack",
            format!("{why}: champion back to 100 % in place"),
        );
    }
    // The champion config keeps the champion's variants as they are: only the candidate's
    // scaling registration (if any) must go before the update.
    let kept: Vec<(String, String)> = others(ep, &variant)
        .iter()
        .map(|v| (v.name.clone(), v.instance_type.clone()))
        .collect();
    deregister_unless_kept(p, &kept);
    let now = p.now();
    p.write_markers(|m| {
        m.target_config = Some(champion_config.clone());
        m.requested = Some(now);
        m.since = None;
    });
    p.push(Action::UpdateEndpoint {
        config_name: champion_config.clone(),
        deployment: None,
    });
    p.next = Next::Poll;
    p.judge(
        Phase::RollingBack,
        Health::Progressing,
        "RollingBack",
        format!("{why}: restoring champion config {champion_config}"),
    );
}
