//! What a validation says and takes: the report (verdict, sizes, lineage files, every
//! violation), the input (a reader and, when known, the compressed size), the error of a
//! source that could not be read, and the refusal of an archive too large to read at all.

use std::io::{self, Read};

use serde::Serialize;
use serde_json::Value;

use super::{Limits, Rule, Violation};

/// What the validator found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub valid: bool,
    /// sha256 of the compressed archive (None when reading stopped early).
    pub sha256: Option<String>,
    pub compressed_bytes: u64,
    /// Sum of the entry sizes declared in the tar headers read.
    pub uncompressed_bytes: u64,
    pub entries: u64,
    pub gzip_members: u64,
    /// Whether members were inflated in parallel (block format written by `package`).
    pub parallel: bool,
    pub model_file: Option<String>,
    pub model_info: Option<Value>,
    pub metrics: Option<Value>,
    pub violations: Vec<Violation>,
    /// The S3 ETag of the version read, every range pinned to it (an S3 artifact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl Report {
    /// An archive refused before any byte of it was read.
    pub fn refused(violation: Violation) -> Self {
        Self {
            valid: false,
            sha256: None,
            compressed_bytes: 0,
            uncompressed_bytes: 0,
            entries: 0,
            gzip_members: 0,
            parallel: false,
            model_file: None,
            model_info: None,
            metrics: None,
            violations: vec![violation],
            etag: None,
        }
    }
}

/// An archive whose compressed size is beyond the uncompressed cap (with room for gzip's and
/// tar's overhead on incompressible data): deflate never makes data smaller than nothing, so
/// it is over the cap, and is refused before a byte is read or a read plan of that size made.
pub fn too_large(compressed_len: u64, limits: &Limits) -> Option<Violation> {
    let cap = limits.max_uncompressed_bytes;
    (compressed_len > cap.saturating_add(cap / 100).saturating_add(1 << 20)).then(|| Violation {
        entry: None,
        rule: Rule::TooLarge,
        detail: format!(
            "the archive is {compressed_len} bytes compressed, beyond the {cap}-byte uncompressed cap"
        ),
    })
}

/// The artifact could not be read (as opposed to being invalid).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("cannot read the artifact: {0}")]
    Io(#[from] io::Error),
}

/// A source of compressed bytes.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    /// Size of the compressed archive when known (file size, S3 object size): lets the
    /// compression-ratio cap be checked against header sizes before any data is inflated.
    pub compressed_len: Option<u64>,
}
