//! Milestone notifications: which of a pass's events are milestones (started, step advanced,
//! alarm fired, rolled back, succeeded, failed) and the SNS message for each. The message is
//! the custom-notification format of Amazon Q Developer in chat applications (`version` 1.0,
//! `source` custom, client-markdown; SNS-18), so a topic subscribed to a chat channel shows it
//! as is, with every rollout field in `metadata.additionalContext` for e-mail, pagers and
//! code. Pure: the spec, the status after the pass and the event in; the publish request out.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::Event;
use crate::api::conditions::{self, ConditionType};
use crate::api::{ModelDeploymentStatus, Phase, ValidSpec, VariantView};

/// A rollout milestone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Milestone {
    Started,
    StepAdvanced,
    AlarmFired,
    RolledBack,
    Succeeded,
    Failed,
}

impl Milestone {
    /// The milestone an event of the planner marks, if any.
    pub fn of(event: &Event) -> Option<Self> {
        Some(match event.reason.as_str() {
            "RolloutStarted" => Self::Started,
            "StepAdvanced" => Self::StepAdvanced,
            "AlarmFired" => Self::AlarmFired,
            "RolledBack" => Self::RolledBack,
            "RolloutSucceeded" => Self::Succeeded,
            "RolloutFailed" | "UpdateFailed" | "EndpointFailed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::StepAdvanced => "step_advanced",
            Self::AlarmFired => "alarm_fired",
            Self::RolledBack => "rolled_back",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// One SNS Publish: what the adapter sends, and what the simulator records.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub topic_arn: String,
    /// Publish only reaches a topic in its own region (SNS-3).
    pub region: String,
    /// At most 99 printable ASCII characters (SNS-7).
    pub subject: String,
    /// The JSON body (a plain string: no MessageStructure, SNS-9).
    pub message: String,
    /// `event` and `endpoint`, for subscription filter policies.
    pub attributes: Vec<(String, String)>,
    /// FIFO topics only: the endpoint (one ordered stream per endpoint) and a hash of the
    /// run, milestone and step, so a repeated publish is not delivered twice (SNS-11, SNS-12).
    pub fifo: Option<(String, String)>,
}

/// Largest message (body plus attributes) SNS takes by default, in bytes (SNS-5).
pub const MAX_BYTES: usize = 262_144;

/// The milestones a pass reached, each once, with the event that says so: from the pass's
/// events, and from its status — a rollout that ends RolledBack or Failed without a milestone
/// event (a first deployment refused by its smoke test, an unusable endpoint) still says so.
/// A milestone the previous status already showed (an alarm still firing under `rollbackOn:
/// Manual`, a failure seen again) is not repeated; nor is anything but a failure when AWS
/// refused the pass's calls (`rejected`), since what the events announce did not happen.
pub fn milestones(
    previous: Option<&ModelDeploymentStatus>,
    status: &ModelDeploymentStatus,
    events: &[Event],
    rejected: bool,
) -> Vec<(Milestone, Event)> {
    let ready = |s: &ModelDeploymentStatus| {
        conditions::find(s, ConditionType::Ready).map(|c| (c.reason.clone(), c.message.clone()))
    };
    let was = |m: Milestone| {
        previous.is_some_and(|p| match m {
            Milestone::AlarmFired => conditions::ready_reason(p) == Some("AlarmFired"),
            Milestone::RolledBack => p.phase == Some(Phase::RolledBack),
            Milestone::Failed => p.phase == Some(Phase::Failed),
            Milestone::Succeeded => p.phase == Some(Phase::Succeeded),
            Milestone::Started | Milestone::StepAdvanced => false,
        })
    };
    let mut out: Vec<(Milestone, Event)> = Vec::new();
    let mut add = |m: Milestone, e: Event| {
        if !was(m)
            && !out.iter().any(|(seen, _)| *seen == m)
            && (!rejected || m == Milestone::Failed)
        {
            out.push((m, e));
        }
    };
    for e in events {
        if let Some(m) = Milestone::of(e) {
            add(m, e.clone());
        }
    }
    let ended = match status.phase {
        Some(Phase::RolledBack) => Some(Milestone::RolledBack),
        Some(Phase::Failed) => Some(Milestone::Failed),
        _ => None,
    };
    if let (Some(m), Some((reason, message))) = (ended, ready(status)) {
        add(
            m,
            Event {
                reason,
                message,
                warning: true,
            },
        );
    }
    out
}

/// The notice for `milestone` (announced by `event`), when the spec asks for notifications.
pub fn notice(
    spec: &ValidSpec,
    status: &ModelDeploymentStatus,
    milestone: Milestone,
    event: &Event,
) -> Option<Notice> {
    let topic = spec.notify.as_ref()?;
    let endpoint = &spec.endpoint_name;
    let run = |v: &Option<VariantView>| {
        v.as_ref()
            .and_then(|v| v.candidate_run_id.clone())
            .unwrap_or_default()
    };
    let weight = |v: &Option<VariantView>| v.as_ref().and_then(|v| v.weight).unwrap_or(0);
    let (candidate, champion) = (run(&status.candidate), run(&status.champion));
    let step = status
        .rollout
        .as_ref()
        .map_or((0, 0), |r| (r.step, r.total_steps));
    let console = status
        .links
        .as_ref()
        .map(|l| l.endpoint.clone())
        .unwrap_or_default();
    let title = format!(
        "{endpoint}: {} — {}",
        milestone.as_str().replace('_', " "),
        event.message
    );
    // A step is announced when its weights are requested: the endpoint still shows the
    // previous ones, so the description gives the step's own words instead of weights.
    let weights = if milestone == Milestone::StepAdvanced {
        String::new()
    } else {
        format!(
            "*Candidate* `{candidate}` at {} %\n*Champion* `{champion}` at {} %\n",
            weight(&status.candidate),
            weight(&status.champion)
        )
    };
    let description = format!(
        "*Endpoint* `{endpoint}`\n{weights}*Step* {}/{}\n{}",
        step.0, step.1, event.message
    );
    // Unique per rollout: a retried candidate (same run) is another rollout.
    let package = status
        .candidate
        .as_ref()
        .and_then(|c| c.candidate_id())
        .unwrap_or_default();
    let rollout = format!("{package}#{}", spec.raw().rollout.retry);
    let message = json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{}:{}:{}", short_hash(&rollout), milestone.as_str(), step.0),
        "content": {
            "textType": "client-markdown",
            "title": cut(&title, 250),
            "description": cut(&description, 8_000),
            "nextSteps": if console.is_empty() { vec![] } else { vec![format!("Open the endpoint: {console}")] },
            "keywords": ["sagemaker-rollout", endpoint, milestone.as_str()],
        },
        "metadata": {
            "threadId": format!("{endpoint}/{candidate}"),
            "summary": cut(&title, 250),
            "eventType": format!("sagemaker-rollout.{}", milestone.as_str()),
            "additionalContext": {
                "schema": "sagemaker-rollout.notify/v1",
                "milestone": milestone.as_str(),
                "endpoint": endpoint,
                "candidateRunId": candidate,
                "championRunId": champion,
                "candidateWeight": weight(&status.candidate).to_string(),
                "championWeight": weight(&status.champion).to_string(),
                "step": step.0.to_string(),
                "steps": step.1.to_string(),
                "phase": status.phase.map(|p| format!("{p:?}")).unwrap_or_default(),
                "message": cut(&event.message, 4_000),
                "consoleUrl": console,
            }
        }
    })
    .to_string();
    // The endpoint's region and account (its ARN) and the rollout (package and retry count):
    // a FIFO topic drops a repeated deduplication id for five minutes (SNS-12), so an
    // endpoint of the same name elsewhere, or the same candidate retried, must not repeat one.
    let place = status
        .endpoint
        .as_ref()
        .and_then(|e| e.arn.clone())
        .unwrap_or_else(|| format!("{}|{endpoint}", spec.region.as_deref().unwrap_or("")));
    let fifo = topic.fifo.then(|| {
        let dedup = hex::encode(Sha256::digest(format!(
            "{place}|{rollout}|{}|{}",
            milestone.as_str(),
            step.0
        )));
        (group_id(endpoint), dedup)
    });
    Some(Notice {
        topic_arn: topic.arn.clone(),
        region: topic.region.clone(),
        subject: subject(&format!(
            "sagemaker-rollout: {endpoint} {}",
            milestone.as_str()
        )),
        message,
        attributes: vec![
            ("event".into(), milestone.as_str().into()),
            ("endpoint".into(), endpoint.clone()),
        ],
        fifo,
    })
}

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s)[..8])
}

