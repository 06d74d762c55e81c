//! Publishing the milestones of a pass ([`crate::plan::notice`]) after it acted. Best effort:
//! a notification that cannot be sent never holds or fails a rollout — it is logged, counted
//! in the calls (so `/metrics` shows `sns`/`Publish` failures) and reported as a warning
//! Event `NotifyFailed`. Delivery is at least once: a pass repeated after a crash may publish
//! a milestone again; each message carries a stable `id` (and FIFO topics deduplicate it).

use jiff::Timestamp;

use super::{Engine, Pass};
use crate::api::{ModelDeploymentStatus, ValidSpec};
use crate::plan::Event;
use crate::plan::notice::{milestones, notice};

impl Engine {
    /// Publishes the notices of the milestones `pass` reached since `previous`.
    pub(super) async fn notify(
        &self,
        spec: &ValidSpec,
        previous: Option<&ModelDeploymentStatus>,
        pass: &mut Pass,
        now: Timestamp,
    ) {
        if spec.notify.is_none() || !self.may_act() {
            return;
        }
        let reached = milestones(
            previous,
            &pass.status,
            &pass.plan.events,
            pass.rejected.is_some(),
        );
        for (milestone, event) in &reached {
            let Some(n) = notice(spec, &pass.status, *milestone, event) else {
                continue;
            };
            let milestone = milestone.as_str();
            let sent = self.aws(now).publish(&n, milestone).await;
            if let Err(e) = sent {
                tracing::warn!(topic = %n.topic_arn, %milestone, error = %e, "notification not sent");
                pass.plan.events.push(Event {
                    reason: "NotifyFailed".into(),
                    message: format!(
                        "the {milestone} notification to {} was not sent: {e}",
                        n.topic_arn
                    ),
                    warning: true,
                });
            }
        }
    }
}
