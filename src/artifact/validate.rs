//! The streaming validator: gzip → tar → contract, without writing to disk, in bounded
//! memory whatever the archive size.
//!
//! Tar headers are read through the tar crate's raw API, so GNU long names and PAX records
//! are handled here: their size is checked against a cap before a single byte is buffered,
//! and a PAX `size` that disagrees with the header (the parser-differential behind
//! CVE-2026-33055) is rejected. Links of any kind are rejected: a model artifact needs none,
//! and every link-following extraction bug (CVE-2018-20990, CVE-2021-38511, CVE-2026-33056)
//! starts with one. Safety violations stop the walk at once (nothing after them can be
//! trusted); contract violations are collected so the report lists them all.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tar::EntryType;

use super::gzip::{Fault, Inflated, fault_of, is_source_error};
use super::names::{normalize, pax_records};
pub use super::report::{Input, Report, ValidateError, too_large};
use super::{JSON_FILES, Limits, MODEL_FILES, MODEL_INFO_FIELDS, REQUIRED_FILES, Rule, Violation};

/// Inflated bytes before the observed compression ratio is trusted.
const RATIO_WARMUP: u64 = 64 << 20;

impl Input {
    pub fn file(path: &Path) -> io::Result<Self> {
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        Ok(Self {
            reader: Box::new(io::BufReader::with_capacity(256 << 10, f)),
            compressed_len: Some(len),
        })
    }
}

/// Why the walk stopped.
enum Stop {
    Invalid(Violation),
    Io(io::Error),
}

fn violation(entry: Option<&str>, rule: Rule, detail: impl Into<String>) -> Stop {
    Stop::Invalid(Violation {
        entry: entry.map(str::to_owned),
        rule,
        detail: detail.into(),
    })
}

/// Sorts an I/O error into "the source failed" and "the artifact is bad".
fn classify(e: io::Error, entry: Option<&str>) -> Stop {
    if is_source_error(&e) {
        return Stop::Io(e);
    }
    if let Some(f) = fault_of(&e) {
        let rule = match f {
            Fault::NotGzip(_) => Rule::NotGzip,
            Fault::Truncated(_) => Rule::Truncated,
            Fault::Corrupt(_) => Rule::Corrupt,
        };
        return violation(None, rule, f.to_string());
    }
    let msg = e.to_string();
    if e.kind() == io::ErrorKind::UnexpectedEof || msg.contains("EOF") {
        violation(
            entry,
            Rule::Truncated,
            format!("tar data ends early ({msg})"),
        )
    } else {
        violation(entry, Rule::Corrupt, format!("malformed tar ({msg})"))
    }
}

/// Counts inflated bytes so the walk knows its position and the real ratio.
struct Counting<R> {
    inner: R,
    pos: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Default)]
struct Walk {
    entries: u64,
    declared: u64,
    seen: HashSet<[u8; 16]>,
    files: HashSet<[u8; 16]>,
    parents: HashSet<[u8; 16]>,
    found: HashSet<&'static str>,
    model_files: Vec<String>,
    /// Files under `model/` that are not an accepted model file (a `model.onnx`, say).
    other_model_files: Vec<String>,
    model_info: Option<Value>,
    metrics: Option<Value>,
    contract: Vec<Violation>,
    /// Where the last entry's data ends in the inflated stream.
    last_end: u64,
}

