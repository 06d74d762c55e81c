//! The rollout commands: `simulate` (the built-in SageMaker simulator, virtual time), `plan`,
//! `apply` and `delete` (a real account, or any `AWS_ENDPOINT_URL`). Each acts on every
//! ModelDeployment of the manifest; `apply` and `delete` drive them concurrently.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use kube::ResourceExt;
use sagemaker_rollout::api::{DeletionPolicy, ModelDeployment, ModelDeploymentStatus, Phase};
use sagemaker_rollout::aws::Settings;
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, Progress, Rest, SystemClock, drive};
use sagemaker_rollout::engine::picture;
use sagemaker_rollout::engine::timeline::{is_read, render};
use sagemaker_rollout::sim::Scenario;
use sagemaker_rollout::sim::simulate::{SimOptions, simulate as run_simulation};

use super::manifest::{self, Resource};
use super::{AwsArgs, Shown, runtime};

mod report;

/// `path` itself for one document, else `stem-<n>.ext` for document n (from 1).
fn numbered(path: &Path, i: usize, n: usize) -> PathBuf {
    if n <= 1 {
        return path.to_owned();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-{}{ext}", i + 1))
}

/// `simulate`; `(empty, expect, verbose)`: start from an empty account, the phase each
/// rollout must end in, list reads too.
pub(super) fn simulate(
    file: &Path,
    scenario: Option<&PathBuf>,
    (empty, expect, verbose): (bool, Phase, bool),
    svg: Option<&Path>,
    output: Shown,
) -> anyhow::Result<ExitCode> {
    let resources = manifest::load(file)?;
    let scenario = match scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::parse(&text).map_err(anyhow::Error::msg)?
        }
        None => Scenario::default(),
    };
    let options = SimOptions {
        empty,
        scenario,
        verbose,
    };
    let rt = runtime()?;
    let mut all_ok = true;
    let mut docs = Vec::new();
    for (i, Resource { md, spec }) in resources.iter().enumerate() {
        let sim = rt.block_on(run_simulation(spec, &md.owner(), &options))?;
        let status = sim.rest.status.clone().unwrap_or_default();
        let phase = status.phase.unwrap_or(Phase::Pending);
        if phase != expect {
            eprintln!("{}: expected phase {expect:?}, got {phase:?}", md.owner());
            all_ok = false;
        }
        if output != Shown::Text {
            let calls = sim.engine.calls();
            let reads = calls.iter().filter(|c| is_read(&c.operation)).count();
            docs.push(serde_json::json!({
                "namespace": md.namespace(), "name": md.name_any(),
                "timeline": sim.timeline, "status": status, "reconciles": sim.rest.passes,
                "calls": {"mutating": calls.len() - reads, "reads": reads},
            }));
            continue;
        }
        if i > 0 {
            println!();
        }
        println!(
            "Simulating {} ({:?}) on endpoint {} from {}",
            md.owner(),
            spec.rollout.strategy,
            spec.endpoint_name,
            if empty {
                "an empty account"
            } else {
                "a serving champion"
            }
        );
        println!();
        for line in &sim.timeline {
            println!("{line}");
        }
        if let Some(path) = svg {
            let path = numbered(path, i, resources.len());
            let title = picture::title(&md.owner(), spec);
            std::fs::write(&path, picture::svg(&title, &sim.samples))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("\nwrote {}", path.display());
        }
        let calls = sim.engine.calls();
        let reads = calls.iter().filter(|c| is_read(&c.operation)).count();
        println!();
        println!("Final status:");
        println!("{}", serde_saphyr::to_string(&status)?);
        println!(
            "{:?} after {} reconciles and {} AWS calls ({} mutating, {} reads)",
            phase,
            sim.rest.passes,
            calls.len(),
            calls.len() - reads,
            reads
        );
    }
    if output != Shown::Text {
        print!("{}", output.data(&docs)?);
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where a real rollout runs: the spec's region and role, or the environment.
/// A role is assumed as the CLI acting for `owner` (CloudTrail tells it from the controller).
fn settings(
    owner: &str,
    region: Option<&String>,
    role: Option<&String>,
    aws: &AwsArgs,
) -> Settings {
    Settings {
        region: region.cloned().or_else(|| aws.region.clone()),
        assume_role_arn: role.cloned(),
        session: role.map(|_| sagemaker_rollout::aws::session_name("cli", owner)),
        tenant: None,
    }
}

/// `plan`: what the next reconcile would do; changes nothing.
pub(super) fn plan(file: &Path, aws: &AwsArgs, output: Shown) -> anyhow::Result<ExitCode> {
    let resources = manifest::load(file)?;
    let rt = runtime()?;
    let mut docs = Vec::new();
    for Resource { md, spec } in &resources {
        let plan = rt.block_on(async {
            let clients = sagemaker_rollout::aws::clients(&settings(
                &md.owner(),
                spec.region.as_ref(),
                spec.assume_role_arn.as_ref(),
                aws,
            ))
            .await?;
            anyhow::Ok(
                Engine::new(clients, md.owner())
                    .with_driver(aws.driver())
                    .preview(spec, None, None, jiff::Timestamp::now())
                    .await?,
            )
        })?;
        let st = &plan.status;
        if output != Shown::Text {
            docs.push(serde_json::json!({
                "namespace": md.namespace(), "name": md.name_any(),
                "phase": st.phase, "message": st.conditions.first().map(|c| c.message.clone()),
                "actions": plan.actions.iter().map(report::describe).collect::<Vec<_>>(),
            }));
            continue;
        }
        println!(
            "{}: phase {:?}, {}",
            md.owner(),
            st.phase.unwrap_or(Phase::Pending),
            st.conditions
                .first()
                .map(|c| c.message.as_str())
                .unwrap_or_default()
        );
        if plan.actions.is_empty() {
            println!("no changes");
        }
        for a in &plan.actions {
            println!("  would {}", report::describe(a));
        }
    }
    if output != Shown::Text {
        print!("{}", output.data(&docs)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `apply`: drive every ModelDeployment of the manifest.
pub(super) fn apply(
    file: &Path,
    aws: &AwsArgs,
    wait: bool,
    svg: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let resources = manifest::load(file)?;
    let jobs: Vec<Job> = resources
        .into_iter()
        .map(|Resource { md, spec }| Job {
            settings: settings(
                &md.owner(),
                spec.region.as_ref(),
                spec.assume_role_arn.as_ref(),
                aws,
            ),
            md,
            what: What::Apply(Box::new(spec)),
        })
        .collect();
    run_jobs(jobs, aws, wait, svg)
}

/// `delete`: remove what every ModelDeployment of the manifest owns, as deletionPolicy Delete
/// would.
pub(super) fn delete(file: &Path, aws: &AwsArgs) -> anyhow::Result<ExitCode> {
    let jobs: Vec<Job> = manifest::load_teardowns(file)?
        .into_iter()
        .map(|(md, mut teardown)| {
            teardown.deletion_policy = DeletionPolicy::Delete;
            Job {
                settings: settings(
                    &md.owner(),
                    teardown.region.as_ref(),
                    teardown.assume_role_arn.as_ref(),
                    aws,
                ),
                md,
                what: What::Delete(teardown),
            }
        })
        .collect();
    run_jobs(jobs, aws, true, None)
}

enum What {
    Apply(Box<sagemaker_rollout::api::ValidSpec>),
    Delete(sagemaker_rollout::api::Teardown),
}

struct Job {
    md: ModelDeployment,
    settings: Settings,
    what: What,
}

/// How one drive ended, for the summary and the exit code.
struct Outcome {
    rest: Rest,
    calls: usize,
    /// One per pass, for `--svg`.
    samples: Vec<picture::Sample>,
}

fn run_jobs(
    jobs: Vec<Job>,
    aws: &AwsArgs,
    wait: bool,
    svg: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let rt = runtime()?;
    let single = jobs.len() == 1;
    let bar = (single && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    let start = jiff::Timestamp::now();
    let options = DriveOptions {
        max_passes: if wait {
            DriveOptions::default().max_passes
        } else {
            1
        },
        poll: aws.poll_interval,
        ..DriveOptions::default()
    };
    // Every job's clients first, so that a missing region stops the command before any
    // job has touched AWS.
    let limiter = aws.limiter();
    let mut clients = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let c = rt
            .block_on(sagemaker_rollout::aws::clients(&job.settings))
            .with_context(|| job.md.owner())?;
        clients.push(c);
    }
    let results = rt.block_on(futures::future::join_all(jobs.iter().zip(clients).map(
        |(job, clients)| {
            let bar = bar.as_ref();
            let bucket = limiter.bucket(&job.settings, aws.region.as_deref());
            let quotas = limiter.quotas(&job.settings, aws.region.as_deref());
            async move {
                let owner = job.md.owner();
                let engine = Engine::new(clients, &owner)
                    .with_driver(aws.driver())
                    .with_bucket(bucket)
                    .with_quotas(quotas);
                let goal = match &job.what {
                    What::Apply(spec) => Goal::Apply(spec),
                    What::Delete(t) => Goal::Delete(t),
                };
                let mut samples = Vec::new();
                let rest = drive(&engine, goal, &SystemClock, options, |p| {
                    if let Progress::Pass { at, pass, .. } = &p {
                        samples.push(picture::Sample::of(*at, &pass.status));
                    }
                    let lines = render(start, &p, false);
                    match bar {
                        Some(b) => {
                            for l in &lines[1..] {
                                b.println(l);
                            }
                            b.set_message(lines[0].clone());
                        }
                        None if single => lines.iter().for_each(|l| eprintln!("{l}")),
                        None => lines.iter().for_each(|l| eprintln!("{owner} {l}")),
                    }
                })
                .await;
                rest.map(|rest| Outcome {
                    rest,
                    calls: engine.calls().len(),
                    samples,
                })
            }
        },
    )));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut ok = true;
    for (i, (job, result)) in jobs.iter().zip(results).enumerate() {
        let outcome = result.with_context(|| format!("{}: the rollout stopped", job.md.owner()))?;
        let status: ModelDeploymentStatus = outcome.rest.status.clone().unwrap_or_default();
        let deleting = matches!(job.what, What::Delete(_));
        report::summary(&job.md, &status, outcome.calls);
        if let (Some(path), What::Apply(spec)) = (svg, &job.what) {
            let path = numbered(path, i, jobs.len());
            let title = picture::title(&job.md.owner(), spec);
            std::fs::write(&path, picture::svg(&title, &outcome.samples))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        let phase = status.phase.unwrap_or(Phase::Pending);
        ok &= outcome.rest.rejected.is_none()
            && if deleting {
                outcome.rest.released
            } else if wait {
                phase == Phase::Succeeded
            } else {
                // One pass: fine while it progresses; a rollout that ended badly fails the
                // job (a CI job calling `apply` every few minutes sees it at once).
                !matches!(phase, Phase::RolledBack | Phase::Failed)
            };
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
