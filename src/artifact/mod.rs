//! The model artifact contract (DESIGN §4): what a `model.tar.gz` must contain, the
//! streaming validator that checks it without writing to disk in bounded memory, and the
//! reproducible packager.
//!
//! Required at the archive root: `inference.py`, `requirements.txt`, `model-info.json`;
//! exactly one model file `model/model.{cbm,json,bst,pkl,joblib}`;
//! `artifacts/feature_schema.json`, `artifacts/splits.json`, `artifacts/metrics.json`
//! (`artifacts/eval_report.md` optional).

pub mod gzip;
mod names;
pub mod package;
pub mod pool;
pub mod register;
pub mod remote;
mod report;
pub mod results;
pub mod validate;

use serde::Serialize;

/// Files every artifact must carry.
pub const REQUIRED_FILES: &[&str] = &[
    "inference.py",
    "requirements.txt",
    "model-info.json",
    "artifacts/feature_schema.json",
    "artifacts/splits.json",
    "artifacts/metrics.json",
];
/// Files that must parse as JSON.
pub const JSON_FILES: &[&str] = &[
    "model-info.json",
    "artifacts/feature_schema.json",
    "artifacts/splits.json",
    "artifacts/metrics.json",
];
/// Accepted model files (exactly one must be present).
pub const MODEL_FILES: &[&str] = &[
    "model/model.cbm",
    "model/model.json",
    "model/model.bst",
    "model/model.pkl",
    "model/model.joblib",
];
/// Fields `model-info.json` must carry as non-empty strings.
pub const MODEL_INFO_FIELDS: &[&str] = &["candidate_run_id", "data_version"];

/// Limits of the validator; every one is a CLI flag.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub max_entries: u64,
    pub max_uncompressed_bytes: u64,
    /// Uncompressed / compressed size.
    pub max_ratio: f64,
    /// Largest GNU long-name/long-link or PAX header accepted.
    pub max_extension_header: u64,
    /// Largest JSON metadata file read into memory.
    pub max_json_bytes: u64,
    pub max_path_len: usize,
    /// Longest a validation of an S3 object may take ([`remote::validate_s3`]): a hostile or
    /// pathological archive (a trickle of bytes, a decompression bomb slower than the ratio
    /// check) is refused at the end of it instead of holding a reconcile slot for ever.
    pub max_duration: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_uncompressed_bytes: 50 << 30,
            max_ratio: 200.0,
            max_extension_header: 64 << 10,
            max_json_bytes: 4 << 20,
            max_path_len: 4096,
            // 50 GiB, the default cap, read at well under 100 MB/s, with room to spare.
            max_duration: std::time::Duration::from_secs(30 * 60),
        }
    }
}

/// The rule an artifact broke. Serialized names are stable for pipelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    NotGzip,
    Truncated,
    Corrupt,
    AbsolutePath,
    ParentTraversal,
    BadName,
    Symlink,
    HardLink,
    SpecialFile,
    UnsupportedEntryType,
    DuplicateEntry,
    PathConflict,
    ExtensionHeaderTooLarge,
    PaxSizeMismatch,
    TooManyEntries,
    TooLarge,
    RatioExceeded,
    MissingRequiredFile,
    ModelFileCount,
    InvalidJson,
    MissingField,
    /// The validation did not finish within `max_duration`.
    Deadline,
}

/// One reason an artifact is rejected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// Archive entry concerned (None for stream-level defects).
    pub entry: Option<String>,
    pub rule: Rule,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = serde_json::to_value(self.rule).ok();
        let rule = rule.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        match &self.entry {
            Some(e) => write!(f, "{e}: {} [{rule}]", self.detail),
            None => write!(f, "{} [{rule}]", self.detail),
        }
    }
}
