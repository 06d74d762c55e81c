//! Driving a rollout to rest: reconcile, wait until something is due, repeat. Shared by
//! `apply` (real clock) and `simulate` (virtual clock). Throttling and transient failures back
//! off with jitter and retry; anything else stops the drive.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::{Call, Engine, EngineError, Pass};
use crate::api::{ModelDeploymentSpec, ModelDeploymentStatus};
use crate::plan::POLL;

/// Time as the driver sees it.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    async fn sleep_until(&self, t: Timestamp);
    /// A value in [0, 1) for backoff jitter (deterministic in the simulator).
    fn jitter(&self) -> f64;
}

/// Wall-clock time.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
    async fn sleep_until(&self, t: Timestamp) {
        let wait = t.duration_since(Timestamp::now());
        if let Ok(d) = std::time::Duration::try_from(wait) {
            tokio::time::sleep(d).await;
        }
    }
    fn jitter(&self) -> f64 {
        f64::from(Timestamp::now().subsec_nanosecond().unsigned_abs() % 1000) / 1000.0
    }
}

#[async_trait]
impl Clock for crate::sim::SimClock {
    fn now(&self) -> Timestamp {
        crate::sim::SimClock::now(self)
    }
    async fn sleep_until(&self, t: Timestamp) {
        self.advance_to(t);
    }
    fn jitter(&self) -> f64 {
        0.5
    }
}

/// Limits of one drive.
#[derive(Clone, Copy, Debug)]
pub struct DriveOptions {
    /// Give up after this many reconciles (a safety net against a planner bug).
    pub max_passes: usize,
    /// Consecutive retryable failures tolerated before giving up.
    pub max_retries: u32,
    pub deleting: bool,
}

impl Default for DriveOptions {
    fn default() -> Self {
        Self {
            max_passes: 2_000,
            max_retries: 30,
            deleting: false,
        }
    }
}

/// How a drive ended.
#[derive(Clone, Debug)]
pub struct Rest {
    pub status: Option<ModelDeploymentStatus>,
    pub passes: usize,
    /// The finalizer would be released (deletion finished).
    pub released: bool,
    /// AWS rejected a call for good; the status is Stalled with its message.
    pub rejected: Option<crate::aws::AwsError>,
}

/// What the driver reports as it goes.
pub enum Progress<'a> {
    Pass {
        at: Timestamp,
        pass: &'a Pass,
        calls: &'a [Call],
    },
    Retry {
        at: Timestamp,
        error: &'a EngineError,
        wait: SignedDuration,
        calls: &'a [Call],
    },
}

/// Reconciles until nothing is due: the rollout finished, failed, was rolled back, or is held.
pub async fn drive(
    engine: &Engine,
    spec: &ModelDeploymentSpec,
    clock: &dyn Clock,
    options: DriveOptions,
    mut report: impl FnMut(Progress<'_>),
) -> Result<Rest, EngineError> {
    let mut previous: Option<ModelDeploymentStatus> = None;
    let mut retries = 0u32;
    for passes in 1..=options.max_passes {
        let now = clock.now();
        let mark = engine.call_count();
        match engine
            .reconcile(spec, previous.as_ref(), None, options.deleting, now)
            .await
        {
            Ok(pass) => {
                retries = 0;
                report(Progress::Pass {
                    at: now,
                    pass: &pass,
                    calls: &engine.calls_since(mark),
                });
                previous = Some(pass.status.clone());
                if pass.released {
                    return Ok(Rest {
                        status: previous,
                        passes,
                        released: true,
                        rejected: None,
                    });
                }
                if pass.rejected.is_some() {
                    return Ok(Rest {
                        status: previous,
                        passes,
                        released: false,
                        rejected: pass.rejected,
                    });
                }
                let Some(wake) = pass.plan.next_pass(now, POLL) else {
                    return Ok(Rest {
                        status: previous,
                        passes,
                        released: false,
                        rejected: None,
                    });
                };
                clock.sleep_until(wake).await;
            }
            Err(e) if e.is_retryable() && retries < options.max_retries => {
                retries += 1;
                // Exponential backoff from 2 s, capped at 2 min, with full jitter on top half.
                let base = 2f64.powi(retries.min(6) as i32).min(120.0);
                let wait = SignedDuration::from_secs_f64(base / 2.0 + base / 2.0 * clock.jitter());
                report(Progress::Retry {
                    at: now,
                    error: &e,
                    wait,
                    calls: &engine.calls_since(mark),
                });
                clock.sleep_until(now + wait).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Rest {
        status: previous,
        passes: options.max_passes,
        released: false,
        rejected: None,
    })
}
