//! Progress markers: rollout state that AWS cannot show by itself (stage, step index, bake
//! start, smoke-test result, the config to roll back to, the rejected candidate), stored as
//! tags on the endpoint. Any fresh process — a restarted controller or the CLI — resumes from
//! these tags alone; the CR status is only a projection of them.
//!
//! The markers take seven tags of the endpoint's fifty ([`KEYS`]): `owner`, `state` (stage,
//! step, the stage clock, request and start times, smoke result, pause, ending), `candidate`
//! (the pinned package and the selector it was resolved for), `serving` (champion and target
//! configs, the candidate's variant and serving-settings hash), `run-id`, `reason`,
//! `rejected`. Compound values are space-separated `key=value` tokens of tag-safe text.
//! Markers written by earlier versions (one tag per field) are read, and removed on the next
//! write.
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
    /// SageMaker guardrail deployment (blue/green or rolling) requested.
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
    /// Who drives it for the owner: a controller's cluster id, or `cli` (`plan::claim`);
    /// absent on endpoints marked by earlier versions.
    pub driver: Option<String>,
    /// The owning resource's UID, when a controller drives it.
    pub uid: Option<String>,
    pub stage: Option<Stage>,
    /// Pinned candidate package of the current or last rollout.
    pub candidate: Option<String>,
    pub run_id: Option<String>,
    /// Hash of `spec.candidate` the candidate was resolved for; while it matches, the
    /// candidate stays pinned whatever the registry says.
    pub selector: Option<String>,
    /// The production variant the candidate runs as (its own `v-…` name, or, for a
    /// blue/green deployment, the champion's name it must keep).
    pub variant: Option<String>,
    /// Hash of the candidate's serving settings (package, instance type, environment, role):
    /// when it changes, the in-flight rollout is superseded.
    pub settings: Option<String>,
    /// Endpoint config serving before the rollout: the rollback target.
    pub champion_config: Option<String>,
    /// Endpoint config most recently requested by UpdateEndpoint/CreateEndpoint.
    pub target_config: Option<String>,
    pub step: u32,
    /// When the current stage's clock (bake, shadow period) started: set once SageMaker
    /// reports the stage in effect, not when it was requested.
    pub since: Option<Timestamp>,
    /// When the last config switch or weight change was requested (a later change of the
    /// endpoint that does not serve the target means the update failed).
    pub requested: Option<Timestamp>,
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
    /// Hash of the autoscaling last put in place (target and policy); while it matches the
    /// spec's, a pass at rest does not read Application Auto Scaling.
    pub scaling: Option<String>,
}

fn key(k: &str) -> String {
    format!("{MARKER_PREFIX}{k}")
}

/// The tag keys the markers use, without the prefix.
pub const KEYS: [&str; 7] = [
    "owner",
    "state",
    "candidate",
    "serving",
    "run-id",
    "reason",
    "rejected",
];

/// One-field-per-tag keys of earlier versions: read when the compact ones are absent, and
/// cleared on every write.
const LEGACY: [&str; 13] = [
    "stage",
    "selector",
    "variant",
    "champion-config",
    "target-config",
    "step",
    "since",
    "started",
    "smoke",
    "smoke-at",
    "paused",
    "ending",
    "rejected-spec",
    // `candidate`, `run-id`, `reason`, `rejected` and `owner` keep their keys.
];

