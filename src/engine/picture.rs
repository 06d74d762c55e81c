//! A rollout as a picture: a self-contained SVG of each variant's traffic weight over time,
//! with the steps and bakes, the smoke test, alarms firing and the rollback marked, and a
//! legend. Drawn from [`Sample`]s (one per reconcile pass, taken from the status it
//! produced), so the simulator and a live drive draw the same way. Hand-written: a few
//! polylines and rectangles need no drawing crate. Each series carries `data-series` and
//! its points `data-at` (seconds) and `data-weight`, so a test can read the picture back.

use std::fmt::Write;

use jiff::Timestamp;

use crate::api::{ModelDeploymentStatus, Phase, ValidSpec};

/// The picture's title for the rollout of `spec` by `owner` (namespace/name).
pub fn title(owner: &str, spec: &ValidSpec) -> String {
    format!(
        "{owner} ({:?}) on {}",
        spec.rollout.strategy, spec.endpoint_name
    )
}

/// What one pass showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub phase: Option<Phase>,
    pub champion: Option<i32>,
    pub candidate: Option<i32>,
    /// The condition reason (`Baking`, `StepAdvanced`, `RollingBack`, …).
    pub reason: String,
    /// A watched alarm was in ALARM.
    pub alarm: bool,
    /// The smoke test's result, once known.
    pub smoke: Option<String>,
}

impl Sample {
    pub fn of(at: Timestamp, st: &ModelDeploymentStatus) -> Self {
        Self {
            at,
            phase: st.phase,
            champion: st.champion.as_ref().and_then(|c| c.weight),
            candidate: st.candidate.as_ref().and_then(|c| c.weight),
            reason: st
                .conditions
                .first()
                .map(|c| c.reason.clone())
                .unwrap_or_default(),
            alarm: st.alarms.iter().any(|a| a.state == "ALARM"),
            smoke: st.smoke_test.as_ref().map(|s| s.result.clone()),
        }
    }
}

const W: f64 = 960.0;
const H: f64 = 400.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 36.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 50.0;
const CHAMPION: &str = "#1f77b4";
const CANDIDATE: &str = "#ff7f0e";
const BAKE: &str = "#e8f3e0";
const ROLLBACK: &str = "#f8d0d0";

/// The SVG document for `samples` (oldest first) under `title`.
pub fn svg(title: &str, samples: &[Sample]) -> String {
    let start = samples.first().map_or(Timestamp::UNIX_EPOCH, |s| s.at);
    let secs = |t: Timestamp| t.duration_since(start).as_secs_f64().max(0.0);
    let span = samples.last().map_or(60.0, |s| secs(s.at)).max(60.0);
    let x = |t: f64| LEFT + t / span * (W - LEFT - RIGHT);
    let y = |w: i32| TOP + (100 - w.clamp(0, 100)) as f64 / 100.0 * (H - TOP - BOTTOM);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<title>{}</title>"#, escape(title));
    let _ = writeln!(out, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    // Bands: baking, rolling back (behind the lines), one rectangle per stretch.
    let kind_of = |s: &Sample| match (s.phase, s.reason.as_str()) {
        (Some(Phase::RollingBack), _) => Some("rollback"),
        (_, "Baking" | "Shadowing") => Some("bake"),
        _ => None,
    };
    let mut i = 0;
    while i + 1 < samples.len() {
        let Some(kind) = kind_of(&samples[i]) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j + 1 < samples.len() && kind_of(&samples[j]) == Some(kind) {
            j += 1;
        }
        let fill = if kind == "bake" { BAKE } else { ROLLBACK };
        let (x0, x1) = (x(secs(samples[i].at)), x(secs(samples[j].at)));
        let _ = writeln!(
            out,
            r#"<rect data-band="{kind}" data-from="{:.0}" data-to="{:.0}" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
            secs(samples[i].at),
            secs(samples[j].at),
            (x1 - x0).max(0.5),
            H - TOP - BOTTOM
        );
        i = j;
    }
    axes(&mut out, span, &x, &y);
    for (name, color, pick) in [
        (
            "champion",
            CHAMPION,
            (|s: &Sample| s.champion) as fn(&Sample) -> Option<i32>,
        ),
        ("candidate", CANDIDATE, |s: &Sample| s.candidate),
    ] {
        series(&mut out, name, color, samples, pick, &secs, &x, &y);
    }
    markers(&mut out, samples, &secs, &x);
    legend(&mut out);
    out.push_str("</svg>\n");
    out
}

fn axes(out: &mut String, span: f64, x: &dyn Fn(f64) -> f64, y: &dyn Fn(i32) -> f64) {
    let (x0, x1) = (x(0.0), x(span));
    for w in [0, 25, 50, 75, 100] {
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{0:.1}" x2="{x1:.1}" y2="{0:.1}" stroke="#dddddd"/><text x="{1}" y="{2:.1}" text-anchor="end">{w} %</text>"##,
            y(w),
            x0 - 6.0,
            y(w) + 4.0
        );
    }
    // A tick every "round" number of minutes, about eight across.
    let minutes = span / 60.0;
    let step = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 240.0]
        .into_iter()
        .find(|s| minutes / s <= 8.0)
        .unwrap_or(480.0);
    let mut m = 0.0;
    while m <= minutes + 1e-9 {
        let px = x(m * 60.0);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{0:.1}" x2="{px:.1}" y2="{1:.1}" stroke="#999999"/><text x="{px:.1}" y="{2:.1}" text-anchor="middle">{m:.0} min</text>"##,
            y(0),
            y(0) + 5.0,
            y(0) + 20.0
        );
        m += step;
    }
}

