//! The artifact validator against crafted archives: one per hazard, plus reproducers of the
//! archive shapes behind tar-rs CVE-2018-20990, CVE-2021-38511, CVE-2026-33055 and
//! CVE-2026-33056. Each must be rejected naming the entry and the rule, and nothing may panic.

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use sagemaker_rollout::artifact::validate::{Input, Report, validate};
use sagemaker_rollout::artifact::{Limits, Rule};

/// A raw tar header with arbitrary (even hostile) fields.
fn header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    let size_field = format!("{size:011o}");
    h[124..124 + size_field.len().min(11)]
        .copy_from_slice(&size_field.as_bytes()[..size_field.len().min(11)]);
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let cks = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(cks.as_bytes());
    h
}

fn entry(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
    raw_entry(name.as_bytes(), kind, data, b"")
}

fn raw_entry(name: &[u8], kind: u8, data: &[u8], link: &[u8]) -> Vec<u8> {
    let mut out = header(name, kind, data.len() as u64, link).to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        let core = format!(" {k}={v}\n");
        let mut len = core.len() + 1;
        while format!("{len}{core}").len() != len {
            len += 1;
        }
        body.extend_from_slice(format!("{len}{core}").as_bytes());
    }
    entry("PaxHeaders/x", b'x', &body)
}

