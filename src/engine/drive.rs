//! Driving a rollout to rest: reconcile, wait until something is due, repeat. Shared by
//! `apply` and `delete` (real clock) and `simulate` (virtual clock). Throttling and transient
//! failures back off (see [`super::backoff`]) and retry; anything else stops the drive.

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::{Call, Engine, EngineError, Pass, backoff};
use crate::api::{Gate, ModelDeploymentStatus, Teardown, ValidSpec};
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
        if let Ok(d) = Duration::try_from(wait) {
            tokio::time::sleep(d).await;
        }
    }
    fn jitter(&self) -> f64 {
        f64::from(Timestamp::now().subsec_nanosecond().unsigned_abs() % 1000) / 1000.0
    }
}

/// Limits of one drive.
#[derive(Clone, Copy, Debug)]
pub struct DriveOptions {
    /// Give up after this many reconciles (a safety net against a planner bug).
    pub max_passes: usize,
    /// Consecutive retryable failures tolerated before giving up.
    pub max_retries: u32,
    /// How soon to look again while SageMaker transitions.
    pub poll: Duration,
}

impl Default for DriveOptions {
    fn default() -> Self {
        Self {
            max_passes: 2_000,
            max_retries: 30,
            poll: POLL,
        }
    }
}

/// What a drive does.
#[derive(Clone, Copy, Debug)]
pub enum Goal<'a> {
    /// Roll the spec out.
    Apply(&'a ValidSpec),
    /// Delete what the resource owns, as its deletion policy says.
    Delete(&'a Teardown),
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
    /// On-call asked for `gate` on the rollout the status showed (`simulate` scenarios).
    Request {
        at: Timestamp,
        gate: Gate,
        rollout: Option<&'a str>,
    },
}

/// Reconciles until nothing is due: the rollout finished, failed, was rolled back, or is held.
pub async fn drive(
    engine: &Engine,
    goal: Goal<'_>,
    clock: &dyn Clock,
    options: DriveOptions,
    report: impl FnMut(Progress<'_>),
) -> Result<Rest, EngineError> {
    drive_with(engine, goal, clock, options, &[], report).await
}

/// [`drive`], with on-call's requests made at the given times (in time order) as the
/// on-call commands make them: each names the rollout the status shows then. A request due
/// wakes the drive, even from rest.
pub async fn drive_with(
    engine: &Engine,
    goal: Goal<'_>,
    clock: &dyn Clock,
    options: DriveOptions,
    requests: &[(Timestamp, Gate)],
    mut report: impl FnMut(Progress<'_>),
) -> Result<Rest, EngineError> {
    let mut previous: Option<ModelDeploymentStatus> = None;
    let mut retries = 0u32;
    let mut pending = requests.iter().peekable();
    for passes in 1..=options.max_passes {
        let now = clock.now();
        while let Some((_, gate)) = pending.next_if(|(t, _)| *t <= now) {
            let st = previous.get_or_insert_with(Default::default);
            let rollout = st.ask(*gate, Some(now.to_string()));
            report(Progress::Request {
                at: now,
                gate: *gate,
                rollout: rollout.as_deref(),
            });
        }
        let mark = engine.call_count();
        let result = match goal {
            Goal::Apply(spec) => engine.reconcile(spec, previous.as_ref(), None, now).await,
            Goal::Delete(t) => engine.delete(t, previous.as_ref(), None, now).await,
        };
        match result {
            Ok(pass) => {
                retries = 0;
                report(Progress::Pass {
                    at: now,
                    pass: &pass,
                    calls: &engine.calls_since(mark),
                });
                previous = Some(match previous {
                    Some(p) => p.keeping_requests(&pass.status),
                    None => pass.status.clone(),
                });
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
                let asked = pending.peek().map(|(t, _)| *t);
                let due = pass.plan.next_pass(now, options.poll);
                let Some(wake) = due.into_iter().chain(asked).min() else {
                    return Ok(Rest {
                        status: previous,
                        passes,
                        released: false,
                        rejected: None,
                    });
                };
                match &pass.plan.watch {
                    Some(w) => {
                        engine.wait_watching(clock, w, wake).await;
                    }
                    None => clock.sleep_until(wake).await,
                }
            }
            Err(e) if e.is_retryable() && retries < options.max_retries => {
                retries += 1;
                let wait = SignedDuration::try_from(backoff::delay(retries, clock.jitter()))
                    .unwrap_or(SignedDuration::from_secs(300));
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
