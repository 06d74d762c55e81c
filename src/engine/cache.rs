//! What the engine remembers between passes, all of it re-readable from AWS (a restarted
//! process starts empty and pays one read per entry): endpoint configs and model tags, which
//! are immutable per name in practice (the controller writes a model's tags only when it
//! creates it), resolved model packages (read again whenever the candidate is not pinned),
//! artifact verdicts, the scalable targets of a rollout in flight (changed only by this
//! engine, which forgets them when it does), and the last smoke-test details.
//!
//! Each map is bounded: past [`LIMIT`] entries it is cleared and refills on demand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::ArtifactFacts;
use super::resolve::Resolved;
use crate::api::SmokeTestView;
use crate::aws::endpoints::ConfigDescription;
use crate::plan::ScalingRegistration;

/// Most entries per map (one endpoint has a handful of configs and models at a time).
const LIMIT: usize = 256;

/// A bounded string-keyed memo.
pub(crate) struct Memo<V>(Mutex<HashMap<String, V>>);

impl<V: Clone> Default for Memo<V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<V: Clone> Memo<V> {
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.0.lock().ok().and_then(|m| m.get(key).cloned())
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }

    pub(crate) fn put(&self, key: &str, value: V) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= LIMIT && !m.contains_key(key) {
                m.clear();
            }
            m.insert(key.to_owned(), value);
        }
    }
}

/// Everything the engine caches.
#[derive(Default)]
pub(crate) struct Caches {
    pub configs: Memo<ConfigDescription>,
    /// Tags of a model (None: the model does not exist).
    pub model_tags: Memo<Option<BTreeMap<String, String>>>,
    pub packages: Memo<Resolved>,
    pub artifacts: Memo<ArtifactFacts>,
    /// Scalable targets of an endpoint's variants, while a rollout is in flight.
    pub scaling: Memo<Vec<ScalingRegistration>>,
    pub smoke: Mutex<Option<SmokeTestView>>,
}
