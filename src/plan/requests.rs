//! Which rollout on-call's requests may act on ([`crate::api::requests`]): the id of the
//! rollout the markers describe — in flight, or the last one ended — and whether a request
//! names it. A request for any other rollout (one that ended before this one started, or a
//! typo) is ignored, so `promote` left behind never fast-forwards the next candidate.

use super::Planner;
use super::desired::content_hash;
use super::markers::Markers;
use crate::api::Gate;

/// `<start, UTC>-<candidate hash>`: unique per rollout, since a retried candidate starts
/// again at a later time; None before the first rollout starts.
pub fn rollout_id(m: &Markers) -> Option<String> {
    let (candidate, started) = (m.candidate.as_ref()?, m.started?);
    Some(format!(
        "{}-{}",
        started.strftime("%Y%m%d-%H%M%S"),
        content_hash(candidate, 6)
    ))
}

/// Whether the markers describe a rollout in flight (promote and abort act on one; retry
/// and undo on one that has ended).
pub fn in_flight(m: &Markers) -> bool {
    m.stage.is_some_and(|s| s.in_flight())
}

impl Planner<'_> {
    /// Whether on-call asked for `gate` on the rollout the markers describe now — in flight
    /// for promote and abort, ended for retry and undo — so that a request left from the last
    /// rollout never acts between rollouts (a promote never opens a window for the next).
    pub(crate) fn requested(&self, gate: Gate) -> bool {
        if in_flight(&self.markers) != gate.acts_in_flight() {
            return false;
        }
        let Some(id) = rollout_id(&self.markers) else {
            return false;
        };
        self.input
            .previous
            .and_then(|s| s.requests.as_ref())
            .is_some_and(|r| r.asks(gate, &id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_id_names_the_start_and_the_candidate() {
        let mut m = Markers {
            candidate: Some("arn:aws:sagemaker:us-east-1:1:model-package/g/3".into()),
            started: Some("2026-12-07T03:05:12Z".parse().unwrap()),
            ..Markers::default()
        };
        let first = rollout_id(&m).unwrap();
        assert!(first.starts_with("20261207-030512-"), "{first}");
        m.started = Some("2026-12-07T04:00:00Z".parse().unwrap());
        assert_ne!(rollout_id(&m).unwrap(), first, "a retry is another rollout");
        m.started = None;
        assert_eq!(rollout_id(&m), None);
    }
}
