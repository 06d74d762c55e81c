//! Candidate against champion: judging the readings of both variants over the current step
//! (`analysis.compare`) into a verdict per rule. A rule judges only once each variant has
//! served `minInvocations` in the step and both have a value; then the candidate is worse
//! when it exceeds the champion by more than the margin (a ratio, or an increase in the
//! metric's own unit). Error rates are computed here from the per-step sums, so a step
//! without requests has no rate (never a division by zero). Pure.

use crate::api::valid::{Compare, Margin};
use crate::api::{CompareMetric, ComparisonView};
use crate::plan::observed::{Readings, VariantReading};

/// The verdicts of every rule, and the first failure, if any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    pub views: Vec<ComparisonView>,
    pub worse: Option<String>,
}

fn is_rate(m: CompareMetric) -> bool {
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

fn value(rule: &Compare, v: &VariantReading, i: usize) -> Option<f64> {
    let raw = v.values.get(i).copied().flatten()?;
    if is_rate(rule.metric) {
        (v.invocations > 0.0).then(|| 100.0 * raw / v.invocations)
    } else {
        Some(raw)
    }
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

/// Judges every rule on `readings` (None: not read this pass, nothing to judge).
pub fn judge(rules: &[Compare], readings: Option<&Readings>) -> Judgement {
    let Some(r) = readings else {
        return Judgement::default();
    };
    let mut out = Judgement::default();
    for (i, rule) in rules.iter().enumerate() {
        let (cand, champ) = (value(rule, &r.candidate, i), value(rule, &r.champion, i));
        let (ci, pi) = (r.candidate.invocations, r.champion.invocations);
        let (verdict, message) = if ci < rule.min_invocations || pi < rule.min_invocations {
            (
                "Pending",
                format!(
                    "waiting for {} requests on each variant (candidate {ci:.0}, champion {pi:.0})",
                    rule.min_invocations
                ),
            )
        } else {
            match (cand, champ) {
                (Some(c), Some(p)) => {
                    let (limit, margin) = match rule.margin {
                        Margin::Ratio(x) => (p * x, format!("{x}× the champion")),
                        Margin::Increase(d) => {
                            (p + d, format!("the champion + {}", shown(rule, d)))
                        }
                    };
                    // A ratio of a champion at 0 allows nothing above 0.
                    if c > limit {
                        let why = format!(
                            "{}: candidate {} is worse than {margin} ({} allowed, champion {})",
                            label(rule),
                            shown(rule, c),
                            shown(rule, limit),
                            shown(rule, p)
                        );
                        out.worse.get_or_insert(why.clone());
                        ("Fail", why)
                    } else {
                        (
                            "Pass",
                            format!(
                                "candidate {} within {margin} (champion {})",
                                shown(rule, c),
                                shown(rule, p)
                            ),
                        )
                    }
                }
                _ => (
                    "Pending",
                    "no data point yet for one of the variants".to_owned(),
                ),
            }
        };
        out.views.push(ComparisonView {
            metric: label(rule),
            candidate: cand,
            champion: champ,
            candidate_invocations: ci as i64,
            champion_invocations: pi as i64,
            verdict: verdict.into(),
            message,
        });
    }
    out
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

    fn side(invocations: f64, value: f64) -> VariantReading {
        VariantReading {
            invocations,
            values: vec![Some(value)],
        }
    }

    fn verdict(rule: Compare, cand: VariantReading, champ: VariantReading) -> (String, bool) {
        let j = judge(
            &[rule],
            Some(&Readings {
                candidate: cand,
                champion: champ,
            }),
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
                side(50.0, 900.0),
                side(500.0, 100.0),
                "Pending",
            ),
            (
                "too few on the champion",
                lat(Margin::Ratio(1.2)),
                side(500.0, 900.0),
                side(99.0, 100.0),
                "Pending",
            ),
            (
                "within the ratio",
                lat(Margin::Ratio(1.2)),
                side(500.0, 119_000.0),
                side(500.0, 100_000.0),
                "Pass",
            ),
            (
                "beyond the ratio",
                lat(Margin::Ratio(1.2)),
                side(500.0, 121_000.0),
                side(500.0, 100_000.0),
                "Fail",
            ),
            (
                "beyond an increase of 50 ms",
                lat(Margin::Increase(50_000.0)),
                side(500.0, 151_000.0),
                side(500.0, 100_000.0),
                "Fail",
            ),
            (
                "a 5xx rate of 2 % against 1 % with 0.5 points allowed",
                rule(Invocation5XXErrorRate, Margin::Increase(0.5), 100.0),
                side(1000.0, 20.0),
                side(1000.0, 10.0),
                "Fail",
            ),
            (
                "a 5xx rate within 2 points",
                rule(Invocation5XXErrorRate, Margin::Increase(2.0), 100.0),
                side(1000.0, 20.0),
                side(1000.0, 10.0),
                "Pass",
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
        );
        assert_eq!(j.views[0].verdict, "Pending");
        assert_eq!(j.views[0].candidate, None);
    }
}
