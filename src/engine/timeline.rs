//! Human-readable timeline of a drive: one line per reconcile (time since start, phase, step,
//! weights, message), then one line per AWS call that changed something, with the number of
//! reads. Used by `simulate` and by `apply` when not attached to a terminal.

use jiff::Timestamp;

use super::Call;
use super::drive::Progress;

/// Whether a call only reads.
pub fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get", "Head", "Resolve"]
        .iter()
        .any(|p| operation.starts_with(p))
}

fn offset(start: Timestamp, at: Timestamp) -> String {
    let secs = at.duration_since(start).as_secs().max(0);
    format!("+{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Lines describing one progress report.
pub fn render(start: Timestamp, progress: &Progress<'_>, verbose: bool) -> Vec<String> {
    let (at, calls, head) = match progress {
        Progress::Pass { at, pass, calls } => {
            let st = &pass.status;
            let phase = st.phase.map(|p| format!("{p:?}")).unwrap_or_default();
            let step = st
                .rollout
                .as_ref()
                .map(|r| r.step_label.clone())
                .unwrap_or_else(|| "-".into());
            let mut weights = Vec::new();
            if let Some(c) = st.champion.as_ref().filter(|c| c.weight.is_some()) {
                weights.push(format!("champion {}%", c.weight.unwrap_or(0)));
            }
            if let Some(c) = st.candidate.as_ref().filter(|c| c.weight.is_some()) {
                weights.push(format!("candidate {}%", c.weight.unwrap_or(0)));
            }
            let endpoint = st
                .endpoint
                .as_ref()
                .map(|e| e.status.clone())
                .unwrap_or_default();
            let message = st
                .conditions
                .first()
                .map(|c| c.message.clone())
                .unwrap_or_default();
            let head = format!(
                "{} {:<11} {:<11} {:<10} {:<28} {}",
                offset(start, *at),
                phase,
                step,
                endpoint,
                weights.join(" / "),
                message
            );
            (*at, *calls, head)
        }
        Progress::Retry {
            at,
            error,
            wait,
            calls,
        } => (
            *at,
            *calls,
            format!(
                "{} retrying in {}s after: {error}",
                offset(start, *at),
                wait.as_secs()
            ),
        ),
        Progress::Request { at, gate, rollout } => (
            *at,
            &[][..],
            format!(
                "{} on-call requests {} for rollout {}",
                offset(start, *at),
                gate.field(),
                rollout.unwrap_or("(none yet: ignored)")
            ),
        ),
    };
    let _ = at;
    let reads = calls.iter().filter(|c| is_read(&c.operation)).count();
    let mut lines = vec![format!("{head}  [{reads} reads]")];
    for c in calls.iter().filter(|c| verbose || !is_read(&c.operation)) {
        lines.push(call_line(c));
    }
    lines
}

fn call_line(c: &Call) -> String {
    format!(
        "           {} {}:{} {}",
        if c.ok { "->" } else { "!!" },
        c.service,
        c.operation,
        c.detail
    )
}
