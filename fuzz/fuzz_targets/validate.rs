//! Fuzzes the artifact validator twice per input: the bytes as a compressed archive (gzip
//! layer), and the bytes as tar content under a valid gzip layer (tar and contract layers).
//! Any panic, hang or unbounded allocation is a finding.
#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use sagemaker_rollout::artifact::Limits;
use sagemaker_rollout::artifact::validate::{Input, validate};

fn run(bytes: Vec<u8>) {
    let limits = Limits {
        max_uncompressed_bytes: 256 << 20,
        max_entries: 1000,
        ..Limits::default()
    };
    let len = bytes.len() as u64;
    let input = Input { reader: Box::new(Cursor::new(bytes)), compressed_len: Some(len) };
    if let Ok(report) = validate(input, &limits, 1) {
        assert_eq!(report.valid, report.violations.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    run(data.to_vec());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if gz.write_all(data).is_ok()
        && let Ok(bytes) = gz.finish()
    {
        run(bytes);
    }
});
