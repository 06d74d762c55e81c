//! Scriptable simulator scenarios: a small YAML file of timed events.
//!
//! ```yaml
//! seed: 7                      # randomness of throttling (deterministic per seed)
//! throttlePercent: 20          # share of calls answered with ThrottlingException
//! smoke: {status: 200, body: '{"score": 0.42}'}
//! events:
//!   - {at: 12m, alarm: churn-business-kpi, state: ALARM}
//!   - {at: 0s, failNextUpdate: "container did not pass the ping health check"}
//!   - {at: 30m, throttlePercent: 0}
//! ```

use serde::Deserialize;

use crate::api::DurationString;

/// A scenario file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub throttle_percent: u32,
    #[serde(default)]
    pub smoke: Option<SmokeReply>,
    #[serde(default)]
    pub events: Vec<Event>,
    /// No variant receives requests: an Invocations floor stays in ALARM.
    #[serde(default)]
    pub no_traffic: bool,
    /// What CloudWatch reports for a variant over a step from `at` on (GetMetricData).
    #[serde(default)]
    pub metrics: Vec<MetricValue>,
    /// Traffic drawn per minute, for the metrics no `metrics` entry scripts.
    #[serde(default)]
    pub traffic: Option<super::metrics::TrafficModel>,
    /// The validation run a `spec.candidate.validationResults` names did not pass its gates
    /// (gate `auc`): the seeded validation_results.json says `"passed": false`.
    #[serde(default)]
    pub validation_failed: bool,
    /// On-call's requests, each for the rollout the status shows when it is made.
    #[serde(default)]
    pub requests: Vec<RequestAt>,
}

/// `promote`, `abort`, `retry` or `undo`, made `at` after the start.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestAt {
    pub at: DurationString,
    pub request: String,
}

impl RequestAt {
    pub fn gate(&self) -> Option<crate::api::Gate> {
        crate::api::Gate::ALL
            .into_iter()
            .find(|g| g.field() == self.request)
    }
}

/// A scripted metric of the candidate's or the champion's variant.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricValue {
    pub at: DurationString,
    /// `candidate` or `champion`.
    pub variant: String,
    /// `Invocations`, `ModelLatency`, `OverheadLatency`, `Invocation5XXErrors`, …
    pub metric: String,
    /// The value over the step so far (latencies in microseconds).
    pub value: f64,
}

/// What InvokeEndpoint answers.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmokeReply {
    pub status: i32,
    pub body: String,
}

/// One timed event, relative to the start of the simulation.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub at: DurationString,
    /// Set this alarm's state (with `state`).
    #[serde(default)]
    pub alarm: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// The next UpdateEndpoint fails after provisioning and SageMaker restores the old config
    /// with this FailureReason (a "silent rollback").
    #[serde(default)]
    pub fail_next_update: Option<String>,
    /// Change the throttled share of calls.
    #[serde(default)]
    pub throttle_percent: Option<u32>,
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Self, String> {
        let s: Scenario = serde_saphyr::from_str(text).map_err(|e| format!("scenario: {e}"))?;
        for (i, e) in s.events.iter().enumerate() {
            e.at.parse()
                .map_err(|m| format!("scenario events[{i}].at: {m}"))?;
            if e.alarm.is_some() != e.state.is_some() {
                return Err(format!("scenario events[{i}]: alarm and state go together"));
            }
            if let Some(state) = &e.state
                && !["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&state.as_str())
            {
                return Err(format!(
                    "scenario events[{i}].state: {state} is not OK, ALARM or INSUFFICIENT_DATA"
                ));
            }
        }
        for (i, r) in s.requests.iter().enumerate() {
            r.at.parse()
                .map_err(|m| format!("scenario requests[{i}].at: {m}"))?;
            if r.gate().is_none() {
                return Err(format!(
                    "scenario requests[{i}].request: {} is not promote, abort, retry or undo",
                    r.request
                ));
            }
        }
        if s.throttle_percent > 100 {
            return Err("scenario throttlePercent must be 0-100".into());
        }
        Ok(s)
    }
}