#[allow(clippy::too_many_arguments)]
fn series(
    out: &mut String,
    name: &str,
    color: &str,
    samples: &[Sample],
    pick: fn(&Sample) -> Option<i32>,
    secs: &dyn Fn(Timestamp) -> f64,
    x: &dyn Fn(f64) -> f64,
    y: &dyn Fn(i32) -> f64,
) {
    // A step line: a weight holds until the next pass shows another.
    let mut points = Vec::new();
    let mut data = Vec::new();
    let mut last: Option<i32> = None;
    for s in samples {
        // A variant that was there and is no longer shown has left the endpoint: 0 %.
        let Some(w) = pick(s).or(last.map(|_| 0)) else {
            continue;
        };
        let t = secs(s.at);
        if let Some(prev) = last {
            points.push(format!("{:.1},{:.1}", x(t), y(prev)));
        }
        points.push(format!("{:.1},{:.1}", x(t), y(w)));
        data.push(format!("{t:.0}:{w}"));
        last = Some(w);
    }
    if points.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        r#"<polyline data-series="{name}" data-points="{}" points="{}" fill="none" stroke="{color}" stroke-width="2.5"/>"#,
        data.join(" "),
        points.join(" ")
    );
}

fn markers(
    out: &mut String,
    samples: &[Sample],
    secs: &dyn Fn(Timestamp) -> f64,
    x: &dyn Fn(f64) -> f64,
) {
    let mut alarm = false;
    let mut smoke: Option<&str> = None;
    let mut rollback = false;
    let mark = |out: &mut String, kind: &str, t: f64, color: &str, label: &str, row: f64| {
        let px = x(t);
        let _ = writeln!(
            out,
            r#"<g data-marker="{kind}" data-at="{t:.0}"><line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="4 3" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" fill="{color}">{}</text></g>"#,
            H - BOTTOM,
            px + 3.0,
            TOP + 12.0 + row * 14.0,
            escape(label)
        );
    };
    for s in samples {
        let t = secs(s.at);
        if s.alarm && !alarm {
            mark(out, "alarm", t, "#d62728", "alarm in ALARM", 0.0);
        }
        alarm = s.alarm;
        if let Some(r) = s.smoke.as_deref().filter(|r| smoke != Some(*r)) {
            let color = if r == "Passed" { "#2ca02c" } else { "#d62728" };
            mark(
                out,
                "smoke",
                t,
                color,
                &format!("smoke test {}", r.to_lowercase()),
                1.0,
            );
        }
        smoke = s.smoke.as_deref().or(smoke);
        let back = s.phase == Some(Phase::RollingBack);
        if back && !rollback {
            mark(out, "rollback", t, "#8c1c13", "rollback", 2.0);
        }
        rollback = back;
    }
}

fn legend(out: &mut String) {
    let items = [
        ("line", CHAMPION, "champion weight"),
        ("line", CANDIDATE, "candidate weight"),
        ("band", BAKE, "bake"),
        ("band", ROLLBACK, "rolling back"),
        ("dash", "#2ca02c", "smoke test"),
        ("dash", "#d62728", "alarm"),
    ];
    let _ = writeln!(out, r#"<g data-legend="">"#);
    let mut px = LEFT;
    for (kind, color, label) in items {
        let y = 42.0;
        let _ = match kind {
            "line" => writeln!(
                out,
                r#"<line x1="{px}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2.5"/>"#,
                px + 18.0
            ),
            "band" => writeln!(
                out,
                r#"<rect x="{px}" y="{}" width="18" height="10" fill="{color}"/>"#,
                y - 5.0
            ),
            _ => writeln!(
                out,
                r#"<line x1="{px}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-dasharray="4 3" stroke-width="1.5"/>"#,
                px + 18.0
            ),
        };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">{label}</text>"#,
            px + 24.0,
            y + 4.0
        );
        px += 24.0 + 8.0 * label.len() as f64 + 18.0;
    }
    let _ = writeln!(out, "</g>");
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
