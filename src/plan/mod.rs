//! The pure rollout planner: `plan(spec, observed AWS state, markers, now) -> actions + status`.
//!
//! No client, no clock, no randomness: the same input always yields the same plan. The
//! engine observes AWS, calls [`plan`], performs the actions in order, and observes again;
//! every action is safe to repeat, and every bit of progress AWS cannot show is written to
//! endpoint tags ([`markers`]) before the call that depends on it, so a crash anywhere
//! resumes correctly from AWS alone.

pub mod actions;
pub mod desired;
pub mod markers;
pub mod observed;
mod project;
mod rollout;
pub mod smoke;
mod teardown;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use actions::Action;
pub use markers::{Markers, Stage};
pub use observed::*;

use crate::api::check::check_spec;
use crate::api::{HistoryEntry, ModelDeploymentSpec, ModelDeploymentStatus, Phase};

/// How soon the engine should observe again while SageMaker is transitioning.
pub const POLL: Duration = Duration::from_secs(30);

/// Everything the planner decides from.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub spec: &'a ModelDeploymentSpec,
    /// Identity of the ModelDeployment (`namespace/name`; the CLI uses `cli/<name>`).
    pub owner: &'a str,
    pub generation: Option<i64>,
    /// The resource is being deleted (deletionTimestamp set / `delete` command).
    pub deleting: bool,
    pub observed: &'a Observed,
    /// Last published status, for history and condition transition times.
    pub previous: Option<&'a ModelDeploymentStatus>,
    pub now: Timestamp,
}

/// When to plan again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing is due; only the periodic resync.
    Idle,
    /// AWS is transitioning or an action's result must be observed: poll soon.
    Poll,
    /// A bake or shadow period ends then.
    At(Timestamp),
}

/// A Kubernetes Event to emit.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub reason: String,
    pub message: String,
    pub warning: bool,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub status: ModelDeploymentStatus,
    pub next: Next,
    pub events: Vec<Event>,
}

/// How soon to look again after acting when nothing else is due, to confirm rest.
pub const CONFIRM: Duration = Duration::from_secs(5);

impl Plan {
    /// When the next pass is due, polling every `poll` while AWS transitions; None when the
    /// resource is at rest (nothing due and nothing done). Shared by the CLI's drive loop
    /// and the controller's requeue.
    pub fn next_pass(&self, now: Timestamp, poll: Duration) -> Option<Timestamp> {
        let after = |d: Duration| {
            now + SignedDuration::try_from(d).unwrap_or(SignedDuration::from_secs(30))
        };
        match self.next {
            Next::Idle if self.actions.is_empty() => None,
            Next::Idle => Some(after(CONFIRM)),
            Next::Poll => Some(after(poll)),
            Next::At(t) => Some(t),
        }
    }

    /// Action kinds in order, for timelines and tests.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.actions.iter().map(Action::kind).collect()
    }
}

/// Overall health, mapped onto kstatus conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// Ready=True.
    Ready,
    /// Reconciling=True: work in progress.
    Progressing,
    /// Neither: held on purpose.
    Paused,
    /// Stalled=True: needs a spec change or a human.
    Stalled,
}

/// The planner's judgement of the situation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Verdict {
    pub phase: Phase,
    pub health: Health,
    pub reason: &'static str,
    pub message: String,
}

