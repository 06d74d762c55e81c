//! The on-call subcommands (`status`, `list`, `history`, `pause`, `resume`, `promote`,
//! `abort`, `retry`, `undo`): the kubeconfig's cluster and namespace, then [`sagemaker_rollout::oncall`].
//! Installed as `kubectl-sagemaker_rollout` on the PATH they run as `kubectl sagemaker-rollout …`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use sagemaker_rollout::api::Gate;
use sagemaker_rollout::engine::picture::{self, Sample};
use sagemaker_rollout::oncall::{self, Changed, GateChange, Oncall, OncallError};

use super::{Shown, paint};

/// Which resource, where.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct Target {
    /// The ModelDeployment's name.
    pub name: String,
    #[command(flatten)]
    pub cluster: Cluster,
}

/// Which cluster and namespace, as kubectl's flags say.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct Cluster {
    /// The namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// The kubeconfig context to use (default: its current context). kubectl does not pass
    /// its own `--context` to a plugin, so the plugin takes one itself.
    #[arg(long)]
    pub context: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else the pod's
    /// service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
}

/// `what` of `md` as JSON or YAML, named by the resource (for scripts: `jq`, `yq`).
fn as_data(
    md: &sagemaker_rollout::api::ModelDeployment,
    what: serde_json::Value,
    shown: Shown,
) -> anyhow::Result<String> {
    use kube::ResourceExt;
    shown.data(&serde_json::json!({
        "namespace": md.namespace(),
        "name": md.name_any(),
        "status": what,
    }))
}

/// The gate commands' options.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct GateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Patch even when a GitOps tool owns the field (its next sync will undo it).
    #[arg(long)]
    pub force: bool,
}

async fn connect(t: &Cluster) -> anyhow::Result<Oncall> {
    let config = if t.context.is_none() && t.kubeconfig.is_none() {
        kube::Config::infer().await.context(
            "reading the kubeconfig (KUBECONFIG, ~/.kube/config or the pod's service account)",
        )?
    } else {
        let file = match &t.kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading the kubeconfig {}", path.display()))?,
            None => kube::config::Kubeconfig::read().context("reading the kubeconfig")?,
        };
        let options = kube::config::KubeConfigOptions {
            context: t.context.clone(),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(file, &options)
            .await
            .with_context(|| match &t.context {
                Some(c) => format!("using the kubeconfig's context {c}"),
                None => "using the kubeconfig's current context".to_owned(),
            })?
    };
    let namespace = t
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).context("connecting to the cluster")?;
    Ok(Oncall::new(client, &namespace))
}

/// `status`'s exit codes beyond 0 (success) and 1 (the cluster refused, or no such
/// resource): the rollout ended rolled back, failed or stalled, or the watch timed out.
pub(crate) const ROLLED_BACK: u8 = 3;
pub(crate) const FAILED: u8 = 4;
pub(crate) const TIMED_OUT: u8 = 5;

/// What `status` exits with for a resource in this state: 0 while it is healthy or in
/// progress, [`ROLLED_BACK`] or [`FAILED`] (failed, or stalled for a human) otherwise.
fn exit_of(md: &sagemaker_rollout::api::ModelDeployment) -> ExitCode {
    use sagemaker_rollout::api::{Phase, conditions};
    let Some(st) = md.status.as_ref() else {
        return ExitCode::SUCCESS;
    };
    match st.phase {
        Some(Phase::RolledBack) => ExitCode::from(ROLLED_BACK),
        Some(Phase::Failed) => ExitCode::from(FAILED),
        _ if conditions::is_true(st, conditions::ConditionType::Stalled) => ExitCode::from(FAILED),
        _ => ExitCode::SUCCESS,
    }
}