/// The files of a valid artifact, as tar entries.
fn valid_entries() -> Vec<Vec<u8>> {
    vec![
        entry("inference.py", b'0', b"def model_fn(d):\n    return d\n"),
        entry("requirements.txt", b'0', b"catboost==1.2\n"),
        entry(
            "model-info.json",
            b'0',
            br#"{"candidate_run_id": "run-7", "data_version": "d-2026-11"}"#,
        ),
        entry("model/model.cbm", b'0', &[7u8; 3000]),
        entry(
            "artifacts/feature_schema.json",
            b'0',
            br#"{"features": ["age", "plan"]}"#,
        ),
        entry(
            "artifacts/splits.json",
            b'0',
            br#"{"train": 0.8, "test": 0.2}"#,
        ),
        entry("artifacts/metrics.json", b'0', br#"{"auc": 0.91}"#),
    ]
}

fn tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn check_with(bytes: Vec<u8>, limits: &Limits) -> Report {
    let len = bytes.len() as u64;
    validate(
        Input {
            reader: Box::new(Cursor::new(bytes)),
            compressed_len: Some(len),
        },
        limits,
        2,
    )
    .expect("no I/O error")
}

fn check(bytes: Vec<u8>) -> Report {
    check_with(bytes, &Limits::default())
}

/// Valid entries with `extra` appended before the end marker.
fn with(extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut e = valid_entries();
    e.extend(extra);
    gz(&tar(&e))
}

fn assert_rejected(report: &Report, rule: Rule, entry: Option<&str>) {
    assert!(!report.valid, "expected {rule:?}, got a valid report");
    let v = &report.violations[0];
    assert_eq!((v.rule, v.entry.as_deref()), (rule, entry), "{v}");
}

#[test]
fn a_valid_archive_passes_with_its_lineage() {
    let r = check(gz(&tar(&valid_entries())));
    assert!(r.valid, "{:?}", r.violations);
    assert_eq!(r.model_file.as_deref(), Some("model/model.cbm"));
    assert_eq!(r.model_info.unwrap()["candidate_run_id"], "run-7");
    assert_eq!(r.metrics.unwrap()["auc"], 0.91);
    assert_eq!(r.sha256.unwrap().len(), 64);
}

#[test]
fn each_hazard_is_rejected_with_the_entry_and_the_rule() {
    let big_claim = {
        let mut h = header(b"model/weights.bin", b'0', 0, b"");
        // size field claims 8 GiB; only the header is present
        h[124..136].copy_from_slice(b"77777777777\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h.to_vec()
    };
    let huge_pax = {
        let mut h = header(b"PaxHeaders/x", b'x', 0, b"").to_vec();
        h[124..136].copy_from_slice(b"00000400000\0"); // 128 KiB claimed
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    };
    let table: Vec<(&str, Vec<u8>, Rule, Option<&str>)> = vec![
        (
            "absolute path",
            with(vec![entry("/etc/cron.d/evil", b'0', b"x")]),
            Rule::AbsolutePath,
            Some("/etc/cron.d/evil"),
        ),
        (
            "dot-dot",
            with(vec![entry("../evil.py", b'0', b"x")]),
            Rule::ParentTraversal,
            Some("../evil.py"),
        ),
        (
            "dot-dot inside",
            with(vec![entry("model/../../x", b'0', b"x")]),
            Rule::ParentTraversal,
            Some("model/../../x"),
        ),
        (
            "escaping symlink",
            with(vec![raw_entry(b"model/link", b'2', b"", b"/etc/passwd")]),
            Rule::Symlink,
            Some("model/link"),
        ),
        (
            "harmless symlink",
            with(vec![raw_entry(b"serve.py", b'2', b"", b"inference.py")]),
            Rule::Symlink,
            Some("serve.py"),
        ),
        (
            "hard link",
            with(vec![raw_entry(b"copy.py", b'1', b"", b"inference.py")]),
            Rule::HardLink,
            Some("copy.py"),
        ),
        (
            "char device",
            with(vec![entry("dev/null", b'3', b"")]),
            Rule::SpecialFile,
            Some("dev/null"),
        ),
        (
            "block device",
            with(vec![entry("dev/sda", b'4', b"")]),
            Rule::SpecialFile,
            Some("dev/sda"),
        ),
        (
            "fifo",
            with(vec![entry("pipe", b'6', b"")]),
            Rule::SpecialFile,
            Some("pipe"),
        ),
        (
            "duplicate",
            with(vec![entry("inference.py", b'0', b"evil")]),
            Rule::DuplicateEntry,
            Some("inference.py"),
        ),
        (
            "duplicate after normalising",
            with(vec![entry("./requirements.txt", b'0', b"evil")]),
            Rule::DuplicateEntry,
            Some("./requirements.txt"),
        ),
        (
            "backslash",
            with(vec![entry("..\\evil.py", b'0', b"x")]),
            Rule::BadName,
            Some("..\\evil.py"),
        ),
        (
            "file used as a directory",
            with(vec![entry("inference.py/x", b'0', b"x")]),
            Rule::PathConflict,
            Some("inference.py/x"),
        ),
        (
            "long-name header over the cap",
            with(vec![entry("././@LongLink", b'L', &vec![b'a'; 70_000])]),
            Rule::ExtensionHeaderTooLarge,
            Some("././@LongLink"),
        ),
        (
            "PAX header claiming 128 KiB",
            gz(&[valid_entries().concat(), huge_pax].concat()),
            Rule::ExtensionHeaderTooLarge,
            Some("PaxHeaders/x"),
        ),
        (
            "8 GiB claimed by a tiny archive, checked before reading",
            gz(&[valid_entries().concat(), big_claim.clone()].concat()),
            Rule::RatioExceeded,
            Some("model/weights.bin"),
        ),
        (
            "PAX size disagrees",
            with(vec![
                pax(&[("size", "10")]),
                entry("notes.txt", b'0', b"0123456789abcdef"),
            ]),
            Rule::PaxSizeMismatch,
            Some("notes.txt"),
        ),
        (
            "unsupported type",
            with(vec![entry("sparse.bin", b'S', b"")]),
            Rule::UnsupportedEntryType,
            Some("sparse.bin"),
        ),
        (
            "no end-of-archive marker",
            gz(&valid_entries().concat()),
            Rule::Truncated,
            None,
        ),
        (
            "data after the end marker",
            gz(&[tar(&valid_entries()), vec![1u8; 512]].concat()),
            Rule::Corrupt,
            None,
        ),
        (
            "plain tar, not gzip",
            tar(&valid_entries()),
            Rule::NotGzip,
            None,
        ),
        ("empty input", vec![], Rule::NotGzip, None),
    ];
    // Without a known compressed size (stdin), the size cap still stops it before reading.
    let archive = gz(&[valid_entries().concat(), big_claim].concat());
    let limits = Limits {
        max_uncompressed_bytes: 1 << 30,
        ..Limits::default()
    };
    let r = validate(
        Input {
            reader: Box::new(Cursor::new(archive)),
            compressed_len: None,
        },
        &limits,
        2,
    )
    .expect("read");
    assert_rejected(&r, Rule::TooLarge, Some("model/weights.bin"));
    for (what, bytes, rule, entry) in table {
        let r = check(bytes);
        assert!(!r.valid, "{what}: accepted");
        let v = &r.violations[0];
        assert_eq!((v.rule, v.entry.as_deref()), (rule, entry), "{what}: {v}");
    }
}

#[test]
fn truncated_and_corrupt_gzip_are_told_apart() {
    let good = gz(&tar(&valid_entries()));
    assert_rejected(
        &check(good[..good.len() / 2].to_vec()),
        Rule::Truncated,
        None,
    );
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let r = check(corrupt);
    assert!(
        matches!(r.violations[0].rule, Rule::Corrupt | Rule::Truncated),
        "{}",
        r.violations[0]
    );
}

#[test]
fn bad_header_checksum_is_corrupt() {
    let mut t = tar(&valid_entries());
    t[0] ^= 1; // first header's name changes, checksum no longer matches
    assert_rejected(&check(gz(&t)), Rule::Corrupt, None);
}

#[test]
fn entry_count_and_ratio_caps_hold() {
    let many: Vec<Vec<u8>> = (0..20)
        .map(|i| entry(&format!("extra/{i}.txt"), b'0', b"x"))
        .collect();
    let limits = Limits {
        max_entries: 15,
        ..Limits::default()
    };
    let r = check_with(with(many), &limits);
    assert_eq!(r.violations[0].rule, Rule::TooManyEntries);
    let zeros = vec![0u8; 50 << 20];
    let bomb = with(vec![entry("model/padding.bin", b'0', &zeros)]);
    let r = check(bomb);
    assert_rejected(&r, Rule::RatioExceeded, Some("model/padding.bin"));
}

#[test]
fn contract_violations_are_all_listed() {
    let entries = vec![
        entry("inference.py", b'0', b"x"),
        entry("model-info.json", b'0', br#"{"candidate_run_id": "r"}"#),
        entry("model/model.cbm", b'0', b"m"),
        entry("model/model.pkl", b'0', b"m"),
        entry("artifacts/metrics.json", b'0', b"{not json"),
    ];
    let r = check(gz(&tar(&entries)));
    let got: Vec<(Rule, Option<&str>)> = r
        .violations
        .iter()
        .map(|v| (v.rule, v.entry.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Rule::MissingField, Some("model-info.json")),
            (Rule::InvalidJson, Some("artifacts/metrics.json")),
            (Rule::MissingRequiredFile, Some("requirements.txt")),
            (
                Rule::MissingRequiredFile,
                Some("artifacts/feature_schema.json")
            ),
            (Rule::MissingRequiredFile, Some("artifacts/splits.json")),
            (Rule::ModelFileCount, Some("model/")),
        ]
    );
    assert!(r.violations[0].detail.contains("data_version"));
}

/// CVE-2018-20990: a symlink to a directory outside, then a file written through it.
#[test]
fn cve_2018_20990_symlink_then_file_through_it() {
    let r = check(with(vec![
        raw_entry(b"sub", b'2', b"", b"../../.."),
        entry("sub/etc/profile", b'0', b"evil"),
    ]));
    assert_rejected(&r, Rule::Symlink, Some("sub"));
}

/// CVE-2021-38511: a symlink, then a directory entry through it creates directories outside.
#[test]
fn cve_2021_38511_symlink_then_directory_through_it() {
    let r = check(with(vec![
        raw_entry(b"escape", b'2', b"", b"/tmp"),
        entry("escape/made-by-tar/", b'5', b""),
    ]));
    assert_rejected(&r, Rule::Symlink, Some("escape"));
}

/// CVE-2026-33055: a PAX size that disagrees with the header lets two readers see different
/// entries (one parser skips 16 bytes, another 10, and the rest is read as a hidden header).
#[test]
fn cve_2026_33055_pax_size_smuggling() {
    let hidden = entry("hidden.py", b'0', b"import os");
    let mut smuggled = header(b"notes.txt", b'0', 512 + hidden.len() as u64, b"").to_vec();
    smuggled.extend_from_slice(&[b'n'; 512]);
    smuggled.extend_from_slice(&hidden);
    let archive = [
        valid_entries().concat(),
        pax(&[("size", "512")]),
        smuggled,
        vec![0u8; 1024],
    ]
    .concat();
    assert_rejected(
        &check(gz(&archive)),
        Rule::PaxSizeMismatch,
        Some("notes.txt"),
    );
}

/// CVE-2026-33056: a symlink to a directory outside, then a directory entry of the same name
/// whose mode an extractor applies through the link (chmod of an arbitrary directory).
#[test]
fn cve_2026_33056_symlink_then_directory_chmod() {
    let r = check(with(vec![
        raw_entry(b"victim", b'2', b"", b"/etc"),
        entry("victim/", b'5', b""),
    ]));
    assert_rejected(&r, Rule::Symlink, Some("victim"));
}

#[test]
fn a_failing_source_is_an_io_error_not_an_invalid_artifact() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "network down",
                ));
            }
            self.0 -= 1;
            buf[..2].copy_from_slice(&[0x1f, 0x8b]);
            Ok(2)
        }
    }
    let res = validate(
        Input {
            reader: Box::new(Failing(1)),
            compressed_len: None,
        },
        &Limits::default(),
        2,
    );
    assert!(res.is_err(), "{res:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Random corruption of a valid archive never panics and is never mistaken for valid
    /// unless the bytes still form a valid archive.
    #[test]
    fn random_corruption_never_panics(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = gz(&tar(&valid_entries()));
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x | 1;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let r = check(bytes);
        prop_assert!(r.valid == r.violations.is_empty());
    }

    /// The same for raw tar bytes under a valid gzip layer (the tar parser's input).
    #[test]
    fn random_tar_headers_never_panic(flips in prop::collection::vec((0usize..4096, any::<u8>()), 1..16)) {
        let mut t = tar(&valid_entries());
        for (i, x) in flips {
            let i = i % t.len();
            t[i] ^= x | 1;
        }
        let r = check(gz(&t));
        prop_assert!(r.valid == r.violations.is_empty());
    }
}

