//! `package DIR`: a byte-reproducible model.tar.gz.
//!
//! Entries sorted by path, mtime 0, uid/gid 0, no user or group names, modes normalised to
//! 0755 (directories and executables) or 0644, fixed gzip headers. The tar stream is cut into
//! 256 KiB blocks compressed in parallel as independent gzip members (see [`super::gzip`]), so
//! the output is a standard `.tar.gz` that `tar -xzf` and SageMaker read, and that
//! `validate` inflates on every core. The result is validated before it is kept: a
//! directory whose archive would fail `validate` is refused.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::gzip::{BLOCK, encode_member};
use super::validate::{ValidateError, validate_file};
use super::{Limits, Violation, pool};

/// What `package` produced.
#[derive(Clone, Debug, Serialize)]
pub struct Packaged {
    pub path: PathBuf,
    pub sha256: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{path}: {why}")]
    Unsupported { path: String, why: String },
    #[error("the archive would not pass validation:\n{}", .0.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Violation>),
}

impl From<ValidateError> for PackageError {
    fn from(e: ValidateError) -> Self {
        match e {
            ValidateError::Io(e) => Self::Io(e),
        }
    }
}

struct Item {
    rel: String,
    abs: PathBuf,
    is_dir: bool,
    executable: bool,
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<Item>) -> Result<(), PackageError> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let abs = entry.path();
        let rel_path = abs
            .strip_prefix(root)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let rel = rel_path
            .to_str()
            .ok_or_else(|| PackageError::Unsupported {
                path: rel_path.display().to_string(),
                why: "file names must be UTF-8".into(),
            })?
            .replace(std::path::MAIN_SEPARATOR, "/");
        let meta = fs::symlink_metadata(&abs)?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            return Err(PackageError::Unsupported {
                path: rel,
                why: "symbolic links are not allowed in a model artifact; copy the file instead"
                    .into(),
            });
        }
        if ft.is_dir() {
            out.push(Item {
                rel,
                abs: abs.clone(),
                is_dir: true,
                executable: true,
            });
            collect(root, &abs, out)?;
        } else if ft.is_file() {
            out.push(Item {
                rel,
                abs,
                is_dir: false,
                executable: is_executable(&meta),
            });
        } else {
            return Err(PackageError::Unsupported {
                path: rel,
                why: "only regular files and directories can be packaged".into(),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

/// Cuts the tar stream into blocks and feeds them to the compression pool.
struct Blocks<'a> {
    buf: Vec<u8>,
    submit: &'a pool::Submitter<Vec<u8>, io::Result<Vec<u8>>>,
}

impl Write for Blocks<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == BLOCK {
            self.flush_block()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Blocks<'_> {
    fn flush_block(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        self.submit
            .submit(block)
            .map_err(|_| io::Error::other("compression workers stopped"))
    }
}

/// Packages `dir` into `out` with `workers` compression threads at gzip `level`.
pub fn package(
    dir: &Path,
    out: &Path,
    level: u32,
    workers: usize,
) -> Result<Packaged, PackageError> {
    let mut items = Vec::new();
    collect(dir, dir, &mut items)?;
    items.sort_by(|a, b| a.rel.cmp(&b.rel));
    let tmp = out.with_extension("partial");
    let result = write_archive(&items, &tmp, level, workers).and_then(|(sha256, compressed)| {
        let report = validate_file(&tmp, &Limits::default(), workers)?;
        if !report.valid {
            return Err(PackageError::Invalid(report.violations));
        }
        fs::rename(&tmp, out)?;
        Ok(Packaged {
            path: out.to_owned(),
            sha256,
            compressed_bytes: compressed,
            uncompressed_bytes: report.uncompressed_bytes,
            entries: report.entries,
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_archive(
    items: &[Item],
    tmp: &Path,
    level: u32,
    workers: usize,
) -> Result<(String, u64), PackageError> {
    let (submit, ordered) = pool::spawn(workers, workers * 2 + 2, move |block: Vec<u8>| {
        encode_member(&block, level)
    });
    let file = File::create(tmp)?;
    let writer = std::thread::spawn(move || -> io::Result<(String, u64)> {
        let mut file = io::BufWriter::new(file);
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        while let Some(member) = ordered.next() {
            let member = member?;
            hasher.update(&member);
            total += member.len() as u64;
            file.write_all(&member)?;
        }
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok((hex::encode(hasher.finalize()), total))
    });
    let tar_result = (|| -> io::Result<()> {
        let mut blocks = Blocks {
            buf: Vec::with_capacity(BLOCK),
            submit: &submit,
        };
        {
            let mut builder = tar::Builder::new(&mut blocks);
            for item in items {
                let mut header = tar::Header::new_gnu();
                header.set_mtime(0);
                header.set_uid(0);
                header.set_gid(0);
                header.set_username("")?;
                header.set_groupname("")?;
                if item.is_dir {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{}/", item.rel), io::empty())?;
                } else {
                    let f = File::open(&item.abs)?;
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(if item.executable { 0o755 } else { 0o644 });
                    header.set_size(f.metadata()?.len());
                    builder.append_data(&mut header, &item.rel, f)?;
                }
            }
            builder.finish()?;
        }
        blocks.flush_block()
    })();
    drop(submit);
    let written = writer
        .join()
        .map_err(|_| io::Error::other("archive writer panicked"))?;
    tar_result?;
    Ok(written?)
}
