//! When a rollout may move: `spec.rollout.progressDeadline` (how long it may go without
//! progress before it is rolled back or held) and `spec.rollout.windows` (the times a new
//! rollout or its next step may start, and the freezes when neither may).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::DurationString;

/// What a rollout that missed its progress deadline does.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeadlineAction {
    /// Roll back to the champion, with the reason in history (the default).
    #[default]
    RollBack,
    /// Hold where it is, Stalled, for a human to promote or abort.
    Hold,
}

/// Days of the week.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// A recurring span of time in `windows.timeZone`: from `start` to `end` on each of `days`,
/// on the dates from `fromDate` to `toDate` when given.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimeWindow {
    /// Days of the week it applies on; every day when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7))]
    pub days: Vec<Weekday>,
    /// Local start, `HH:MM` (default `00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: Option<String>,
    /// Local end, `HH:MM`, after `start` (default `24:00`, the end of the day). A span over
    /// midnight is two windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    pub end: Option<String>,
    /// First date it applies on, `YYYY-MM-DD` (a freeze's first day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub from_date: Option<String>,
    /// Last date it applies on, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub to_date: Option<String>,
}

/// Deployment windows: a new rollout, and each next step of one in flight, starts only inside
/// an `allow` window (any time, when there is none) and never inside a `block` window. A
/// rollback never waits for a window; a bake in progress goes on.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WindowsSpec {
    /// IANA time zone the windows are in (`Europe/Berlin`, `America/New_York`; default UTC).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// When rollouts and steps may start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub allow: Vec<TimeWindow>,
    /// When they may not (freezes), whatever `allow` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub block: Vec<TimeWindow>,
}

fn utc() -> String {
    "UTC".into()
}

/// `spec.rollout.progressDeadline` and what missing it does.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProgressDeadline {
    /// How long a rollout may go without progress beyond what its current stage is planned
    /// to take (a step's bake, a shadow period): an update SageMaker does not finish, a step
    /// whose analysis stays inconclusive, a smoke test that never passes. Time held by a
    /// human (paused, a pause step, a manual-rollback hold) does not count.
    pub after: DurationString,
    /// `RollBack` (default) or `Hold`.
    #[serde(default)]
    pub action: DeadlineAction,
}
