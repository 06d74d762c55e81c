//! The pure rollout planner: `plan(valid spec, observed AWS state, markers, now) -> actions +
//! status`.
//!
//! No client, no clock, no randomness: the same input always yields the same plan. The
//! engine observes AWS, calls [`plan`] (or [`plan_teardown`] while deleting, or [`invalid`]
//! for a spec that failed validation), performs the actions in order, and observes again;
//! every action is safe to repeat, and every bit of progress AWS cannot show is written to
//! endpoint tags ([`markers`]) before the call that depends on it, so a crash anywhere
//! resumes correctly from AWS alone.
//!
//! Layout: [`observed`] (what the engine read), [`actions`] (what it may do), [`desired`]
//! (names, lineage, configs and alarms derived from the spec), [`markers`] (progress on the
//! endpoint's tags), `rollout` (the state machine: `begin`, `advance`, `rollback`),
//! `teardown` (deletion), `status` (the projection on-call reads).

pub mod actions;
pub mod claim;
pub mod compare;
pub mod desired;
pub mod latency;
pub mod markers;
pub mod notice;
pub mod observed;
pub mod published;
pub mod requests;
mod rollout;
pub mod sequential;
pub mod smoke;
mod status;
mod tag_budget;
mod teardown;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use actions::Action;
pub use markers::{InFlight, Markers, Stage};
pub use observed::*;
pub use status::{Outcome, settle};

use crate::api::conditions::Health;
use crate::api::{HistoryEntry, ModelDeploymentStatus, Phase, SpecErrors, Teardown, ValidSpec};

/// How soon the engine should observe again while SageMaker is transitioning.
pub const POLL: Duration = Duration::from_secs(30);

/// Everything the planner decides from.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub spec: &'a ValidSpec,
    /// Identity of the ModelDeployment (`namespace/name`).
    pub owner: &'a str,
    /// Who acts for it: a controller of one cluster, or the CLI.
    pub driver: &'a claim::Driver,
    pub generation: Option<i64>,
    pub observed: &'a Observed,
    /// Last published status, for history and condition transition times.
    pub previous: Option<&'a ModelDeploymentStatus>,
    pub now: Timestamp,
}

/// Everything deletion decides from.
#[derive(Clone, Debug)]
pub struct TeardownInput<'a> {
    pub teardown: &'a Teardown,
    pub owner: &'a str,
    pub driver: &'a claim::Driver,
    pub generation: Option<i64>,
    pub observed: &'a Observed,
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
    /// Alarms to read between passes while the candidate takes traffic and a bake runs.
    pub watch: Option<Watch>,
}

/// What to read between two passes while the candidate takes traffic: every `every`, the
/// `alarms` (one DescribeAlarms); one in ALARM brings the next pass forward, so that the
/// rollback starts within one interval instead of at the end of the bake.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    pub alarms: Vec<String>,
    pub every: Duration,
}

/// How soon to look again, to confirm rest, after starting a transition when nothing else
/// is due ([`Action::settles_when_answered`]).
pub const CONFIRM: Duration = Duration::from_secs(5);

