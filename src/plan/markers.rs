//! Progress markers: rollout state that AWS cannot show by itself (stage, step index, bake
//! start, smoke-test result, the config to roll back to, the rejected candidate), stored as
//! tags on the endpoint. Any fresh process — a restarted controller or the CLI — resumes from
//! these tags alone; the CR status is only a projection of them.
//!
//! Parsing is lenient by design: an unreadable marker is treated as absent, never a panic,
//! because the tags live in an account that other people can edit.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::tags::{MARKER_PREFIX, tag_safe};

/// Where an in-flight rollout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Candidate mirrored as a shadow variant.
    Shadow,
    /// Candidate added at weight 0; smoke test pending.
    Added,
    /// Candidate at the weight of `step` (1-based).
    Step,
    /// Candidate-only configuration requested.
    Final,
    /// SageMaker blue/green deployment requested.
    Native,
    /// Returning to the champion (`ending` says why).
    Rollback,
    /// Finished: the candidate serves alone.
    Done,
    /// Finished: the champion serves again.
    RolledBack,
    /// Finished: could not complete and nothing to return to.
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shadow => "shadow",
            Self::Added => "added",
            Self::Step => "step",
            Self::Final => "final",
            Self::Native => "native",
            Self::Rollback => "rollback",
            Self::Done => "done",
            Self::RolledBack => "rolledback",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Shadow,
            Self::Added,
            Self::Step,
            Self::Final,
            Self::Native,
            Self::Rollback,
            Self::Done,
            Self::RolledBack,
            Self::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// True while a rollout is under way (the endpoint is not at rest).
    pub fn in_flight(self) -> bool {
        !matches!(self, Self::Done | Self::RolledBack | Self::Failed)
    }
}

/// Why a rollback is happening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// An alarm fired, the smoke test failed or a human aborted: do not retry this candidate.
    RolledBack,
    /// A new candidate or new serving settings replaced the in-flight one: no memory.
    Superseded,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RolledBack => "rolledback",
            Self::Superseded => "superseded",
        }
    }
}

/// Smoke-test result recorded by the engine after a `RunSmokeTest` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smoke {
    Passed,
    Failed,
}

/// The parsed marker tags.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Markers {
    /// ModelDeployment identity (`namespace/name`) that owns the endpoint.
    pub owner: Option<String>,
    pub stage: Option<Stage>,
    /// Pinned candidate package of the current or last rollout.
    pub candidate: Option<String>,
    pub run_id: Option<String>,
    /// Hash of `spec.candidate` the candidate was resolved for; while it matches, the
    /// candidate stays pinned whatever the registry says.
    pub selector: Option<String>,
    /// Candidate variant name.
    pub variant: Option<String>,
    /// Endpoint config serving before the rollout: the rollback target.
    pub champion_config: Option<String>,
    /// Endpoint config most recently requested by UpdateEndpoint/CreateEndpoint.
    pub target_config: Option<String>,
    pub step: u32,
    /// When the current stage or step began.
    pub since: Option<Timestamp>,
    pub started: Option<Timestamp>,
    pub smoke: Option<Smoke>,
    pub smoke_at: Option<Timestamp>,
    pub paused: bool,
    pub ending: Option<Ending>,
    /// Short reason of the ending (tag-safe).
    pub reason: Option<String>,
    /// Candidate rolled back under spec hash `rejected_spec`; not retried until it changes.
    pub rejected: Option<String>,
    pub rejected_spec: Option<String>,
}

fn key(k: &str) -> String {
    format!("{MARKER_PREFIX}{k}")
}

impl Markers {
    /// Reads markers from endpoint tags.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| tags.get(&key(k)).filter(|v| !v.is_empty()).cloned();
        let time = |k: &str| get(k).and_then(|v| v.parse::<Timestamp>().ok());
        Self {
            owner: get("owner"),
            stage: get("stage").and_then(|s| Stage::parse(&s)),
            candidate: get("candidate"),
            run_id: get("run-id"),
            selector: get("selector"),
            variant: get("variant"),
            champion_config: get("champion-config"),
            target_config: get("target-config"),
            step: get("step").and_then(|s| s.parse().ok()).unwrap_or(0),
            since: time("since"),
            started: time("started"),
            smoke: get("smoke").and_then(|s| match s.as_str() {
                "passed" => Some(Smoke::Passed),
                "failed" => Some(Smoke::Failed),
                _ => None,
            }),
            smoke_at: time("smoke-at"),
            paused: get("paused").as_deref() == Some("true"),
            ending: get("ending").and_then(|s| match s.as_str() {
                "rolledback" => Some(Ending::RolledBack),
                "superseded" => Some(Ending::Superseded),
                _ => None,
            }),
            reason: get("reason"),
            rejected: get("rejected"),
            rejected_spec: get("rejected-spec"),
        }
    }

    /// The full marker tag set. Absent values are rendered as empty strings so that applying
    /// the set also clears stale markers (the engine removes empty-valued keys).
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        let ts = |t: &Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            ("owner", opt(&self.owner)),
            (
                "stage",
                self.stage
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            ("candidate", opt(&self.candidate)),
            (
                "run-id",
                self.run_id.as_deref().map(tag_safe).unwrap_or_default(),
            ),
            ("selector", opt(&self.selector)),
            ("variant", opt(&self.variant)),
            ("champion-config", opt(&self.champion_config)),
            ("target-config", opt(&self.target_config)),
            (
                "step",
                if self.step > 0 {
                    self.step.to_string()
                } else {
                    String::new()
                },
            ),
            ("since", ts(&self.since)),
            ("started", ts(&self.started)),
            (
                "smoke",
                match self.smoke {
                    Some(Smoke::Passed) => "passed".into(),
                    Some(Smoke::Failed) => "failed".into(),
                    None => String::new(),
                },
            ),
            ("smoke-at", ts(&self.smoke_at)),
            (
                "paused",
                if self.paused {
                    "true".into()
                } else {
                    String::new()
                },
            ),
            (
                "ending",
                self.ending
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            (
                "reason",
                self.reason.as_deref().map(tag_safe).unwrap_or_default(),
            ),
            ("rejected", opt(&self.rejected)),
            ("rejected-spec", opt(&self.rejected_spec)),
        ]
        .into_iter()
        .map(|(k, v)| (key(k), v))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_through_tags() {
        let m = Markers {
            owner: Some("ml-prod/churn".into()),
            stage: Some(Stage::Step),
            candidate: Some(
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3".into(),
            ),
            run_id: Some("run-1".into()),
            selector: Some("0123456789abcdef".into()),
            variant: Some("v-abc".into()),
            champion_config: Some("churn-prod-111".into()),
            target_config: Some("churn-prod-222".into()),
            step: 2,
            since: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            started: Some("2026-11-20T09:00:00Z".parse().unwrap()),
            smoke: Some(Smoke::Passed),
            smoke_at: Some("2026-11-20T09:30:00Z".parse().unwrap()),
            paused: true,
            ending: Some(Ending::Superseded),
            reason: Some("new candidate".into()),
            rejected: Some("arn:x".into()),
            rejected_spec: Some("abc".into()),
        };
        assert_eq!(Markers::from_tags(&m.to_tags()), m);
    }

    #[test]
    fn garbage_markers_read_as_absent() {
        let tags: BTreeMap<String, String> = [
            (key("stage"), "sideways".to_owned()),
            (key("step"), "-3".to_owned()),
            (key("since"), "yesterday".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(Markers::from_tags(&tags), Markers::default());
    }
}
