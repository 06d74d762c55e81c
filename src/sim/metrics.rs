//! What the simulated CloudWatch answers GetMetricData with: either values a scenario scripts
//! (`metrics`), or draws from a traffic model (`traffic`) — Poisson requests per minute split
//! by the variants' weights, binomial 5xx, lognormal model latency — so scenarios and the
//! analysis benchmark exercise the statistics instead of constants.
//!
//! A minute's draws depend only on the scenario's seed, the variant's role and the minute, so
//! reading the same minute twice gives the same answer, as CloudWatch's stored data does. A
//! statistic is computed from the minute's samples as CloudWatch defines it (CW-33, CW-34):
//! Sum, SampleCount, Average, Minimum, Maximum, and `pNN` by nearest rank.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution, LogNormal, Poisson};
use serde::Deserialize;

/// The traffic a scenario's endpoint receives, and how each role's variant answers it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficModel {
    /// Requests per minute to the endpoint, split between its variants by weight.
    pub requests_per_minute: f64,
    pub champion: VariantModel,
    pub candidate: VariantModel,
}

/// How one variant answers: its latency distribution and its 5xx share.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantModel {
    /// Median ModelLatency in milliseconds (a lognormal's).
    pub latency_ms: f64,
    /// Spread of the lognormal: the standard deviation of ln(latency) (default 0.5).
    #[serde(default = "default_spread")]
    pub spread: f64,
    /// Percent of requests answered with a 5xx.
    #[serde(default)]
    pub error_percent: f64,
}

fn default_spread() -> f64 {
    0.5
}

/// One variant's requests in one minute.
struct Minute {
    requests: u64,
    errors: u64,
    /// ModelLatency of each request, microseconds.
    latencies: Vec<f64>,
}

/// Draws `share` of the model's traffic for `role` in the minute starting at `minute`
/// (epoch seconds).
fn draw(model: &TrafficModel, role: &str, share: f64, seed: u64, minute: i64) -> Minute {
    let v = if role == "champion" {
        &model.champion
    } else {
        &model.candidate
    };
    let salt = if role == "champion" { 1 } else { 2 };
    let mut rng =
        StdRng::seed_from_u64(seed ^ (minute as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt);
    let mean = (model.requests_per_minute * share).max(0.0);
    let requests = match Poisson::new(mean) {
        Ok(p) => p.sample(&mut rng) as u64,
        Err(_) => 0,
    };
    let p = (v.error_percent / 100.0).clamp(0.0, 1.0);
    let errors = Binomial::new(requests, p).map_or(0, |b| b.sample(&mut rng));
    let latencies = match LogNormal::new((v.latency_ms * 1_000.0).max(1.0).ln(), v.spread.max(0.0))
    {
        Ok(d) => (0..requests).map(|_| d.sample(&mut rng)).collect(),
        Err(_) => Vec::new(),
    };
    Minute {
        requests,
        errors,
        latencies,
    }
}

/// `stat` of `metric` over the minutes drawn; None without requests (CloudWatch has no data
/// point then).
fn statistic(metric: &str, stat: &str, minutes: &[Minute]) -> Option<f64> {
    let requests: u64 = minutes.iter().map(|m| m.requests).sum();
    match metric {
        "Invocations" => return Some(requests as f64).filter(|_| requests > 0),
        "Invocation5XXErrors" | "Invocation4XXErrors" if requests > 0 => {
            let errors: u64 = if metric == "Invocation5XXErrors" {
                minutes.iter().map(|m| m.errors).sum()
            } else {
                0
            };
            return match stat {
                "Average" => Some(errors as f64 / requests as f64),
                _ => Some(errors as f64),
            };
        }
        "ModelLatency" => {}
        _ => return None,
    }
    let mut all: Vec<f64> = (minutes.iter())
        .flat_map(|m| m.latencies.iter().copied())
        .collect();
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    let n = all.len() as f64;
    match stat {
        "Sum" => Some(all.iter().sum()),
        "SampleCount" => Some(n),
        "Average" => Some(all.iter().sum::<f64>() / n),
        "Minimum" => all.first().copied(),
        "Maximum" => all.last().copied(),
        p => {
            let q: f64 = p.strip_prefix('p')?.parse().ok()?;
            // Nearest rank: the smallest value with at least q % of the points at or below.
            let rank = ((q / 100.0) * n).ceil().max(1.0) as usize;
            all.get(rank - 1).copied()
        }
    }
}

/// What a query for `role`'s `metric` / `stat` answers over the whole minutes from `from`
/// (epoch seconds, a minute boundary) for `count` minutes: one value for all of them, or one
/// per minute.
pub(super) fn answer(
    model: &TrafficModel,
    seed: u64,
    (role, share): (&str, f64),
    (metric, stat): (&str, &str),
    (from, count): (i64, i64),
    per_minute: bool,
) -> Vec<Option<f64>> {
    let minutes: Vec<Minute> = (0..count.max(0))
        .map(|i| draw(model, role, share, seed, from + 60 * i))
        .collect();
    if per_minute {
        (minutes.iter())
            .map(|m| statistic(metric, stat, std::slice::from_ref(m)))
            .collect()
    } else {
        vec![statistic(metric, stat, &minutes)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> TrafficModel {
        TrafficModel {
            requests_per_minute: 1_000.0,
            champion: VariantModel {
                latency_ms: 100.0,
                spread: 0.5,
                error_percent: 1.0,
            },
            candidate: VariantModel {
                latency_ms: 200.0,
                spread: 0.5,
                error_percent: 5.0,
            },
        }
    }

    #[test]
    fn draws_follow_the_model_and_a_minute_reads_the_same_twice() {
        let m = model();
        let one = |role, metric, stat| {
            answer(&m, 7, (role, 0.5), (metric, stat), (6_000, 30), false)[0].unwrap()
        };
        let requests = one("candidate", "Invocations", "Sum");
        assert!((requests - 15_000.0).abs() < 500.0, "{requests}");
        let rate = one("candidate", "Invocation5XXErrors", "Sum") / requests;
        assert!((rate - 0.05).abs() < 0.01, "{rate}");
        let median = one("champion", "ModelLatency", "p50");
        assert!((median - 100_000.0).abs() < 5_000.0, "{median}");
        assert!(one("candidate", "ModelLatency", "p50") > 1.8 * median);
        let per_minute = |seed| {
            answer(
                &m,
                seed,
                ("champion", 0.5),
                ("ModelLatency", "p90"),
                (6_000, 5),
                true,
            )
        };
        assert_eq!(per_minute(7), per_minute(7), "stored data does not change");
        assert_ne!(per_minute(7), per_minute(8));
        assert_eq!(per_minute(7).len(), 5);
    }

    #[test]
    fn percentiles_are_nearest_rank_and_a_minute_without_requests_has_no_point() {
        let m = Minute {
            requests: 4,
            errors: 0,
            latencies: vec![4.0, 1.0, 3.0, 2.0],
        };
        let s = |stat| statistic("ModelLatency", stat, std::slice::from_ref(&m));
        assert_eq!(s("p50"), Some(2.0));
        assert_eq!(s("p99"), Some(4.0));
        assert_eq!(s("SampleCount"), Some(4.0));
        assert_eq!(s("Average"), Some(2.5));
        let empty = Minute {
            requests: 0,
            errors: 0,
            latencies: vec![],
        };
        assert_eq!(statistic("Invocations", "Sum", &[empty]), None);
    }
}