/// Working state of one planning pass.
pub(crate) struct Planner<'a> {
    pub input: &'a PlanInput<'a>,
    pub markers: Markers,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    pub history: Vec<HistoryEntry>,
    pub verdict: Option<Verdict>,
    pub next: Next,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let markers = input
            .observed
            .endpoint
            .as_ref()
            .map(|e| Markers::from_tags(&e.tags))
            .unwrap_or_default();
        Self {
            input,
            markers,
            actions: Vec::new(),
            events: Vec::new(),
            history: Vec::new(),
            verdict: None,
            next: Next::Idle,
        }
    }

    pub fn spec(&self) -> &'a ModelDeploymentSpec {
        self.input.spec
    }

    pub fn endpoint(&self) -> Option<&'a Endpoint> {
        self.input.observed.endpoint.as_ref()
    }

    pub fn now(&self) -> Timestamp {
        self.input.now
    }

    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn event(&mut self, reason: &str, message: impl Into<String>, warning: bool) {
        self.events.push(Event {
            reason: reason.to_owned(),
            message: message.into(),
            warning,
        });
    }

    pub fn judge(
        &mut self,
        phase: Phase,
        health: Health,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        self.verdict = Some(Verdict {
            phase,
            health,
            reason,
            message: message.into(),
        });
    }

    /// Appends to the deployment record, once.
    pub fn record(&mut self, entry: HistoryEntry) {
        self.actions.push(Action::RecordHistory(entry.clone()));
        self.history.push(entry);
    }

    fn run(&mut self) {
        if self.input.deleting {
            return teardown::plan(self);
        }
        if let Err(errors) = check_spec(self.spec()) {
            return self.judge(
                Phase::Pending,
                Health::Stalled,
                "InvalidSpec",
                errors.summary(),
            );
        }
        if let Some(ep) = self.endpoint() {
            if !self.claim(ep) {
                return;
            }
            if ep.status != EndpointStatus::InService {
                return rollout::not_in_service(self, ep);
            }
            if self.markers.stage.is_some_and(Stage::in_flight) {
                return rollout::advance(self, ep);
            }
        }
        rollout::at_rest(self);
    }

    /// Ownership: ours, adoptable, or someone else's.
    fn claim(&mut self, ep: &Endpoint) -> bool {
        let me = self.input.owner;
        match self.markers.owner.clone() {
            Some(owner) if owner == me => true,
            Some(owner) => {
                self.judge(
                    Phase::Failed,
                    Health::Stalled,
                    "Conflict",
                    format!(
                        "endpoint {} is managed by ModelDeployment {owner}; two resources cannot drive one endpoint",
                        ep.name
                    ),
                );
                false
            }
            None if self.spec().adopt => {
                self.markers.owner = Some(me.to_owned());
                self.push(Action::TagEndpoint {
                    tags: [(markers_owner_key(), me.to_owned())].into_iter().collect(),
                });
                self.event(
                    "Adopted",
                    format!("took over endpoint {} (adopt: true)", ep.name),
                    false,
                );
                true
            }
            None => {
                self.judge(
                    Phase::Failed,
                    Health::Stalled,
                    "NotOwned",
                    format!(
                        "endpoint {} exists and is not managed by this resource; set spec.adopt: true to take it over",
                        ep.name
                    ),
                );
                false
            }
        }
    }

    fn finish(self) -> Plan {
        let status = project::status(&self);
        let mut events = self.events;
        project::transition_event(self.input.previous, &status, &mut events);
        Plan {
            actions: self.actions,
            status,
            next: self.next,
            events,
        }
    }
}

fn markers_owner_key() -> String {
    format!("{}owner", crate::api::check::MARKER_PREFIX)
}

/// Plans the next reconcile. Pure: same input, same plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut planner = Planner::new(input);
    planner.run();
    planner.finish()
}

/// The candidate ARN the engine must resolve instead of querying the registry: the one a
/// rollout was started for, as long as `spec.candidate` is unchanged. A later registry change
/// never swaps the candidate; a new `matchTags` value (or pinned ARN) does.
pub fn pinned_candidate(
    spec: &ModelDeploymentSpec,
    endpoint_tags: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let m = Markers::from_tags(endpoint_tags);
    (m.selector.as_deref() == Some(selector_hash(spec).as_str()))
        .then_some(m.candidate)
        .flatten()
}

/// Hash of `spec.candidate`, stored as the `selector` marker.
pub fn selector_hash(spec: &ModelDeploymentSpec) -> String {
    desired::content_hash(&spec.candidate, 16)
}
