//! Rollout commands of the CLI: `simulate` (the built-in SageMaker simulator, virtual time).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sagemaker_rollout::api::check::check_spec;
use sagemaker_rollout::api::document::load_yaml;
use sagemaker_rollout::api::{ModelDeployment, Phase};
use sagemaker_rollout::engine::simulate::{SimOptions, simulate};
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

/// The identity the engine uses for ownership tags: the same for the CLI and the controller,
/// so a CI pipeline and the cluster agree on who drives the endpoint.
pub fn owner(md: &ModelDeployment) -> String {
    format!(
        "{}/{}",
        md.metadata.namespace.as_deref().unwrap_or("default"),
        md.metadata.name.as_deref().unwrap_or("unnamed")
    )
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
    let sim = rt.block_on(simulate(&md.spec, &owner(&md), &options))?;
    println!(
        "Simulating {} ({:?}) on endpoint {} from {}",
        owner(&md),
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
