//! Colour and symbols for the on-call screens on a terminal; plain text when stdout is piped,
//! `NO_COLOR` is set or `CLICOLOR=0` (anstream decides, as clap does for its own help). The
//! screens are built as plain text by the library ([`sagemaker_rollout::oncall::screen`], so
//! tests and scripts read them unchanged); this paints the words whose meaning a colour
//! carries — phases, alarm states, verdicts, conditions, warnings — at the places the screen
//! puts them. Hand-written because the rules are about our screens, not generic.

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

/// Whether stdout takes colour now.
pub(crate) fn enabled() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != ColorChoice::Never
}

/// Colour and symbol of a word that says how things stand.
fn tone(word: &str) -> Option<(AnsiColor, &'static str)> {
    Some(match word {
        "Succeeded" | "Pass" | "OK" | "Passed" | "Ready=True" => (AnsiColor::Green, "✓"),
        "RolledBack" | "Failed" | "Fail" | "ALARM" | "Stalled=True" | "Warning" => {
            (AnsiColor::Red, "✗")
        }
        "Paused" => (AnsiColor::Cyan, "⏸"),
        "Progressing" | "Deploying" | "Validating" | "RollingBack" | "Inconclusive" | "Pending"
        | "INSUFFICIENT_DATA" | "Ready=False" | "Reconciling=True" => (AnsiColor::Yellow, "●"),
        _ => return None,
    })
}

fn styled(word: &str, color: AnsiColor, bold: bool) -> String {
    let mut style = Style::new().fg_color(Some(color.into()));
    if bold {
        style = style.bold();
    }
    format!("{style}{word}{style:#}")
}

/// A phase with its symbol, coloured (or as it is).
pub(crate) fn phase(word: &str, on: bool) -> String {
    match tone(word) {
        Some((c, sym)) if on => styled(&format!("{sym} {word}"), c, true),
        _ => word.to_owned(),
    }
}

/// Paints every word of `text` that has a tone (the screen's columns keep their place:
/// only escape codes are added).
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match tone(word) {
            Some((c, _)) => out.push_str(&styled(word, c, false)),
            None => out.push_str(word),
        }
        word.clear();
    };
    for ch in text.chars() {
        if ch.is_whitespace() || ch == '(' || ch == ')' {
            flush(&mut word, &mut out);
            out.push(ch);
        } else {
            word.push(ch);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The `status` screen, painted when `on`: the phase in the first line, the state column of
/// the alarms, comparisons and smoke test, the conditions, and warnings among the Events.
pub(crate) fn screen(text: &str, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let painted = if i == 0 {
            let mut parts = line.splitn(3, "  ");
            let (who, ph, rest) = (parts.next(), parts.next(), parts.next());
            match (who, ph, rest) {
                (Some(w), Some(p), Some(r)) => format!("{w}  {}  {r}", phase(p, true)),
                _ => line.to_owned(),
            }
        } else {
            let label = line.get(..11).unwrap_or("").trim();
            match label {
                "" | "alarms" | "compare" | "smoke test" | "conditions" => {
                    let (head, tail) = line.split_at(line.len().min(12));
                    let state_end = tail.find("  ").unwrap_or(tail.len()).min(tail.len());
                    let (state, rest) = tail.split_at(state_end);
                    if label == "conditions" {
                        words(line)
                    } else {
                        format!("{head}{}{rest}", words(state))
                    }
                }
                _ if line.starts_with("  ") && line.contains(" Warning ") => {
                    line.replacen("Warning", &styled("Warning", AnsiColor::Red, true), 1)
                }
                _ => line.to_owned(),
            }
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

/// The `list` table, painted when `on`: each row's phase gets its symbol and colour in the
/// room the table leaves for them.
pub(crate) fn list(
    text: &str,
    rows: &[sagemaker_rollout::oncall::screen::Row],
    on: bool,
) -> String {
    if !on || rows.is_empty() {
        return text.to_owned();
    }
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap_or_default());
    for (line, row) in lines.zip(rows) {
        let cell = format!(" {}  ", row.phase);
        let painted = match line.find(&cell) {
            Some(i) => format!(
                "{} {}{}",
                &line[..i],
                phase(&row.phase, true),
                &line[i + cell.len()..]
            ),
            None => line.to_owned(),
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}
