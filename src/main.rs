//! The `sagemaker-rollout` command line.
#![forbid(unsafe_code)]

mod cli_rollout;

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
use sagemaker_rollout::artifact::register::{RegisterError, RegisterRequest, register};
use sagemaker_rollout::artifact::remote::validate_s3;
use sagemaker_rollout::artifact::validate::{Input, Report, validate};
use sagemaker_rollout::aws::registry::SdkRegistry;
use sagemaker_rollout::aws::s3::{S3Uri, SdkS3};
use sagemaker_rollout::aws::{self, Settings};
use std::sync::Arc;

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
        /// Local path, `s3://bucket/key` (read with concurrent ranged GETs), or `-` for stdin.
        path: String,
        /// AWS region for s3:// input (default: the environment).
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
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
    /// Run the rollout of a manifest on the built-in SageMaker simulator in virtual time and
    /// print the timeline (phase, step, weights, every mutating AWS call) and the final status.
    /// Exit 0 when the rollout ends in the expected phase.
    Simulate {
        /// The ModelDeployment manifest.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Scenario file: timed alarms, failed updates, throttling (see the README).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Start from an empty account instead of an endpoint serving a champion.
        #[arg(long)]
        empty: bool,
        /// Phase the rollout must end in for exit code 0.
        #[arg(long, default_value = "Succeeded", value_parser = parse_phase)]
        expect: sagemaker_rollout::api::Phase,
        /// Also list every read call.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Drive the rollout of a manifest on AWS (or AWS_ENDPOINT_URL) through the same engine as
    /// the controller. Without --wait one reconcile runs; with it, until Succeeded, RolledBack
    /// or Failed. Interrupted and run again, it resumes from AWS state alone.
    Apply {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Keep reconciling until the rollout is at rest.
        #[arg(long)]
        wait: bool,
        /// AWS region when the spec has none (default: the environment).
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
    },
    /// Print what the next reconcile would do; changes nothing.
    Plan {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
    },
    /// Remove what the resource owns on AWS, as deletionPolicy Delete would.
    Delete {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
    },
    /// Validate a packaged artifact, upload it to S3 (content-addressed) and create a model
    /// package version with lineage tags and CustomerMetadataProperties from model-info.json.
    Register {
        /// The model.tar.gz to register.
        artifact: PathBuf,
        /// Model package group (created if absent).
        #[arg(long)]
        group: String,
        /// S3 prefix to upload under; the object lands at PREFIX/<sha256>/model.tar.gz.
        #[arg(long)]
        s3_prefix: String,
        /// Inference container image URI.
        #[arg(long)]
        image: String,
        /// Approval status of the new version.
        #[arg(long, default_value = "PendingManualApproval", value_parser = ["Approved", "PendingManualApproval", "Rejected"])]
        approval: String,
        /// Request content types the model accepts.
        #[arg(long = "content-type", default_values = ["text/csv"])]
        content_types: Vec<String>,
        /// Response MIME types the model returns.
        #[arg(long = "response-type", default_values = ["application/json"])]
        response_types: Vec<String>,
        /// Package description.
        #[arg(long, default_value = "registered by sagemaker-rollout")]
        description: String,
        /// Extra tag KEY=VALUE (repeatable).
        #[arg(long = "tag", value_parser = parse_key_value)]
        tags: Vec<(String, String)>,
        /// AWS region (default: the environment).
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Run the Kubernetes controller: reconcile every ModelDeployment in the watched
    /// namespaces until SIGTERM. Serves /metrics, /livez and /readyz.
    Controller(sagemaker_rollout::controller::Config),
}

fn parse_phase(s: &str) -> Result<sagemaker_rollout::api::Phase, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("\"{s}\" is not a phase (Succeeded, RolledBack, Failed, Paused, …)"))
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("\"{s}\" is not KEY=VALUE"))
}

fn controller(config: sagemaker_rollout::controller::Config) -> anyhow::Result<ExitCode> {
    use sagemaker_rollout::controller::{self, Deps, LogFormat};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    runtime()?.block_on(async move {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the Kubernetes API (in-cluster or KUBECONFIG)")?;
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(shutdown_on_signal(stop.clone()));
        tracing::info!(
            namespaces = ?config.namespaces,
            concurrency = config.concurrency,
            leader_election = config.leader_election,
            listen = %config.listen_address,
            "starting controller"
        );
        controller::run(client, config, Deps::production(), stop).await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C: finish in-flight reconciles, release the
/// lease, exit.
async fn shutdown_on_signal(stop: tokio_util::sync::CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    stop.cancel();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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
        Command::Controller(config) => controller(config),
        Command::Simulate {
            file,
            scenario,
            empty,
            expect,
            verbose,
        } => cli_rollout::simulate_cmd(&file, scenario.as_ref(), empty, expect, verbose),
        Command::Apply { file, wait, region } => cli_rollout::apply_cmd(&file, region, wait, false),
        Command::Plan { file, region } => cli_rollout::plan_cmd(&file, region),
        Command::Delete { file, region } => cli_rollout::apply_cmd(&file, region, true, true),
        Command::Validate {
            path,
            region,
            limits,
            output,
            threads,
        } => cmd_validate(&path, region, &limits.limits()?, output, cores(threads)),
        Command::Register {
            artifact,
            group,
            s3_prefix,
            image,
            approval,
            content_types,
            response_types,
            description,
            tags,
            region,
            output,
        } => {
            let req = RegisterRequest {
                artifact,
                s3_prefix: S3Uri::parse(&s3_prefix).map_err(anyhow::Error::msg)?,
                group,
                image,
                approval,
                content_types,
                response_types,
                description,
                extra_tags: tags.into_iter().collect(),
            };
            cmd_register(&req, region, output)
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

fn cmd_validate(
    path: &str,
    region: Option<String>,
    limits: &Limits,
    output: OutputFormat,
    workers: usize,
) -> anyhow::Result<ExitCode> {
    let report = if path.starts_with("s3://") {
        let uri = S3Uri::parse(path).map_err(anyhow::Error::msg)?;
        runtime()?.block_on(async {
            let config = aws::load(&Settings {
                region,
                assume_role_arn: None,
            })
            .await;
            validate_s3(Arc::new(SdkS3::new(&config)), &uri, limits.clone(), workers).await
        })
    } else {
        let input = if path == "-" {
            Input {
                reader: Box::new(std::io::stdin()),
                compressed_len: None,
            }
        } else {
            Input::file(std::path::Path::new(path)).with_context(|| format!("opening {path}"))?
        };
        validate(input, limits, workers).map_err(Into::into)
    }
    .with_context(|| format!("reading {path}"))?;
    print_report(path, &report, output)?;
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_register(
    req: &RegisterRequest,
    region: Option<String>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let result = rt.block_on(async {
        let config = aws::load(&Settings {
            region,
            assume_role_arn: None,
        })
        .await;
        register(
            req,
            &SdkS3::new(&config),
            &SdkRegistry::new(&config),
            cores(None),
        )
        .await
    });
    let done = match result {
        Ok(done) => done,
        Err(e @ RegisterError::Invalid(_)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!("registered {}", done.package_arn);
        println!(
            "  artifact  {} (sha256 {})",
            done.model_data_url, done.sha256
        );
        for (k, v) in &done.tags {
            println!("  tag       {k}={v}");
        }
    }
    Ok(ExitCode::SUCCESS)
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
