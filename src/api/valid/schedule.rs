//! `spec.rollout.progressDeadline` and `spec.rollout.windows`, validated: a deadline as a
//! duration, windows as spans of local time in a time zone that answer "may a rollout or a
//! step start at this instant?" and "when next?". Written by hand because the rules are ours
//! (allow and block windows, dates for freezes); jiff does the time-zone arithmetic.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::collect::{Collector, MAX_STAGE};
use crate::api::schedule::{DeadlineAction, ProgressDeadline, TimeWindow, WindowsSpec};

/// How long a rollout may go without progress, and what then.
#[derive(Clone, Debug, PartialEq)]
pub struct Deadline {
    pub after: SignedDuration,
    pub action: DeadlineAction,
}

/// One span of local time: minutes of the day `[start, end)` on `days`, between two dates.
#[derive(Clone, Debug, PartialEq)]
struct Span {
    /// Bit 0 = Monday … bit 6 = Sunday; 0 = every day.
    days: u8,
    start: i32,
    end: i32,
    from: Option<Date>,
    to: Option<Date>,
}

impl Span {
    fn contains(&self, date: Date, minute: i32) -> bool {
        let day = 1u8 << (date.weekday().to_monday_zero_offset() as u8);
        (self.days == 0 || self.days & day != 0)
            && self.from.is_none_or(|f| date >= f)
            && self.to.is_none_or(|t| date <= t)
            && (self.start..self.end).contains(&minute)
    }
}

/// Deployment windows in one time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    tz: TimeZone,
    zone: String,
    allow: Vec<Span>,
    block: Vec<Span>,
}

/// How far ahead the next opening is looked for.
const HORIZON_DAYS: i32 = 400;

impl Windows {
    /// Whether a rollout or a step may start at `t`.
    pub fn open_at(&self, t: Timestamp) -> bool {
        let local = t.to_zoned(self.tz.clone()).datetime();
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let inside = |spans: &[Span]| spans.iter().any(|s| s.contains(local.date(), minute));
        (self.allow.is_empty() || inside(&self.allow)) && !inside(&self.block)
    }

    /// The first instant from `t` on at which one may start; None when none does within
    /// about a year (every allowed time blocked).
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        if self.open_at(t) {
            return Some(t);
        }
        let first = t.to_zoned(self.tz.clone()).date();
        for offset in 0..HORIZON_DAYS {
            let day = first.checked_add(offset.days()).ok()?;
            // Openness changes only at a span's edge or at midnight (a date range's edge).
            let mut edges: Vec<i32> = vec![0];
            for s in self.allow.iter().chain(&self.block) {
                edges.extend([s.start, s.end]);
            }
            edges.sort_unstable();
            edges.dedup();
            for m in edges.into_iter().filter(|m| *m < 24 * 60) {
                let time = Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()?;
                let at = day.to_datetime(time).to_zoned(self.tz.clone()).ok()?;
                let at = at.timestamp();
                if at > t && self.open_at(at) {
                    return Some(at);
                }
            }
        }
        None
    }

    /// The time zone's name, for messages.
    pub fn zone(&self) -> &str {
        &self.zone
    }
}

pub(super) fn deadline(c: &mut Collector, d: &ProgressDeadline) -> Option<Deadline> {
    let after = c.duration("spec.rollout.progressDeadline.after", &d.after, MAX_STAGE)?;
    Some(Deadline {
        after: SignedDuration::try_from(after).unwrap_or(SignedDuration::MAX),
        action: d.action,
    })
}

pub(super) fn windows(c: &mut Collector, w: &WindowsSpec) -> Option<Windows> {
    let path = "spec.rollout.windows";
    let tz = match TimeZone::get(&w.time_zone) {
        Ok(tz) => Some(tz),
        Err(_) => {
            c.err(
                format!("{path}.timeZone"),
                format!(
                    "\"{}\" is not an IANA time zone (such as Europe/Berlin or UTC)",
                    w.time_zone
                ),
            );
            None
        }
    };
    let mut spans = |kind: &str, list: &[TimeWindow]| -> Vec<Span> {
        list.iter()
            .enumerate()
            .filter_map(|(i, tw)| span(c, &format!("{path}.{kind}[{i}]"), tw))
            .collect()
    };
    let allow = spans("allow", &w.allow);
    let block = spans("block", &w.block);
    Some(Windows {
        tz: tz?,
        zone: w.time_zone.clone(),
        allow,
        block,
    })
}

