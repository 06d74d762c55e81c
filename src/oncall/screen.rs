//! What on-call reads: the `status` screen (one resource: phase, endpoint, both variants and
//! their weights, the step and when it ends, the gates, alarms, smoke test, conditions, recent
//! Events) and the `history` table. Pure text from the resource, its Events and the time.

use std::fmt::Write;

use jiff::Timestamp;

use crate::api::conditions::{self, ConditionType};
use crate::api::{ModelDeployment, VariantView};

/// One Event about the resource, as the screen shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLine {
    pub at: Option<Timestamp>,
    pub kind: String,
    pub reason: String,
    pub note: String,
    /// How many times the event happened (series).
    pub count: i32,
}

/// How many of the newest Events the screen lists.
pub const EVENTS_SHOWN: usize = 8;

/// The `status` screen.
pub fn status(md: &ModelDeployment, events: &[EventLine], now: Timestamp) -> String {
    let name = md.metadata.name.as_deref().unwrap_or("?");
    let ns = md.metadata.namespace.as_deref().unwrap_or("default");
    let st = md.status.clone().unwrap_or_default();
    let phase = st.phase.map_or("Pending".into(), |p| format!("{p:?}"));
    let generation = md.metadata.generation.unwrap_or(0);
    let observed = st.observed_generation.unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{ns}/{name}  {phase}  ({:?})",
        md.spec.rollout.strategy
    );
    if observed < generation {
        let _ = writeln!(
            out,
            "  ! the controller has not seen generation {generation} yet (status is of {observed})"
        );
    }
    if let Some(e) = &st.endpoint {
        let config = e.config_name.as_deref().unwrap_or("-");
        let _ = writeln!(out, "endpoint    {}  {}  config {config}", e.name, e.status);
        if let Some(why) = &e.failure_reason {
            let _ = writeln!(out, "            failure: {why}");
        }
    }
    let variant = |label: &str, v: &Option<VariantView>, out: &mut String| {
        if let Some(v) = v {
            let _ = writeln!(
                out,
                "{label:<11} {:<24} {:<16} {:>3} %  {}",
                v.candidate_run_id.as_deref().unwrap_or("-"),
                v.variant.as_deref().unwrap_or("-"),
                v.weight.unwrap_or(0),
                v.candidate_id().unwrap_or("")
            );
        }
    };
    variant("candidate", &st.candidate, &mut out);
    variant("champion", &st.champion, &mut out);
    if let Some(r) = &st.rollout {
        let _ = writeln!(
            out,
            "step        {}/{}  {}",
            r.step, r.total_steps, r.message
        );
        if let Some(next) = r
            .next_step_at
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
        {
            let left = next.duration_since(now).max(jiff::SignedDuration::ZERO);
            let _ = writeln!(out, "            next at {next} (in {})", short(left));
        }
    }
    let g = &md.spec.rollout;
    let _ = writeln!(out, "gates       paused={} retry={}", g.paused, g.retry);
    if let Some(id) = &st.rollout_id {
        let _ = writeln!(out, "rollout id  {id}");
    }
    for line in requests(&st) {
        let _ = writeln!(out, "requested   {line}");
    }
    for (i, a) in st.alarms.iter().enumerate() {
        let since = a
            .since
            .as_deref()
            .map(|s| format!("  since {s}"))
            .unwrap_or_default();
        let label = if i == 0 { "alarms" } else { "" };
        let _ = writeln!(out, "{label:<11} {:<17} {}{since}", a.state, a.name);
    }
    for (i, c) in st.comparison.iter().enumerate() {
        let label = if i == 0 { "compare" } else { "" };
        let _ = writeln!(
            out,
            "{label:<11} {:<7} {}: {} ({} / {} requests)",
            c.verdict, c.metric, c.message, c.candidate_invocations, c.champion_invocations
        );
    }
    if let Some(s) = &st.smoke_test {
        let latency = s
            .latency_ms
            .map(|l| format!(" in {l} ms"))
            .unwrap_or_default();
        let at = s.at.as_deref().unwrap_or("-");
        let _ = writeln!(out, "smoke test  {} at {at}{latency}", s.result);
    }
    let conditions: Vec<String> = st
        .conditions
        .iter()
        .map(|c| format!("{}={} ({})", c.type_, c.status, c.reason))
        .collect();
    if !conditions.is_empty() {
        let _ = writeln!(out, "conditions  {}", conditions.join("  "));
    }
    if let Some(c) = conditions::find(&st, ConditionType::Ready) {
        let _ = writeln!(out, "            {}", c.message);
    }
    if let Some(l) = &st.links {
        let _ = writeln!(out, "console     {}", l.endpoint);
    }
    if !events.is_empty() {
        let _ = writeln!(out, "events (newest last)");
        let skip = events.len().saturating_sub(EVENTS_SHOWN);
        for e in &events[skip..] {
            let at =
                e.at.map_or("-".into(), |t| t.strftime("%H:%M:%S").to_string());
            let times = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {at}  {:<7} {:<20} {}{times}",
                e.kind, e.reason, e.note
            );
        }
    }
    out
}

