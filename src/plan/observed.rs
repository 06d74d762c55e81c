//! What the planner knows about AWS: plain Rust types filled by the engine's observe step
//! (or by a test table). No SDK type appears here, so the planner stays pure and testable.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::api::ValidSpec;

/// SageMaker endpoint status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointStatus {
    OutOfService,
    Creating,
    Updating,
    SystemUpdating,
    RollingBack,
    InService,
    Deleting,
    Failed,
    UpdateRollbackFailed,
}

impl EndpointStatus {
    /// Statuses during which SageMaker rejects updates: the controller only waits.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            Self::Creating
                | Self::Updating
                | Self::SystemUpdating
                | Self::RollingBack
                | Self::Deleting
        )
    }

    /// The SageMaker spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfService => "OutOfService",
            Self::Creating => "Creating",
            Self::Updating => "Updating",
            Self::SystemUpdating => "SystemUpdating",
            Self::RollingBack => "RollingBack",
            Self::InService => "InService",
            Self::Deleting => "Deleting",
            Self::Failed => "Failed",
            Self::UpdateRollbackFailed => "UpdateRollbackFailed",
        }
    }
}

/// Inference component status (no RollingBack: a rolled-back update ends InService on the
/// previous specification, SM-80).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentStatus {
    InService,
    Creating,
    Updating,
    Failed,
    Deleting,
}

impl ComponentStatus {
    /// Statuses during which SageMaker rejects updates: the controller only waits.
    pub fn is_transitional(self) -> bool {
        matches!(self, Self::Creating | Self::Updating | Self::Deleting)
    }

    pub fn is_in_service(self) -> bool {
        self == Self::InService
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InService => "InService",
            Self::Creating => "Creating",
            Self::Updating => "Updating",
            Self::Failed => "Failed",
            Self::Deleting => "Deleting",
        }
    }
}

/// The inference component the spec targets, as DescribeInferenceComponent reports it, joined
/// with its tags (ownership and the progress markers).
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub name: String,
    pub arn: String,
    pub endpoint: String,
    pub status: ComponentStatus,
    pub model_name: Option<String>,
    pub compute: Option<Compute>,
    pub desired_copies: i32,
    pub current_copies: i32,
    pub failure_reason: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What each copy of a component reserves (ComputeResourceRequirements).
#[derive(Clone, Debug, PartialEq)]
pub struct Compute {
    pub memory_mb: i32,
    pub max_memory_mb: Option<i32>,
    pub cpus: Option<f64>,
    pub accelerators: Option<i32>,
}

impl Compute {
    /// As SageMaker stores it: cores and accelerators are 32-bit floats.
    pub fn as_stored(self) -> Self {
        Self {
            cpus: self.cpus.map(|c| f64::from(c as f32)),
            ..self
        }
    }
}

impl From<&crate::api::ComputeSpec> for Compute {
    fn from(c: &crate::api::ComputeSpec) -> Self {
        Self {
            memory_mb: c.memory_mb,
            max_memory_mb: c.max_memory_mb,
            cpus: c.cpus,
            accelerators: c.accelerators,
        }
    }
}

/// A production or shadow variant as DescribeEndpoint reports it, joined with the lineage
/// tags of its model.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: String,
    pub model_name: String,
    /// The candidate this model was made from, from its lineage tags: a model package ARN
    /// or an artifact's S3 URI (None for a model we did not create).
    pub candidate_id: Option<String>,
    pub run_id: Option<String>,
    /// An artifact-store model's image, from its `model_image` tag (tag-safe form).
    pub image: Option<String>,
    /// An artifact-store model's `model_environment_hash` tag.
    pub environment_hash: Option<String>,
    /// Relative weight currently applied.
    pub current_weight: f64,
    /// Weight requested by an update still in progress.
    pub desired_weight: Option<f64>,
    pub instance_type: String,
    pub current_instances: i32,
    pub desired_instances: Option<i32>,
    /// A serverless variant: it publishes fewer metrics (ALL-5).
    pub serverless: bool,
}

/// A SageMaker endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub arn: String,
    pub status: EndpointStatus,
    pub config_name: String,
    pub failure_reason: Option<String>,
    pub last_modified: Timestamp,
    pub variants: Vec<Variant>,
    pub shadow_variants: Vec<Variant>,
    /// An asynchronous-inference endpoint: it publishes other metrics than a real-time one.
    pub async_inference: bool,
    /// All endpoint tags: ownership, lineage and progress markers.
    pub tags: BTreeMap<String, String>,
}

/// The region an endpoint lives in: `spec.region`, else the one in its ARN (None before a
/// first deployment that names no region).
pub fn region_of(spec: &ValidSpec, endpoint: Option<&Endpoint>) -> Option<String> {
    spec.region
        .clone()
        .or_else(|| endpoint.and_then(|e| e.arn.split(':').nth(3).map(str::to_owned)))
        .filter(|r| !r.is_empty())
}

