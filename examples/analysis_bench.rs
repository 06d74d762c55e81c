//! Error-rate comparison, measured (a benchmark, not a test): Monte-Carlo canary steps with
//! Poisson traffic and binomial errors, judged once a minute for a 10-minute bake by the
//! point-estimate judge of earlier versions (`candidate rate > champion rate + margin` as
//! soon as both sides served `minInvocations`) and by the sequential test
//! (`plan::compare::judge`, confidence 0.99), on the same simulated steps.
//!
//! `cargo run --example analysis_bench [STEPS]` (default 2,000 steps a cell) prints
//! one Markdown table: per traffic level, split and effect, the share of steps each judge
//! failed (rolled back) and the median minute of the failures. The rule is
//! `Invocation5XXErrorRate` with `maxIncrease: 1` (one percentage point) and
//! `minInvocations: 100`. The splits: a 10 % canary step (the champion serves 9 requests for
//! each of the candidate's) and a 90 % Linear step (1 for 9). Looks are once a minute on whole
//! minutes, as the controller judges them.
//!
//! A second table does the same for `ModelLatency` with `maxRatio: 1.2` (Average and p99) in
//! the 10 % canary step: lognormal latencies (median 100 ms, σ 0.5 of the log), the candidate
//! identical or its every request 1.25× or 2× slower. The earlier judge compared the step's
//! cumulative values once both sides served 100 requests (`candidate > 1.2 × champion`); the
//! sequential test judges the per-minute values (`plan::latency`) as the controller does.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution, LogNormal, Poisson};
use sagemaker_rollout::api::CompareMetric;
use sagemaker_rollout::api::valid::{Compare, Margin};
use sagemaker_rollout::plan::compare::judge;
use sagemaker_rollout::plan::observed::{MinuteReading, Readings, VariantReading};

const MINUTES: u32 = 10;
const MARGIN_POINTS: f64 = 1.0;
const MIN_INVOCATIONS: f64 = 100.0;

struct Side {
    invocations: u64,
    errors: u64,
}

fn minute(rng: &mut StdRng, rate_per_min: f64, p: f64, side: &mut Side) {
    let n = Poisson::new(rate_per_min).map_or(0.0, |d| d.sample(rng)) as u64;
    let e = Binomial::new(n, p.clamp(0.0, 1.0)).map_or(0, |d| d.sample(rng));
    side.invocations += n;
    side.errors += e;
}

/// The point-estimate judge of earlier versions.
fn old_fails(c: &Side, p: &Side) -> bool {
    let (ci, pi) = (c.invocations as f64, p.invocations as f64);
    if ci < MIN_INVOCATIONS || pi < MIN_INVOCATIONS {
        return false;
    }
    100.0 * c.errors as f64 / ci > 100.0 * p.errors as f64 / pi + MARGIN_POINTS
}

fn new_fails(rule: &Compare, c: &Side, p: &Side, look: u32) -> bool {
    let reading = |s: &Side| VariantReading {
        invocations: s.invocations as f64,
        values: vec![Some(s.errors as f64)],
        minutes: Vec::new(),
    };
    let readings = Readings {
        candidate: reading(c),
        champion: reading(p),
    };
    judge(std::slice::from_ref(rule), Some(&readings), 0.99, look)
        .worse
        .is_some()
}

