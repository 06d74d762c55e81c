//! The one manifest loader of the CLI: every document of a file is either used (a valid
//! ModelDeployment), rejected (every problem, with its field, line and column), or named as
//! skipped (another kind). `check` prints the verdicts; the rollout commands refuse to act
//! on a file with any invalid ModelDeployment, so nothing is half-applied.

use std::path::Path;

use anyhow::Context;
use sagemaker_rollout::api::document::{Document, Outcome, load_yaml};
use sagemaker_rollout::api::{FieldError, ModelDeployment, Teardown, ValidSpec};

/// A ModelDeployment ready to act on.
pub(super) struct Resource {
    pub md: ModelDeployment,
    pub spec: ValidSpec,
}

/// Reads and classifies every document of `file`.
pub(super) fn read(file: &Path) -> anyhow::Result<(String, Vec<Document>)> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
    let docs = load_yaml(&name, &text)?;
    Ok((name, docs))
}

/// The report of an invalid document: a header line, then one line per problem.
pub(super) fn problems_text(file: &str, id: &str, problems: &[FieldError]) -> String {
    let n = problems.len();
    let mut out = format!(
        "{file}: ModelDeployment {id} has {n} problem{}:",
        if n == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str(&format!("\n  - {p}"));
    }
    out
}

/// Every ModelDeployment of `file`, all valid, or an error naming every problem of every
/// document. Other kinds are named on stderr and left alone.
pub(super) fn load(file: &Path) -> anyhow::Result<Vec<Resource>> {
    let (name, docs) = read(file)?;
    let mut resources = Vec::new();
    let mut reports = Vec::new();
    for doc in docs {
        match doc.outcome {
            Outcome::Valid(valid) => {
                let (md, spec) = *valid;
                resources.push(Resource { md, spec });
            }
            Outcome::Invalid { id, problems } => reports.push(problems_text(&name, &id, &problems)),
            Outcome::Skipped { kind, name: n } => skipped(&name, doc.index, &kind, &n),
        }
    }
    if !reports.is_empty() {
        anyhow::bail!("{}", reports.join("\n"));
    }
    if resources.is_empty() {
        anyhow::bail!("{name}: no ModelDeployment found");
    }
    Ok(resources)
}

/// What `delete` needs of every ModelDeployment of `file`: only the deletion contract must
/// be valid, so a resource whose spec broke can still be cleaned up.
pub(super) fn load_teardowns(file: &Path) -> anyhow::Result<Vec<(ModelDeployment, Teardown)>> {
    let (name, docs) = read(file)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
    let raw: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text).with_context(|| format!("{name} is not valid YAML"))?;
    let raw: Vec<serde_json::Value> = raw.into_iter().filter(|d| !d.is_null()).collect();
    let mut out = Vec::new();
    let mut reports = Vec::new();
    for doc in docs {
        match doc.outcome {
            Outcome::Valid(valid) => {
                let (md, spec) = *valid;
                let teardown = spec.teardown();
                out.push((md, teardown));
            }
            Outcome::Invalid { id, problems } => {
                let typed = raw
                    .get(doc.index)
                    .and_then(|v| serde_json::from_value::<ModelDeployment>(v.clone()).ok());
                match typed.map(|md| Teardown::from_spec(&md.spec).map(|t| (md, t))) {
                    Some(Ok(pair)) => out.push(pair),
                    _ => reports.push(problems_text(&name, &id, &problems)),
                }
            }
            Outcome::Skipped { kind, name: n } => skipped(&name, doc.index, &kind, &n),
        }
    }
    if !reports.is_empty() {
        anyhow::bail!("{}", reports.join("\n"));
    }
    if out.is_empty() {
        anyhow::bail!("{name}: no ModelDeployment found");
    }
    Ok(out)
}

fn skipped(file: &str, index: usize, kind: &str, name: &str) {
    eprintln!(
        "{file}: document {} is a {kind}{}, not a ModelDeployment; skipped",
        index + 1,
        if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        }
    );
}
