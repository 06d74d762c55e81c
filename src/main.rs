//! The `sagemaker-rollout` command line.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sagemaker_rollout::api::check::check_spec;
use sagemaker_rollout::api::crd::crd_yaml;
use sagemaker_rollout::api::document::load_yaml;

/// Roll validated models out to Amazon SageMaker endpoints safely.
#[derive(Parser)]
#[command(name = "sagemaker-rollout", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the ModelDeployment CustomResourceDefinition as YAML.
    Crd,
    /// Check ModelDeployment manifests without a cluster: schema fields, then every semantic
    /// rule. Exit 0 when valid, 1 when a spec is invalid, 2 when a file cannot be read.
    Check {
        /// Manifest files (YAML, one or more documents each).
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Crd => {
            print!("{}", crd_yaml().context("rendering the CRD")?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { files } => check(&files),
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut invalid = false;
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        for loaded in load_yaml(&name, &text)? {
            let md = &loaded.resource;
            let id = format!(
                "{}/{}",
                md.metadata.namespace.as_deref().unwrap_or("default"),
                md.metadata.name.as_deref().unwrap_or("<unnamed>")
            );
            let mut problems = loaded.unknown_fields.clone();
            if let Err(errors) = check_spec(&md.spec) {
                problems.extend(errors.0);
            }
            if problems.is_empty() {
                println!("{name}: ModelDeployment {id} is valid");
            } else {
                invalid = true;
                println!(
                    "{name}: ModelDeployment {id} has {} problem{}:",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                for p in problems {
                    println!("  - {p}");
                }
            }
        }
    }
    Ok(if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
