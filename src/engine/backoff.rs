//! The one retry policy of both front ends (the CLI's drive loop and the controller's error
//! policy): after a pass fails for a passing reason (throttling, network, 5xx), wait an
//! exponentially growing delay from 2 s, capped at 5 min, with jitter on its upper half so
//! that a throttled fleet does not retry in lockstep. The growth comes from `backon`; the
//! jitter comes from the caller, so the simulator stays deterministic.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// First delay.
pub const MIN: Duration = Duration::from_secs(2);
/// Longest delay.
pub const MAX: Duration = Duration::from_secs(300);

/// The wait after the `failures`-th consecutive failure (1-based), given `jitter` in [0, 1):
/// the delay's lower half is fixed, its upper half scaled by `jitter`.
pub fn delay(failures: u32, jitter: f64) -> Duration {
    let base = ExponentialBuilder::default()
        .with_min_delay(MIN)
        .with_max_delay(MAX)
        .with_factor(2.0)
        .without_max_times()
        .build()
        .nth(failures.saturating_sub(1).min(64) as usize)
        .unwrap_or(MAX);
    let jitter = jitter.clamp(0.0, 1.0);
    base.mul_f64(0.5 + 0.5 * jitter)
}

/// The wait after the `conflicts`-th consecutive write conflict (another writer changed the
/// resource first): half a second, doubling to 30 s, jittered like [`delay`]. A conflict
/// passes by itself, but each retry is a whole pass with its AWS reads, so a resource some
/// other tool keeps writing must not be retried at a constant rate.
pub fn conflict_delay(conflicts: u32, jitter: f64) -> Duration {
    let base = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_factor(2.0)
        .without_max_times()
        .build()
        .nth(conflicts.saturating_sub(1).min(64) as usize)
        .unwrap_or(Duration::from_secs(30));
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_back_off_from_half_a_second_up_to_thirty() {
        assert_eq!(conflict_delay(1, 1.0), Duration::from_millis(500));
        assert_eq!(conflict_delay(2, 1.0), Duration::from_secs(1));
        assert_eq!(conflict_delay(4, 1.0), Duration::from_secs(4));
        assert_eq!(conflict_delay(50, 1.0), Duration::from_secs(30));
        assert_eq!(conflict_delay(3, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn delays_double_from_two_seconds_up_to_five_minutes() {
        assert_eq!(delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(delay(2, 1.0), Duration::from_secs(4));
        assert_eq!(delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(delay(20, 1.0), MAX);
        assert_eq!(delay(1000, 1.0), MAX);
    }

    #[test]
    fn jitter_spreads_the_upper_half_only() {
        assert_eq!(delay(3, 0.0), Duration::from_secs(4));
        assert!(delay(3, 0.5) > Duration::from_secs(4) && delay(3, 0.5) < Duration::from_secs(8));
    }
}
