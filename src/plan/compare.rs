//! Candidate against champion: judging the readings of both variants over the current step
//! (`analysis.compare`) into a verdict per rule. A rule judges only once each variant has
//! served `minInvocations` in the step and both have a value; then the candidate is worse
//! when it exceeds the champion by more than the margin (a ratio, or an increase in the
//! metric's own unit). Error rates are computed here from the per-step sums, so a step
//! without requests has no rate (never a division by zero). Pure.

use crate::api::valid::{Compare, Margin};
use crate::api::{CompareMetric, ComparisonView};
use crate::plan::observed::{Readings, VariantReading};
use crate::plan::{latency, sequential};

/// The verdicts of every rule, and the first failure, if any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    pub views: Vec<ComparisonView>,
    pub worse: Option<String>,
}

/// An error rate (judged on the step's counts); otherwise a latency (judged per minute).
pub fn is_rate(m: CompareMetric) -> bool {
    matches!(
        m,
        CompareMetric::Invocation5XXErrorRate | CompareMetric::Invocation4XXErrorRate
    )
}

/// The metric GetMetricData reads for `rule`, and its statistic.
pub fn query_of(rule: &Compare) -> (&'static str, &str) {
    match rule.metric {
        CompareMetric::ModelLatency => ("ModelLatency", rule.statistic.as_str()),
        CompareMetric::OverheadLatency => ("OverheadLatency", rule.statistic.as_str()),
        CompareMetric::Invocation5XXErrorRate => ("Invocation5XXErrors", "Sum"),
        CompareMetric::Invocation4XXErrorRate => ("Invocation4XXErrors", "Sum"),
    }
}

/// The value status shows for a variant: a rate over the step, or a latency's median minute.
fn value(rule: &Compare, v: &VariantReading, i: usize) -> Option<f64> {
    if is_rate(rule.metric) {
        let raw = v.values.get(i).copied().flatten()?;
        (v.invocations > 0.0).then(|| 100.0 * raw / v.invocations)
    } else {
        let mut minutes: Vec<f64> = (v.minutes.iter())
            .filter_map(|m| m.values.get(i).copied().flatten())
            .collect();
        minutes.sort_by(f64::total_cmp);
        minutes.get(minutes.len() / 2).copied()
    }
}

/// The minutes of rule `i` both variants served with enough requests for its statistic.
fn pairs(rule: &Compare, r: &Readings, i: usize) -> Vec<latency::Pair> {
    let floor = latency::minute_floor(&rule.statistic);
    (r.candidate.minutes.iter().zip(&r.champion.minutes))
        .filter(|(c, p)| c.invocations >= floor && p.invocations >= floor)
        .filter_map(|(c, p)| {
            Some(latency::Pair {
                candidate: c.values.get(i).copied().flatten()?,
                champion: p.values.get(i).copied().flatten()?,
            })
        })
        .collect()
}

fn label(rule: &Compare) -> String {
    if is_rate(rule.metric) {
        format!("{:?}", rule.metric)
    } else {
        format!("{:?} {}", rule.metric, rule.statistic)
    }
}

fn shown(rule: &Compare, x: f64) -> String {
    if is_rate(rule.metric) {
        format!("{x:.2} %")
    } else {
        format!("{:.1} ms", x / 1_000.0)
    }
}

/// Where a step's comparison data starts, its weights in effect since `since`: the minute
/// `since` falls in, or with the first minute left out (the default), the first whole minute
/// that begins at least a minute later — the candidate's warm-up is not judged.
pub fn data_start(since: jiff::Timestamp, judge_first_minute: bool) -> jiff::Timestamp {
    let minute = |s: i64| jiff::Timestamp::from_second(s).unwrap_or(since);
    if judge_first_minute {
        minute(since.as_second().div_euclid(60) * 60)
    } else {
        minute((since.as_second() + 60 + 59).div_euclid(60) * 60)
    }
}

/// Where the comparison's data ends at `now`: the last whole minute. A look then judges
/// complete minutes only, and its number ([`look`]) changes with them.
pub fn data_end(now: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(now.as_second().div_euclid(60) * 60).unwrap_or(now)
}

