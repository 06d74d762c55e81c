//! Leader election on a `coordination.k8s.io/v1` Lease, with get / create / replace and
//! optimistic concurrency (a stale resourceVersion makes the replace fail with 409, so two
//! replicas can never both believe they won the same round).
//!
//! Safety rule: [`Leadership::is_held`] turns false as soon as the last successful renewal is
//! older than the renew deadline (2/3 of the lease duration), which is before any standby may
//! take over (a full lease duration after it last saw the record change). A replica that is
//! cut off from the API server therefore stops acting before another one starts.
//! Standbys judge expiry by their own monotonic clock, never by comparing wall clocks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Shared view of whether this replica leads.
#[derive(Clone)]
pub struct Leadership {
    inner: Arc<Mutex<Held>>,
    changes: watch::Sender<bool>,
    deadline: Duration,
}

#[derive(Default)]
struct Held {
    since_renewal: Option<Instant>,
}

impl Leadership {
    fn new(deadline: Duration) -> Self {
        Self {
            inner: Arc::default(),
            changes: watch::channel(false).0,
            deadline,
        }
    }

    /// Always the leader (leader election disabled: a single replica).
    pub fn always() -> Self {
        let me = Self::new(Duration::MAX);
        me.renewed();
        me
    }

    /// True while the lease is ours and was renewed within the renew deadline.
    pub fn is_held(&self) -> bool {
        self.valid_for().is_some()
    }

    /// How much longer this replica may act: the renew deadline less the time since the
    /// last successful renewal was sent; None when it does not lead.
    pub fn valid_for(&self) -> Option<Duration> {
        let held = self.inner.lock().map(|h| h.since_renewal).ok().flatten()?;
        self.deadline
            .checked_sub(held.elapsed())
            .filter(|d| !d.is_zero())
    }

    /// Wakes on every gain or loss of leadership.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.changes.subscribe()
    }

    fn renewed(&self) {
        self.renewed_at(Instant::now());
    }

    /// A renewal that succeeded, dated when its request was sent: the API server may have
    /// written it any time after that, and a standby counts from what it saw then.
    fn renewed_at(&self, sent: Instant) {
        if let Ok(mut h) = self.inner.lock() {
            h.since_renewal = Some(sent);
        }
        self.changes
            .send_if_modified(|v| !std::mem::replace(v, true));
    }

    fn lost(&self) {
        if let Ok(mut h) = self.inner.lock() {
            h.since_renewal = None;
        }
        self.changes
            .send_if_modified(|v| std::mem::replace(v, false));
    }
}

/// Runs the election for `identity` until `stop`; then releases the lease if held.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    leadership: Leadership,
    /// The holder record last seen and when (our clock) it last changed.
    observed: Option<(String, Option<String>, Instant)>,
}

impl Elector {
    pub fn new(api: Api<Lease>, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            api,
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
            leadership: Leadership::new(duration * 2 / 3),
            observed: None,
        }
    }

    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    pub async fn run(mut self, stop: CancellationToken) {
        let retry = (self.duration / 5).max(Duration::from_millis(200));
        loop {
            // Dated before it is sent; a round that hangs is given up after `retry`, so a
            // slow API server never keeps the loop from trying again within the deadline.
            let sent = Instant::now();
            match tokio::time::timeout(retry, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => self.leadership.renewed_at(sent),
                Ok(Ok(false)) => self.leadership.lost(),
                failed => {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {retry:?}"),
                    };
                    tracing::warn!(lease = %self.name, %error, "lease renewal failed");
                    if !self.leadership.is_held() {
                        self.leadership.lost();
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(retry) => {}
            }
        }
        if self.leadership.is_held() {
            self.leadership.lost();
            let error = match tokio::time::timeout(retry, self.release()).await {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {retry:?}"),
            };
            // A standby takes over once the lease expires.
            tracing::warn!(lease = %self.name, %error, "could not release the lease");
        }
    }

    fn record(&self, holder: Option<String>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: holder,
            lease_duration_seconds: Some(self.duration.as_secs().max(1) as i32),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }
    }

    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(Some(self.identity.clone()))),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let renewed = spec.renew_time.as_ref().map(|t| t.0.to_string());
        let ours = holder.as_deref() == Some(self.identity.as_str());
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|(h, r, _)| Some(h) != holder.as_ref() || *r != renewed);
        if changed {
            self.observed = Some((holder.clone().unwrap_or_default(), renewed, Instant::now()));
        }
        let expired = self
            .observed
            .as_ref()
            .is_some_and(|(_, _, at)| at.elapsed() >= self.duration);
        let mut next = spec.clone();
        if ours {
            next.renew_time = Some(MicroTime(Timestamp::now()));
            next.lease_duration_seconds = Some(self.duration.as_secs().max(1) as i32);
        } else if holder.is_none() || expired {
            next = self.record(Some(self.identity.clone()));
            next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            tracing::info!(lease = %self.name, previous = ?holder, "taking over the lease");
        } else {
            return Ok(false);
        }
        lease.spec = Some(next);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            // Someone else wrote first: they renewed or won this round.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up so that a standby takes over at once instead of after expiry.
    async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }
}
