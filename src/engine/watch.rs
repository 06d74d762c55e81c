//! Watching alarms between passes: while a candidate takes traffic and a bake runs, the
//! plan's [`Watch`] is read every interval with one DescribeAlarms (no observe pass), and a
//! firing alarm brings the next pass forward — the pass that starts the rollback. The CLI's
//! drive loop uses [`Engine::wait_watching`]; the controller batches the same reads across
//! resources (`controller::watch`).

use jiff::{SignedDuration, Timestamp};

use super::drive::Clock;
use super::{Engine, EngineError};
use crate::plan::{AlarmState, Watch};

/// Why a wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The next pass is due.
    Due,
    /// This alarm is in ALARM: reconcile now.
    Alarm(String),
}

impl Engine {
    /// The first of `names` in ALARM, read with one DescribeAlarms (per 100 names).
    pub async fn firing(
        &self,
        names: &[String],
        now: Timestamp,
    ) -> Result<Option<String>, EngineError> {
        Ok(self
            .describe_alarms(names, now)
            .await?
            .into_iter()
            .find(|a| a.state == AlarmState::Alarm)
            .map(|a| a.name))
    }

    /// Sleeps until `due`, reading `watch` every interval; wakes early when an alarm fires.
    /// A failed read (throttling, network) is skipped: the next interval reads again, and the
    /// pass at `due` reads the alarms anyway.
    pub async fn wait_watching(&self, clock: &dyn Clock, watch: &Watch, due: Timestamp) -> Woken {
        let every = SignedDuration::try_from(watch.every).unwrap_or(SignedDuration::from_secs(15));
        loop {
            let now = clock.now();
            if now >= due {
                return Woken::Due;
            }
            let next = crate::plan::later(now, every).min(due);
            clock.sleep_until(next).await;
            if clock.now() >= due {
                return Woken::Due;
            }
            if let Ok(Some(name)) = self.firing(&watch.alarms, clock.now()).await {
                return Woken::Alarm(name);
            }
        }
    }
}