/// The look number at `now` of a step whose clock started at `since`: the whole minutes of
/// data from the minute `since` falls in to [`data_end`] (at least 1).
pub fn look(since: Option<jiff::Timestamp>, now: jiff::Timestamp) -> u32 {
    let minutes = since.map_or(0, |s| whole_minutes(s, now));
    u32::try_from(minutes.max(1)).unwrap_or(u32::MAX)
}

/// The whole minutes of data from the minute `since` falls in to [`data_end`]: none means
/// nothing complete to judge yet.
pub fn whole_minutes(since: jiff::Timestamp, now: jiff::Timestamp) -> i64 {
    let from = since.as_second().div_euclid(60) * 60;
    (data_end(now).as_second() - from).max(0) / 60
}

/// Judges a step's comparisons at `now`, its clock started at `since`.
pub fn judge_step(
    analysis: &crate::api::valid::Analysis,
    readings: Option<&Readings>,
    since: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Judgement {
    let k = look(since, now);
    judge(&analysis.compare, readings, analysis.confidence, k)
}

/// What the end of a bake does about comparisons that have not passed.
#[derive(Clone, Debug, PartialEq)]
pub enum BakeEnd {
    Proceed,
    /// Bake on, judging again after the interval.
    Hold(String, jiff::SignedDuration),
    RollBack(String),
}

/// `analysis.onInconclusive` at a bake's end: every comparison passed (or the policy is
/// `Proceed`) goes on; otherwise hold or roll back, naming the comparisons still open.
pub fn at_bake_end(
    analysis: &crate::api::valid::Analysis,
    readings: Option<&Readings>,
    since: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> BakeEnd {
    use crate::api::OnInconclusive;
    if analysis.compare.is_empty() || analysis.on_inconclusive == OnInconclusive::Proceed {
        return BakeEnd::Proceed;
    }
    let judged = judge_step(analysis, readings, since, now);
    let open: Vec<String> = (judged.views.iter())
        .filter(|v| v.verdict != "Pass")
        .map(|v| format!("{} {}", v.metric, v.verdict))
        .collect();
    if open.is_empty() && !judged.views.is_empty() {
        return BakeEnd::Proceed;
    }
    let what = if open.is_empty() {
        "no metrics read yet".to_owned()
    } else {
        open.join(", ")
    };
    let why = format!("the bake ended with comparisons not conclusive: {what}");
    match analysis.on_inconclusive {
        OnInconclusive::RollBack => BakeEnd::RollBack(why),
        _ => BakeEnd::Hold(
            format!("{why}; baking on until they pass (onInconclusive: Hold), or promote or abort"),
            jiff::SignedDuration::try_from(analysis.interval)
                .unwrap_or(jiff::SignedDuration::from_secs(15)),
        ),
    }
}

/// Judges every rule on `readings` (None: not read this pass, nothing to judge). `confidence`
/// bounds the error-rate tests' false verdicts over every look of the step; `look` is this
/// look's number (whole minutes since the step's clock started, at least 1).
pub fn judge(
    rules: &[Compare],
    readings: Option<&Readings>,
    confidence: f64,
    look: u32,
) -> Judgement {
    let Some(r) = readings else {
        return Judgement::default();
    };
    let mut out = Judgement::default();
    for (i, rule) in rules.iter().enumerate() {
        let (cand, champ) = (value(rule, &r.candidate, i), value(rule, &r.champion, i));
        let (ci, pi) = (r.candidate.invocations, r.champion.invocations);
        let needed = rule.min_invocations;
        let (verdict, message) = if ci < needed || pi < needed {
            (
                "Pending",
                format!(
                    "waiting for {needed} requests on each variant (candidate {ci:.0}, champion {pi:.0})"
                ),
            )
        } else {
            match (cand, champ) {
                (Some(c), Some(p)) if is_rate(rule.metric) => {
                    let counts = |v: &VariantReading| sequential::Counts {
                        invocations: v.invocations,
                        errors: v.values.get(i).copied().flatten().unwrap_or(0.0),
                    };
                    rate_verdict(
                        rule,
                        counts(&r.candidate),
                        counts(&r.champion),
                        (c, p),
                        confidence,
                        look,
                    )
                }
                _ if !is_rate(rule.metric) => {
                    latency_verdict(rule, &pairs(rule, r, i), confidence, look)
                }
                _ => (
                    "Pending",
                    "no data point yet for one of the variants".to_owned(),
                ),
            }
        };
        if verdict == "Fail" {
            out.worse
                .get_or_insert(format!("{}: {message}", label(rule)));
        }
        out.views.push(ComparisonView {
            metric: label(rule),
            candidate: cand,
            champion: champ,
            candidate_invocations: ci as i64,
            champion_invocations: pi as i64,
            verdict: verdict.into(),
            message,
            decided_at: None,
        });
    }
    out
}

fn margin_text(rule: &Compare) -> String {
    match rule.margin {
        Margin::Ratio(x) => format!("{x}× the champion"),
        Margin::Increase(d) => format!("the champion + {}", shown(rule, d)),
    }
}

/// An error rate: the sequential test on the step's counts.
fn rate_verdict(
    rule: &Compare,
    cand: sequential::Counts,
    champ: sequential::Counts,
    (c, p): (f64, f64),
    confidence: f64,
    look: u32,
) -> (&'static str, String) {
    let margin = match rule.margin {
        Margin::Ratio(x) => sequential::RateMargin {
            ratio: x,
            increase: 0.0,
        },
        Margin::Increase(d) => sequential::RateMargin {
            ratio: 1.0,
            increase: d / 100.0,
        },
    };
    let l = sequential::look(cand, champ, margin, confidence, look);
    let interval = format!(
        "beyond {}: {:+.2} to {:+.2} points at {:.0} % confidence over every look",
        margin_text(rule),
        100.0 * l.low,
        100.0 * l.high,
        100.0 * confidence
    );
    let facts = format!("candidate {}, champion {}", shown(rule, c), shown(rule, p));
    let (verdict, words) = said(l.verdict);
    (verdict, format!("{facts}: {words} ({interval})"))
}

/// A verdict's name in status, and what it says of the candidate.
fn said(v: sequential::Verdict) -> (&'static str, &'static str) {
    match v {
        sequential::Verdict::Fail => ("Fail", "worse"),
        sequential::Verdict::Pass => ("Pass", "within the margin"),
        sequential::Verdict::Inconclusive => ("Inconclusive", "not yet conclusive"),
    }
}

/// A latency: the sequential test on the minutes both variants served with enough requests.
fn latency_verdict(
    rule: &Compare,
    pairs: &[latency::Pair],
    confidence: f64,
    look: u32,
) -> (&'static str, String) {
    let margin = match rule.margin {
        Margin::Ratio(x) => latency::Margin::Ratio(x),
        Margin::Increase(d) => latency::Margin::Increase(d),
    };
    let Some(l) = latency::look(pairs, margin, confidence, look) else {
        return (
            "Pending",
            format!(
                "waiting for {} minutes with at least {} requests on each variant ({} so far; a {} needs them, CloudWatch's low-sample rule)",
                latency::MIN_MINUTES,
                latency::minute_floor(&rule.statistic),
                pairs.len(),
                rule.statistic
            ),
        );
    };
    let (low, high) = match rule.margin {
        Margin::Ratio(x) => (
            format!("{:.2}×", (l.low + x.ln()).exp()),
            format!("{:.2}×", (l.high + x.ln()).exp()),
        ),
        Margin::Increase(d) => (shown(rule, l.low + d), shown(rule, l.high + d)),
    };
    let interval = format!(
        "per minute the candidate is {low} to {high} the champion's {} over {} minutes, at {:.0} % confidence over every look; margin {}",
        rule.statistic,
        pairs.len(),
        100.0 * confidence,
        margin_text(rule)
    );
    let (verdict, words) = said(l.verdict);
    (verdict, format!("{words}: {interval}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(metric: CompareMetric, margin: Margin, min: f64) -> Compare {
        Compare {
            metric,
            statistic: "p99".into(),
            margin,
            min_invocations: min,
        }
    }

    /// A variant's step: its requests and a rate rule's errors.
    fn side(invocations: f64, value: f64) -> VariantReading {
        VariantReading {
            invocations,
            values: vec![Some(value)],
            minutes: Vec::new(),
        }
    }

    /// A variant's step minute by minute: requests and the latency rule's value of each.
    fn minutes(each: &[(f64, f64)]) -> VariantReading {
        VariantReading {
            invocations: each.iter().map(|(n, _)| n).sum(),
            values: vec![None],
            minutes: (each.iter())
                .map(|(n, v)| crate::plan::observed::MinuteReading {
                    invocations: *n,
                    values: vec![Some(*v)],
                })
                .collect(),
        }
    }

    /// Six minutes of 1,000 requests with a value around `ms` (± 2 %).
    fn steady(ms: f64) -> VariantReading {
        let wobble = [1.0, 1.02, 0.98, 1.01, 0.99, 1.0];
        minutes(&wobble.map(|w| (1000.0, ms * 1000.0 * w)))
    }

    fn verdict(rule: Compare, cand: VariantReading, champ: VariantReading) -> (String, bool) {
        let j = judge(
            &[rule],
            Some(&Readings {
                candidate: cand,
                champion: champ,
            }),
            0.99,
            5,
        );
        (j.views[0].verdict.clone(), j.worse.is_some())
    }

    #[test]
    fn a_comparison_judges_only_with_enough_requests_on_both_sides_and_by_its_margin() {
        use CompareMetric::*;
        let lat = |m| rule(ModelLatency, m, 100.0);
        let cases: Vec<(&str, Compare, VariantReading, VariantReading, &str)> = vec![
            (
                "too few requests on the candidate",
                lat(Margin::Ratio(1.2)),
                minutes(&[(50.0, 900_000.0)]),
                steady(100.0),
                "Pending",
            ),
            (
                "too few on the champion",
                lat(Margin::Ratio(1.2)),
                steady(900.0),
                minutes(&[(99.0, 100_000.0)]),
                "Pending",
            ),
            (
                "as fast, minute after minute: within the ratio",
                lat(Margin::Ratio(1.2)),
                steady(100.0),
                steady(100.0),
                "Pass",
            ),
            (
                "half as slow again, minute after minute: beyond the ratio",
                lat(Margin::Ratio(1.2)),
                steady(150.0),
                steady(100.0),
                "Fail",
            ),
            (
                "beyond an increase of 50 ms",
                lat(Margin::Increase(50_000.0)),
                steady(170.0),
                steady(100.0),
                "Fail",
            ),
            (
                "a 5xx rate of 2 % against 1 % with 0.5 points allowed, over 1,000 requests: not yet conclusive",
                rule(Invocation5XXErrorRate, Margin::Increase(0.5), 100.0),
                side(1000.0, 20.0),
                side(1000.0, 10.0),
                "Inconclusive",
            ),
            (
                "the same rates over 20,000 requests each: worse, with confidence",
                rule(Invocation5XXErrorRate, Margin::Increase(0.5), 100.0),
                side(20_000.0, 400.0),
                side(20_000.0, 200.0),
                "Fail",
            ),
            (
                "a 5xx rate within 2 points over 20,000 requests each",
                rule(Invocation5XXErrorRate, Margin::Increase(2.0), 100.0),
                side(20_000.0, 400.0),
                side(20_000.0, 200.0),
                "Pass",
            ),
            (
                "one 5xx in 100 against a champion at 0 with a ratio: no evidence",
                rule(Invocation5XXErrorRate, Margin::Ratio(1.5), 100.0),
                side(100.0, 1.0),
                side(900.0, 0.0),
                "Inconclusive",
            ),
            (
                "a p99 of minutes with fewer than 1,000 requests is not judged (CloudWatch's low-sample rule)",
                lat(Margin::Ratio(1.2)),
                minutes(&[(999.0, 900_000.0); 6]),
                steady(100.0),
                "Pending",
            ),
        ];
        for (what, r, c, p, expected) in cases {
            let (v, worse) = verdict(r, c, p);
            assert_eq!(v, expected, "{what}");
            assert_eq!(worse, expected == "Fail", "{what}");
        }
    }

    #[test]
    fn a_rate_without_requests_is_no_rate_and_not_a_division_by_zero() {
        let r = rule(
            CompareMetric::Invocation4XXErrorRate,
            Margin::Ratio(2.0),
            0.0,
        );
        let j = judge(
            &[r],
            Some(&Readings {
                candidate: side(0.0, 0.0),
                champion: side(10.0, 1.0),
            }),
            0.99,
            1,
        );
        assert_eq!(j.views[0].verdict, "Pending");
        assert_eq!(j.views[0].candidate, None);
    }
}
