//! The validation journal: the artifact validations started and not finished, and the
//! verdicts of those that finished. A process killed while validating (out of memory on a
//! hostile archive) leaves its entry, so a restarted controller refuses an archive that
//! stopped it [`MAX_INTERRUPTED`] times instead of validating it again and again: a crash
//! loop, with everyone's rollouts waiting. A verdict is kept per artifact version (its ETag)
//! and the limits it was reached under, so a restarted controller asks S3 only whether the
//! object is still that version instead of streaming it again.
//!
//! Two small JSON files on a volume that outlives the container but not the pod (the chart's
//! emptyDir): `{"<artifact>": <starts not finished>}` at the path given, and the verdicts
//! beside it (`verdicts.json`, at most [`MAX_VERDICTS`], the oldest dropped first). A new pod —
//! after the memory limit was raised — starts with neither. Written whole through a temporary
//! file and a rename. Without a path (the CLI) nothing is kept. Written by hand: a counter and
//! a bounded map in small files are ours; only the controller's container writes that volume.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Validations of one artifact a process may be stopped in before the next is refused.
pub const MAX_INTERRUPTED: u32 = 3;

/// Verdicts kept across restarts; the oldest goes first.
pub const MAX_VERDICTS: usize = 256;

/// Largest verdict kept (its metadata files included): 256 of them stay within 2 MiB, twice
/// that while the file is rewritten, well inside the volume's 8 MiB.
const MAX_VERDICT_BYTES: usize = 8 << 10;

/// What a finished validation found about one version of an artifact.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The version read (HeadObject's ETag).
    pub etag: String,
    /// The limits and the validator it was reached under: under others it is no verdict.
    pub under: String,
    pub check: crate::plan::ArtifactCheck,
    pub model_info: Option<serde_json::Value>,
    pub metrics: Option<serde_json::Value>,
    /// When it was reached (Unix seconds): the oldest verdict is dropped first.
    pub at: i64,
}

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
        read_whole(self.path.as_deref())
    }

    fn write(&self, entries: &BTreeMap<String, u32>) {
        if let Some(path) = &self.path {
            write_whole(path, entries);
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

    fn verdicts_path(&self) -> Option<PathBuf> {
        self.path
            .as_ref()
            .map(|p| p.with_file_name("verdicts.json"))
    }

    fn verdicts(&self) -> BTreeMap<String, Verdict> {
        read_whole(self.verdicts_path().as_deref())
    }

    /// The verdict kept for `artifact` reached under `under`, whatever version it was of.
    pub fn verdict(&self, artifact: &str, under: &str) -> Option<Verdict> {
        let _guard = self.lock.lock();
        self.verdicts()
            .remove(artifact)
            .filter(|v| v.under == under)
    }

    /// Keeps the verdict on `artifact` (replacing the one on an earlier version); one too
    /// large to keep is not kept, and the oldest go beyond [`MAX_VERDICTS`].
    pub fn remember(&self, artifact: &str, verdict: Verdict) {
        let Some(path) = self.verdicts_path() else {
            return;
        };
        if serde_json::to_vec(&verdict).map_or(true, |b| b.len() > MAX_VERDICT_BYTES) {
            return;
        }
        let _guard = self.lock.lock();
        let mut all = self.verdicts();
        all.insert(artifact.to_owned(), verdict);
        while all.len() > MAX_VERDICTS {
            let oldest = all.iter().min_by_key(|(_, v)| v.at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => all.remove(&k),
                None => break,
            };
        }
        write_whole(&path, &all);
    }
}

/// What `path` holds as JSON; empty when there is no path, no file or no JSON of that shape
/// (a file an older version wrote is started afresh).
fn read_whole<T: serde::de::DeserializeOwned + Default>(path: Option<&std::path::Path>) -> T {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes `value` as JSON to `path` through a temporary file and a rename; a failure is
/// logged (the journal is a safeguard, never a reason to stop).
fn write_whole(path: &std::path::Path, value: &impl serde::Serialize) {
    let tmp = path.with_extension("tmp");
    let written = serde_json::to_vec(value)
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

    fn verdict(etag: &str, at: i64) -> Verdict {
        Verdict {
            etag: etag.into(),
            under: "limits-1".into(),
            check: crate::plan::ArtifactCheck::Valid {
                sha256: "ab".into(),
            },
            model_info: None,
            metrics: None,
            at,
        }
    }

    #[test]
    fn a_verdict_outlives_the_process_under_the_same_limits_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/validations.json");
        Journal::new(Some(path.clone())).remember("s3://m/a.tar.gz", verdict("\"e1\"", 1));
        let next = Journal::new(Some(path));
        assert_eq!(
            next.verdict("s3://m/a.tar.gz", "limits-1"),
            Some(verdict("\"e1\"", 1))
        );
        assert_eq!(next.verdict("s3://m/a.tar.gz", "limits-2"), None);
        assert_eq!(next.verdict("s3://m/b.tar.gz", "limits-1"), None);
    }

    #[test]
    fn the_oldest_verdicts_go_first_and_an_oversized_one_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(Some(dir.path().join("validations.json")));
        for i in 0..=MAX_VERDICTS as i64 {
            j.remember(&format!("s3://m/{i}.tar.gz"), verdict("e", i));
        }
        assert_eq!(
            j.verdict("s3://m/0.tar.gz", "limits-1"),
            None,
            "the oldest went"
        );
        assert!(j.verdict("s3://m/1.tar.gz", "limits-1").is_some());
        let mut big = verdict("e", 999);
        big.metrics = Some(serde_json::json!({"x": "y".repeat(MAX_VERDICT_BYTES)}));
        j.remember("s3://m/big.tar.gz", big);
        assert_eq!(j.verdict("s3://m/big.tar.gz", "limits-1"), None);
    }

    #[test]
    fn without_a_path_nothing_is_kept() {
        let j = Journal::new(None);
        assert_eq!(j.begin("x"), 0);
        assert_eq!(j.begin("x"), 0);
    }
}