impl Endpoint {
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// Production weights in percent (relative weights normalised), keyed by variant name.
    /// The percentage of traffic served by models of `candidate_id`, whatever their variants
    /// are called (a blue/green deployment keeps the old variant name for the new model).
    pub fn candidate_weight(&self, candidate_id: &str) -> i32 {
        let weights = self.percent_weights();
        self.variants
            .iter()
            .filter(|v| v.candidate_id.as_deref() == Some(candidate_id))
            .map(|v| weights.get(&v.name).copied().unwrap_or(0))
            .sum()
    }

    pub fn percent_weights(&self) -> BTreeMap<String, i32> {
        let total: f64 = self
            .variants
            .iter()
            .map(|v| v.current_weight.max(0.0))
            .sum();
        self.variants
            .iter()
            .map(|v| {
                let pct = if total > 0.0 {
                    (v.current_weight.max(0.0) / total * 100.0).round() as i32
                } else {
                    0
                };
                (v.name.clone(), pct)
            })
            .collect()
    }
}

/// CloudWatch alarm state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A CloudWatch alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub state: AlarmState,
    pub since: Option<Timestamp>,
}

/// A registered Application Auto Scaling target on one variant of the endpoint, with the
/// controller's target-tracking policy on it when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRegistration {
    pub variant: String,
    pub min: i32,
    pub max: i32,
    pub policy: Option<ScalingPolicy>,
}

/// A target-tracking scaling policy as Application Auto Scaling describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPolicy {
    /// `SageMakerVariantInvocationsPerInstance`, or `ModelLatency` (a customized metric).
    pub metric: String,
    pub target_value: f64,
    pub scale_in_cooldown: std::time::Duration,
    pub scale_out_cooldown: std::time::Duration,
}

/// Result of the artifact contract check for the candidate (kept across restarts in the
/// validation journal's verdicts).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ArtifactCheck {
    /// Not run yet (or not cached since a restart).
    Unchecked,
    Valid {
        sha256: String,
    },
    Invalid {
        reason: String,
    },
}

/// The champion comparison inputs: each artifact's value of the named metric.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MetricComparison {
    pub candidate: Option<f64>,
    pub champion: Option<f64>,
}

/// Where a candidate comes from, which decides what gates it and how its model is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A Model Registry package version: `candidate_id` is its ARN; `approval` and `status`
    /// gate it.
    Registry,
    /// A model.tar.gz in the artifact store named by `spec.candidate.artifact`:
    /// `candidate_id` is its S3 URI.
    Artifact,
    /// A model.tar.gz named by a validation stage's `validation_results.json` at `results`;
    /// `failed` says why the run did not pass its gates (such a run is never deployed).
    Validation {
        results: String,
        failed: Option<String>,
    },
}

impl Origin {
    /// The origin of a candidate known only by its id (read back from the markers).
    pub fn of_id(id: &str) -> Self {
        if crate::api::is_package_id(id) {
            Self::Registry
        } else {
            Self::Artifact
        }
    }
}

impl Candidate {
    /// Why this candidate must not serve although it once could: its package was Rejected
    /// in the registry, or its validation results now say the run did not pass.
    pub fn withdrawn(&self) -> Option<String> {
        match &self.origin {
            Origin::Registry if self.approval == "Rejected" => {
                Some("the candidate's model package was Rejected in the registry".into())
            }
            Origin::Validation {
                results,
                failed: Some(why),
            } => Some(format!(
                "validation run {} did not pass ({results}: {why})",
                self.run_id.as_deref().unwrap_or("?")
            )),
            _ => None,
        }
    }
}

/// The resolved candidate: a model package version or an artifact-store model.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The candidate's identity, pinned by the markers and recorded in its model's tags: the
    /// package ARN (`arn:…`) or the artifact's S3 URI (`s3://…`).
    pub candidate_id: String,
    pub origin: Origin,
    pub run_id: Option<String>,
    /// ModelApprovalStatus: only an `Approved` version may be deployed by its ARN; another
    /// is deployed from its container definition (`image` + `model_data_url`). Empty for an
    /// artifact-store candidate.
    pub approval: String,
    /// ModelPackageStatus: only a `Completed` version can be deployed. Empty for an
    /// artifact-store candidate.
    pub status: String,
    /// The inference image (of the package's container definition, or the artifact's).
    pub image: Option<String>,
    /// S3 URI of model.tar.gz.
    pub model_data_url: String,
    /// Container environment the artifact source asks for (empty for a package, whose own
    /// container definition carries it); `spec.serving.environment` is added to it.
    pub environment: BTreeMap<String, String>,
    /// Lineage from the package and the artifact's model-info.json (data_version,
    /// metrics_hash, git_commit, …).
    pub lineage: BTreeMap<String, String>,
    pub artifact: ArtifactCheck,
    /// Filled only when `compareWithChampion` is set and a champion exists.
    pub comparison: Option<MetricComparison>,
}

