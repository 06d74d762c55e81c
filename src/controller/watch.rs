//! The controller's alarm watch between passes. A pass that leaves a candidate baking with
//! traffic registers its [`Watch`]; one task reads the watched alarms of every registered
//! resource when each is due — batched per account and region (one DescribeAlarms per 100
//! names, whatever the number of resources) — and a resource whose alarm is in ALARM is
//! reconciled at once, so the rollback starts within one `analysis.interval`.
//!
//! Only this replica's own passes register (a standby reconciles nothing); a pass that no
//! longer watches, or the resource's removal, unregisters.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::api::ModelDeployment;
use crate::aws::Settings;
use crate::plan::{AlarmState, Watch};

/// One resource's watch.
#[derive(Clone, Debug)]
struct Entry {
    settings: Settings,
    object: ObjectRef<ModelDeployment>,
    alarms: Vec<String>,
    every: Duration,
    next: Instant,
    until: Instant,
}

/// The registered watches, and the channels that bring a resource's pass forward.
#[derive(Default)]
pub struct AlarmWatch {
    entries: Mutex<HashMap<String, Entry>>,
    triggers: Mutex<Vec<futures::channel::mpsc::UnboundedSender<ObjectRef<ModelDeployment>>>>,
    changed: Notify,
}

/// A batch of due entries read together: one account and region.
type Batch = (Settings, Vec<(String, Entry)>);

impl AlarmWatch {
    /// A stream of resources to reconcile now (one per Controller).
    pub fn triggers(
        &self,
    ) -> futures::channel::mpsc::UnboundedReceiver<ObjectRef<ModelDeployment>> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        if let Ok(mut t) = self.triggers.lock() {
            t.push(tx);
        }
        rx
    }

    /// After a pass: watch `watch` until `until` (the next pass), or stop watching.
    pub fn set(
        &self,
        owner: &str,
        settings: &Settings,
        object: ObjectRef<ModelDeployment>,
        watch: Option<&Watch>,
        until: Instant,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        match watch {
            Some(w) => {
                entries.insert(
                    owner.to_owned(),
                    Entry {
                        settings: settings.clone(),
                        object,
                        alarms: w.alarms.clone(),
                        every: w.every,
                        next: Instant::now() + w.every,
                        until,
                    },
                );
            }
            None => {
                entries.remove(owner);
            }
        }
        drop(entries);
        self.changed.notify_one();
    }

    pub fn forget(&self, owner: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.remove(owner);
        }
    }

    /// How many resources are watched (a gauge).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the entries due now, grouped by account and region, and the next wake-up.
    fn due(&self, now: Instant) -> (Vec<Batch>, Option<Instant>) {
        let Ok(mut entries) = self.entries.lock() else {
            return (Vec::new(), None);
        };
        entries.retain(|_, e| e.until > now);
        let mut groups: BTreeMap<String, Batch> = BTreeMap::new();
        for (owner, e) in entries.iter_mut() {
            if e.next <= now {
                let key = format!("{:?}", e.settings);
                groups
                    .entry(key)
                    .or_insert_with(|| (e.settings.clone(), Vec::new()))
                    .1
                    .push((owner.clone(), e.clone()));
                e.next = now + e.every;
            }
        }
        let wake = entries.values().map(|e| e.next.min(e.until)).min();
        (groups.into_values().collect(), wake)
    }

    fn trigger(&self, object: &ObjectRef<ModelDeployment>) {
        if let Ok(mut t) = self.triggers.lock() {
            t.retain(|tx| tx.unbounded_send(object.clone()).is_ok());
        }
    }
}

/// Runs the watch until `stop`: reads what is due, triggers the resources whose alarm fired.
pub(super) async fn run(
    ctx: std::sync::Arc<super::Context>,
    stop: tokio_util::sync::CancellationToken,
) {
    let watch = &ctx.watch;
    loop {
        let (batches, wake) = watch.due(Instant::now());
        for (settings, entries) in batches {
            check(&ctx, &settings, &entries).await;
        }
        let sleep = tokio::time::sleep_until(
            wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(60)),
        );
        tokio::select! {
            () = stop.cancelled() => return,
            () = sleep => {}
            () = watch.changed.notified() => {}
        }
    }
}

