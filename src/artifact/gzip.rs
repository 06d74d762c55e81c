//! The gzip layer.
//!
//! `package` writes a standard multi-member gzip whose members each compress one 256 KiB block
//! and carry their own compressed length in a gzip extra subfield (`SR`, like BGZF's `BC`).
//! Every gzip reader ignores the subfield; ours uses it to find member boundaries without
//! inflating, so members inflate in parallel. Any other gzip (one member, or members without
//! the subfield) is inflated as a single stream. Either way memory stays bounded: at most
//! one block per worker plus one is in flight.
//!
//! Inflate failures surface as `io::Error`s of kind `InvalidData` carrying a [`Fault`];
//! errors of the underlying source pass through unchanged, so callers can tell a bad artifact
//! from a failing disk or network.

use std::io::{self, Chain, Cursor, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use flate2::read::{DeflateDecoder, MultiGzDecoder};
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use sha2::{Digest, Sha256};

use super::pool;

/// Uncompressed bytes per member written by `package`.
pub const BLOCK: usize = 256 << 10;
/// Largest member (compressed) or block (inflated) accepted in parallel mode: a member that
/// claims our subfield but inflates beyond this was not written by us.
const MAX_MEMBER: usize = 4 << 20;
const HEADER_LEN: usize = 20;
const SUBFIELD: &[u8; 2] = b"SR";

/// A defect of the gzip stream itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    NotGzip(String),
    Truncated(String),
    Corrupt(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotGzip(m) | Self::Truncated(m) | Self::Corrupt(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Fault {}

fn fault(f: Fault) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, f)
}

/// An error of the underlying source (disk, network), as opposed to a defect of the data.
#[derive(Debug)]
pub struct SourceError(pub io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for SourceError {}

/// True when `e` came from the source rather than from the data.
pub fn is_source_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<SourceError>())
}

/// Maps a flate2 error to a [`Fault`]; flate2 reports every stream defect this way.
fn inflate_error(e: io::Error, what: &str) -> io::Error {
    if is_source_error(&e) {
        return e;
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            fault(Fault::Truncated(format!("{what} ends early (truncated)")))
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            fault(Fault::Corrupt(format!("{what} is corrupt ({e})")))
        }
        _ => e,
    }
}

/// Compresses one block into a self-describing gzip member.
pub fn encode_member(block: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut enc = DeflateEncoder::new(
        Vec::with_capacity(block.len() / 2 + 64),
        Compression::new(level),
    );
    enc.write_all(block)?;
    let deflated = enc.finish()?;
    let mut crc = Crc::new();
    crc.update(block);
    let total = HEADER_LEN + deflated.len() + 8;
    let total32 = u32::try_from(total).map_err(|_| io::Error::other("block too large"))?;
    let mut out = Vec::with_capacity(total);
    // ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=unknown: fixed, so output is reproducible.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(SUBFIELD);
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&total32.to_le_bytes());
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(block.len() as u32).to_le_bytes());
    Ok(out)
}

/// The total length of the member starting with `header`, if it is one of ours.
fn member_len(header: &[u8]) -> Option<usize> {
    let ours = header.len() >= HEADER_LEN
        && header[..4] == [0x1f, 0x8b, 8, 0x04]
        && header[10..12] == 8u16.to_le_bytes()
        && &header[12..14] == SUBFIELD
        && header[14..16] == 4u16.to_le_bytes();
    if !ours {
        return None;
    }
    let len = u32::from_le_bytes([header[16], header[17], header[18], header[19]]) as usize;
    (HEADER_LEN + 8..=MAX_MEMBER).contains(&len).then_some(len)
}

/// Inflates one of our members, checking its CRC and length.
fn decode_member(member: Vec<u8>) -> io::Result<Vec<u8>> {
    let body = &member[HEADER_LEN..member.len() - 8];
    let trailer = &member[member.len() - 8..];
    let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let want_len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    let mut out = Vec::with_capacity(want_len.min(MAX_MEMBER));
    let mut dec = DeflateDecoder::new(body);
    (&mut dec)
        .take(MAX_MEMBER as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| inflate_error(e, "gzip member"))?;
    if out.len() > MAX_MEMBER {
        return Err(fault(Fault::Corrupt(
            "a block-format gzip member inflates beyond 4 MiB".into(),
        )));
    }
    let mut crc = Crc::new();
    crc.update(&out);
    if crc.sum() != want_crc || out.len() != want_len {
        return Err(fault(Fault::Corrupt(
            "gzip member CRC or length mismatch".into(),
        )));
    }
    Ok(out)
}

/// Counters shared between the reader thread and the consumer.
#[derive(Debug, Default)]
pub struct Stats {
    pub compressed_bytes: AtomicU64,
    pub members: AtomicU64,
    pub parallel: AtomicBool,
    pub sha256: std::sync::Mutex<Option<String>>,
}

/// Reads the compressed source, hashing and counting every byte.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    stats: Arc<Stats>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))?;
        self.hasher.update(&buf[..n]);
        self.stats
            .compressed_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads until `buf` is full or EOF; returns how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

type Block = io::Result<Vec<u8>>;

/// The inflated byte stream of a gzip source, produced on background threads.
pub struct Inflated {
    out: pool::Ordered<Block>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    pub stats: Arc<Stats>,
}

