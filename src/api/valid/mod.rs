//! The spec, validated once into typed values: the only form the planner and the engine
//! accept. [`ValidSpec::new`] runs the CRD schema (types, enums, patterns, ranges, CEL
//! rules) and then every rule the schema cannot express, collects every problem at once,
//! and on success hands out parsed durations, the step schedule, thresholds in their
//! metric's unit, compiled regular expressions and checked names. Nothing downstream parses
//! a string of the spec again, so nothing downstream can fall back silently.
//!
//! [`Teardown`] is the smaller contract deletion needs (the endpoint and where it lives), so
//! a resource whose spec became invalid can still be deleted.

pub mod container;
mod errors;
mod rules;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::SignedDuration;
use regex::Regex;

pub(crate) use errors::merge;
pub use errors::{FieldError, SpecErrors};

use super::spec::*;
use super::units::S3Uri;

/// A spec that passed every check.
#[derive(Clone, Debug)]
pub struct ValidSpec {
    raw: ModelDeploymentSpec,
    pub endpoint_name: String,
    pub region: Option<String>,
    pub assume_role_arn: Option<String>,
    pub execution_role_arn: String,
    pub candidate: CandidatePolicy,
    pub serving: Serving,
    pub artifact: ArtifactPolicy,
    pub rollout: Rollout,
    pub analysis: Analysis,
    pub autoscaling: Option<Autoscaling>,
    pub data_capture: Option<DataCapture>,
    pub smoke_test: Option<SmokeTest>,
    pub tags: BTreeMap<String, String>,
    pub audit: Option<S3Uri>,
    pub notify: Option<SnsTopic>,
    pub deletion_policy: DeletionPolicy,
    pub adopt: bool,
}

/// An SNS topic, from its ARN: Publish must be sent in the topic's own region (SNS-3), and a
/// FIFO topic needs group and deduplication ids (SNS-11, SNS-12).
#[derive(Clone, Debug, PartialEq)]
pub struct SnsTopic {
    pub arn: String,
    pub region: String,
    pub fifo: bool,
}

impl SnsTopic {
    /// `arn:<partition>:sns:<region>:<12-digit account>:<name>`, name 1-256 of `A-Za-z0-9_-`
    /// with `.fifo` allowed at the end (SNS-2).
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "sns"
            && !parts[3].is_empty()
            && parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit());
        let name = parts.get(5).copied().unwrap_or_default();
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        if !ok
            || !(1..=256).contains(&name.chars().count())
            || base.is_empty()
            || !base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "\"{arn}\" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name of letters, digits, _ and -, optionally ending .fifo>)"
            ));
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: parts[3].to_owned(),
            fifo: name.ends_with(".fifo"),
        })
    }
}

/// Where the candidate comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum CandidateSource {
    /// The newest version of a package group carrying every `match_tags` entry.
    Group {
        group: String,
        match_tags: BTreeMap<String, String>,
    },
    /// One package version, pinned by ARN.
    Pinned { arn: String },
    /// A model.tar.gz in the artifact store (its S3 URI is the candidate's id), served by
    /// `image` with `environment`.
    Artifact {
        uri: String,
        image: String,
        environment: BTreeMap<String, String>,
    },
    /// The artifact the validation run at `uri` (a validation_results.json) names.
    Results { uri: String },
}

impl CandidateSource {
    /// What the lookup is logged under: the group, ARN, artifact or results URI.
    pub fn label(&self) -> &str {
        match self {
            Self::Group { group, .. } => group,
            Self::Pinned { arn } => arn,
            Self::Artifact { uri, .. } | Self::Results { uri } => uri,
        }
    }

    /// The artifact source's own image and environment, which name its model (a spec
    /// change of either is a new model); None for the other sources.
    pub fn artifact_settings(&self) -> Option<(&str, &BTreeMap<String, String>)> {
        match self {
            Self::Artifact {
                image, environment, ..
            } => Some((image, environment)),
            _ => None,
        }
    }
}

/// How the candidate is found and gated.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidatePolicy {
    pub source: CandidateSource,
    pub approval: ApprovalPolicy,
    pub compare_with_champion: Option<ChampionComparison>,
}

/// The candidate's production variant settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Serving {
    pub instance_type: String,
    pub instance_count: i32,
    pub environment: BTreeMap<String, String>,
}