/// One read for every due resource of one account and region.
async fn check(ctx: &super::Context, settings: &Settings, entries: &[(String, Entry)]) {
    let Ok(clients) = ctx.deps.aws.clients(settings).await else {
        return;
    };
    let at = ctx.deps.clock.now();
    let names: Vec<String> = entries
        .iter()
        .flat_map(|(_, e)| e.alarms.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ctx.deps
        .metrics
        .alarm_watch_reads(names.len().div_ceil(100) as u64);
    // One token per HTTP request (a page of 100 names each): from the watch's own bucket,
    // never behind the passes' writes, and from DescribeAlarms' quota, which only reads share.
    let region = ctx.config.aws_region.as_deref();
    let fence = crate::aws::sdk::Fence {
        bucket: Some(ctx.limiter.watch_bucket(settings, region)),
        quota: ctx.limiter.quotas(settings, region).of("DescribeAlarms"),
        gate: None,
    };
    let read = crate::aws::sdk::fenced(fence, clients.alarms.describe(&names)).await;
    let firing: BTreeSet<String> = match read {
        Ok(alarms) => alarms
            .into_iter()
            .filter(|a| a.state == AlarmState::Alarm)
            .map(|a| a.name)
            .collect(),
        // Throttled or unreachable: the next interval reads again, and every pass reads
        // the alarms itself.
        Err(e) => {
            tracing::debug!(error = %e, "alarm watch read failed");
            return;
        }
    };
    for (owner, e) in entries {
        if let Some(name) = e.alarms.iter().find(|a| firing.contains(*a)) {
            tracing::info!(%owner, alarm = %name, %at, "watched alarm in ALARM: reconciling now");
            ctx.watch.forget(owner);
            ctx.urgent(owner);
            ctx.watch.trigger(&e.object);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(region: &str) -> Settings {
        Settings {
            region: Some(region.into()),
            assume_role_arn: None,
            session: None,
            tenant: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn due_watches_are_read_together_per_account_and_region() {
        let w = AlarmWatch::default();
        let watch = |every: u64| Watch {
            alarms: vec!["kpi".into()],
            every: Duration::from_secs(every),
        };
        let until = Instant::now() + Duration::from_secs(600);
        for (owner, region, every) in [
            ("ns/a", "us-east-1", 15),
            ("ns/b", "us-east-1", 15),
            ("ns/c", "eu-west-1", 15),
            ("ns/d", "us-east-1", 60),
        ] {
            w.set(
                owner,
                &settings(region),
                ObjectRef::new(owner).within("ns"),
                Some(&watch(every)),
                until,
            );
        }
        let (batches, wake) = w.due(Instant::now());
        assert!(
            batches.is_empty(),
            "nothing is due before its first interval"
        );
        assert_eq!(wake, Some(Instant::now() + Duration::from_secs(15)));
        tokio::time::advance(Duration::from_secs(15)).await;
        let (batches, _) = w.due(Instant::now());
        let mut sizes: Vec<(Option<String>, usize)> = batches
            .iter()
            .map(|(s, e)| (s.region.clone(), e.len()))
            .collect();
        sizes.sort();
        assert_eq!(
            sizes,
            vec![(Some("eu-west-1".into()), 1), (Some("us-east-1".into()), 2)]
        );
        w.set(
            "ns/a",
            &settings("us-east-1"),
            ObjectRef::new("ns/a").within("ns"),
            None,
            until,
        );
        assert_eq!(w.len(), 3, "a pass without a watch unregisters");
        tokio::time::advance(Duration::from_secs(600)).await;
        let _ = w.due(Instant::now());
        assert!(w.is_empty(), "a watch ends when the next pass is due");
    }
}