/// Printable ASCII only, no line breaks, at most 99 characters (SNS-7).
fn subject(s: &str) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { ' ' })
        .take(99)
        .collect()
}

/// A MessageGroupId: at most 128 characters (SNS-11); endpoint names are at most 63.
fn group_id(endpoint: &str) -> String {
    endpoint.chars().take(128).collect()
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::document::load_valid;

    fn spec(topic: &str) -> ValidSpec {
        let text = std::fs::read_to_string("deploy/examples/canary.yaml")
            .unwrap()
            .replace(
                "  autoscaling:",
                &format!("  notify:\n    snsTopicArn: {topic}\n  autoscaling:"),
            );
        load_valid("canary.yaml", &text).unwrap().remove(0).1
    }

    fn event(reason: &str) -> Event {
        Event {
            reason: reason.into(),
            message: "step 1/2: candidate at 10 %".into(),
            warning: false,
        }
    }

    #[test]
    fn only_milestones_are_published_and_each_names_itself() {
        let s = spec("arn:aws:sns:eu-west-1:123456789012:ml-rollouts");
        let st = ModelDeploymentStatus::default();
        assert!(
            milestones(
                None,
                &st,
                &[event("Baking"), event("SmokeTestPassed")],
                false
            )
            .is_empty()
        );
        for (reason, milestone) in [
            ("RolloutStarted", "started"),
            ("StepAdvanced", "step_advanced"),
            ("AlarmFired", "alarm_fired"),
            ("RolledBack", "rolled_back"),
            ("RolloutSucceeded", "succeeded"),
            ("UpdateFailed", "failed"),
        ] {
            let found = milestones(None, &st, &[event(reason)], false);
            assert_eq!(found.len(), 1, "{reason}");
            let n = notice(&s, &st, found[0].0, &found[0].1).unwrap();
            assert_eq!(n.attributes[0], ("event".to_owned(), milestone.to_owned()));
            assert_eq!(n.region, "eu-west-1", "published in the topic's region");
            assert!(n.fifo.is_none(), "no FIFO ids on a standard topic");
            let m: serde_json::Value = serde_json::from_str(&n.message).unwrap();
            assert_eq!(
                (m["version"].as_str(), m["source"].as_str()),
                (Some("1.0"), Some("custom"))
            );
            assert_eq!(m["content"]["textType"], "client-markdown");
            assert_eq!(m["metadata"]["additionalContext"]["milestone"], milestone);
            assert_eq!(m["metadata"]["additionalContext"]["endpoint"], "churn-prod");
            assert!(n.subject.len() < 100 && n.subject.chars().all(|c| (' '..='~').contains(&c)));
        }
    }

    #[test]
    fn a_fifo_topic_gets_a_group_per_endpoint_and_a_stable_deduplication_id() {
        let s = spec("arn:aws:sns:us-east-1:123456789012:ml-rollouts.fifo");
        let st = ModelDeploymentStatus::default();
        let a = notice(&s, &st, Milestone::StepAdvanced, &event("StepAdvanced")).unwrap();
        let b = notice(&s, &st, Milestone::StepAdvanced, &event("StepAdvanced")).unwrap();
        let (group, dedup) = a.fifo.clone().unwrap();
        assert_eq!(group, "churn-prod");
        assert_eq!(dedup.len(), 64);
        assert_eq!(a.fifo, b.fifo, "the same milestone again is deduplicated");
        let c = notice(&s, &st, Milestone::Succeeded, &event("RolloutSucceeded")).unwrap();
        assert_ne!(c.fifo.unwrap().1, dedup);
        // The same endpoint name in another region or account is another stream of messages.
        let elsewhere = ModelDeploymentStatus {
            endpoint: Some(crate::api::EndpointStatusView {
                name: "churn-prod".into(),
                arn: Some("arn:aws:sagemaker:eu-west-1:210987654321:endpoint/churn-prod".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let d = notice(
            &s,
            &elsewhere,
            Milestone::StepAdvanced,
            &event("StepAdvanced"),
        )
        .unwrap();
        assert_ne!(
            d.fifo.unwrap().1,
            dedup,
            "region and account are part of the id"
        );
        // The same candidate retried is another rollout.
        let mut raw = s.raw().clone();
        raw.rollout.retry += 1;
        let retried = ValidSpec::new(&raw).unwrap();
        let e = notice(
            &retried,
            &st,
            Milestone::StepAdvanced,
            &event("StepAdvanced"),
        )
        .unwrap();
        assert_ne!(
            e.fifo.unwrap().1,
            dedup,
            "the retry count is part of the id"
        );
    }

    fn status(phase: Phase, ready: &str) -> ModelDeploymentStatus {
        let mut st = ModelDeploymentStatus {
            phase: Some(phase),
            ..Default::default()
        };
        st.conditions.push(crate::api::Condition {
            type_: "Ready".into(),
            status: "False".into(),
            reason: ready.into(),
            message: format!("{ready} message"),
            observed_generation: None,
            last_transition_time: String::new(),
        });
        st
    }

    #[test]
    fn each_milestone_is_announced_once_and_an_ending_without_its_event_still_is() {
        let kinds = |v: Vec<(Milestone, Event)>| v.into_iter().map(|(m, _)| m).collect::<Vec<_>>();
        // Two failure events of one pass: one notice.
        let failed = status(Phase::Failed, "UpdateFailed");
        let events = [event("RolloutFailed"), event("UpdateFailed")];
        assert_eq!(
            kinds(milestones(None, &failed, &events, false)),
            [Milestone::Failed]
        );
        // Seen before: not again.
        assert!(milestones(Some(&failed), &failed, &events, false).is_empty());
        // A first deployment refused by its smoke test ends Failed with no milestone event.
        let refused = status(Phase::Failed, "SmokeTestFailed");
        let found = milestones(None, &refused, &[event("SmokeTestFailed")], false);
        assert_eq!(kinds(found.clone()), [Milestone::Failed]);
        assert_eq!(found[0].1.message, "SmokeTestFailed message");
        // An alarm still firing under rollbackOn: Manual is announced when it starts only.
        let held = status(Phase::Paused, "AlarmFired");
        assert_eq!(
            kinds(milestones(None, &held, &[event("AlarmFired")], false)),
            [Milestone::AlarmFired]
        );
        assert!(milestones(Some(&held), &held, &[event("AlarmFired")], false).is_empty());
        // AWS refused the pass's calls: what its events announce did not happen.
        let st = ModelDeploymentStatus::default();
        assert!(milestones(None, &st, &[event("StepAdvanced")], true).is_empty());
    }

    #[test]
    fn a_subject_is_printable_ascii_under_100_characters_whatever_the_input() {
        assert_eq!(subject("a\nb\u{e9}"), "a b ");
        assert_eq!(subject(&"x".repeat(300)).len(), 99);
    }
}