/// The `history` table: every finished rollout the status records, oldest first.
pub fn history(md: &ModelDeployment) -> String {
    let entries = md
        .status
        .as_ref()
        .map(|s| s.history.as_slice())
        .unwrap_or_default();
    if entries.is_empty() {
        return "no finished rollouts recorded yet\n".into();
    }
    let mut out = format!(
        "{:<22} {:<22} {:<12} {:<24} {}\n",
        "STARTED", "FINISHED", "OUTCOME", "RUN ID", "REASON / PACKAGE"
    );
    for h in entries {
        let _ = writeln!(
            out,
            "{:<22} {:<22} {:<12} {:<24} {}  {}",
            h.started_at.as_deref().unwrap_or("-"),
            h.finished_at,
            h.outcome,
            h.candidate_run_id.as_deref().unwrap_or("-"),
            h.reason,
            h.candidate_id()
        );
    }
    out
}

/// One row of `list`: a resource as the table (and `-o json|yaml`) shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub step: String,
    /// The candidate's share of traffic, percent.
    pub weight: Option<i32>,
    pub candidate: String,
    pub endpoint: String,
    /// The Ready condition's message.
    pub message: String,
}

/// The rows of `list`, sorted by namespace and name.
pub fn rows(mds: &[ModelDeployment]) -> Vec<Row> {
    let mut rows: Vec<Row> = mds
        .iter()
        .map(|md| {
            let st = md.status.clone().unwrap_or_default();
            Row {
                namespace: md.metadata.namespace.clone().unwrap_or_default(),
                name: md.metadata.name.clone().unwrap_or_default(),
                phase: st.phase.map_or("Pending".into(), |p| format!("{p:?}")),
                step: st
                    .rollout
                    .as_ref()
                    .map_or("-".into(), |r| r.step_label.clone()),
                weight: st.candidate.as_ref().and_then(|c| c.weight),
                candidate: (st.candidate.as_ref())
                    .and_then(|c| c.candidate_run_id.clone())
                    .unwrap_or_else(|| "-".into()),
                endpoint: md.spec.endpoint_name.clone(),
                message: conditions::find(&st, ConditionType::Ready)
                    .map(|c| c.message.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rows
}

/// The `list` table (a NAMESPACE column with `namespaces`). The phase column is wide enough
/// for a symbol before the longest phase.
pub fn list(rows: &[Row], namespaces: bool) -> String {
    if rows.is_empty() {
        return "no ModelDeployments found\n".into();
    }
    let ns = |s: &str| {
        if namespaces {
            format!("{s:<16} ")
        } else {
            String::new()
        }
    };
    let mut out = format!(
        "{}{:<24} {:<13} {:<6} {:>6}  {:<24} {:<24} MESSAGE\n",
        ns("NAMESPACE"),
        "NAME",
        "PHASE",
        "STEP",
        "WEIGHT",
        "CANDIDATE",
        "ENDPOINT",
    );
    for r in rows {
        let weight = r.weight.map_or("-".into(), |w| format!("{w} %"));
        let message: String = r.message.chars().take(70).collect();
        let _ = writeln!(
            out,
            "{}{:<24} {:<13} {:<6} {:>6}  {:<24} {:<24} {message}",
            ns(&r.namespace),
            r.name,
            r.phase,
            r.step,
            weight,
            r.candidate,
            r.endpoint,
        );
    }
    out
}

/// `1h02m`, `9m05s`, `42s`.
fn short(d: jiff::SignedDuration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// On-call's requests, each said with whether it is for the rollout shown (a request for an
/// earlier rollout is ignored by the controller).
fn requests(st: &crate::api::ModelDeploymentStatus) -> Vec<String> {
    let Some(r) = &st.requests else {
        return Vec::new();
    };
    crate::api::Gate::ALL
        .iter()
        .filter_map(|g| {
            let q = r.get(*g)?;
            let whose = if Some(&q.rollout) == st.rollout_id.as_ref() {
                "this rollout".to_owned()
            } else {
                format!("rollout {} (ended; ignored)", q.rollout)
            };
            let at =
                q.at.as_deref()
                    .map(|a| format!(" at {a}"))
                    .unwrap_or_default();
            Some(format!("{} for {whose}{at}", g.field()))
        })
        .collect()
}