impl Inflated {
    /// Starts inflating `source` with up to `workers` threads.
    pub fn start(source: Box<dyn Read + Send>, workers: usize) -> Self {
        let stats = Arc::new(Stats::default());
        // One block per worker plus one being parsed: enough to keep every core busy, and
        // memory stays at about 2 MiB per worker whatever the archive size.
        let (submit, out) = pool::spawn(workers, workers + 1, decode_member);
        let reader_stats = Arc::clone(&stats);
        thread::spawn(move || {
            let mut src = Hashing {
                inner: source,
                hasher: Sha256::new(),
                stats: Arc::clone(&reader_stats),
            };
            if let Err(e) = produce(&mut src, &submit, &reader_stats) {
                let _ = submit.ready(Err(e));
            }
            let digest = hex::encode(std::mem::take(&mut src.hasher).finalize());
            if let Ok(mut slot) = reader_stats.sha256.lock() {
                *slot = Some(digest);
            }
        });
        Self {
            out,
            current: Vec::new(),
            pos: 0,
            done: false,
            stats,
        }
    }

    /// sha256 of the compressed input, available once the stream was read to its end.
    pub fn sha256(&self) -> Option<String> {
        self.stats.sha256.lock().ok().and_then(|s| s.clone())
    }
}

fn produce<R: Read>(
    src: &mut R,
    submit: &pool::Submitter<Vec<u8>, Block>,
    stats: &Stats,
) -> io::Result<()> {
    let mut header = [0u8; HEADER_LEN];
    let n = read_full(src, &mut header)?;
    if n == 0 {
        return Err(fault(Fault::NotGzip(
            "input is empty, expected gzip".into(),
        )));
    }
    if n < 2 || header[..2] != [0x1f, 0x8b] {
        return Err(fault(Fault::NotGzip(
            "input is not gzip (bad magic bytes)".into(),
        )));
    }
    let mut n = n;
    while let Some(len) = member_len(&header[..n]) {
        stats.parallel.store(true, Ordering::Relaxed);
        let mut member = vec![0u8; len];
        member[..HEADER_LEN].copy_from_slice(&header);
        if read_full(src, &mut member[HEADER_LEN..])? != len - HEADER_LEN {
            return Err(fault(Fault::Truncated(
                "gzip member ends early (truncated)".into(),
            )));
        }
        stats.members.fetch_add(1, Ordering::Relaxed);
        submit
            .submit(member)
            .map_err(|_| io::Error::other("consumer stopped"))?;
        n = read_full(src, &mut header)?;
        if n == 0 {
            return Ok(());
        }
    }
    // Not (or no longer) our block format: inflate the rest as one multi-member stream.
    let rest: Chain<Cursor<Vec<u8>>, &mut R> = Cursor::new(header[..n].to_vec()).chain(src);
    let mut dec = MultiGzDecoder::new(rest);
    loop {
        let mut block = vec![0u8; 256 << 10];
        let got = read_full(&mut dec, &mut block).map_err(|e| inflate_error(e, "gzip stream"))?;
        if got == 0 {
            return Ok(());
        }
        block.truncate(got);
        submit
            .ready(Ok(block))
            .map_err(|_| io::Error::other("consumer stopped"))?;
    }
}

impl Read for Inflated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.out.next() {
                Some(Ok(block)) => {
                    self.current = block;
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The [`Fault`] inside an error produced by this module, if any.
pub fn fault_of(e: &io::Error) -> Option<&Fault> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Fault>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Inflated::start(Box::new(Cursor::new(bytes)), 2).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn block_members_round_trip_and_plain_gzip_reads_them() {
        let data: Vec<u8> = (0..3 * BLOCK + 123).map(|i| (i % 251) as u8).collect();
        let mut archive = Vec::new();
        for chunk in data.chunks(BLOCK) {
            archive.extend(encode_member(chunk, 6).expect("encode"));
        }
        assert_eq!(inflate_all(archive.clone()).expect("ours"), data);
        let mut plain = Vec::new();
        MultiGzDecoder::new(&archive[..])
            .read_to_end(&mut plain)
            .expect("standard reader");
        assert_eq!(plain, data);
    }

    #[test]
    fn defects_are_classified() {
        let member = encode_member(b"hello world", 6).expect("encode");
        let mut corrupt = member.clone();
        let last = corrupt.len() - 9;
        corrupt[last] ^= 0xff;
        type Expect = fn(&Fault) -> bool;
        let cases: Vec<(Vec<u8>, Expect)> = vec![
            (vec![], |f| matches!(f, Fault::NotGzip(_))),
            (b"PK\x03\x04zip".to_vec(), |f| {
                matches!(f, Fault::NotGzip(_))
            }),
            (member[..member.len() - 3].to_vec(), |f| {
                matches!(f, Fault::Truncated(_))
            }),
            (corrupt, |f| matches!(f, Fault::Corrupt(_))),
        ];
        for (bytes, expect) in cases {
            let err = inflate_all(bytes).expect_err("defect");
            let f = fault_of(&err).unwrap_or_else(|| panic!("no fault in {err}"));
            assert!(expect(f), "{f:?}");
        }
    }
}
