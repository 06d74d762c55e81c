//! Always-valid comparison of two latencies, minute by minute: a confidence sequence on the
//! mean per-minute gap between the candidate and the champion beyond the margin, looked at as
//! often as one likes without inflating the chance of a false rollback beyond
//! `1 - confidence`.
//!
//! Why minutes: CloudWatch answers a latency statistic per period, never the requests behind
//! it, so the only samples with a known spread are the per-minute values themselves. Both
//! variants serve the same traffic mix in the same minutes, so each minute is a pair; its gap
//! (`ln(candidate / champion) − ln(ratio)`, or `candidate − champion − increase`) cancels
//! what the minute shares (load, input mix), and one slow minute moves the mean of the gaps
//! by a share, not the verdict. A minute counts only when each variant served enough requests
//! for its value to mean something ([`minute_floor`]).
//!
//! The looks are numbered and budgeted as for error rates ([`super::sequential::spent`]: look
//! `k` spends `alpha · 6 / (π² k²)`, half per direction), and each look is a Student-t
//! interval on the mean gap of the minutes so far (at least [`MIN_MINUTES`]):
//! - **Fail**: the whole interval is above 0 — worse than the margin, with confidence;
//! - **Pass**: the whole interval is at or below 0 — within the margin, with confidence;
//! - **Inconclusive**: neither yet. Pure.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::sequential::{Look, spent};

/// Fewest paired minutes a look judges: a spread needs a few.
pub const MIN_MINUTES: usize = 3;

/// Fewest requests a minute of an average needs on each side: the mean of fewer is biased
/// low on the log scale by up to `σ² / 2` (a lognormal latency's spread), unequally for
/// the two variants when their traffic differs; at 20 the difference stays under 1 %.
pub const AVERAGE_MINUTE_FLOOR: f64 = 20.0;

/// The requests a minute needs on each side for `statistic`: CloudWatch's own floor for a
/// percentile (`10 / (1 − q)`, 1,000 for p99; CW-27), [`AVERAGE_MINUTE_FLOOR`] for Average.
pub fn minute_floor(statistic: &str) -> f64 {
    let floor = percentile_floor(statistic);
    if floor > 0.0 {
        floor
    } else {
        AVERAGE_MINUTE_FLOOR
    }
}

/// How many requests a percentile needs before CloudWatch calls it statistically
/// significant: `10 / (1 − q)` for `q` from 0.5 up (1,000 for p99), `10 / q` below
/// ("Percentile-based alarms and low data samples", CloudWatch guide; CW-27). Average needs
/// no more than the rule's own minimum.
pub fn percentile_floor(statistic: &str) -> f64 {
    statistic
        .strip_prefix('p')
        .and_then(|q| q.parse::<f64>().ok())
        .filter(|q| *q > 0.0 && *q < 100.0)
        .map_or(0.0, |q| {
            let q = q / 100.0;
            // Less a hair: 10 / (1 − 0.9) is 100.000…01 in floating point.
            (if q >= 0.5 { 10.0 / (1.0 - q) } else { 10.0 / q } - 1e-6).ceil()
        })
}

/// What worse than the margin means for a latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Margin {
    /// `candidate > ratio × champion`.
    Ratio(f64),
    /// `candidate > champion + increase` (the metric's unit).
    Increase(f64),
}

/// One minute both variants served: their values of the statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub candidate: f64,
    pub champion: f64,
}

/// The minute's gap beyond the margin; None for a value a ratio cannot take (0 or less).
fn gap(p: Pair, margin: Margin) -> Option<f64> {
    match margin {
        Margin::Ratio(r) => (p.candidate > 0.0 && p.champion > 0.0 && r > 0.0)
            .then(|| (p.candidate / p.champion).ln() - r.ln()),
        Margin::Increase(d) => Some(p.candidate - p.champion - d),
    }
}

/// Judges look `k` of a step with `confidence` on the paired minutes so far; None before
/// [`MIN_MINUTES`] minutes count.
pub fn look(pairs: &[Pair], margin: Margin, confidence: f64, k: u32) -> Option<Look> {
    let gaps: Vec<f64> = pairs.iter().filter_map(|p| gap(*p, margin)).collect();
    if gaps.len() < MIN_MINUTES {
        return None;
    }
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let alpha = spent(1.0 - confidence, k);
    let t = StudentsT::new(0.0, 1.0, n - 1.0).ok()?;
    let half = t.inverse_cdf(1.0 - alpha / 2.0) * (var / n).sqrt();
    Some(Look::around(mean, half, alpha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::sequential::Verdict;

    fn pairs(ratios: &[f64]) -> Vec<Pair> {
        ratios
            .iter()
            .map(|r| Pair {
                candidate: 100.0 * r,
                champion: 100.0,
            })
            .collect()
    }

    #[test]
    fn a_look_needs_three_minutes_and_judges_the_gap_beyond_the_margin() {
        let m = Margin::Ratio(1.2);
        assert_eq!(look(&pairs(&[2.0, 2.0]), m, 0.99, 2), None);
        type Row = (&'static str, Vec<f64>, Verdict);
        let rows: Vec<Row> = vec![
            (
                "twice as slow, steadily: worse with confidence",
                vec![2.0, 2.1, 1.9, 2.0, 2.05, 1.95],
                Verdict::Fail,
            ),
            (
                "as fast, steadily: within with confidence",
                vec![1.0, 1.02, 0.98, 1.01, 0.99, 1.0],
                Verdict::Pass,
            ),
            (
                "noisy around the margin: not yet",
                vec![1.0, 1.5, 1.1, 1.4, 1.2],
                Verdict::Inconclusive,
            ),
        ];
        for (what, ratios, expected) in rows {
            let l = look(&pairs(&ratios), m, 0.99, ratios.len() as u32).unwrap();
            assert_eq!(l.verdict, expected, "{what}: {l:?}");
        }
    }

    #[test]
    fn one_slow_minute_does_not_fail_an_equal_candidate() {
        let l = look(
            &pairs(&[1.0, 1.02, 0.97, 9.0, 1.01, 0.99, 1.0, 1.03]),
            Margin::Ratio(1.2),
            0.99,
            8,
        )
        .unwrap();
        assert_ne!(l.verdict, Verdict::Fail, "{l:?}");
    }

    #[test]
    fn an_increase_margin_is_a_difference_in_the_metrics_unit() {
        let p = |c: f64| Pair {
            candidate: c,
            champion: 100.0,
        };
        let worse: Vec<Pair> = [180.0, 175.0, 185.0, 178.0, 182.0, 176.0, 181.0, 179.0]
            .map(p)
            .to_vec();
        let l = look(&worse, Margin::Increase(50.0), 0.99, 8).unwrap();
        assert_eq!(l.verdict, Verdict::Fail, "{l:?}");
        assert!(l.low > 0.0 && l.high > l.low);
    }

    #[test]
    fn each_side_needs_the_requests_cloudwatch_asks_for_a_percentile() {
        assert_eq!(minute_floor("p99"), 1000.0);
        assert_eq!(minute_floor("p90"), 100.0);
        assert_eq!(minute_floor("Average"), AVERAGE_MINUTE_FLOOR);
    }

    #[test]
    fn percentiles_need_the_samples_cloudwatch_asks_for() {
        for (statistic, floor) in [
            ("p99", 1000.0),
            ("p90", 100.0),
            ("p50", 20.0),
            ("p10", 100.0),
            ("Average", 0.0),
            ("p99.9", 10_000.0),
        ] {
            assert_eq!(percentile_floor(statistic), floor, "{statistic}");
        }
    }
}