#[derive(Default)]
struct Pending {
    name: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

fn key(path: &str) -> [u8; 16] {
    let digest = Sha256::digest(path.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// Validates a compressed archive.
pub fn validate(input: Input, limits: &Limits, workers: usize) -> Result<Report, ValidateError> {
    if let Some(v) = input.compressed_len.and_then(|len| too_large(len, limits)) {
        return Ok(Report::refused(v));
    }
    let mut inflated = Inflated::start(input.reader, workers);
    let stats = Arc::clone(&inflated.stats);
    let pos = Arc::new(AtomicU64::new(0));
    let mut walk = Walk::default();
    let outcome = {
        let counting = Counting {
            inner: &mut inflated,
            pos: Arc::clone(&pos),
        };
        let mut archive = tar::Archive::new(counting);
        run(
            &mut archive,
            &mut walk,
            limits,
            input.compressed_len,
            &pos,
            &stats.compressed_bytes,
        )
    };
    let outcome = outcome.and_then(|()| drain(&mut inflated));
    let mut violations = Vec::new();
    match outcome {
        Ok(()) => violations.extend(contract(&mut walk)),
        Err(Stop::Invalid(v)) => violations.push(v),
        Err(Stop::Io(e)) => return Err(ValidateError::Io(e)),
    }
    let model_file = (walk.model_files.len() == 1).then(|| walk.model_files[0].clone());
    Ok(Report {
        valid: violations.is_empty(),
        sha256: inflated.sha256(),
        compressed_bytes: stats.compressed_bytes.load(Ordering::Relaxed),
        uncompressed_bytes: walk.declared,
        entries: walk.entries,
        gzip_members: stats.members.load(Ordering::Relaxed).max(1),
        parallel: stats.parallel.load(Ordering::Relaxed),
        model_file,
        model_info: walk.model_info,
        metrics: walk.metrics,
        violations,
        etag: None,
    })
}

/// Validates a local file.
pub fn validate_file(
    path: &Path,
    limits: &Limits,
    workers: usize,
) -> Result<Report, ValidateError> {
    validate(Input::file(path)?, limits, workers)
}

fn run<R: Read>(
    archive: &mut tar::Archive<R>,
    walk: &mut Walk,
    limits: &Limits,
    compressed_len: Option<u64>,
    pos: &AtomicU64,
    compressed_read: &AtomicU64,
) -> Result<(), Stop> {
    let entries = archive.entries().map_err(|e| classify(e, None))?.raw(true);
    let mut pending = Pending::default();
    for entry in entries {
        let mut entry = entry.map_err(|e| classify(e, None))?;
        let header = entry.header().clone();
        let header_name = String::from_utf8_lossy(&header.path_bytes()).into_owned();
        walk.entries += 1;
        if walk.entries > limits.max_entries {
            return Err(violation(
                Some(&header_name),
                Rule::TooManyEntries,
                format!("more than {} entries", limits.max_entries),
            ));
        }
        let size = header.entry_size().map_err(|e| {
            violation(
                Some(&header_name),
                Rule::Corrupt,
                format!("bad size field ({e})"),
            )
        })?;
        walk.last_end = entry.raw_file_position() + size.div_ceil(512) * 512;
        let etype = header.entry_type();
        if etype.is_gnu_longname()
            || etype.is_gnu_longlink()
            || etype.is_pax_local_extensions()
            || etype.is_pax_global_extensions()
        {
            let about = pending
                .name
                .as_deref()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or(header_name.clone());
            if size > limits.max_extension_header {
                return Err(violation(
                    Some(&about),
                    Rule::ExtensionHeaderTooLarge,
                    format!(
                        "extension header of {size} bytes exceeds the {}-byte cap",
                        limits.max_extension_header
                    ),
                ));
            }
            let mut buf = Vec::with_capacity(size as usize);
            (&mut entry)
                .take(size)
                .read_to_end(&mut buf)
                .map_err(|e| classify(e, Some(&about)))?;
            extension(etype, buf, &mut pending, &about)?;
            continue;
        }
        let raw_name = pending
            .name
            .take()
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = pending.link.take();
        let pax_size = pending.size.take();
        let display = String::from_utf8_lossy(&raw_name).into_owned();
        let name = normalize(&raw_name, limits)
            .map_err(|(rule, why)| violation(Some(&display), rule, why))?;
        let here = Some(display.as_str());
        if let Some(ps) = pax_size.filter(|ps| *ps != size) {
            return Err(violation(
                here,
                Rule::PaxSizeMismatch,
                format!(
                    "PAX size {ps} disagrees with the header size {size}; tar readers would split the archive differently"
                ),
            ));
        }
        let is_dir = match etype {
            EntryType::Regular | EntryType::Continuous => false,
            EntryType::Directory => true,
            EntryType::Symlink => {
                let target = link
                    .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
                    .unwrap_or_default();
                return Err(violation(
                    here,
                    Rule::Symlink,
                    format!(
                        "symbolic link to \"{}\"; links are not allowed in a model artifact",
                        String::from_utf8_lossy(&target)
                    ),
                ));
            }
            EntryType::Link => {
                return Err(violation(
                    here,
                    Rule::HardLink,
                    "hard links are not allowed in a model artifact",
                ));
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(violation(
                    here,
                    Rule::SpecialFile,
                    format!("{etype:?} entries are not allowed"),
                ));
            }
            other => {
                return Err(violation(
                    here,
                    Rule::UnsupportedEntryType,
                    format!("entry type {:?} is not supported", other.as_byte() as char),
                ));
            }
        };
        if name.is_empty() {
            if is_dir {
                continue; // the archive root ("./")
            }
            return Err(violation(here, Rule::BadName, "empty file name"));
        }
        record_path(walk, &name, is_dir).map_err(|(rule, why)| violation(here, rule, why))?;
        walk.declared = walk.declared.saturating_add(size);
        if walk.declared > limits.max_uncompressed_bytes {
            return Err(violation(
                here,
                Rule::TooLarge,
                format!(
                    "uncompressed size exceeds the {}-byte cap",
                    limits.max_uncompressed_bytes
                ),
            ));
        }
        if let Some(c) = compressed_len {
            let ratio = walk.declared as f64 / c.max(1) as f64;
            if ratio > limits.max_ratio {
                return Err(violation(
                    here,
                    Rule::RatioExceeded,
                    format!(
                        "declared sizes reach {ratio:.0}× the compressed size (cap {}×)",
                        limits.max_ratio
                    ),
                ));
            }
        }
        if !is_dir {
            file_contract(walk, &name, &mut entry, size, limits).map_err(|s| match s {
                Stop::Io(e) => classify(e, here),
                other => other,
            })?;
        }
        let inflated = pos.load(Ordering::Relaxed);
        let read = compressed_read.load(Ordering::Relaxed).max(1);
        if inflated > RATIO_WARMUP && inflated as f64 / read as f64 > limits.max_ratio {
            return Err(violation(
                here,
                Rule::RatioExceeded,
                format!(
                    "data inflates {:.0}× (cap {}×)",
                    inflated as f64 / read as f64,
                    limits.max_ratio
                ),
            ));
        }
    }
    if pending.name.is_some() || pending.link.is_some() || pending.size.is_some() {
        return Err(violation(
            None,
            Rule::Corrupt,
            "an extension header is not followed by an entry",
        ));
    }
    if pos.load(Ordering::Relaxed) < walk.last_end + 512 {
        return Err(violation(
            None,
            Rule::Truncated,
            "the tar stream ends without its end-of-archive marker",
        ));
    }
    Ok(())
}

fn extension(
    etype: EntryType,
    buf: Vec<u8>,
    pending: &mut Pending,
    about: &str,
) -> Result<(), Stop> {
    let trim = |mut b: Vec<u8>| {
        while b.last() == Some(&0) {
            b.pop();
        }
        b
    };
    if etype.is_gnu_longname() {
        if pending.name.is_some() {
            return Err(violation(
                Some(about),
                Rule::Corrupt,
                "two long-name headers for one entry",
            ));
        }
        pending.name = Some(trim(buf));
    } else if etype.is_gnu_longlink() {
        pending.link = Some(trim(buf));
    } else if etype.is_pax_local_extensions() {
        for (k, v) in pax_records(&buf).map_err(|why| violation(Some(about), Rule::Corrupt, why))? {
            match k {
                b"path" => pending.name = Some(v.to_vec()),
                b"linkpath" => pending.link = Some(v.to_vec()),
                b"size" => {
                    let size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
                    pending.size = Some(size.ok_or_else(|| {
                        violation(Some(about), Rule::Corrupt, "PAX size is not a number")
                    })?);
                }
                _ => {}
            }
        }
    }
    // Global PAX headers only carry defaults (git archive writes a commit id); ignored.
    Ok(())
}

fn record_path(walk: &mut Walk, name: &str, is_dir: bool) -> Result<(), (Rule, String)> {
    let k = key(name);
    if !walk.seen.insert(k) {
        return Err((Rule::DuplicateEntry, "appears more than once".into()));
    }
    if !is_dir && walk.parents.contains(&k) {
        return Err((
            Rule::PathConflict,
            "is a file but earlier entries use it as a directory".into(),
        ));
    }
    let mut prefix = String::new();
    for part in name.split('/').take(name.split('/').count() - 1) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let pk = key(&prefix);
        if walk.files.contains(&pk) {
            return Err((
                Rule::PathConflict,
                format!("its parent \"{prefix}\" is a file"),
            ));
        }
        walk.parents.insert(pk);
    }
    if !is_dir {
        walk.files.insert(k);
    }
    Ok(())
}

fn file_contract(
    walk: &mut Walk,
    name: &str,
    entry: &mut impl Read,
    size: u64,
    limits: &Limits,
) -> Result<(), Stop> {
    if let Some(req) = REQUIRED_FILES.iter().find(|r| **r == name) {
        walk.found.insert(req);
    }
    if MODEL_FILES.contains(&name) {
        walk.model_files.push(name.to_owned());
    } else if name.starts_with("model/") && walk.other_model_files.len() < 8 {
        walk.other_model_files.push(name.to_owned());
    }
    if !JSON_FILES.contains(&name) {
        return Ok(());
    }
    if size > limits.max_json_bytes {
        walk.contract.push(Violation {
            entry: Some(name.to_owned()),
            rule: Rule::InvalidJson,
            detail: format!(
                "{size} bytes; metadata files are capped at {}",
                limits.max_json_bytes
            ),
        });
        return Ok(());
    }
    let mut buf = Vec::with_capacity(size as usize);
    entry.take(size).read_to_end(&mut buf).map_err(Stop::Io)?;
    let value: Value = match serde_json::from_slice(&buf) {
        Ok(v) => v,
        Err(e) => {
            walk.contract.push(Violation {
                entry: Some(name.to_owned()),
                rule: Rule::InvalidJson,
                detail: format!("not valid JSON ({e})"),
            });
            return Ok(());
        }
    };
    match name {
        "model-info.json" => {
            for field in MODEL_INFO_FIELDS {
                let ok = value
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty());
                if !ok {
                    walk.contract.push(Violation {
                        entry: Some(name.to_owned()),
                        rule: Rule::MissingField,
                        detail: format!("\"{field}\" must be a non-empty string"),
                    });
                }
            }
            walk.model_info = Some(value);
        }
        "artifacts/metrics.json" => walk.metrics = Some(value),
        _ => {}
    }
    Ok(())
}

/// Zeros accepted after the end-of-archive marker: tar pads its last record (GNU tar's
/// default record is 10 KiB); more is not padding but zeros that inflate for free.
const MAX_TRAILING_ZEROS: u64 = 1 << 20;

/// Reads the rest of the stream (tar padding) so every gzip member's CRC is checked; at most
/// [`MAX_TRAILING_ZEROS`], so a stream of zeros after the archive cannot be inflated without
/// bound past the size and ratio checks.
fn drain(r: &mut impl Read) -> Result<(), Stop> {
    let mut buf = vec![0u8; 64 << 10];
    let mut trailing = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(|e| classify(e, None))?;
        if n == 0 {
            return Ok(());
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(violation(
                None,
                Rule::Corrupt,
                "data follows the end-of-archive marker",
            ));
        }
        trailing += n as u64;
        if trailing > MAX_TRAILING_ZEROS {
            return Err(violation(
                None,
                Rule::Corrupt,
                format!(
                    "more than {} KiB of zeros follow the end-of-archive marker",
                    MAX_TRAILING_ZEROS >> 10
                ),
            ));
        }
    }
}

fn contract(walk: &mut Walk) -> Vec<Violation> {
    let mut out = std::mem::take(&mut walk.contract);
    for req in REQUIRED_FILES {
        if !walk.found.contains(req) {
            out.push(Violation {
                entry: Some((*req).to_owned()),
                rule: Rule::MissingRequiredFile,
                detail: "required by the artifact contract but absent".into(),
            });
        }
    }
    if walk.model_files.len() != 1 {
        out.push(Violation {
            entry: Some("model/".into()),
            rule: Rule::ModelFileCount,
            detail: format!(
                "exactly one of {} is required, found {}",
                MODEL_FILES.join(", "),
                match (
                    walk.model_files.is_empty(),
                    walk.other_model_files.is_empty()
                ) {
                    (true, true) => "none".to_owned(),
                    (true, false) => format!(
                        "none (found {}, whose extension is not supported)",
                        walk.other_model_files.join(", ")
                    ),
                    _ => walk.model_files.join(", "),
                }
            ),
        });
    }
    out
}