#[test]
fn an_unsupported_model_file_is_named_not_only_the_accepted_ones() {
    let mut entries = valid_entries();
    entries.retain(|e| !e.starts_with(b"model/model.cbm"));
    entries.push(entry("model/model.onnx", b'0', &[1u8; 100]));
    let report = check(gz(&tar(&entries)));
    let v = report
        .violations
        .iter()
        .find(|v| v.rule == Rule::ModelFileCount)
        .unwrap_or_else(|| panic!("no model file count violation in {:?}", report.violations));
    assert!(
        v.detail
            .contains("found none (found model/model.onnx, whose extension is not supported)"),
        "{}",
        v.detail
    );
}

/// Zeros after the end-of-archive marker are padding up to a point: a stream of them (which
/// inflates for free, past the size and ratio checks of the entries) is refused, not read
/// to its end.
#[test]
fn a_flood_of_zeros_after_the_archive_is_refused() {
    let mut archive = tar(&valid_entries());
    archive.extend(std::iter::repeat_n(0u8, 64 << 20));
    let r = check(gz(&archive));
    assert_rejected(&r, Rule::Corrupt, None);
    assert!(
        r.violations[0].detail.contains("zeros follow"),
        "{}",
        r.violations[0]
    );
    // Ordinary padding (a 10 KiB tar record) still passes.
    let mut padded = tar(&valid_entries());
    padded.extend(std::iter::repeat_n(0u8, 10 << 10));
    assert!(check(gz(&padded)).valid);
}

/// An archive whose compressed size is beyond the uncompressed cap is refused before any
/// byte is read (the reader here fails if read).
#[test]
fn a_compressed_size_beyond_the_cap_is_refused_unread() {
    struct Unread;
    impl std::io::Read for Unread {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("a refused archive is not read")
        }
    }
    let r = validate(
        Input {
            reader: Box::new(Unread),
            compressed_len: Some(60 << 40),
        },
        &Limits::default(),
        2,
    )
    .unwrap();
    assert_rejected(&r, Rule::TooLarge, None);
}
