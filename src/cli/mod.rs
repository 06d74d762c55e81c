//! The command line: flags (clap) and the dispatch to one module per family of commands —
//! [`manifest`] (the one loader every manifest command uses), [`check`], [`rollout`]
//! (`simulate`, `plan`, `apply`, `delete`), [`artifact`] (`validate`, `package`, `register`)
//! and [`controller`]. `anyhow` lives here and nowhere in the library.

mod artifact;
mod check;
mod controller;
mod help;
mod manifest;
mod oncall;
mod paint;
mod rollout;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sagemaker_rollout::api::Phase;
use sagemaker_rollout::api::crd::{crd_yaml, policy_crd_yaml};
use sagemaker_rollout::oncall::GateChange;

/// Roll validated models out to Amazon SageMaker endpoints safely.
#[derive(Parser)]
#[command(name = "sagemaker-rollout", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The CRDs `crd` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CrdKind {
    Modeldeployments,
    Deploymentpolicies,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CRD of ModelDeployment or DeploymentPolicy.
    ///
    /// Print a CustomResourceDefinition as YAML: ModelDeployment (default) or
    /// DeploymentPolicy.
    Crd {
        /// Which CRD.
        #[arg(value_enum, default_value_t = CrdKind::Modeldeployments)]
        kind: CrdKind,
    },
    /// Print a shell completion script.
    ///
    /// Print a shell completion script: `source <(sagemaker-rollout completion bash)`, or
    /// write it where the shell loads completions from.
    Completion {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Check manifests without a cluster.
    ///
    /// Check ModelDeployment manifests without a cluster: the document, the CRD schema, then
    /// every semantic rule, each problem with its field, line and column. Exit 0 when valid,
    /// 1 when a spec is invalid, 2 when a file cannot be read.
    Check {
        /// Manifest files (YAML, one or more documents each).
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Also judge each ModelDeployment against the DeploymentPolicies in these files (as
        /// the multi-tenant controller does); policies among the manifests count too.
        #[arg(long, num_args = 1..)]
        policy: Vec<PathBuf>,
        /// The controller's default region, for specs without one.
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
    },
    /// Check a model.tar.gz against the artifact contract.
    ///
    /// Check a model.tar.gz against the artifact contract, streaming it without writing to
    /// disk. Exit 0 when valid, 1 when the artifact is invalid, 2 when it cannot be read.
    Validate(artifact::ValidateArgs),
    /// Build a reproducible model.tar.gz from a directory.
    ///
    /// Build a byte-reproducible model.tar.gz from a directory and print its sha256. Refuses a
    /// directory whose archive would fail `validate`.
    Package(artifact::PackageArgs),
    /// Run the rollout on the built-in simulator, in virtual time.
    ///
    /// Run the rollout of every ModelDeployment in a manifest on the built-in SageMaker
    /// simulator in virtual time and print the timeline (phase, step, weights, every mutating
    /// AWS call) and the final status. Exit 0 when every rollout ends in the expected phase.
    Simulate {
        /// The manifest.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Scenario file: timed alarms, failed updates, throttling (see docs/simulator.md).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Start from an empty account instead of an endpoint serving a champion.
        #[arg(long)]
        empty: bool,
        /// Phase every rollout must end in for exit code 0.
        #[arg(long, default_value = "Succeeded", value_parser = parse_phase)]
        expect: Phase,
        /// Also list every read call.
        #[arg(short, long)]
        verbose: bool,
        /// Also draw the rollout as an SVG (weights over time, bakes, smoke test, alarms,
        /// rollback); with several documents, the name gets `-<n>` before the extension.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// The timeline (text), or per document its timeline, final status and call counts
        /// as json or yaml.
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Shown,
    },
    /// Run the rollout on AWS, through the controller's engine.
    ///
    /// Drive the rollout of every ModelDeployment in a manifest on AWS (or AWS_ENDPOINT_URL)
    /// through the same engine as the controller. Without --wait one reconcile runs each;
    /// with it, until Succeeded, RolledBack or Failed. Interrupted and run again, it resumes
    /// from AWS state alone.
    Apply {
        /// The manifest.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Keep reconciling until every rollout is at rest.
        #[arg(long)]
        wait: bool,
        /// Also draw each rollout as an SVG (as `simulate --svg`).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Print what the next reconcile would do; change nothing.
    ///
    /// Print what the next reconcile of each ModelDeployment would do; changes nothing.
    Plan {
        /// The manifest.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// The plan (text), or per document its phase, message and actions as json or yaml.
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Shown,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Remove what a ModelDeployment owns on AWS.
    ///
    /// Remove what each ModelDeployment owns on AWS, as deletionPolicy Delete would.
    Delete {
        /// The manifest.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Upload an artifact and register it as a model package.
    ///
    /// Validate a packaged artifact, upload it to S3 (content-addressed) and create a model
    /// package version with lineage tags and CustomerMetadataProperties from model-info.json.
    Register(artifact::RegisterArgs),
    /// Show a ModelDeployment's rollout: phase, weights, step, alarms, Events.
    ///
    /// One ModelDeployment's phase, variants and weights, step, gates, alarms, smoke
    /// test, conditions and recent Events. `--watch` redraws on every change until the rollout
    /// is at rest (exit 0 Succeeded, 1 RolledBack or Failed).
    Status {
        #[command(flatten)]
        target: oncall::Target,
        /// Redraw until the rollout is at rest; exit 0 if it serves, 3 if it rolled back, 4
        /// if it failed or stalled.
        #[arg(short, long)]
        watch: bool,
        /// With --watch: give up after this long (`30m`, `2h`) with exit code 5.
        #[arg(long, value_name = "DURATION", requires = "watch", value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
        /// With --watch: also draw what was watched as an SVG (weights over time, bakes,
        /// smoke test, alarms, rollback), rewritten on every redraw.
        #[arg(long, value_name = "FILE", requires = "watch")]
        svg: Option<PathBuf>,
        /// The screen (text), or the resource's status as json or yaml.
        #[arg(
            short = 'o',
            long,
            value_enum,
            default_value_t,
            conflicts_with = "watch"
        )]
        output: Shown,
    },
    /// List ModelDeployments with phase, step, weight and candidate.
    ///
    /// The ModelDeployments of a namespace (or of all, with -A), each with its
    /// phase, step, candidate weight, candidate run and endpoint.
    List {
        #[command(flatten)]
        cluster: oncall::Cluster,
        /// Every namespace.
        #[arg(short = 'A', long = "all-namespaces")]
        all_namespaces: bool,
        /// The table (text), or the rows as json or yaml.
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Shown,
    },
    /// Show the finished rollouts a ModelDeployment records.
    ///
    /// The finished rollouts the resource's status records.
    History {
        #[command(flatten)]
        target: oncall::Target,
        /// The table (text), or the records as json or yaml.
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Shown,
    },
    /// Hold the rollout at its step.
    ///
    /// Hold the rollout at its step (sets spec.rollout.paused).
    Pause(oncall::GateArgs),
    /// Go on after a pause.
    ///
    /// Go on after a pause (clears spec.rollout.paused).
    Resume(oncall::GateArgs),
    /// Send the candidate in flight to 100 % now.
    ///
    /// Send the candidate of the rollout in flight to 100 % now, or approve a
    /// `pause` step (a one-shot request in status.requests, for this rollout only).
    Promote(oncall::GateArgs),
    /// Roll the rollout in flight back to the champion now.
    ///
    /// Roll the rollout in flight back to the champion now (a one-shot request in
    /// status.requests, for this rollout only).
    Abort(oncall::GateArgs),
    /// Roll a rolled-back or failed candidate out again.
    ///
    /// Roll out a RolledBack or Failed candidate again (a one-shot request in
    /// status.requests, for the rollout that ended).
    Retry(oncall::GateArgs),
    /// Return traffic to the previous champion after a success.
    ///
    /// Return traffic to the previous champion at once, within the rollback
    /// window after a rollout succeeded: one UpdateEndpoint back to the kept config, not a
    /// new rollout (a one-shot request in status.requests, recorded in history).
    Undo(oncall::GateArgs),
    /// Run the Kubernetes controller.
    ///
    /// Run the Kubernetes controller: reconcile every ModelDeployment in the watched
    /// namespaces until SIGTERM. Serves /metrics, /livez and /readyz.
    Controller(sagemaker_rollout::controller::Config),
}

/// Where the AWS commands connect.
#[derive(clap::Args, Clone, Debug)]
struct AwsArgs {
    /// AWS region for specs without one (default: the environment).
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// How soon to look again while SageMaker transitions.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// AWS requests per second per account and region, shared by every document of the
    /// manifest (a token bucket).
    #[arg(long, env = "AWS_REQUESTS_PER_SECOND", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    aws_requests_per_second: u32,
    /// Requests the bucket lets through at once before the rate applies.
    #[arg(long, env = "AWS_REQUEST_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    aws_request_burst: u32,
    /// Drive (or delete) an endpoint a controller drives for the same ModelDeployment: the
    /// CLI is a driver of its own and refuses such an endpoint without this. The
    /// controller then stops with a Conflict until the endpoint is handed back.
    #[arg(long)]
    take_over: bool,
}

impl AwsArgs {
    /// The CLI as the driver of an engine.
    fn driver(&self) -> sagemaker_rollout::plan::claim::Driver {
        sagemaker_rollout::plan::claim::Driver {
            take_over: self.take_over,
            ..sagemaker_rollout::plan::claim::Driver::cli()
        }
    }
}

impl AwsArgs {
    fn limiter(&self) -> sagemaker_rollout::aws::limit::Limiter {
        use sagemaker_rollout::aws::limit::{Limiter, RequestRate};
        Limiter::new(RequestRate::new(
            self.aws_requests_per_second,
            self.aws_request_burst,
        ))
    }
}

fn parse_phase(s: &str) -> Result<Phase, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("\"{s}\" is not a phase (Succeeded, RolledBack, Failed, Paused, …)"))
}