/// Outcome of the registry lookup.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value per pass; boxing would buy nothing
pub enum CandidateLookup {
    Found(Candidate),
    /// Nothing deployable matches; the text says why (no match, only Rejected, …).
    NotFound(String),
    /// Not looked up this pass (the endpoint is transitioning, or deleting): nothing that
    /// needs the candidate is planned.
    Unread,
}

/// AWS resources tagged as owned by this ModelDeployment, for deletion (read only then).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Owned {
    pub endpoint_configs: Vec<String>,
    pub models: Vec<String>,
    pub alarms: Vec<String>,
}

/// Everything observed before planning.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub endpoint: Option<Endpoint>,
    /// States of the alarms watched now (existing and owned, while a rollout is in flight);
    /// a missing one is absent.
    pub alarms: Vec<Alarm>,
    /// Whether `alarms` was read this pass (not while SageMaker transitions).
    pub alarms_read: bool,
    /// The scalable targets of the endpoint's variants, when read (see
    /// [`crate::plan::reads_scaling`]).
    pub scaling: Vec<ScalingRegistration>,
    pub scaling_read: bool,
    pub candidate: CandidateLookup,
    pub owned: Owned,
    /// Candidate and champion metrics over the current step so far, when the spec compares
    /// them and a step is in effect ([`crate::plan::compare`]).
    pub comparison: Option<Readings>,
    /// The spec targets an inference component on `endpoint` (which then is only the host):
    /// the component carries the markers.
    pub targets_component: bool,
    /// That component, None until created.
    pub component: Option<Component>,
}

/// One metric of one variant over a window, as CloudWatch's GetMetricData reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    pub endpoint: String,
    pub variant: String,
    pub metric: String,
    /// `Sum`, `Average` or a percentile such as `p99`.
    pub stat: String,
    /// One value per whole minute of the window, instead of one for the whole window.
    pub per_minute: bool,
}

/// What GetMetricData answered for one [`MetricQuery`]: one value for the whole window, or
/// one per whole minute of it, oldest first (None where CloudWatch has no data point).
pub type Series = Vec<Option<f64>>;

/// What both variants served in the step so far, per compare rule (in the spec's order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readings {
    pub candidate: VariantReading,
    pub champion: VariantReading,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantReading {
    pub invocations: f64,
    /// Per rule, the step's value (an error rate's errors); None when CloudWatch has no data
    /// point, and for a latency, which is judged minute by minute.
    pub values: Vec<Option<f64>>,
    /// The step's whole minutes, oldest first, when a latency rule needs them.
    pub minutes: Vec<MinuteReading>,
}

/// One whole minute of a variant: its requests and, per rule, the latency statistic of the
/// minute (None for a rate rule, or without a data point).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteReading {
    pub invocations: f64,
    pub values: Vec<Option<f64>>,
}

impl Observed {
    /// `endpoint` as read, and nothing else yet.
    pub fn of(endpoint: Option<Endpoint>) -> Self {
        Self {
            endpoint,
            alarms: Vec::new(),
            alarms_read: false,
            scaling: Vec::new(),
            scaling_read: false,
            candidate: CandidateLookup::Unread,
            owned: Owned::default(),
            comparison: None,
            targets_component: false,
            component: None,
        }
    }

    /// The tags of what carries the markers: the inference component the spec targets, else
    /// the endpoint (None when it does not exist yet).
    pub fn holder_tags(&self) -> Option<&BTreeMap<String, String>> {
        if self.targets_component {
            self.component.as_ref().map(|c| &c.tags)
        } else {
            self.endpoint.as_ref().map(|e| &e.tags)
        }
    }

    /// Those tags, to change.
    pub fn holder_tags_mut(&mut self) -> Option<&mut BTreeMap<String, String>> {
        if self.targets_component {
            self.component.as_mut().map(|c| &mut c.tags)
        } else {
            self.endpoint.as_mut().map(|e| &mut e.tags)
        }
    }

    /// The ARN of what carries the markers.
    pub fn holder_arn(&self) -> Option<&str> {
        if self.targets_component {
            self.component.as_ref().map(|c| c.arn.as_str())
        } else {
            self.endpoint.as_ref().map(|e| e.arn.as_str())
        }
    }

    pub fn alarm(&self, name: &str) -> Option<&Alarm> {
        self.alarms.iter().find(|a| a.name == name)
    }
}