/// One cell: the share of steps each judge failed, and the median minute of failure.
fn cell(
    steps: u32,
    per_min: f64,
    champion_share: f64,
    champion: f64,
    effect: f64,
    seed: u64,
) -> [(f64, Option<u32>); 2] {
    let rule = Compare {
        metric: CompareMetric::Invocation5XXErrorRate,
        statistic: "Sum".into(),
        margin: Margin::Increase(MARGIN_POINTS),
        min_invocations: MIN_INVOCATIONS,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut when: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..steps {
        let (mut c, mut p) = (
            Side {
                invocations: 0,
                errors: 0,
            },
            Side {
                invocations: 0,
                errors: 0,
            },
        );
        let mut failed = [None, None];
        for m in 1..=MINUTES {
            minute(&mut rng, per_min, champion + effect, &mut c);
            minute(&mut rng, champion_share * per_min, champion, &mut p);
            if failed[0].is_none() && old_fails(&c, &p) {
                failed[0] = Some(m);
            }
            if failed[1].is_none() && new_fails(&rule, &c, &p, m) {
                failed[1] = Some(m);
            }
        }
        for (judge, at) in failed.iter().enumerate() {
            if let Some(m) = at {
                when[judge].push(*m);
            }
        }
    }
    when.map(|mut w| {
        w.sort_unstable();
        (
            100.0 * w.len() as f64 / f64::from(steps),
            w.get(w.len() / 2).copied(),
        )
    })
}

fn main() {
    let steps: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!(
        "{steps} simulated 10-minute steps per cell; rule Invocation5XXErrorRate, maxIncrease 1 point, minInvocations 100.\n"
    );
    println!(
        "| candidate req/min | step | champion 5xx | candidate 5xx | truth | earlier judge: failed | minute | sequential (0.99): failed | minute |"
    );
    println!("|---:|---|---:|---:|---|---:|---:|---:|---:|");
    let mut seed = 1;
    let cells = [
        (10.0, 9.0, "10 %", [0.0, 0.01]),
        (100.0, 9.0, "10 %", [0.0, 0.01]),
        (1000.0, 9.0, "10 %", [0.0, 0.01]),
        (100.0, 1.0 / 9.0, "90 %", [0.01, 0.1]),
        (1000.0, 1.0 / 9.0, "90 %", [0.01, 0.1]),
    ];
    for (per_min, share, split, champions) in cells {
        for champion in champions {
            for (effect, truth) in [
                (0.0, "identical: a failure is false"),
                (0.01, "at the margin: a failure is false"),
                (0.05, "+5 points: a failure is a catch"),
            ] {
                seed += 1;
                let [old, new] = cell(steps, per_min, share, champion, effect, seed);
                let minute = |m: Option<u32>| m.map_or("—".to_owned(), |m| m.to_string());
                println!(
                    "| {per_min:.0} | {split} | {:.0} % | {:.0} % | {truth} | {:.1} % | {} | {:.1} % | {} |",
                    100.0 * champion,
                    100.0 * (champion + effect),
                    old.0,
                    minute(old.1),
                    new.0,
                    minute(new.1)
                );
            }
        }
    }
    latency_table(steps);
}

/// The nearest-rank percentile `q` (0–100) of `xs`, or the average for `q` of None.
fn stat(xs: &mut [f64], q: Option<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    match q {
        None => Some(xs.iter().sum::<f64>() / xs.len() as f64),
        Some(q) => {
            let rank = ((q / 100.0) * xs.len() as f64).ceil().max(1.0) as usize;
            let (_, v, _) = xs.select_nth_unstable_by(rank - 1, f64::total_cmp);
            Some(*v)
        }
    }
}

/// One latency cell: for Average and p99, the share of steps each judge failed and the
/// median minute of failure.
fn latency_cell(steps: u32, per_min: f64, effect: f64, seed: u64) -> [[(f64, Option<u32>); 2]; 2] {
    let mut rng = StdRng::seed_from_u64(seed);
    let latency = LogNormal::new((100_000.0_f64).ln(), 0.5).expect("a lognormal");
    let stats = [(None, "Average"), (Some(99.0), "p99")];
    let mut when = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for _ in 0..steps {
        let mut pooled = [Vec::new(), Vec::new()];
        let mut sides: [[VariantReading; 2]; 2] = Default::default();
        let mut failed = [[None, None], [None, None]];
        for m in 1..=MINUTES {
            for (v, (rate, scale)) in [(per_min, effect), (9.0 * per_min, 1.0)].iter().enumerate() {
                let n = Poisson::new(*rate).map_or(0.0, |d| d.sample(&mut rng)) as usize;
                let mut minute: Vec<f64> =
                    (0..n).map(|_| scale * latency.sample(&mut rng)).collect();
                pooled[v].extend_from_slice(&minute);
                for (s, (q, _)) in stats.iter().enumerate() {
                    let side = &mut sides[s][v];
                    side.invocations += n as f64;
                    side.values = vec![None];
                    side.minutes.push(MinuteReading {
                        invocations: n as f64,
                        values: vec![stat(&mut minute, *q)],
                    });
                }
            }
            for (s, (q, name)) in stats.iter().enumerate() {
                let [c, p] = &mut pooled;
                let enough = c.len() as f64 >= MIN_INVOCATIONS && p.len() as f64 >= MIN_INVOCATIONS;
                if failed[s][0].is_none()
                    && enough
                    && stat(c, *q)
                        .zip(stat(p, *q))
                        .is_some_and(|(c, p)| c > 1.2 * p)
                {
                    failed[s][0] = Some(m);
                }
                let rule = Compare {
                    metric: CompareMetric::ModelLatency,
                    statistic: (*name).into(),
                    margin: Margin::Ratio(1.2),
                    min_invocations: MIN_INVOCATIONS,
                };
                let readings = Readings {
                    candidate: sides[s][0].clone(),
                    champion: sides[s][1].clone(),
                };
                if failed[s][1].is_none()
                    && judge(std::slice::from_ref(&rule), Some(&readings), 0.99, m)
                        .worse
                        .is_some()
                {
                    failed[s][1] = Some(m);
                }
            }
        }
        for s in 0..2 {
            for j in 0..2 {
                if let Some(m) = failed[s][j] {
                    when[s][j].push(m);
                }
            }
        }
    }
    when.map(|by_judge| {
        by_judge.map(|mut w| {
            w.sort_unstable();
            (
                100.0 * w.len() as f64 / f64::from(steps),
                w.get(w.len() / 2).copied(),
            )
        })
    })
}

fn latency_table(steps: u32) {
    println!(
        "\n{steps} simulated 10-minute steps per cell, 10 % canary step; rule ModelLatency, maxRatio 1.2, minInvocations 100.\n"
    );
    println!(
        "| candidate req/min | statistic | candidate latency | truth | earlier judge: failed | minute | sequential (0.99): failed | minute |"
    );
    println!("|---:|---|---|---|---:|---:|---:|---:|");
    let mut seed = 1000;
    for per_min in [10.0, 100.0, 1000.0] {
        for (effect, latency, truth) in [
            (1.0, "identical", "a failure is false"),
            (1.25, "×1.25", "beyond the margin: a failure is a catch"),
            (2.0, "×2", "a failure is a catch"),
        ] {
            seed += 1;
            let by_stat = latency_cell(steps, per_min, effect, seed);
            for (s, name) in ["Average", "p99"].iter().enumerate() {
                let [old, new] = by_stat[s];
                let minute = |m: Option<u32>| m.map_or("—".to_owned(), |m| m.to_string());
                println!(
                    "| {per_min:.0} | {name} | {latency} | {truth} | {:.1} % | {} | {:.1} % | {} |",
                    old.0,
                    minute(old.1),
                    new.0,
                    minute(new.1)
                );
            }
        }
    }
}
