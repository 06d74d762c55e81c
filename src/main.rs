//! The `sagemaker-rollout` command line.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sagemaker_rollout::api::check::check_spec;
use sagemaker_rollout::api::crd::crd_yaml;
use sagemaker_rollout::api::document::load_yaml;
use sagemaker_rollout::api::units::ByteSize;
use sagemaker_rollout::artifact::Limits;
use sagemaker_rollout::artifact::package::package;
use sagemaker_rollout::artifact::validate::{Input, Report, validate};

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
    /// Check a model.tar.gz against the artifact contract, streaming it without writing to
    /// disk. Exit 0 when valid, 1 when the artifact is invalid, 2 when it cannot be read.
    Validate {
        /// Local path, or `-` for standard input.
        path: String,
        #[command(flatten)]
        limits: LimitArgs,
        /// `text` for people, `json` for pipelines.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// Inflate threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Build a byte-reproducible model.tar.gz from a directory and print its sha256. Refuses a
    /// directory whose archive would fail `validate`.
    Package {
        /// Directory holding inference.py, requirements.txt, model-info.json, model/, artifacts/.
        dir: PathBuf,
        /// Output file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// gzip level 1-9.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
        level: u32,
        /// Compression threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// Validator limits; the defaults are safe for production artifacts.
#[derive(clap::Args)]
struct LimitArgs {
    /// Most tar entries accepted.
    #[arg(long, default_value_t = 10_000)]
    max_entries: u64,
    /// Largest total uncompressed size (e.g. 50Gi).
    #[arg(long, default_value = "50Gi")]
    max_uncompressed: String,
    /// Largest uncompressed/compressed ratio.
    #[arg(long, default_value_t = 200.0)]
    max_ratio: f64,
    /// Largest GNU long-name or PAX extension header, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    max_extension_header: u64,
    /// Largest JSON metadata file, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    max_json_bytes: u64,
}

impl LimitArgs {
    fn limits(&self) -> anyhow::Result<Limits> {
        let max_uncompressed_bytes = ByteSize::new(self.max_uncompressed.clone())
            .parse()
            .map_err(|e| anyhow::anyhow!("--max-uncompressed: {e}"))?;
        Ok(Limits {
            max_entries: self.max_entries,
            max_uncompressed_bytes,
            max_ratio: self.max_ratio,
            max_extension_header: self.max_extension_header,
            max_json_bytes: self.max_json_bytes,
            ..Limits::default()
        })
    }
}

fn cores(threads: Option<usize>) -> usize {
    threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(2)
        .max(1)
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
        Command::Validate {
            path,
            limits,
            output,
            threads,
        } => {
            let input = if path == "-" {
                Input {
                    reader: Box::new(std::io::stdin()),
                    compressed_len: None,
                }
            } else {
                Input::file(std::path::Path::new(&path))
                    .with_context(|| format!("opening {path}"))?
            };
            let report = validate(input, &limits.limits()?, cores(threads))
                .with_context(|| format!("reading {path}"))?;
            print_report(&path, &report, output)?;
            Ok(if report.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Package {
            dir,
            output,
            level,
            threads,
        } => {
            let done = package(&dir, &output, level, cores(threads))
                .with_context(|| format!("packaging {}", dir.display()))?;
            println!("{}  {}", done.sha256, done.path.display());
            eprintln!(
                "{} entries, {} bytes uncompressed, {} bytes compressed",
                done.entries, done.uncompressed_bytes, done.compressed_bytes
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_report(path: &str, r: &Report, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    if r.valid {
        println!("{path}: valid");
    } else {
        println!(
            "{path}: INVALID ({} problem{})",
            r.violations.len(),
            if r.violations.len() == 1 { "" } else { "s" }
        );
        for v in &r.violations {
            println!("  - {v}");
        }
    }
    if let Some(sha) = &r.sha256 {
        println!("  sha256      {sha}");
    }
    println!(
        "  entries     {} ({} bytes uncompressed, {} bytes compressed, {} gzip member{}{})",
        r.entries,
        r.uncompressed_bytes,
        r.compressed_bytes,
        r.gzip_members,
        if r.gzip_members == 1 { "" } else { "s" },
        if r.parallel {
            ", inflated in parallel"
        } else {
            ""
        }
    );
    if let Some(m) = &r.model_file {
        println!("  model file  {m}");
    }
    if let Some(info) = &r.model_info {
        let field = |k: &str| {
            info.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_owned()
        };
        println!(
            "  run id      {}  data version {}",
            field("candidate_run_id"),
            field("data_version")
        );
    }
    Ok(())
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
