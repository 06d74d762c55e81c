//! The one way the engine calls AWS: [`Engine::aws`] gives a view at one instant whose
//! methods mirror `aws/` (one file per service) and make every call the same way — the
//! request fence (one token of the account's bucket per HTTP request, SDK retries included;
//! a mutating request sent only while the leadership gate is open, see
//! [`crate::aws::sdk`]) and one entry in the call log (service, operation, detail,
//! outcome), which the timeline, the request counts and the metrics read.

mod alarms;
mod components;
mod endpoints;
mod notify;
mod registry;
mod runtime;
mod s3;
mod scaling;

use std::future::Future;

use jiff::Timestamp;

use super::Engine;
use super::timeline::is_read;
use crate::aws::sdk::{Fence, fenced};
use crate::aws::{AwsError, Clients};

/// The engine's AWS calls at `now` (the instant the call log records).
pub(crate) struct Aws<'e> {
    engine: &'e Engine,
    now: Timestamp,
}

impl Engine {
    /// The AWS calls of a pass (or of the alarm watch) at `now`.
    pub(crate) fn aws(&self, now: Timestamp) -> Aws<'_> {
        Aws { engine: self, now }
    }
}

impl Aws<'_> {
    fn clients(&self) -> &Clients {
        &self.engine.clients
    }

    /// Runs one call: fenced, then logged. A read is never held back by the gate (a
    /// standby may look); a mutation is.
    async fn run<T>(
        &self,
        service: &'static str,
        operation: &str,
        detail: impl Into<String>,
        call: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        let fence = Fence {
            bucket: self.engine.bucket.clone(),
            quota: (self.engine.quotas.as_ref()).and_then(|q| q.of(operation)),
            gate: self.engine.gate.clone().filter(|_| !is_read(operation)),
        };
        let result = fenced(fence, call).await;
        self.engine
            .log(self.now, service, operation, detail.into(), result.is_ok());
        result
    }
}