/// The artifact gate.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactPolicy {
    pub validate: bool,
    pub max_uncompressed_bytes: u64,
}

/// One traffic step before 100 %: candidate weight in percent and how long it bakes.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub weight: i32,
    pub bake: SignedDuration,
}

/// SageMaker blue/green settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreen {
    pub bake: Duration,
    pub termination_wait: Duration,
    pub canary_percent: Option<i32>,
}

/// The shadow stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    pub sampling_percent: i32,
    pub duration: SignedDuration,
    pub then: ShadowThen,
}

/// How traffic moves.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    pub strategy: Strategy,
    /// The traffic steps of the strategy before 100 %: the canary steps, the linear steps,
    /// or the canary steps after a shadow stage with `then: Canary`; empty otherwise.
    pub steps: Vec<Step>,
    pub blue_green: Option<BlueGreen>,
    pub shadow: Option<Shadow>,
    pub paused: bool,
    pub promote: bool,
    pub abort: bool,
}

/// An alarm the controller owns, with its threshold in the metric's unit (latencies in
/// microseconds, as CloudWatch reports them).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedAlarm {
    pub metric: AlarmMetric,
    pub statistic: String,
    pub threshold: f64,
    pub periods: i32,
    pub custom: Option<CustomMetric>,
}

/// What is watched while the candidate takes traffic.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub rollback_on: RollbackOn,
    /// How often the watched alarms are read while the candidate takes traffic.
    pub interval: Duration,
    pub existing: Vec<String>,
    pub owned: Vec<OwnedAlarm>,
    pub compare: Vec<Compare>,
}

/// A candidate-against-champion comparison, its margin in the metric's unit (latencies in
/// microseconds, as CloudWatch reports them; rates in percentage points).
#[derive(Clone, Debug, PartialEq)]
pub struct Compare {
    pub metric: CompareMetric,
    pub statistic: String,
    pub margin: Margin,
    pub min_invocations: f64,
}

/// How much worse the candidate may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Margin {
    /// candidate <= champion x this
    Ratio(f64),
    /// candidate <= champion + this
    Increase(f64),
}

/// Target-tracking autoscaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaling {
    pub min: i32,
    pub max: i32,
    pub metric: ScalingMetric,
    pub target_value: f64,
    pub scale_in_cooldown: Duration,
    pub scale_out_cooldown: Duration,
}

/// Data capture of the endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct DataCapture {
    pub sampling_percent: i32,
    pub destination_s3_uri: String,
}

/// The smoke test, with its body pattern compiled.
#[derive(Clone, Debug)]
pub struct SmokeTest {
    pub content_type: String,
    pub body: String,
    pub expect_status: i32,
    pub body_matches: Option<Regex>,
}

impl ValidSpec {
    /// Validates a spec: the CRD schema first, then the rules it cannot express; every
    /// problem at once.
    pub fn new(spec: &ModelDeploymentSpec) -> Result<Self, SpecErrors> {
        let value = serde_json::to_value(spec).unwrap_or_default();
        let schema = super::schema::problems(&value);
        match rules::build(spec) {
            Ok(valid) if schema.is_empty() => Ok(valid),
            Ok(_) => Err(SpecErrors(schema.all())),
            Err(semantic) => Err(SpecErrors(merge(schema, semantic))),
        }
    }

    /// The spec as written (for content hashes, the deployment record and the CLI).
    pub fn raw(&self) -> &ModelDeploymentSpec {
        &self.raw
    }

    /// What deletion needs.
    pub fn teardown(&self) -> Teardown {
        Teardown {
            endpoint_name: self.endpoint_name.clone(),
            region: self.region.clone(),
            assume_role_arn: self.assume_role_arn.clone(),
            deletion_policy: self.deletion_policy,
        }
    }
}

/// What deleting a ModelDeployment needs from its spec: which endpoint, where, and what to
/// do with it. Checked on its own, so an otherwise invalid spec can still be deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Teardown {
    pub endpoint_name: String,
    pub region: Option<String>,
    pub assume_role_arn: Option<String>,
    pub deletion_policy: DeletionPolicy,
}

impl Teardown {
    /// The deletion contract of a spec that may be invalid elsewhere.
    pub fn from_spec(spec: &ModelDeploymentSpec) -> Result<Self, SpecErrors> {
        rules::teardown(spec)
    }
}
