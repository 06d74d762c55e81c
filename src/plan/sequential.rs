//! Always-valid comparison of two error rates: a confidence sequence on the candidate's rate
//! minus the champion's (scaled), looked at as often as one likes without inflating the
//! chance of a false rollback beyond `1 - confidence`.
//!
//! How: the step's looks are numbered by the complete minutes of data they judge (the caller
//! reads CloudWatch only up to the last whole minute, so a look's data changes only as late
//! points of its last minute arrive), and look `k` spends `alpha · 6 / (π² k²)` of the error
//! budget, half for each direction — the sum over every look is `alpha`, so a union bound
//! holds whatever the number of looks (a Bonferroni confidence sequence). At each look, the
//! Agresti–Caffo estimate (one error and one success added to each side, which keeps a
//! champion at 0 errors from making any candidate error a certainty), with each side's
//! variance floored at what the margin's boundary implies, bounds
//! `candidate − ratio × champion − increase`:
//! - **Fail**: the whole interval is above 0 — worse than the margin, with confidence;
//! - **Pass**: the whole interval is at or below 0 — within the margin, with confidence;
//! - **Inconclusive**: neither yet.
//!
//! Pure; measured against the point-estimate judge it replaces in `examples/analysis_bench.rs`
//! (docs/benchmarks.md).

use statrs::distribution::{ContinuousCDF, Normal};

/// A variant's requests and errors over the step so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counts {
    pub invocations: f64,
    pub errors: f64,
}

/// What worse than the margin means: `candidate > ratio × champion + increase` (rates as
/// fractions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateMargin {
    pub ratio: f64,
    pub increase: f64,
}

/// The verdict of one look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Fail,
    Pass,
    Inconclusive,
}

/// The outcome of one look, with the interval it rests on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    pub verdict: Verdict,
    /// Interval on `candidate − ratio × champion − increase` (fractions).
    pub low: f64,
    pub high: f64,
    /// The share of the error budget this look spends.
    pub alpha: f64,
}

impl Verdict {
    /// The verdict of an interval on "how much worse than the margin": above 0 throughout
    /// is worse with confidence, at or below 0 throughout is within it.
    pub fn of(low: f64, high: f64) -> Self {
        if low > 0.0 {
            Self::Fail
        } else if high <= 0.0 {
            Self::Pass
        } else {
            Self::Inconclusive
        }
    }
}

/// The share of `alpha` look `k` (1-based) may spend: `alpha · 6 / (π² k²)`.
pub fn spent(alpha: f64, k: u32) -> f64 {
    let k = f64::from(k.max(1));
    alpha * 6.0 / (std::f64::consts::PI.powi(2) * k * k)
}

/// Judges look `k` of a step with `confidence` (e.g. 0.99).
pub fn look(
    candidate: Counts,
    champion: Counts,
    margin: RateMargin,
    confidence: f64,
    k: u32,
) -> Look {
    let alpha = spent(1.0 - confidence, k);
    // One-sided at alpha per direction would spend 2·alpha per look; each direction gets
    // half, so Fail alone (the decision that acts) stays within the budget either way.
    let z = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
    let adjusted = |c: Counts| {
        let n = c.invocations.max(0.0) + 2.0;
        ((c.errors.clamp(0.0, c.invocations.max(0.0)) + 1.0) / n, n)
    };
    let (pc, nc) = adjusted(candidate);
    let (pp, np) = adjusted(champion);
    let d = pc - margin.ratio * pp - margin.increase;
    // Each side's variance at least what the boundary of the margin implies for it: a
    // champion whose few errors came out low by chance (its estimate and its variance with
    // it) would otherwise narrow the interval into false rollbacks, worst where the
    // candidate takes most of the traffic (a Linear step at 60–90 %).
    let qc = pc.max(margin.ratio * pp + margin.increase).min(1.0);
    let qp = pp.max((pc - margin.increase) / margin.ratio).min(1.0);
    let se = (qc * (1.0 - qc) / nc + margin.ratio * margin.ratio * qp * (1.0 - qp) / np).sqrt();
    Look::around(d, z * se, alpha)
}

impl Look {
    /// The look whose interval is `estimate ± half`, spending `alpha`.
    pub fn around(estimate: f64, half: f64, alpha: f64) -> Self {
        let (low, high) = (estimate - half, estimate + half);
        Self {
            verdict: Verdict::of(low, high),
            low,
            high,
            alpha,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(invocations: f64, errors: f64) -> Counts {
        Counts {
            invocations,
            errors,
        }
    }

    const ONE_POINT: RateMargin = RateMargin {
        ratio: 1.0,
        increase: 0.01,
    };

    #[test]
    fn the_budget_over_every_look_is_alpha() {
        let total: f64 = (1..100_000).map(|k| spent(0.01, k)).sum();
        assert!(total < 0.01 && total > 0.0099, "{total}");
    }

    #[test]
    fn each_verdict_needs_its_evidence() {
        let rows = [
            (
                "one 5xx in 100 against a champion at 0 is no evidence",
                c(100.0, 1.0),
                c(900.0, 0.0),
                1,
                Verdict::Inconclusive,
            ),
            (
                "6 % against 1 % over 2,000 requests each is worse than one point",
                c(2000.0, 120.0),
                c(2000.0, 20.0),
                10,
                Verdict::Fail,
            ),
            (
                "equal rates over 10,000 requests each are within one point",
                c(10_000.0, 100.0),
                c(90_000.0, 900.0),
                10,
                Verdict::Pass,
            ),
            (
                "a few requests say nothing either way",
                c(20.0, 0.0),
                c(180.0, 2.0),
                1,
                Verdict::Inconclusive,
            ),
            (
                "the same evidence at a later look is held to a stricter bar",
                c(400.0, 20.0),
                c(3600.0, 10.0),
                1,
                Verdict::Fail,
            ),
            (
                "... and stops being enough",
                c(400.0, 20.0),
                c(3600.0, 10.0),
                60,
                Verdict::Inconclusive,
            ),
        ];
        for (what, cand, champ, k, expected) in rows {
            let l = look(cand, champ, ONE_POINT, 0.99, k);
            assert_eq!(l.verdict, expected, "{what}: {l:?}");
        }
    }

    #[test]
    fn a_champion_whose_few_errors_came_out_low_does_not_narrow_the_interval() {
        // A 90 % Linear step: 9,000 candidate requests at 11 %, 1,000 champion requests at
        // 7 % (its true rate 10 %, drawn low): without the variance floor, a false Fail.
        let l = look(c(9000.0, 990.0), c(1000.0, 70.0), ONE_POINT, 0.99, 2);
        assert_eq!(l.verdict, Verdict::Inconclusive, "{l:?}");
    }

    #[test]
    fn a_ratio_against_a_champion_at_zero_still_needs_evidence() {
        let doubled = RateMargin {
            ratio: 2.0,
            increase: 0.0,
        };
        let l = look(c(200.0, 1.0), c(1800.0, 0.0), doubled, 0.99, 3);
        assert_eq!(l.verdict, Verdict::Inconclusive, "{l:?}");
        let l = look(c(2000.0, 100.0), c(18_000.0, 0.0), doubled, 0.99, 3);
        assert_eq!(l.verdict, Verdict::Fail, "{l:?}");
    }
}
