//! What the engine remembers between passes, all of it re-readable from AWS (a restarted
//! process starts empty and pays one read per entry): endpoint configs and model tags, which
//! are immutable per name in practice (the controller writes a model's tags only when it
//! creates it), resolved model packages (read again whenever the candidate is not pinned),
//! artifact verdicts, an endpoint's tags while SageMaker transitions it, the scalable targets of a rollout in flight (changed only by this
//! engine, which forgets them when it does), and the last smoke-test details.
//!
//! Each map is a bounded [`Memo`]: past its limit it is cleared and refills on demand.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::ArtifactFacts;
use super::resolve::Resolved;
use crate::api::SmokeTestView;
use crate::aws::endpoints::ConfigDescription;
pub(crate) use crate::memo::Memo;
use crate::plan::ScalingRegistration;

/// Everything the engine caches.
#[derive(Default)]
pub(crate) struct Caches {
    pub configs: Memo<ConfigDescription>,
    /// An endpoint's tags (by ARN) as last read or written by this engine: used only while
    /// SageMaker transitions the endpoint, when the planner just waits and nobody but this
    /// engine writes the progress markers.
    pub endpoint_tags: Memo<BTreeMap<String, String>>,
    /// Tags of a model (None: the model does not exist).
    pub model_tags: Memo<Option<BTreeMap<String, String>>>,
    pub packages: Memo<Resolved>,
    pub artifacts: Memo<ArtifactFacts>,
    /// Scalable targets of an endpoint's variants, while a rollout is in flight.
    pub scaling: Memo<Vec<ScalingRegistration>>,
    pub smoke: Mutex<Option<SmokeTestView>>,
}
