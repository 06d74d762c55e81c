//! An emulated AWS account set up the way a team would for rollouts — buckets, an alarm of
//! their own, a model package group, packages registered with lineage — with the real
//! binary's environment and readers of what AWS holds (never the binary's output). Shared
//! by the over-the-wire scenarios (tests/aws) and the controller on real SDK clients
//! (tests/controller).

#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_config::SdkConfig;
use sagemaker_rollout::aws::registry::{ModelRegistry, NewPackage, SdkRegistry};
use serde_json::Value;

use crate::emulator::Emulator;

pub const GROUP: &str = "wire-models";
pub const KPI: &str = "wire-kpi";

/// An emulated AWS account set up for rollouts, with a scratch directory for manifests.
pub struct Account {
    pub emu: Emulator,
    pub config: SdkConfig,
    dir: tempfile::TempDir,
}

/// One serving variant as AWS describes it.
#[derive(Debug, PartialEq)]
pub struct Serving {
    pub variant: String,
    pub model: String,
    pub package: String,
    pub weight: f64,
}

fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

impl Account {
    pub async fn new() -> Self {
        let emu = Emulator::start();
        let config = emu.config().await;
        let s3 = s3(&config);
        for bucket in ["wire-models", "wire-audit"] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        // The team's own business alarm, watched by every rollout.
        aws_sdk_cloudwatch::Client::new(&config)
            .put_metric_alarm()
            .alarm_name(KPI)
            .namespace("Wire/Business")
            .metric_name("Conversions")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold)
            .send()
            .await
            .unwrap();
        emu.alarm_state(KPI, "OK");
        SdkRegistry::new(&config)
            .ensure_group(GROUP, "wire test models")
            .await
            .unwrap();
        Self {
            emu,
            config,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Registers a package version for `run` (artifact uploaded, lineage in its metadata)
    /// as `register` would; returns its ARN.
    pub async fn package(&self, run: &str, auc: f64) -> String {
        let key = format!("{run}/model.tar.gz");
        s3(&self.config)
            .put_object()
            .bucket("wire-models")
            .key(&key)
            .body(sagemaker_rollout::sim::artifact(run, auc).to_vec().into())
            .send()
            .await
            .unwrap();
        SdkRegistry::new(&self.config)
            .create_package(&NewPackage {
                group: GROUP.into(),
                description: format!("run {run}"),
                image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/catboost:1".into(),
                model_data_url: format!("s3://wire-models/{key}"),
                content_types: vec!["text/csv".into()],
                response_types: vec!["application/json".into()],
                approval: "Approved".into(),
                metadata: [("candidate_run_id".to_owned(), run.to_owned())].into(),
                client_token: None,
            })
            .await
            .unwrap()
    }

    /// A ModelDeployment manifest for `endpoint` choosing `run`, with `rollout` (a YAML
    /// flow mapping) and any `extra` spec lines.
    pub fn manifest(
        &self,
        name: &str,
        endpoint: &str,
        run: &str,
        rollout: &str,
        extra: &str,
    ) -> PathBuf {
        let text = format!(
            r#"apiVersion: sagemaker.mlops.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {name}, namespace: wire}}
spec:
  endpointName: {endpoint}
  region: us-east-1
  executionRoleArn: arn:aws:iam::123456789012:role/sagemaker-exec
  candidate:
    modelPackageGroup: {GROUP}
    matchTags: {{candidate_run_id: {run}}}
    approval: Approved
  serving: {{instanceType: ml.m5.large, instanceCount: 2}}
  rollout: {rollout}
  analysis:
    rollbackOn: Alarm
    interval: 5s
    alarms:
      existing: [{KPI}]
      create:
        - {{metric: Invocation5XXErrors, statistic: Sum, threshold: "5", periods: 2}}
  smokeTest: {{contentType: text/csv, body: "1,2,3", expect: {{status: 200, bodyMatches: '"score"'}}}}
  audit: {{s3Uri: s3://wire-audit/deployments}}
  deletionPolicy: Delete
{extra}"#
        );
        // An older build (the request benchmark's "before") predates `analysis.interval`:
        // it never watched alarms between passes.
        let text = if std::env::var_os("SAGEMAKER_ROLLOUT_BIN").is_some() {
            text.replace("    interval: 5s\n", "")
        } else {
            text
        };
        let path = self
            .dir
            .path()
            .join(format!("{name}-{endpoint}-{run}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The binary under test: this build's, or `SAGEMAKER_ROLLOUT_BIN` (the request benchmark
    /// runs an older build the same way, for its "before" figures).
    pub fn command(&self, args: &[&str]) -> Command {
        let bin = std::env::var("SAGEMAKER_ROLLOUT_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sagemaker-rollout").to_owned());
        let mut c = Command::new(bin);
        // The emulator is not an account with neighbours to protect, and these scenarios
        // poll every 100 ms: no client-side request bucket (tests/controller/scale.rs tests it).
        c.args(args)
            .envs(self.emu.env())
            .env("AWS_REQUESTS_PER_SECOND", "10000")
            .env("AWS_REQUEST_BURST", "10000");
        c
    }

    /// `apply --wait` polling every 100 ms; panics with the output when it fails.
    pub fn apply(&self, file: &Path) -> Output {
        let out = self.run(&["apply", "-f", &file.to_string_lossy(), "--wait"]);
        assert!(
            out.status.success(),
            "apply failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs a rollout command with a short poll interval; the output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut args = args.to_vec();
        args.extend(["--poll-interval", "100ms"]);
        self.command(&args).output().unwrap()
    }

    pub fn state(&self) -> Value {
        self.emu.state()
    }

    pub fn endpoint(&self, name: &str) -> Option<Value> {
        self.state()["sagemaker"]["endpoints"]
            .as_array()?
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
    }

    /// What serves `endpoint` now: each production variant of its current config, with the
    /// model and the package that model runs.
    pub fn serving(&self, endpoint: &str) -> Vec<Serving> {
        let state = self.state();
        let Some(ep) = state["sagemaker"]["endpoints"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["name"] == endpoint))
        else {
            return Vec::new();
        };
        let models = state["sagemaker"]["models"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let package_of = |model: &str| {
            models
                .iter()
                .find(|m| m["name"] == model)
                .and_then(|m| {
                    m["containers"][0]["ModelPackageName"]
                        .as_str()
                        .map(str::to_owned)
                })
                .unwrap_or_default()
        };
        let configs = state["sagemaker"]["endpoint_configs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let config = configs
            .iter()
            .find(|c| c["name"] == ep["config"])
            .cloned()
            .unwrap_or_default();
        let weights: BTreeMap<String, f64> = ep["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    v["VariantName"].as_str().unwrap_or_default().to_owned(),
                    v["CurrentWeight"].as_f64().unwrap_or(0.0),
                )
            })
            .collect();
        config["request"]["ProductionVariants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let variant = v["VariantName"].as_str().unwrap_or_default().to_owned();
                let model = v["ModelName"].as_str().unwrap_or_default().to_owned();
                Serving {
                    package: package_of(&model),
                    weight: weights.get(&variant).copied().unwrap_or(0.0),
                    variant,
                    model,
                }
            })
            .collect()
    }

    /// Names of the configs, models and alarms tagged as owned by `owner`, and the
    /// controller's own alarms (by name).
    pub fn owned(&self, owner: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        let state = self.state();
        let tagged = |kind: &str| -> Vec<String> {
            state["sagemaker"][kind]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["tags"]["owner"] == owner)
                .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let alarms = state["cloudwatch"]["alarms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| {
                a["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("sagemaker-rollout"))
            })
            .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        (tagged("endpoint_configs"), tagged("models"), alarms)
    }

    /// HTTP requests the emulator answered since the last call (and clears the log), with
    /// how many were mutating.
    pub fn requests(&self) -> (usize, usize) {
        let all = self.emu.requests();
        self.emu.clear_requests();
        let reads = ["Describe", "List", "Get", "Head"];
        let mutating = all
            .iter()
            .filter(|r| {
                let op = r["operation"].as_str().unwrap_or_default();
                !reads.iter().any(|p| op.starts_with(p)) && op != "InvokeEndpoint"
            })
            .count();
        (all.len(), mutating)
    }
}

/// Prints one row of the request-count table (run with `--nocapture` to see it).
pub fn report(scenario: &str, requests: (usize, usize)) {
    println!(
        "| {scenario} | {} | {} | {} |",
        requests.0,
        requests.1,
        requests.0 - requests.1
    );
}
