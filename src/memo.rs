//! A bounded, string-keyed memo shared by the engine's caches and the SDK adapters' caches of
//! things AWS never changes under a name. Bounded because a long-running controller must not
//! grow without limit: past [`LIMIT`] entries the map is cleared and refills on demand (every
//! entry is re-readable from AWS).

use std::collections::HashMap;
use std::sync::Mutex;

/// Most entries per memo (one endpoint has a handful of configs and models at a time).
pub const LIMIT: usize = 256;

/// A bounded string-keyed memo.
#[derive(Debug)]
pub struct Memo<V>(Mutex<HashMap<String, V>>);

impl<V: Clone> Default for Memo<V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<V: Clone> Memo<V> {
    pub fn get(&self, key: &str) -> Option<V> {
        self.0.lock().ok().and_then(|m| m.get(key).cloned())
    }

    pub fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }

    pub fn remove(&self, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }

    pub fn put(&self, key: &str, value: V) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= LIMIT && !m.contains_key(key) {
                m.clear();
            }
            m.insert(key.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_memo_starts_again_instead_of_growing() {
        let m = Memo::default();
        for i in 0..LIMIT {
            m.put(&i.to_string(), i);
        }
        assert_eq!(m.get("0"), Some(0));
        m.put("0", 7);
        assert_eq!(m.get("1"), Some(1), "replacing a key keeps the others");
        m.put("new", 1);
        assert_eq!(m.get("1"), None);
        assert_eq!(m.get("new"), Some(1));
    }
}