/// A multi-threaded Tokio runtime for the AWS commands.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// How a command prints: for people (text), or as data for scripts (`jq`, `yq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Shown {
    #[default]
    Text,
    Json,
    Yaml,
}

impl Shown {
    /// `value` as JSON or YAML.
    pub(crate) fn data(self, value: &impl serde::Serialize) -> anyhow::Result<String> {
        Ok(match self {
            Shown::Yaml => serde_saphyr::to_string(value)?,
            _ => format!("{}\n", serde_json::to_string_pretty(value)?),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// Parses the command line and runs it; errors exit 2 with their chain of causes.
pub(crate) fn main() -> ExitCode {
    use clap::FromArgMatches;
    let cli = match Cli::from_arg_matches(&help::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
        Command::Crd { kind } => {
            let yaml = match kind {
                CrdKind::Modeldeployments => crd_yaml(),
                CrdKind::Deploymentpolicies => policy_crd_yaml(),
            };
            print!("{}", yaml.context("rendering the CRD")?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Completion { shell } => {
            let mut cmd = help::command();
            clap_complete::generate(shell, &mut cmd, "sagemaker-rollout", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            files,
            policy,
            region,
        } => check::run(&files, &policy, region.as_deref()),
        Command::Controller(config) => controller::run(config),
        Command::Simulate {
            file,
            scenario,
            empty,
            expect,
            verbose,
            svg,
            output,
        } => rollout::simulate(
            &file,
            scenario.as_ref(),
            (empty, expect, verbose),
            svg.as_deref(),
            output,
        ),
        Command::Apply {
            file,
            wait,
            svg,
            aws,
        } => rollout::apply(&file, &aws, wait, svg.as_deref()),
        Command::Plan { file, aws, output } => rollout::plan(&file, &aws, output),
        Command::Delete { file, aws } => rollout::delete(&file, &aws),
        Command::Validate(args) => artifact::validate(&args),
        Command::Register(args) => artifact::register(&args),
        Command::Package(args) => artifact::package(&args),
        Command::Status {
            target,
            watch,
            timeout,
            svg,
            output,
        } => oncall::status(&target, watch, timeout, svg.as_deref(), output),
        Command::History { target, output } => oncall::history(&target, output),
        Command::Pause(a) => oncall::gate(&a, GateChange::Pause),
        Command::Resume(a) => oncall::gate(&a, GateChange::Resume),
        Command::Promote(a) => oncall::gate(&a, GateChange::PROMOTE),
        Command::Abort(a) => oncall::gate(&a, GateChange::ABORT),
        Command::Retry(a) => oncall::gate(&a, GateChange::RETRY),
        Command::Undo(a) => oncall::gate(&a, GateChange::UNDO),
        Command::List {
            cluster,
            all_namespaces,
            output,
        } => oncall::list(&cluster, all_namespaces, output),
    }
}