/// Exit 0 on success, 1 when the cluster refused or the resource is missing, 2 for the rest.
fn refused(e: OncallError) -> anyhow::Result<ExitCode> {
    match e {
        OncallError::Kube(_) => Err(e.into()),
        e => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

pub(crate) fn status(
    t: &Target,
    watch: bool,
    timeout: Option<Duration>,
    svg: Option<&Path>,
    shown: Shown,
) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let on = connect(&t.cluster).await?;
        if !watch {
            let md = match on.get(&t.name).await {
                Ok(md) => md,
                Err(e) => return refused(e),
            };
            if shown != Shown::Text {
                let status = serde_json::to_value(&md.status)?;
                print!("{}", as_data(&md, status, shown)?);
                return Ok(exit_of(&md));
            }
            return match on.screen_of(&md, jiff::Timestamp::now()).await {
                Ok(s) => {
                    anstream::print!("{}", paint::screen(&s, paint::enabled()));
                    Ok(exit_of(&md))
                }
                Err(e) => refused(e),
            };
        }
        let tty = std::io::stdout().is_terminal();
        let colour = paint::enabled();
        // With --svg, every redraw also adds a sample and rewrites the picture, so that it
        // is complete up to the moment the command is stopped.
        let mut samples = Vec::new();
        let mut write_error = None;
        let title = format!("{}/{}", on.namespace(), t.name);
        let show = |md: &sagemaker_rollout::api::ModelDeployment, s: &str| {
            if let (Some(path), Some(st)) = (svg, md.status.as_ref()) {
                samples.push(Sample::of(jiff::Timestamp::now(), st));
                if let Err(e) = std::fs::write(path, picture::svg(&title, &samples)) {
                    write_error.get_or_insert(format!("writing {}: {e}", path.display()));
                }
            }
            let s = paint::screen(s, colour);
            let mut out = anstream::stdout().lock();
            // On a terminal the screen is redrawn in place; in a log each one follows.
            let _ = if tty {
                write!(out, "\x1b[H\x1b[2J{s}")
            } else {
                write!(out, "---\n{s}")
            };
            let _ = out.flush();
        };
        let watching = on.watch(&t.name, Duration::from_secs(5), show);
        let watched = match timeout {
            Some(limit) => match tokio::time::timeout(limit, watching).await {
                Ok(w) => w,
                Err(_) => {
                    eprintln!(
                        "error: still not at rest after {}",
                        humantime::format_duration(limit)
                    );
                    return Ok(ExitCode::from(TIMED_OUT));
                }
            },
            None => watching.await,
        };
        if let Some(e) = write_error {
            anyhow::bail!(e);
        }
        match watched {
            Ok(md) => Ok(exit_of(&md)),
            Err(e) => refused(e),
        }
    })
}

pub(crate) fn history(t: &Target, shown: Shown) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let on = connect(&t.cluster).await?;
        match on.get(&t.name).await {
            Ok(md) if shown != Shown::Text => {
                let history = (md.status.as_ref())
                    .map(|s| s.history.clone())
                    .unwrap_or_default();
                print!("{}", as_data(&md, serde_json::to_value(history)?, shown)?);
                Ok(ExitCode::SUCCESS)
            }
            Ok(md) => {
                print!("{}", oncall::screen::history(&md));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e),
        }
    })
}

/// `list`: the ModelDeployments of a namespace, or of all (`-A`).
pub(crate) fn list(c: &Cluster, all: bool, shown: Shown) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let on = connect(c).await?;
        let mds = match on.list(all).await {
            Ok(mds) => mds,
            Err(e) => return refused(e),
        };
        let rows = oncall::screen::rows(&mds);
        match shown {
            Shown::Text => {
                let table = oncall::screen::list(&rows, all);
                anstream::print!("{}", paint::list(&table, &rows, paint::enabled()));
            }
            Shown::Json | Shown::Yaml => print!("{}", shown.data(&rows)?),
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub(crate) fn gate(args: &GateArgs, change: GateChange) -> anyhow::Result<ExitCode> {
    let t = &args.target;
    super::runtime()?.block_on(async {
        let on = connect(&t.cluster).await?;
        match on.change(&t.name, change, args.force).await {
            Ok(Changed::Already) => {
                println!("{}: nothing to change ({})", t.name, said(change));
                Ok(ExitCode::SUCCESS)
            }
            Ok(Changed::Patched { generation }) => {
                let generation = generation
                    .map(|g| format!(" (generation {g})"))
                    .unwrap_or_default();
                println!("{}: {}{generation}", t.name, said(change));
                Ok(ExitCode::SUCCESS)
            }
            Ok(Changed::Requested { rollout }) => {
                println!(
                    "{}: {} (requested for rollout {rollout}; no later rollout acts on it)",
                    t.name,
                    said(change)
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e),
        }
    })
}

fn said(change: GateChange) -> &'static str {
    match change {
        GateChange::Pause => "rollout.paused is true: the rollout holds at its step",
        GateChange::Resume => "rollout.paused is false: the rollout goes on (the step bakes again)",
        GateChange::Request(Gate::Promote) => "promote: the candidate goes to 100 % now",
        GateChange::Request(Gate::Abort) => "abort: the champion takes all traffic back",
        GateChange::Request(Gate::Retry) => "retry: the candidate is rolled out again",
        GateChange::Request(Gate::Undo) => "undo: traffic returns to the previous champion",
    }
}
