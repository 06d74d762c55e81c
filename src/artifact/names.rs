//! Entry names inside a tar archive: PAX extension records parsed without trusting their
//! lengths, and path normalisation that refuses NUL bytes, non-UTF-8, absolute and Windows
//! paths, backslashes, `..` components and excessive nesting.

use super::{Limits, Rule};

/// Deepest directory nesting accepted; bounds the memory of the path-conflict check.
const MAX_DEPTH: usize = 32;

/// One PAX `key=value` record.
type PaxRecord<'a> = (&'a [u8], &'a [u8]);

/// Parses `LEN key=value\n` records without trusting LEN beyond the buffer.
pub(super) fn pax_records(mut buf: &[u8]) -> Result<Vec<PaxRecord<'_>>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let space = buf
            .iter()
            .position(|b| *b == b' ')
            .ok_or("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&buf[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("PAX record length is not a number")?;
        if len <= space + 1 || len > buf.len() || buf[len - 1] != b'\n' {
            return Err("PAX record length does not match its content".into());
        }
        let record = &buf[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or("PAX record without '='")?;
        out.push((&record[..eq], &record[eq + 1..]));
        buf = &buf[len..];
    }
    Ok(out)
}

/// Checks a path's safety and returns it normalised (`./a//b/` → `a/b`).
pub(super) fn normalize(raw: &[u8], limits: &Limits) -> Result<String, (Rule, String)> {
    if raw.contains(&0) {
        return Err((Rule::BadName, "name contains a NUL byte".into()));
    }
    let s = std::str::from_utf8(raw).map_err(|_| (Rule::BadName, "name is not UTF-8".into()))?;
    if s.len() > limits.max_path_len {
        return Err((
            Rule::BadName,
            format!("name longer than {} bytes", limits.max_path_len),
        ));
    }
    let b = s.as_bytes();
    if s.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err((Rule::AbsolutePath, "absolute paths are not allowed".into()));
    }
    if s.contains('\\') {
        return Err((
            Rule::BadName,
            "backslashes are not allowed (Windows path separators)".into(),
        ));
    }
    let parts: Vec<&str> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err((
            Rule::ParentTraversal,
            "\"..\" components are not allowed".into(),
        ));
    }
    if parts.len() > MAX_DEPTH {
        return Err((
            Rule::BadName,
            format!("nested deeper than {MAX_DEPTH} directories"),
        ));
    }
    Ok(parts.join("/"))
}
