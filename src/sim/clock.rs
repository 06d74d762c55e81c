//! The simulator's virtual clock: shared by the simulator and the drive loop, moved forward
//! by the driver's sleeps, so a rollout of hours runs in milliseconds and the same way on
//! every run.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::engine::drive::Clock;

/// The virtual clock shared by the simulator and its driver.
#[derive(Clone, Debug)]
pub struct SimClock(Arc<Mutex<Timestamp>>);

#[async_trait::async_trait]
impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        SimClock::now(self)
    }
    async fn sleep_until(&self, t: Timestamp) {
        self.advance_to(t);
    }
    /// Fixed: a simulation's timeline is the same on every run.
    fn jitter(&self) -> f64 {
        0.5
    }
}

impl SimClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }
    pub fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Moves time forward (never backward).
    pub fn advance_to(&self, t: Timestamp) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if t > *now {
            *now = t;
        }
    }
}