/// `key=value` tokens of a compound marker value.
fn tokens(value: Option<&String>) -> BTreeMap<&str, &str> {
    value
        .map(|v| {
            v.split(' ')
                .filter_map(|t| t.split_once('=').or(Some((t, ""))))
                .filter(|(k, _)| !k.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn join(parts: &[(&str, Option<String>)]) -> String {
    parts
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref().map(|v| {
                if v.is_empty() {
                    (*k).to_owned()
                } else {
                    format!("{k}={v}")
                }
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the stages of a rollout in flight read from the markers, checked once when the
/// pass starts: a marker they cannot do without that is missing is named
/// ([`Markers::in_flight`]), never read as an empty string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The pinned candidate (package ARN or artifact URI).
    pub candidate: String,
    /// The production variant the candidate runs as.
    pub variant: String,
}

impl Markers {
    /// The rollout in flight as its stages read it, or the names of the markers missing.
    pub fn in_flight(&self) -> Result<InFlight, Vec<&'static str>> {
        let read = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        match (read(&self.candidate), read(&self.variant)) {
            (Some(candidate), Some(variant)) => Ok(InFlight { candidate, variant }),
            (c, v) => Err([("candidate", c.is_none()), ("variant", v.is_none())]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(name, _)| name)
                .collect()),
        }
    }

    /// Reads markers from endpoint tags (the compact form, or the legacy one).
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| tags.get(&key(k)).filter(|v| !v.is_empty()).cloned();
        let state_tag = get("state");
        if state_tag.is_none() && get("stage").is_some() {
            return Self::from_legacy(tags);
        }
        let state = tokens(state_tag.as_ref());
        // `namespace/name driver=<cluster or cli> uid=<uid>`
        let owner_tag = get("owner");
        let (owner, owner_rest) = match owner_tag
            .as_deref()
            .map(|o| o.split_once(' ').unwrap_or((o, "")))
        {
            Some((o, rest)) if !o.is_empty() => (Some(o.to_owned()), Some(rest.to_owned())),
            _ => (None, None),
        };
        let owner_kv = tokens(owner_rest.as_ref());
        let candidate_tag = get("candidate");
        let (candidate, candidate_rest) = match candidate_tag
            .as_deref()
            .map(|c| c.split_once(' ').unwrap_or((c, "")))
        {
            Some((arn, rest)) if !arn.is_empty() => (Some(arn.to_owned()), Some(rest.to_owned())),
            _ => (None, None),
        };
        let candidate_kv = tokens(candidate_rest.as_ref());
        let serving_tag = get("serving");
        let serving = tokens(serving_tag.as_ref());
        let rejected_tag = get("rejected");
        let (rejected, rejected_rest) = match rejected_tag
            .as_deref()
            .map(|c| c.split_once(' ').unwrap_or((c, "")))
        {
            Some((arn, rest)) if !arn.is_empty() => (Some(arn.to_owned()), Some(rest.to_owned())),
            _ => (None, None),
        };
        let rejected_kv = tokens(rejected_rest.as_ref());
        let text = |m: &BTreeMap<&str, &str>, k: &str| {
            m.get(k).filter(|v| !v.is_empty()).map(|v| (*v).to_owned())
        };
        let time = |k: &str| state.get(k).and_then(|v| v.parse::<Timestamp>().ok());
        let (smoke, smoke_at) = match state.get("smoke").and_then(|v| v.split_once('@')) {
            Some((result, at)) => (parse_smoke(result), at.parse().ok()),
            None => (state.get("smoke").and_then(|r| parse_smoke(r)), None),
        };
        Self {
            owner,
            driver: text(&owner_kv, "driver"),
            uid: text(&owner_kv, "uid"),
            stage: state.get("stage").and_then(|s| Stage::parse(s)),
            candidate,
            run_id: get("run-id"),
            selector: text(&candidate_kv, "selector"),
            variant: text(&serving, "variant"),
            settings: text(&serving, "settings"),
            champion_config: text(&serving, "champion"),
            target_config: text(&serving, "target"),
            step: state.get("step").and_then(|s| s.parse().ok()).unwrap_or(0),
            since: time("since"),
            requested: time("requested"),
            started: time("started"),
            smoke,
            smoke_at,
            paused: state.contains_key("paused"),
            ending: state.get("ending").and_then(|e| parse_ending(e)),
            reason: get("reason"),
            rejected,
            rejected_spec: text(&rejected_kv, "spec"),
            scaling: text(&serving, "scaling"),
        }
    }

    /// Markers of the one-tag-per-field layout of earlier versions.
    fn from_legacy(tags: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| tags.get(&key(k)).filter(|v| !v.is_empty()).cloned();
        let time = |k: &str| get(k).and_then(|v| v.parse::<Timestamp>().ok());
        let since = time("since");
        Self {
            owner: get("owner"),
            driver: None,
            uid: None,
            stage: get("stage").and_then(|s| Stage::parse(&s)),
            candidate: get("candidate"),
            run_id: get("run-id"),
            selector: get("selector"),
            variant: get("variant"),
            settings: get("variant"),
            champion_config: get("champion-config"),
            target_config: get("target-config"),
            step: get("step").and_then(|s| s.parse().ok()).unwrap_or(0),
            since,
            requested: since,
            started: time("started"),
            smoke: get("smoke").and_then(|s| parse_smoke(&s)),
            smoke_at: time("smoke-at"),
            paused: get("paused").as_deref() == Some("true"),
            ending: get("ending").and_then(|s| parse_ending(&s)),
            reason: get("reason"),
            rejected: get("rejected"),
            rejected_spec: get("rejected-spec"),
            scaling: None,
        }
    }

    /// The full marker tag set. Absent values are rendered as empty strings so that applying
    /// the set also clears stale markers (the engine removes empty-valued keys), legacy ones
    /// included.
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        let ts = |t: &Option<Timestamp>| t.map(|t| t.to_string());
        let state = join(&[
            ("stage", self.stage.map(|s| s.as_str().to_owned())),
            ("step", (self.step > 0).then(|| self.step.to_string())),
            ("since", ts(&self.since)),
            ("requested", ts(&self.requested)),
            ("started", ts(&self.started)),
            (
                "smoke",
                self.smoke.map(|s| {
                    let r = match s {
                        Smoke::Passed => "passed",
                        Smoke::Failed => "failed",
                    };
                    match self.smoke_at {
                        Some(at) => format!("{r}@{at}"),
                        None => r.to_owned(),
                    }
                }),
            ),
            ("paused", self.paused.then(String::new)),
            ("ending", self.ending.map(|e| e.as_str().to_owned())),
        ]);
        let candidate = self
            .candidate
            .as_ref()
            .map(|arn| {
                let rest = join(&[("selector", self.selector.clone())]);
                if rest.is_empty() {
                    arn.clone()
                } else {
                    format!("{arn} {rest}")
                }
            })
            .unwrap_or_default();
        let serving = join(&[
            ("champion", self.champion_config.clone()),
            ("target", self.target_config.clone()),
            ("variant", self.variant.clone()),
            ("settings", self.settings.clone()),
            ("scaling", self.scaling.clone()),
        ]);
        let rejected = self
            .rejected
            .as_ref()
            .map(|arn| {
                let rest = join(&[("spec", self.rejected_spec.clone())]);
                if rest.is_empty() {
                    arn.clone()
                } else {
                    format!("{arn} {rest}")
                }
            })
            .unwrap_or_default();
        let owner = self
            .owner
            .as_ref()
            .map(|o| {
                let rest = join(&[("driver", self.driver.clone()), ("uid", self.uid.clone())]);
                if rest.is_empty() {
                    o.clone()
                } else {
                    format!("{o} {rest}")
                }
            })
            .unwrap_or_default();
        let mut out: BTreeMap<String, String> =
            LEGACY.iter().map(|k| (key(k), String::new())).collect();
        for (k, v) in [
            ("owner", owner),
            ("state", state),
            ("candidate", candidate),
            ("serving", serving),
            (
                "run-id",
                self.run_id.as_deref().map(tag_safe).unwrap_or_default(),
            ),
            (
                "reason",
                self.reason.as_deref().map(tag_safe).unwrap_or_default(),
            ),
            ("rejected", rejected),
        ] {
            out.insert(key(k), v);
        }
        out
    }
}

fn parse_smoke(s: &str) -> Option<Smoke> {
    match s {
        "passed" => Some(Smoke::Passed),
        "failed" => Some(Smoke::Failed),
        _ => None,
    }
}

fn parse_ending(s: &str) -> Option<Ending> {
    match s {
        "rolledback" => Some(Ending::RolledBack),
        "superseded" => Some(Ending::Superseded),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_through_seven_tags() {
        let m = Markers {
            owner: Some("ml-prod/churn".into()),
            driver: Some("prod-eu".into()),
            uid: Some("0f6c1c2e-7a4b-4d0e-9b1a-2c3d4e5f6a7b".into()),
            stage: Some(Stage::Step),
            candidate: Some(
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3".into(),
            ),
            run_id: Some("run-1".into()),
            selector: Some("0123456789abcdef".into()),
            variant: Some("v-abc".into()),
            settings: Some("v-def".into()),
            champion_config: Some("churn-prod-111".into()),
            target_config: Some("churn-prod-222".into()),
            step: 2,
            since: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            requested: Some("2026-11-20T09:59:00.5Z".parse().unwrap()),
            started: Some("2026-11-20T09:00:00Z".parse().unwrap()),
            smoke: Some(Smoke::Passed),
            smoke_at: Some("2026-11-20T09:30:00Z".parse().unwrap()),
            paused: true,
            ending: Some(Ending::Superseded),
            reason: Some("new candidate".into()),
            rejected: Some("arn:x".into()),
            rejected_spec: Some("abc".into()),
            scaling: Some("0123456789".into()),
        };
        let tags = m.to_tags();
        assert_eq!(Markers::from_tags(&tags), m);
        let written: Vec<_> = tags.iter().filter(|(_, v)| !v.is_empty()).collect();
        assert_eq!(written.len(), KEYS.len(), "{written:?}");
        for (_, v) in written {
            assert!(v.chars().count() <= crate::tags::MAX_VALUE_CHARS, "{v}");
            assert!(v.chars().all(crate::tags::allowed_char), "{v}");
        }
    }

    #[test]
    fn legacy_markers_are_read_and_cleared_on_the_next_write() {
        let tags: BTreeMap<String, String> = [
            (key("owner"), "ml-prod/churn".to_owned()),
            (key("stage"), "step".to_owned()),
            (key("step"), "2".to_owned()),
            (key("variant"), "v-abc".to_owned()),
            (key("since"), "2026-11-20T10:00:00Z".to_owned()),
        ]
        .into_iter()
        .collect();
        let m = Markers::from_tags(&tags);
        assert_eq!(
            (m.stage, m.step, m.variant.as_deref()),
            (Some(Stage::Step), 2, Some("v-abc"))
        );
        let written = m.to_tags();
        assert_eq!(written[&key("stage")], "", "the legacy key is removed");
        assert_eq!(Markers::from_tags(&written), m);
    }

    #[test]
    fn garbage_markers_read_as_absent() {
        let tags: BTreeMap<String, String> = [(
            key("state"),
            "stage=sideways step=-3 since=yesterday".to_owned(),
        )]
        .into_iter()
        .collect();
        assert_eq!(Markers::from_tags(&tags), Markers::default());
    }
}