fn span(c: &mut Collector, path: &str, tw: &TimeWindow) -> Option<Span> {
    let minute = |c: &mut Collector, field: &str, v: Option<&str>, default: i32| {
        let Some(v) = v else { return Some(default) };
        let parsed = v.split_once(':').and_then(|(h, m)| {
            let (h, m) = (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?);
            ((0..24).contains(&h) && (0..60).contains(&m) || (h, m) == (24, 0))
                .then_some(h * 60 + m)
        });
        if parsed.is_none() {
            c.err(
                format!("{path}.{field}"),
                format!("\"{v}\" is not a time of day HH:MM"),
            );
        }
        parsed
    };
    let date = |c: &mut Collector, field: &str, v: Option<&str>| match v.map(str::parse::<Date>) {
        None => Some(None),
        Some(Ok(d)) => Some(Some(d)),
        Some(Err(_)) => {
            c.err(
                format!("{path}.{field}"),
                format!("\"{}\" is not a date YYYY-MM-DD", v.unwrap_or_default()),
            );
            None
        }
    };
    let start = minute(c, "start", tw.start.as_deref(), 0);
    let end = minute(c, "end", tw.end.as_deref(), 24 * 60);
    let from = date(c, "fromDate", tw.from_date.as_deref());
    let to = date(c, "toDate", tw.to_date.as_deref());
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        c.err(
            format!("{path}.end"),
            "must be after start (a span over midnight is two windows)",
        );
        return None;
    }
    if let (Some(Some(f)), Some(Some(t))) = (from, to)
        && f > t
    {
        c.err(format!("{path}.toDate"), "must not be before fromDate");
        return None;
    }
    let mut days = 0u8;
    for d in &tw.days {
        let bit = 1u8 << (*d as u8);
        if days & bit != 0 {
            c.err(format!("{path}.days"), format!("{d:?} is listed twice"));
        }
        days |= bit;
    }
    Some(Span {
        days,
        start: start?,
        end: end?,
        from: from?,
        to: to?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::schedule::Weekday;

    fn windows(text: &str) -> Windows {
        let spec: WindowsSpec = serde_saphyr::from_str(text).unwrap();
        let mut c = Collector::default();
        let w = super::windows(&mut c, &spec);
        assert!(c.0.is_empty(), "{:?}", c.0);
        w.unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_in_berlin_open_on_weekdays_and_the_next_opening_is_monday_morning() {
        let w = windows(
            "timeZone: Europe/Berlin\nallow:\n  - {days: [Mon, Tue, Wed, Thu], start: \"09:00\", end: \"16:00\"}\n",
        );
        // Monday 2026-01-05 10:00 in Berlin is 09:00 UTC.
        assert!(w.open_at(at("2026-01-05T09:00:00Z")));
        assert!(!w.open_at(at("2026-01-05T15:00:00Z")), "17:00 in Berlin");
        // Thursday evening: next opening is Monday 09:00 Berlin = 08:00 UTC.
        assert_eq!(
            w.next_open(at("2026-01-08T16:00:00Z")),
            Some(at("2026-01-12T08:00:00Z"))
        );
        // In summer time Berlin is UTC+2.
        assert_eq!(
            w.next_open(at("2026-07-03T12:00:00Z")),
            Some(at("2026-07-06T07:00:00Z"))
        );
    }

    #[test]
    fn a_dated_freeze_blocks_whatever_allow_says() {
        let w = windows(
            "block:\n  - {fromDate: \"2026-12-20\", toDate: \"2027-01-03\"}\n  - {days: [Fri]}\n",
        );
        assert!(!w.open_at(at("2026-12-24T10:00:00Z")));
        assert_eq!(
            w.next_open(at("2026-12-24T10:00:00Z")),
            Some(at("2027-01-04T00:00:00Z"))
        );
        assert!(!w.open_at(at("2027-01-08T10:00:00Z")), "a Friday");
        assert!(w.open_at(at("2027-01-07T23:59:00Z")));
    }

    #[test]
    fn bad_windows_name_each_field() {
        let spec: WindowsSpec = serde_saphyr::from_str(
            "timeZone: Mars/Olympus\nallow:\n  - {start: \"16:00\", end: \"09:00\"}\n  - {days: [Mon, Mon], fromDate: \"2026-13-01\"}\n",
        )
        .unwrap();
        let mut c = Collector::default();
        assert!(super::windows(&mut c, &spec).is_none());
        let said: Vec<String> = c.0.iter().map(ToString::to_string).collect();
        for want in [
            "spec.rollout.windows.timeZone",
            "spec.rollout.windows.allow[0].end",
            "spec.rollout.windows.allow[1].fromDate",
            "spec.rollout.windows.allow[1].days",
        ] {
            assert!(said.iter().any(|s| s.starts_with(want)), "{want}: {said:?}");
        }
    }

    #[test]
    fn weekdays_count_from_monday_as_jiff_does() {
        assert_eq!(Weekday::Mon as i8, 0);
        assert_eq!(
            Weekday::Sun as i8,
            jiff::civil::Weekday::Sunday.to_monday_zero_offset()
        );
    }
}
