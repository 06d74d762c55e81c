//! Writes a synthetic model directory with weight-like content for the artifact benchmarks:
//! `cargo run --release --example synth_artifact -- DIR SIZE_MIB`.
//!
//! The model file holds float32 weights drawn from a normal distribution and rounded to a
//! bf16-like 8-bit mantissa, so it compresses about as well as real trained weights (≈1.3×),
//! not like zeros or random bytes.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "synth-model".into()));
    let mib: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    std::fs::create_dir_all(dir.join("model"))?;
    std::fs::create_dir_all(dir.join("artifacts"))?;
    std::fs::write(
        dir.join("inference.py"),
        "def model_fn(model_dir):\n    return None\n",
    )?;
    std::fs::write(dir.join("requirements.txt"), "catboost==1.2.5\n")?;
    std::fs::write(
        dir.join("model-info.json"),
        r#"{"candidate_run_id": "bench", "data_version": "synthetic"}"#,
    )?;
    std::fs::write(
        dir.join("artifacts/feature_schema.json"),
        r#"{"features": ["f0", "f1"]}"#,
    )?;
    std::fs::write(
        dir.join("artifacts/splits.json"),
        r#"{"train": 0.8, "test": 0.2}"#,
    )?;
    std::fs::write(dir.join("artifacts/metrics.json"), r#"{"auc": 0.9}"#)?;
    let mut out =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("model/model.cbm"))?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let floats = mib * (1 << 20) / 4;
    for _ in 0..floats / 2 {
        let (u1, u2) = (next().max(1e-12), next());
        let r = (-2.0 * u1.ln()).sqrt() * 0.02;
        let (a, b) = (
            r * (std::f64::consts::TAU * u2).cos(),
            r * (std::f64::consts::TAU * u2).sin(),
        );
        for v in [a as f32, b as f32] {
            let bits = v.to_bits() & 0xFFFF_8000; // keep sign, exponent, 8 mantissa bits
            out.write_all(&bits.to_le_bytes())?;
        }
    }
    out.flush()
}
