//! `check`: every document of every file, validated offline as the API server and the
//! controller would; exit 0 when all ModelDeployments are valid, 1 when one is not, 2 when a
//! file cannot be read or parsed. With DeploymentPolicies (`--policy` files, or policies among
//! the manifests), each ModelDeployment is also judged as the multi-tenant controller judges
//! it: admitted by a policy (and through which role), or refused with every violation;
//! Namespace documents among the inputs supply the labels policies select by.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sagemaker_rollout::api::document::Outcome;
use sagemaker_rollout::api::policy::DeploymentPolicy;
use sagemaker_rollout::tenancy;
use serde_json::Value;

use super::manifest::{problems_text, read};

/// The DeploymentPolicies and Namespace labels of some YAML files.
#[derive(Default)]
struct Tenancy {
    policies: Vec<DeploymentPolicy>,
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl Tenancy {
    /// Reads the policies and namespaces of `file`. A manifest (not `strict`) that cannot be
    /// read or parsed is skipped here: reading it as manifests reports that.
    fn load(&mut self, file: &PathBuf, strict: bool) -> anyhow::Result<()> {
        let name = file.display().to_string();
        let parsed = std::fs::read_to_string(file)
            .with_context(|| format!("reading {name}"))
            .and_then(|text| {
                serde_saphyr::from_multiple::<Value>(&text)
                    .map_err(|e| anyhow::anyhow!("{name} is not valid YAML: {e}"))
            });
        let docs = match parsed {
            Ok(docs) => docs,
            Err(e) if strict => return Err(e),
            Err(_) => return Ok(()),
        };
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            match doc.get("kind").and_then(Value::as_str) {
                Some("DeploymentPolicy") => {
                    let p: DeploymentPolicy = serde_json::from_value(doc)
                        .with_context(|| format!("{name}: a DeploymentPolicy"))?;
                    self.policies.push(p);
                }
                Some("Namespace") => {
                    let meta = &doc["metadata"];
                    let labels = serde_json::from_value(meta["labels"].clone()).unwrap_or_default();
                    if let Some(n) = meta["name"].as_str() {
                        self.labels.insert(n.to_owned(), labels);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

pub(super) fn run(
    files: &[PathBuf],
    policies: &[PathBuf],
    region: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let mut t = Tenancy::default();
    for f in policies {
        t.load(f, true)?;
    }
    for f in files {
        t.load(f, false)?;
    }
    let mut invalid = false;
    for file in files {
        let (name, docs) = read(file)?;
        for doc in docs {
            match doc.outcome {
                Outcome::Valid(valid) if !t.policies.is_empty() => {
                    let (md, spec) = &*valid;
                    let ns = md.metadata.namespace.as_deref().unwrap_or("default");
                    let labels = t.labels.get(ns).cloned().unwrap_or_default();
                    match tenancy::admit(ns, &labels, spec, region, &t.policies) {
                        Ok(g) => {
                            let lowered = g
                                .max_uncompressed_bytes
                                .filter(|max| *max < spec.artifact.max_uncompressed_bytes)
                                .map(|max| format!("; artifacts checked up to {max} bytes, the policy's ceiling"))
                                .unwrap_or_default();
                            println!(
                                "{name}: ModelDeployment {} is valid and admitted by DeploymentPolicy {} (role {}){lowered}",
                                md.owner(),
                                g.policy,
                                g.role_arn
                            );
                        }
                        Err(refusal) => {
                            invalid = true;
                            println!(
                                "{}",
                                problems_text(&name, &md.owner(), &refusal.errors().0).replacen(
                                    "problem",
                                    &format!("{} problem", refusal.reason()),
                                    1
                                )
                            );
                        }
                    }
                }
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
