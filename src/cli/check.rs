//! `check`: every document of every file, validated offline as the API server and the
//! controller would; exit 0 when all ModelDeployments are valid, 1 when one is not, 2 when a
//! file cannot be read or parsed.

use std::path::PathBuf;
use std::process::ExitCode;

use sagemaker_rollout::api::document::Outcome;

use super::manifest::{problems_text, read};

pub(super) fn run(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut invalid = false;
    for file in files {
        let (name, docs) = read(file)?;
        for doc in docs {
            match doc.outcome {
                Outcome::Valid(valid) => {
                    println!("{name}: ModelDeployment {} is valid", valid.0.owner());
                }
                Outcome::Invalid { id, problems } => {
                    invalid = true;
                    println!("{}", problems_text(&name, &id, &problems));
                }
                Outcome::Skipped { kind, name: n } => println!(
                    "{name}: document {} is a {kind}{}, not a ModelDeployment; skipped",
                    doc.index + 1,
                    if n.is_empty() {
                        String::new()
                    } else {
                        format!(" ({n})")
                    }
                ),
            }
        }
    }
    Ok(if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
