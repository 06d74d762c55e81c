//! The validation journal: the artifact validations started and not finished. A process
//! killed while validating (out of memory on a hostile archive) leaves its entry, so a
//! restarted controller refuses an archive that stopped it [`MAX_INTERRUPTED`] times instead
//! of validating it again and again: a crash loop, with everyone's rollouts waiting.
//!
//! A small JSON file (`{"<artifact>": <starts not finished>}`) on a volume that outlives the
//! container but not the pod (the chart's emptyDir): a new pod — after the memory limit was
//! raised — starts with none. Written whole through a temporary file and a rename. Without a
//! path (the CLI) nothing is kept. Written by hand: a counter in one small file is ours.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Validations of one artifact a process may be stopped in before the next is refused.
pub const MAX_INTERRUPTED: u32 = 3;

#[derive(Debug, Default)]
pub struct Journal {
    path: Option<PathBuf>,
    lock: Mutex<()>,
}

impl Journal {
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> BTreeMap<String, u32> {
        let Some(path) = &self.path else {
            return BTreeMap::new();
        };
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write(&self, entries: &BTreeMap<String, u32>) {
        let Some(path) = &self.path else { return };
        let tmp = path.with_extension("tmp");
        let written = serde_json::to_vec(entries)
            .map_err(std::io::Error::other)
            .and_then(|b| {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&tmp, b)
            })
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "validation journal not written");
        }
    }

    /// Records a validation of `artifact` as started; returns how many earlier ones never
    /// finished.
    pub fn begin(&self, artifact: &str) -> u32 {
        let _guard = self.lock.lock();
        let mut entries = self.read();
        let before = entries.get(artifact).copied().unwrap_or(0);
        entries.insert(artifact.to_owned(), before + 1);
        self.write(&entries);
        before
    }

    /// The validation of `artifact` finished (whatever it found).
    pub fn end(&self, artifact: &str) {
        let _guard = self.lock.lock();
        let mut entries = self.read();
        if entries.remove(artifact).is_some() {
            self.write(&entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_never_ended_is_counted_by_the_next_process_and_an_end_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/validations.json");
        let first = Journal::new(Some(path.clone()));
        assert_eq!(first.begin("s3://m/a.tar.gz"), 0);
        // Killed while validating: a new process reads what the old one left.
        let second = Journal::new(Some(path.clone()));
        assert_eq!(second.begin("s3://m/a.tar.gz"), 1);
        assert_eq!(second.begin("s3://m/b.tar.gz"), 0);
        second.end("s3://m/a.tar.gz");
        let third = Journal::new(Some(path));
        assert_eq!(
            third.begin("s3://m/a.tar.gz"),
            0,
            "an end forgets the starts"
        );
        assert_eq!(third.begin("s3://m/b.tar.gz"), 1);
    }

    #[test]
    fn without_a_path_nothing_is_kept() {
        let j = Journal::new(None);
        assert_eq!(j.begin("x"), 0);
        assert_eq!(j.begin("x"), 0);
    }
}
