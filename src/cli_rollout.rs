//! Rollout commands of the CLI: `simulate` (the built-in SageMaker simulator, virtual time),
//! `plan`, `apply` and `delete` (a real account, or any `AWS_ENDPOINT_URL`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sagemaker_rollout::api::check::check_spec;
use sagemaker_rollout::api::document::load_yaml;
use sagemaker_rollout::api::{ModelDeployment, Phase};
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, SystemClock, drive};
use sagemaker_rollout::engine::simulate::{SimOptions, simulate};
use sagemaker_rollout::engine::timeline::render;
use sagemaker_rollout::sim::Scenario;

/// Loads the first ModelDeployment of a manifest; problems in it are reported and fail.
pub fn load(file: &Path) -> anyhow::Result<ModelDeployment> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
    let loaded = load_yaml(&name, &text)?.remove(0);
    let mut problems: Vec<String> = loaded
        .unknown_fields
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Err(e) = check_spec(&loaded.resource.spec) {
        problems.extend(e.0.iter().map(ToString::to_string));
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "{name} is not a valid ModelDeployment:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(loaded.resource)
}

pub fn simulate_cmd(
    file: &Path,
    scenario: Option<&PathBuf>,
    empty: bool,
    expect: Phase,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let md = load(file)?;
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sim = rt.block_on(simulate(&md.spec, &md.owner(), &options))?;
    println!(
        "Simulating {} ({:?}) on endpoint {} from {}",
        md.owner(),
        md.spec.rollout.strategy,
        md.spec.endpoint_name,
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
    let status = sim.rest.status.clone().unwrap_or_default();
    let calls = sim.engine.calls();
    let reads = calls
        .iter()
        .filter(|c| sagemaker_rollout::engine::timeline::is_read(&c.operation))
        .count();
    println!();
    println!("Final status:");
    println!("{}", serde_saphyr::to_string(&status)?);
    let phase = status.phase.unwrap_or(Phase::Pending);
    println!(
        "{:?} after {} reconciles and {} AWS calls ({} mutating, {} reads)",
        phase,
        sim.rest.passes,
        calls.len(),
        calls.len() - reads,
        reads
    );
    Ok(if phase == expect {
        ExitCode::SUCCESS
    } else {
        eprintln!("expected phase {expect:?}, got {phase:?}");
        ExitCode::from(1)
    })
}

/// Where a real rollout runs: the spec's region and role, or the environment.
fn settings(md: &ModelDeployment, region: Option<String>) -> sagemaker_rollout::aws::Settings {
    sagemaker_rollout::aws::Settings {
        region: md.spec.region.clone().or(region),
        assume_role_arn: md.spec.assume_role_arn.clone(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `plan`: what the next reconcile would do; changes nothing.
pub fn plan_cmd(file: &Path, region: Option<String>) -> anyhow::Result<ExitCode> {
    let md = load(file)?;
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let engine = Engine::new(
            sagemaker_rollout::aws::clients(&settings(&md, region)).await,
            md.owner(),
        );
        engine
            .preview(&md.spec, None, None, false, jiff::Timestamp::now())
            .await
    })?;
    let st = &plan.status;
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
        println!("  would {}", describe(a));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(a: &sagemaker_rollout::plan::Action) -> String {
    use sagemaker_rollout::plan::Action::*;
    match a {
        ValidateArtifact { model_data_url, .. } => {
            format!("validate the artifact {model_data_url}")
        }
        CreateModel(m) => format!("create model {} from {}", m.name, m.package_arn),
        CreateEndpointConfig(c) => format!(
            "create endpoint config {} ({})",
            c.name,
            c.production
                .iter()
                .map(|v| format!("{} weight {}", v.name, v.weight))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CreateEndpoint { config_name, .. } => {
            format!("create the endpoint with config {config_name}")
        }
        UpdateEndpoint {
            config_name,
            deployment,
        } => format!(
            "update the endpoint to config {config_name}{}",
            if deployment.is_some() {
                " (SageMaker blue/green)"
            } else {
                ""
            }
        ),
        UpdateWeights { weights } => format!(
            "set weights {}",
            weights
                .iter()
                .map(|(k, v)| format!("{k}={v:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        RunSmokeTest { variant } => format!("smoke-test variant {variant}"),
        TagEndpoint { .. } => "record rollout progress in endpoint tags".into(),
        EnsureAlarm(al) => format!("create alarm {}", al.name),
        DeleteAlarm { name } => format!("delete alarm {name}"),
        RegisterScaling(s) => format!(
            "register autoscaling on {} ({}..{})",
            s.variant, s.min, s.max
        ),
        DeregisterScaling { variant } => format!("deregister autoscaling on {variant}"),
        DeleteEndpoint => "delete the endpoint".into(),
        DeleteEndpointConfig { name } => format!("delete endpoint config {name}"),
        DeleteModel { name } => format!("delete model {name}"),
        RecordHistory(h) => format!("record the deployment ({}: {})", h.outcome, h.reason),
        RemoveFinalizer => "release the resource".into(),
    }
}

/// `apply` and `delete`: drive a real account (or any AWS_ENDPOINT_URL) through the engine.
pub fn apply_cmd(
    file: &Path,
    region: Option<String>,
    wait: bool,
    deleting: bool,
) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let mut md = load(file)?;
    if deleting {
        md.spec.deletion_policy = sagemaker_rollout::api::DeletionPolicy::Delete;
    }
    let rt = runtime()?;
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    let start = jiff::Timestamp::now();
    let result = rt.block_on(async {
        let engine = Engine::new(
            sagemaker_rollout::aws::clients(&settings(&md, region)).await,
            md.owner(),
        );
        let options = DriveOptions {
            deleting,
            max_passes: if wait {
                DriveOptions::default().max_passes
            } else {
                1
            },
            ..DriveOptions::default()
        };
        let rest = drive(&engine, &md.spec, &SystemClock, options, |p| {
            let lines = render(start, &p, false);
            match &bar {
                Some(b) => {
                    for l in &lines[1..] {
                        b.println(l);
                    }
                    b.set_message(lines[0].clone());
                }
                None => lines.iter().for_each(|l| eprintln!("{l}")),
            }
        })
        .await;
        rest.map(|r| (r, engine.calls().len()))
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (rest, calls) = result?;
    let status = rest.status.unwrap_or_default();
    summary(&md, &status, calls);
    let phase = status.phase.unwrap_or(Phase::Pending);
    let ok = rest.rejected.is_none()
        && (deleting && rest.released || !wait || phase == Phase::Succeeded);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(md: &ModelDeployment, st: &sagemaker_rollout::api::ModelDeploymentStatus, calls: usize) {
    println!("{}: {:?}", md.owner(), st.phase.unwrap_or(Phase::Pending));
    if let Some(c) = st.conditions.first() {
        println!("  {}", c.message);
    }
    if let Some(e) = &st.endpoint {
        println!("  endpoint      {} ({})", e.name, e.status);
    }
    if let Some(c) = &st.candidate {
        println!(
            "  serving       {} run {} at {}%",
            c.model_package_arn.as_deref().unwrap_or("-"),
            c.candidate_run_id.as_deref().unwrap_or("-"),
            c.weight.unwrap_or(0)
        );
    }
    if !md.spec.tags.is_empty() {
        println!(
            "  extra tags    {}",
            md.spec
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(dc) = &md.spec.data_capture {
        println!(
            "  data capture  {} ({}%)",
            dc.destination_s3_uri, dc.sampling_percent
        );
    }
    if let Some(l) = &st.links {
        println!("  console       {}", l.endpoint);
        println!("  alarms        {}", l.alarms);
    }
    println!("  AWS calls     {calls}");
}