/// `t + d`, saturating at the end of time instead of overflowing: a marker from a hostile
/// tag can never make the planner panic.
pub fn later(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

impl Plan {
    /// When the next pass is due, polling every `poll` while AWS transitions; None when the
    /// resource is at rest (nothing due and nothing done). Shared by the CLI's drive loop
    /// and the controller's requeue.
    pub fn next_pass(&self, now: Timestamp, poll: Duration) -> Option<Timestamp> {
        let after = |d: Duration| {
            later(
                now,
                SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX),
            )
        };
        match self.next {
            Next::Idle if self.actions.iter().all(Action::settles_when_answered) => None,
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
        Self {
            input,
            markers: markers_of(input.observed),
            actions: Vec::new(),
            events: Vec::new(),
            history: Vec::new(),
            verdict: None,
            next: Next::Idle,
        }
    }

    pub(crate) fn spec(&self) -> &'a ValidSpec {
        self.input.spec
    }

    pub(crate) fn endpoint(&self) -> Option<&'a Endpoint> {
        self.input.observed.endpoint.as_ref()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.input.now
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub(crate) fn event(&mut self, reason: &str, message: impl Into<String>, warning: bool) {
        self.events.push(Event {
            reason: reason.to_owned(),
            message: message.into(),
            warning,
        });
    }

    pub(crate) fn judge(
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

    /// Changes the progress markers and writes them to the endpoint's tags (the one way
    /// markers move, so what the plan assumes and what AWS holds never differ).
    /// A write right after another tag write joins it: one AddTags instead of two.
    pub(crate) fn write_markers(&mut self, change: impl FnOnce(&mut Markers)) {
        let mut m = self.markers.clone();
        change(&mut m);
        match self.actions.last_mut() {
            Some(Action::TagEndpoint { tags }) => tags.extend(m.to_tags()),
            _ => self.push(Action::TagEndpoint { tags: m.to_tags() }),
        }
        self.markers = m;
    }

    /// Appends to the deployment record, once. The record is written before the endpoint
    /// tags that end the rollout (the first tag write of this plan with a finished stage):
    /// should writing it fail, or the process stop in between, the next pass plans the
    /// ending again and writes it again under the same key, so a record is delivered at
    /// least once and kept once.
    pub(crate) fn record(&mut self, entry: HistoryEntry) {
        let ends = |a: &Action| match a {
            Action::TagEndpoint { tags } => Markers::from_tags(tags)
                .stage
                .is_some_and(|s| !s.in_flight()),
            _ => false,
        };
        let at = self
            .actions
            .iter()
            .position(ends)
            .unwrap_or(self.actions.len());
        self.actions
            .insert(at, Action::RecordHistory(entry.clone()));
        self.history.push(entry);
    }

    fn run(&mut self) {
        if self.input.observed.targets_component {
            return rollout::component(self);
        }
        if let Some(ep) = self.endpoint() {
            if !self.claim(&format!("endpoint {}", ep.name), &ep.tags) {
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

    fn finish(mut self) -> Plan {
        // A floor that arms during this bake is looked at when it does, not at the bake's end.
        if let (Some(arms), Next::At(next)) = (self.arming(), self.next)
            && arms < next
        {
            self.next = Next::At(arms);
        }
        // Candidate and champion are compared every interval of a step's bake.
        if let Next::At(next) = self.next
            && self.compares_now()
        {
            let every = SignedDuration::try_from(self.spec().analysis.interval)
                .unwrap_or(SignedDuration::from_secs(15));
            self.next = Next::At(next.min(later(self.now(), every)));
        }
        let status = status::project(&self);
        let watch = self.watch();
        let mut events = self.events;
        status::transition_event(self.input.previous, &status, &mut events);
        Plan {
            actions: self.actions,
            status,
            next: self.next,
            events,
            watch,
        }
    }

    /// Whether this pass bakes a step whose metrics `analysis.compare` judges.
    fn compares_now(&self) -> bool {
        !self.spec().analysis.compare.is_empty()
            && self.markers.stage == Some(Stage::Step)
            && self.markers.step > 0
            && self.markers.since.is_some()
            && self
                .verdict
                .as_ref()
                .is_some_and(|v| v.phase == Phase::Progressing)
    }

    /// The earliest time after now at which a floor alarm of the candidate arms.
    fn arming(&self) -> Option<Timestamp> {
        let since = rollout::traffic_since(&self.markers);
        desired::owned_alarms(self.spec(), rollout::scope(&self.markers))
            .iter()
            .filter_map(|a| desired::arms_at(a, since))
            .filter(|t| *t > self.now())
            .min()
    }

    /// A bake or a shadow period with the candidate taking traffic: its alarms are watched
    /// until the next pass. (SageMaker watches a blue/green deployment's alarms itself; at
    /// weight 0, during an update or on the way back there is nothing to stop.)
    fn watch(&self) -> Option<Watch> {
        let taking_traffic = matches!(self.markers.stage, Some(Stage::Step | Stage::Shadow));
        // A hold for a human with the candidate taking traffic is watched too.
        let awaiting = self.verdict.as_ref().is_some_and(|v| {
            [rollout::AWAITING_PROMOTION, rollout::DEADLINE_MISSED].contains(&v.reason)
        });
        let baking = matches!(self.next, Next::At(_)) || awaiting;
        (taking_traffic && baking)
            .then(|| Watch {
                alarms: desired::judging_alarms(
                    self.spec(),
                    rollout::scope(&self.markers),
                    rollout::traffic_since(&self.markers),
                    self.now(),
                ),
                every: self.spec().analysis.interval,
            })
            .filter(|w| !w.alarms.is_empty())
    }
}

fn markers_of(observed: &Observed) -> Markers {
    observed
        .holder_tags()
        .map(Markers::from_tags)
        .unwrap_or_default()
}

/// Plans the next reconcile. Pure: same input, same plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut planner = Planner::new(input);
    planner.run();
    if let Some(tags) = input.observed.holder_tags()
        && let Err(why) = tag_budget::check(tags, &planner.actions, &input.spec.tags)
    {
        // Nothing at all: a step without its markers could not be resumed.
        planner.actions.clear();
        planner.history.clear();
        planner.markers = markers_of(input.observed);
        planner.next = Next::Idle;
        planner.event("TagBudget", why.clone(), true);
        planner.judge(Phase::Failed, Health::Stalled, "TagBudget", why);
    }
    planner.finish()
}

/// Plans a deletion step (the finalizer of a deleted ModelDeployment). Pure.
pub fn plan_teardown(input: &TeardownInput<'_>) -> Plan {
    teardown::plan(input)
}

/// The plan for a spec that failed validation: Stalled with every problem, no action; a
/// spec change is the only way forward.
pub fn invalid(
    reason: &str,
    errors: &SpecErrors,
    previous: Option<&ModelDeploymentStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Plan {
    let status = status::invalid(reason, errors, previous, generation, now);
    let mut events = Vec::new();
    status::transition_event(previous, &status, &mut events);
    Plan {
        actions: Vec::new(),
        status,
        next: Next::Idle,
        events,
        watch: None,
    }
}

/// The alarm scope of the rollout in flight described by `markers`.
pub fn alarm_scope(markers: &Markers) -> desired::AlarmScope<'_> {
    rollout::scope(markers)
}

/// Whether a pass must read the watched alarms: while a rollout is in flight, and at rest
/// when a new candidate is about to start one (it starts only when every existing alarm it
/// will watch exists — SageMaker's auto-rollback would be handed a name that watches
/// nothing). At rest otherwise nothing is watched, and a finished rollout's alarms are gone.
pub fn reads_alarms(
    spec: &ValidSpec,
    markers: &Markers,
    endpoint: Option<&Endpoint>,
    candidate: &CandidateLookup,
) -> bool {
    if markers.stage.is_some_and(Stage::in_flight) {
        return true;
    }
    let (Some(ep), CandidateLookup::Found(c)) = (endpoint, candidate) else {
        return false;
    };
    !spec.analysis.existing.is_empty()
        && markers.rejected.as_deref() != Some(c.candidate_id.as_str())
        && !ep
            .variants
            .iter()
            .any(|v| v.candidate_id.as_deref() == Some(c.candidate_id.as_str()))
}

/// What GetMetricData must read for `analysis.compare` this pass: while a step is in effect,
/// Invocations and each rule's metric for the candidate's variant, then the same for the
/// champion's (the other production variant), over the step so far (from the `since`
/// marker). None when nothing is compared now.
pub fn comparison_queries(
    spec: &ValidSpec,
    markers: &Markers,
    endpoint: &Endpoint,
) -> Option<(Vec<MetricQuery>, Timestamp)> {
    if spec.analysis.compare.is_empty()
        || markers.stage != Some(Stage::Step)
        || markers.step == 0
        || endpoint.status != EndpointStatus::InService
    {
        return None;
    }
    let since = compare::data_start(markers.since?, spec.analysis.judge_first_minute);
    let candidate = markers.variant.clone()?;
    let champion = endpoint
        .variants
        .iter()
        .map(|v| v.name.clone())
        .find(|n| *n != candidate)?;
    let mut queries = Vec::new();
    for variant in [candidate, champion] {
        let q = |metric: &str, stat: &str, per_minute: bool| MetricQuery {
            endpoint: endpoint.name.clone(),
            variant: variant.clone(),
            metric: metric.to_owned(),
            stat: stat.to_owned(),
            per_minute,
        };
        queries.push(q("Invocations", "Sum", false));
        for rule in &spec.analysis.compare {
            let (metric, stat) = compare::query_of(rule);
            queries.push(q(metric, stat, !compare::is_rate(rule.metric)));
        }
        // A latency is judged minute by minute, each minute on the requests it had.
        if per_minute(spec) {
            queries.push(q("Invocations", "Sum", true));
        }
    }
    Some((queries, since))
}

/// Whether a compare rule is judged minute by minute (a latency).
fn per_minute(spec: &ValidSpec) -> bool {
    (spec.analysis.compare.iter()).any(|r| !compare::is_rate(r.metric))
}

/// The [`Readings`] of `answers`, in the order of [`comparison_queries`].
pub fn readings(spec: &ValidSpec, answers: &[Series]) -> Readings {
    let rules = spec.analysis.compare.len();
    let n = rules + 1 + usize::from(per_minute(spec));
    let side = |chunk: &[Series]| {
        let whole = |s: &Series| s.first().copied().flatten();
        let mut v = VariantReading {
            invocations: chunk.first().and_then(whole).unwrap_or(0.0),
            ..VariantReading::default()
        };
        let by_rule = chunk.get(1..=rules).unwrap_or_default();
        let per_rule = |i: usize| compare::is_rate(spec.analysis.compare[i].metric);
        v.values = (0..rules)
            .map(|i| by_rule.get(i).filter(|_| per_rule(i)).and_then(whole))
            .collect();
        if let Some(requests) = chunk.get(rules + 1) {
            v.minutes = (requests.iter().enumerate())
                .map(|(m, invocations)| MinuteReading {
                    invocations: invocations.unwrap_or(0.0),
                    values: (0..rules)
                        .map(|i| {
                            let s = by_rule.get(i).filter(|_| !per_rule(i))?;
                            s.get(m).copied().flatten()
                        })
                        .collect(),
                })
                .collect();
        }
        v
    };
    Readings {
        candidate: side(answers.get(..n).unwrap_or_default()),
        champion: side(answers.get(n..).unwrap_or_default()),
    }
}

/// Whether a pass must read Application Auto Scaling for the endpoint: while a rollout is in
/// flight on an InService endpoint (a config switch deregisters only what it must), or at
/// rest when what was put in place (the `scaling` marker) is not what the spec asks for.
pub fn reads_scaling(spec: &ValidSpec, endpoint: &Endpoint) -> bool {
    if endpoint.status != EndpointStatus::InService {
        return false;
    }
    let markers = Markers::from_tags(&endpoint.tags);
    if markers.stage.is_some_and(Stage::in_flight) {
        return true;
    }
    match endpoint.variants.as_slice() {
        [only] if endpoint.shadow_variants.is_empty() => {
            markers.scaling.as_deref() != Some(desired::scaling_hash(spec, &only.name).as_str())
        }
        _ => true,
    }
}

/// Pinning, decided here and nowhere else: the candidate a rollout was started for, as long
/// as `spec.candidate` is unchanged (the `selector` marker holds its hash). A later registry
/// change never swaps the candidate; a new `matchTags` value (or pinned ARN, artifact or
/// results file) does.
pub fn pinned<'m>(spec: &ValidSpec, markers: &'m Markers) -> Option<&'m str> {
    (markers.selector.as_deref() == Some(desired::selector_hash(spec).as_str()))
        .then_some(markers.candidate.as_deref())
        .flatten()
}

/// The candidate the engine must resolve instead of searching: [`pinned`] on the endpoint's
/// tags.
pub fn pinned_candidate(
    spec: &ValidSpec,
    endpoint_tags: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    pinned(spec, &Markers::from_tags(endpoint_tags)).map(str::to_owned)
}
