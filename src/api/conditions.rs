//! kstatus conditions, in one place: the three condition types (`Ready`, `Reconciling`,
//! `Stalled`), how an overall health maps onto them, and how a condition's
//! `lastTransitionTime` moves (only when its status flips). The planner, the engine and the
//! controller all write conditions through these functions, so `kubectl wait
//! --for=condition=Ready`, Flux and Argo CD always read the same shape.

use jiff::Timestamp;

use super::status::{Condition, ModelDeploymentStatus};

/// The kstatus condition types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionType {
    /// The candidate serves as declared.
    Ready,
    /// Work is in progress (or being retried after a passing error).
    Reconciling,
    /// Nothing more happens until the spec changes or a human acts.
    Stalled,
}

impl ConditionType {
    pub const ALL: [Self; 3] = [Self::Ready, Self::Reconciling, Self::Stalled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::Reconciling => "Reconciling",
            Self::Stalled => "Stalled",
        }
    }
}

/// Overall health of a resource, mapped onto the three conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Ready=True.
    Ready,
    /// Reconciling=True: work in progress.
    Progressing,
    /// All False: held on purpose (paused, waiting for a human).
    Paused,
    /// Stalled=True: needs a spec change or a human.
    Stalled,
}

impl Health {
    fn holds(self, t: ConditionType) -> bool {
        matches!(
            (self, t),
            (Self::Ready, ConditionType::Ready)
                | (Self::Progressing, ConditionType::Reconciling)
                | (Self::Stalled, ConditionType::Stalled)
        )
    }
}

/// A condition whose `lastTransitionTime` carries over from `previous` when the condition
/// of that type already had this status, and is `now` when it flips.
pub fn transition(
    previous: &[Condition],
    type_: ConditionType,
    on: bool,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    let status = if on { "True" } else { "False" };
    let since = previous
        .iter()
        .find(|c| c.type_ == type_.as_str() && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.to_string());
    Condition {
        type_: type_.as_str().to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation,
        last_transition_time: since,
    }
}

/// The three conditions for `health`, sharing one reason and message.
pub fn for_health(
    previous: &[Condition],
    health: Health,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    ConditionType::ALL
        .iter()
        .map(|t| {
            transition(
                previous,
                *t,
                health.holds(*t),
                reason,
                message,
                observed_generation,
                now,
            )
        })
        .collect()
}

/// Replaces the condition of the same type, or adds it.
pub fn set(status: &mut ModelDeploymentStatus, condition: Condition) {
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == condition.type_)
    {
        Some(c) => *c = condition,
        None => status.conditions.push(condition),
    }
}

/// Marks a pass that failed for a passing reason: `Reconciling=True` with `reason`, the
/// other conditions as they were. Returns false when the status already says so (the
/// caller then skips the write, so a retry streak is one status write, not one per retry).
pub fn mark_retrying(
    status: &mut ModelDeploymentStatus,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> bool {
    if find(status, ConditionType::Reconciling)
        .is_some_and(|c| c.status == "True" && c.reason == reason)
    {
        return false;
    }
    let condition = transition(
        &status.conditions,
        ConditionType::Reconciling,
        true,
        reason,
        message,
        observed_generation,
        now,
    );
    set(status, condition);
    true
}

/// The condition of type `t`, if present.
pub fn find(status: &ModelDeploymentStatus, t: ConditionType) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == t.as_str())
}

/// Whether `t` is True.
pub fn is_true(status: &ModelDeploymentStatus, t: ConditionType) -> bool {
    find(status, t).is_some_and(|c| c.status == "True")
}

/// The reason of the Ready condition: one value per state on-call can look up.
pub fn ready_reason(status: &ModelDeploymentStatus) -> Option<&str> {
    find(status, ConditionType::Ready).map(|c| c.reason.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let first = for_health(
            &[],
            Health::Progressing,
            "Baking",
            "m",
            Some(1),
            t("2026-01-01T00:00:00Z"),
        );
        let same = for_health(
            &first,
            Health::Progressing,
            "StepAdvanced",
            "m",
            Some(1),
            t("2026-01-01T01:00:00Z"),
        );
        assert_eq!(same[1].last_transition_time, "2026-01-01T00:00:00Z");
        assert_eq!(same[1].reason, "StepAdvanced");
        let done = for_health(
            &same,
            Health::Ready,
            "Serving",
            "m",
            Some(1),
            t("2026-01-01T02:00:00Z"),
        );
        assert_eq!(done[0].status, "True");
        assert_eq!(done[0].last_transition_time, "2026-01-01T02:00:00Z");
        assert_eq!(done[1].status, "False");
    }

    #[test]
    fn a_retry_streak_is_written_once() {
        let mut s = ModelDeploymentStatus::default();
        let now = t("2026-01-01T00:00:00Z");
        assert!(mark_retrying(
            &mut s,
            "RetryingAfterError",
            "boom",
            None,
            now
        ));
        assert!(!mark_retrying(
            &mut s,
            "RetryingAfterError",
            "boom again",
            None,
            now
        ));
        assert!(is_true(&s, ConditionType::Reconciling));
    }
}
