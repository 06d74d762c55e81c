//! The artifact commands: `validate` (a file, stdin or `s3://`), `package` (a reproducible
//! archive) and `register` (upload and create the model package version).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use sagemaker_rollout::api::units::ByteSize;
use sagemaker_rollout::artifact::Limits;
use sagemaker_rollout::artifact::package::package as build_package;
use sagemaker_rollout::artifact::register::{
    RegisterError, RegisterRequest, register as register_package,
};
use sagemaker_rollout::artifact::remote::validate_s3;
use sagemaker_rollout::artifact::validate::{Input, Report, validate as validate_input};
use sagemaker_rollout::aws::registry::SdkRegistry;
use sagemaker_rollout::aws::s3::{S3Uri, SdkS3};
use sagemaker_rollout::aws::{self, Settings};

use super::{OutputFormat, runtime};

#[derive(clap::Args)]
pub(super) struct ValidateArgs {
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
}

#[derive(clap::Args)]
pub(super) struct PackageArgs {
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
}

#[derive(clap::Args)]
pub(super) struct RegisterArgs {
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
    /// Extra lineage KEY=VALUE in the package's CustomerMetadataProperties (repeatable).
    #[arg(long = "tag", value_parser = parse_key_value)]
    tags: Vec<(String, String)>,
    /// AWS region (default: the environment).
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// `text` for people, `json` for pipelines.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("\"{s}\" is not KEY=VALUE"))
}

pub(super) fn validate(a: &ValidateArgs) -> anyhow::Result<ExitCode> {
    cmd_validate(
        &a.path,
        a.region.clone(),
        &a.limits.limits()?,
        a.output,
        cores(a.threads),
    )
}

pub(super) fn package(a: &PackageArgs) -> anyhow::Result<ExitCode> {
    let done = build_package(&a.dir, &a.output, a.level, cores(a.threads))
        .with_context(|| format!("packaging {}", a.dir.display()))?;
    println!("{}  {}", done.sha256, done.path.display());
    eprintln!(
        "{} entries, {} bytes uncompressed, {} bytes compressed",
        done.entries, done.uncompressed_bytes, done.compressed_bytes
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn register(a: &RegisterArgs) -> anyhow::Result<ExitCode> {
    let req = RegisterRequest {
        artifact: a.artifact.clone(),
        s3_prefix: S3Uri::parse(&a.s3_prefix).map_err(anyhow::Error::msg)?,
        group: a.group.clone(),
        image: a.image.clone(),
        approval: a.approval.clone(),
        content_types: a.content_types.clone(),
        response_types: a.response_types.clone(),
        description: a.description.clone(),
        extra_tags: a.tags.iter().cloned().collect(),
    };
    cmd_register(&req, a.region.clone(), a.output)
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

fn cmd_validate(
    path: &str,
    region: Option<String>,
    limits: &Limits,
    output: OutputFormat,
    workers: usize,
) -> anyhow::Result<ExitCode> {
    let report = if path.starts_with("s3://") {
        let uri = S3Uri::parse(path).map_err(anyhow::Error::msg)?;
        if uri.key.is_empty() || uri.key.ends_with('/') {
            anyhow::bail!("{path} names a bucket or prefix, not a model.tar.gz object");
        }
        let rt = runtime()?;
        let config = rt.block_on(aws::load(&Settings {
            region,
            assume_role_arn: None,
            session: None,
            tenant: None,
        }))?;
        rt.block_on(async {
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
        validate_input(input, limits, workers).map_err(Into::into)
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
    let config = rt.block_on(aws::load(&Settings {
        region,
        assume_role_arn: None,
        session: None,
        tenant: None,
    }))?;
    let result = rt.block_on(async {
        register_package(
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
        for (k, v) in &done.metadata {
            println!("  metadata  {k}={v}");
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
