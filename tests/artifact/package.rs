//! `package`: byte-reproducible output, round trip through `validate`, readable by standard
//! tools, and refusal of directories that would not pass.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sagemaker_rollout::artifact::Limits;
use sagemaker_rollout::artifact::package::{PackageError, package};
use sagemaker_rollout::artifact::validate::validate_file;

fn write_tree(root: &Path, model_bytes: usize) {
    fs::create_dir_all(root.join("model")).unwrap();
    fs::create_dir_all(root.join("artifacts")).unwrap();
    fs::write(
        root.join("inference.py"),
        "def model_fn(model_dir):\n    return None\n",
    )
    .unwrap();
    fs::write(root.join("requirements.txt"), "catboost==1.2.5\n").unwrap();
    fs::write(
        root.join("model-info.json"),
        r#"{"candidate_run_id": "run-9", "data_version": "2026-11-01"}"#,
    )
    .unwrap();
    let weights: Vec<u8> = (0..model_bytes)
        .map(|i| ((i * 2654435761) >> 13) as u8 & 0x3f)
        .collect();
    fs::write(root.join("model/model.cbm"), weights).unwrap();
    fs::write(
        root.join("artifacts/feature_schema.json"),
        r#"{"features": ["tenure", "plan"]}"#,
    )
    .unwrap();
    fs::write(
        root.join("artifacts/splits.json"),
        r#"{"train": 0.8, "test": 0.2}"#,
    )
    .unwrap();
    fs::write(root.join("artifacts/metrics.json"), r#"{"auc": 0.912}"#).unwrap();
    fs::write(root.join("artifacts/eval_report.md"), "# Evaluation\n").unwrap();
}

#[test]
fn packaging_twice_with_different_mtimes_and_modes_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_tree(&a, 3 << 20);
    write_tree(&b, 3 << 20);
    let status = Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06"])
        .arg(b.join("inference.py"))
        .status()
        .unwrap();
    assert!(status.success());
    fs::set_permissions(
        b.join("requirements.txt"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::set_permissions(b.join("artifacts"), fs::Permissions::from_mode(0o700)).unwrap();
    let pa = package(&a, &dir.path().join("a.tar.gz"), 6, 2).unwrap();
    let pb = package(&b, &dir.path().join("b.tar.gz"), 6, 1).unwrap();
    assert_eq!(
        pa.sha256, pb.sha256,
        "thread count, mtimes and modes must not change the bytes"
    );
    assert_eq!(fs::read(&pa.path).unwrap(), fs::read(&pb.path).unwrap());
}

#[test]
fn packaged_archive_validates_in_parallel_and_extracts_with_tar() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src, 5 << 20);
    let out = dir.path().join("model.tar.gz");
    let p = package(&src, &out, 6, 2).unwrap();
    let report = validate_file(&out, &Limits::default(), 2).unwrap();
    assert!(report.valid, "{:?}", report.violations);
    assert!(
        report.parallel,
        "block-format members are inflated in parallel"
    );
    assert!(report.gzip_members >= 5, "{}", report.gzip_members);
    assert_eq!(report.sha256.as_deref(), Some(p.sha256.as_str()));
    assert_eq!(report.model_info.unwrap()["candidate_run_id"], "run-9");

    let x = dir.path().join("x");
    fs::create_dir(&x).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&out)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(status.success(), "tar -xzf must read the archive");
    for f in [
        "inference.py",
        "model/model.cbm",
        "artifacts/metrics.json",
        "artifacts/eval_report.md",
    ] {
        assert_eq!(
            fs::read(x.join(f)).unwrap(),
            fs::read(src.join(f)).unwrap(),
            "{f}"
        );
    }
    let listing = Command::new("tar").arg("-tvzf").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        text.lines()
            .all(|l| l.contains(" 0/0 ") && l.contains("1970-01-01")),
        "{text}"
    );
}

#[test]
fn a_directory_that_would_fail_validation_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src, 1000);
    fs::remove_file(src.join("requirements.txt")).unwrap();
    fs::write(src.join("model/model.pkl"), b"second model").unwrap();
    let out = dir.path().join("bad.tar.gz");
    let err = package(&src, &out, 6, 2).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PackageError::Invalid(_)), "{text}");
    assert!(
        text.contains("requirements.txt") && text.contains("model/model.pkl"),
        "{text}"
    );
    assert!(!out.exists());
    assert!(!out.with_extension("partial").exists());
}

#[test]
fn symlinks_in_the_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src, 1000);
    std::os::unix::fs::symlink("/etc/passwd", src.join("model/link")).unwrap();
    let err = package(&src, &dir.path().join("o.tar.gz"), 6, 2).unwrap_err();
    assert!(
        err.to_string().contains("model/link") && err.to_string().contains("symbolic links"),
        "{err}"
    );
}

#[test]
fn cli_validate_exit_codes_and_json_output() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src, 1000);
    let out = dir.path().join("m.tar.gz");
    let st = Command::new(bin)
        .arg("package")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let v = Command::new(bin)
        .arg("validate")
        .arg(&out)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(json["valid"], true);
    fs::write(dir.path().join("junk.tar.gz"), b"not an archive").unwrap();
    let bad = Command::new(bin)
        .arg("validate")
        .arg(dir.path().join("junk.tar.gz"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("[not-gzip]"));
    let missing = Command::new(bin)
        .arg("validate")
        .arg(dir.path().join("nope.tar.gz"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
