//! The `ModelDeployment` custom resource: what a platform team declares.
//!
//! Every field's doc comment becomes the schema description that `kubectl explain` prints,
//! so they are written for the person reading the YAML. Whatever the OpenAPI schema can check
//! (enums, ranges, patterns, CEL cross-field rules) is declared here; the rest lives in
//! [`crate::api::check`], which the controller runs before any AWS call.

// kube's `KubeSchema` derive (with `cel`) makes `unreachable_pub` misfire on these types,
// which are public API (re-exported from `api`).
#![allow(unreachable_pub)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::ModelDeploymentStatus;
use super::units::{ByteSize, DurationString};

/// Declares which validated model serves a SageMaker endpoint and how it gets there safely.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sagemaker.mlops.dev",
    version = "v1alpha1",
    kind = "ModelDeployment",
    doc = "A ModelDeployment declares which validated model from the SageMaker Model Registry serves an endpoint, and how traffic moves to it safely.",
    plural = "modeldeployments",
    shortname = "mdep",
    category = "mlops",
    namespaced,
    status = "ModelDeploymentStatus",
    cel,
    // Target fields are fixed once the resource owns its endpoint (status.target): a change
    // would abandon the endpoint mid-rollout and orphan what it owns. A rule binds only when
    // its field changes, so writes that leave it alone (the controller's status, finalizer)
    // pass even on a resource an older CRD let drift.
    validation = Rule::new("self.spec.endpointName == oldSelf.spec.endpointName || !has(oldSelf.status) || !has(oldSelf.status.target) || self.spec.endpointName == oldSelf.status.target.endpointName").message("spec.endpointName cannot change once the resource has deployed (status.target); to move to another endpoint, create a new ModelDeployment and delete this one").field_path(".spec.endpointName"),
    validation = Rule::new("(has(self.spec.region) ? (has(oldSelf.spec.region) && self.spec.region == oldSelf.spec.region) : !has(oldSelf.spec.region)) || !has(oldSelf.status) || !has(oldSelf.status.target) || (has(self.spec.region) ? (has(oldSelf.status.target.region) && self.spec.region == oldSelf.status.target.region) : !has(oldSelf.status.target.region))").message("spec.region cannot change once the resource has deployed (status.target); to move to another region, create a new ModelDeployment and delete this one").field_path(".spec.region"),
    validation = Rule::new("(has(self.spec.assumeRoleArn) ? (has(oldSelf.spec.assumeRoleArn) && self.spec.assumeRoleArn == oldSelf.spec.assumeRoleArn) : !has(oldSelf.spec.assumeRoleArn)) || !has(oldSelf.status) || !has(oldSelf.status.target) || (has(self.spec.assumeRoleArn) ? (has(oldSelf.status.target.assumeRoleArn) && self.spec.assumeRoleArn == oldSelf.status.target.assumeRoleArn) : !has(oldSelf.status.target.assumeRoleArn))").message("spec.assumeRoleArn cannot change once the resource has deployed (status.target); to move to another account or role, create a new ModelDeployment and delete this one").field_path(".spec.assumeRoleArn"),
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Strategy","type":"string","jsonPath":".spec.rollout.strategy"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Step","type":"string","jsonPath":".status.rollout.stepLabel"}"#,
    printcolumn = r#"{"name":"Weight","type":"integer","jsonPath":".status.candidate.weight","description":"Percent of production traffic on the candidate"}"#,
    printcolumn = r#"{"name":"Candidate","type":"string","jsonPath":".status.candidate.candidateRunId"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".spec.endpointName"}"#,
    printcolumn = r#"{"name":"SageMaker","type":"string","jsonPath":".status.endpoint.status","description":"The endpoint's status in SageMaker"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Champion","type":"string","priority":1,"jsonPath":".status.champion.candidateRunId"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ModelDeploymentSpec {
    /// Name of the SageMaker endpoint. Created if absent; an existing endpoint not tagged as
    /// managed by this resource is only taken over with `adopt: true`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    )]
    pub endpoint_name: String,

    /// AWS region of the endpoint. Defaults to the controller's AWS configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"))]
    pub region: Option<String>,

    /// IAM role the controller assumes to deploy into another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"))]
    pub assume_role_arn: Option<String>,

    /// IAM role SageMaker uses to pull the image and the model artifact.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"))]
    pub execution_role_arn: String,

    /// How the candidate (the Challenger) is found in the SageMaker Model Registry.
    pub candidate: CandidateSpec,

    /// Instances and container settings of the candidate's production variant.
    pub serving: ServingSpec,

    /// Checks applied to the candidate's model.tar.gz before any deployment.
    #[serde(default)]
    pub artifact: ArtifactSpec,

    /// How traffic moves from the champion to the candidate.
    pub rollout: RolloutSpec,

    /// Alarms watched while the candidate takes traffic, and what happens when one fires.
    #[serde(default)]
    pub analysis: AnalysisSpec,

    /// Target-tracking autoscaling registered on the serving variant once it is stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// Request/response capture to S3 for the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_capture: Option<DataCaptureSpec>,

    /// A request sent to the candidate variant alone, before it takes any traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTestSpec>,

    /// Extra lineage tags put on the Model, EndpointConfig and Endpoint.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,

    /// Where the deployment record of each rollout is written as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSpec>,

    /// Where one JSON message per rollout milestone is published (started, step advanced,
    /// alarm fired, rolled back, succeeded, failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,

    /// What happens to the AWS resources this object owns when it is deleted: `Retain` keeps
    /// them (only the finalizer goes), `Delete` removes endpoint, configs, models, alarms and
    /// scaling targets it created.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over an existing endpoint that is not tagged as managed by this resource.
    #[serde(default)]
    pub adopt: bool,
}

/// How the candidate is chosen: from the Model Registry (a group search or a pinned ARN) or
/// from the artifact store (an artifact named here, or the one a validation run names).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.modelPackageGroup), has(self.modelPackageArn), has(self.artifact), has(self.validationResults)].exists_one(x, x)").message("set exactly one of modelPackageGroup, modelPackageArn, artifact and validationResults"),
    validation = Rule::new("!has(self.matchTags) || has(self.modelPackageGroup)").message("matchTags needs modelPackageGroup")
)]
pub struct CandidateSpec {
    /// Model package group searched for the newest version matching `matchTags` and `approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub model_package_group: Option<String>,

    /// Every tag listed here must be present on the package with this exact value. A new
    /// value (for example a new `candidate_run_id`) starts a new rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_tags: Option<BTreeMap<String, String>>,

    /// Approval status the package must have. `Rejected` packages are never deployed.
    #[serde(default)]
    pub approval: ApprovalPolicy,

    /// Pin one model package version explicitly instead of searching a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/.+$"
    ))]
    pub model_package_arn: Option<String>,

    /// A model.tar.gz in the artifact store and the image that serves it, instead of a
    /// registry package. Its lineage is read from its `model-info.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactSource>,

    /// S3 URI of a validation stage's `validation_results.json`. The run it names is the
    /// candidate, with the artifact it names, only if the run passed its gates. Like a group
    /// search, the file is read until a rollout starts from it; that candidate then stays
    /// pinned until `spec.candidate` changes (to deploy a new run, point this at its file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 6, max = 1024), regex(pattern = r"^s3://[^/]+/.*[^/]$"))]
    pub validation_results: Option<String>,

    /// Refuse a candidate whose metric is worse than the champion's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_with_champion: Option<ChampionComparison>,
}

/// An artifact-store candidate: a model.tar.gz and its serving image.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSource {
    /// S3 URI of the model.tar.gz (`s3://bucket/key`); it is the candidate's identity, so a
    /// new model needs a new key. At most 230 characters of letters, digits and `_ . : / = + - @`,
    /// because it is recorded in a tag.
    #[schemars(length(min = 6, max = 230), regex(pattern = r"^s3://[^/]+/.*[^/]$"))]
    pub s3_uri: String,
    /// Inference image, an Amazon ECR URI in the endpoint's region
    /// (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]`).
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^\S+$"))]
    pub image: String,
    /// Container environment of the model; `spec.serving.environment` is applied on top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,
}

/// Approval status a candidate package must carry.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ApprovalPolicy {
    /// Only `Approved` packages.
    #[default]
    Approved,
    /// Only packages still waiting for manual approval (pre-production endpoints).
    PendingManualApproval,
    /// Approved or pending; never Rejected.
    Any,
}

/// The champion gate: compares one metric from each artifact's `artifacts/metrics.json`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChampionComparison {
    /// Key in `artifacts/metrics.json` (for example `auc`).
    #[schemars(length(min = 1))]
    pub metric: String,
    /// Whether larger values are better (true for AUC, false for RMSE).
    #[serde(default = "default_true")]
    pub higher_is_better: bool,
    /// How much better than the champion the candidate must be (0 allows a tie).
    #[serde(default)]
    pub min_delta: f64,
}

/// How the candidate is served: a production variant on instances (`instanceType`,
/// `instanceCount`), a serverless variant (`serverless`), or an inference component on an
/// existing endpoint's instances (`inferenceComponent`) — exactly one.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("(has(self.instanceType) ? 1 : 0) + (has(self.serverless) ? 1 : 0) + (has(self.inferenceComponent) ? 1 : 0) == 1").message("set exactly one of serving.instanceType, serving.serverless and serving.inferenceComponent")
)]
pub struct ServingSpec {
    /// SageMaker instance type, for example `ml.m5.large` or `ml.p6-b200.48xlarge`; absent for
    /// a serverless variant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"))]
    pub instance_type: String,
    /// Serverless capacity instead of instances: SageMaker runs the model on demand, with
    /// memory and concurrency limits. A serverless endpoint has one production variant, so it
    /// takes `Direct` and `BlueGreen` (all at once) only; and an instance-backed endpoint
    /// cannot become serverless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<ServerlessSpec>,
    /// An inference component on the instances of the existing endpoint `endpointName`: the
    /// candidate becomes the component's model, updated in place (`Direct`, or `Rolling` in
    /// batches of copies). Components share no traffic split — a request names the component
    /// it is for — so no strategy that serves two models side by side applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_component: Option<InferenceComponentSpec>,
    /// Number of instances behind the candidate variant (not for an inference component,
    /// whose instances are the endpoint's).
    #[serde(default = "default_one")]
    #[schemars(range(min = 1, max = 100))]
    pub instance_count: i32,
    /// Environment variables of the inference container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

/// Serverless capacity (SageMaker's ProductionVariantServerlessConfig).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessSpec {
    /// Memory of each concurrent execution: 1024 to 6144 MB in steps of 1024 (vCPUs follow
    /// memory).
    #[serde(rename = "memoryMB")]
    #[schemars(range(min = 1024, max = 6144), extend("multipleOf" = 1024))]
    pub memory_mb: i32,
    /// Most concurrent executions (1-200); requests beyond are throttled.
    #[schemars(range(min = 1, max = 200))]
    pub max_concurrency: i32,
    /// Executions kept warm (1-200, at most `maxConcurrency`): no cold start for them, and
    /// what autoscaling scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 200))]
    pub provisioned_concurrency: Option<i32>,
}

/// An inference component this resource creates and owns on an existing endpoint
/// (SageMaker's CreateInferenceComponent).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InferenceComponentSpec {
    /// Name of the component (unique in the account and region; 1-63 letters, digits and
    /// hyphens).
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
    )]
    pub name: String,
    /// Production variant of the endpoint to place it on; SageMaker picks when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Copies of the model, each with the `compute` reservation (autoscaling changes it
    /// between `autoscaling.min` and `max`).
    #[serde(default = "default_one")]
    #[schemars(range(min = 1, max = 1000))]
    pub copies: i32,
    /// What each copy reserves on an instance.
    pub compute: ComputeSpec,
}

/// The compute reservation of one copy (ComputeResourceRequirements).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComputeSpec {
    /// Memory reserved for each copy, in MB (MinMemoryRequiredInMb).
    #[serde(rename = "memoryMB")]
    #[schemars(range(min = 128))]
    pub memory_mb: i32,
    /// Most memory a copy may use, in MB (MaxMemoryRequiredInMb), at least `memoryMB`.
    #[serde(
        rename = "maxMemoryMB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 128))]
    pub max_memory_mb: Option<i32>,
    /// CPU cores reserved for each copy (NumberOfCpuCoresRequired, at least 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.25))]
    pub cpus: Option<f64>,
    /// Accelerators (GPUs, Neuron devices) reserved for each copy
    /// (NumberOfAcceleratorDevicesRequired, at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub accelerators: Option<i32>,
}

/// Artifact checks run before deployment.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    /// Stream and check the model.tar.gz against the artifact contract before deploying.
    #[serde(default = "default_true")]
    pub validate: bool,
    /// Largest total uncompressed size accepted.
    #[serde(default = "default_max_uncompressed")]
    pub max_uncompressed_bytes: ByteSize,
    /// Deploy a copy of each validated artifact instead of the artifact itself: an S3 prefix
    /// (`s3://bucket/prefix/`, in the endpoint's region) under which the controller copies the
    /// version it validated, conditioned on its ETag, to `<copyTo><model name>/model.tar.gz`,
    /// and deletes the copy with the model. SageMaker reads a model's `ModelDataUrl` again
    /// whenever it starts an instance (scale-out, instance replacement), so without a copy an
    /// artifact overwritten after deployment is what new instances load. The controller's role
    /// needs `s3:PutObject` and `s3:DeleteObject` there; the execution role `s3:GetObject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 7, max = 180), regex(pattern = r"^s3://[^/]+/(.*/)?$"))]
    pub copy_to: Option<String>,
}

impl Default for ArtifactSpec {
    fn default() -> Self {
        Self {
            validate: true,
            max_uncompressed_bytes: default_max_uncompressed(),
            copy_to: None,
        }
    }
}

/// Rollout strategy and manual controls.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("self.strategy != 'Canary' || has(self.canary)").message("strategy Canary needs rollout.canary"),
    validation = Rule::new("self.strategy != 'Linear' || has(self.linear)").message("strategy Linear needs rollout.linear"),
    validation = Rule::new("self.strategy != 'BlueGreen' || has(self.blueGreen)").message("strategy BlueGreen needs rollout.blueGreen"),
    validation = Rule::new("self.strategy != 'Rolling' || has(self.rolling)").message("strategy Rolling needs rollout.rolling"),
    validation = Rule::new("self.strategy != 'Shadow' || has(self.shadow)").message("strategy Shadow needs rollout.shadow"),
    validation = Rule::new("self.strategy != 'Shadow' || !has(self.shadow) || self.shadow.then != 'Canary' || has(self.canary)").message("shadow.then Canary needs rollout.canary")
)]
pub struct RolloutSpec {
    /// How traffic moves: `Direct` replaces at once, `Canary` and `Linear` shift weights step by
    /// step (driven by the controller), `BlueGreen` and `Rolling` use SageMaker's native
    /// guardrails (a new fleet beside the old, or the fleet replaced in batches), `Shadow`
    /// mirrors traffic to the candidate first. The first deployment to a new endpoint is
    /// always Direct.
    pub strategy: Strategy,
    /// Canary steps: candidate weight and bake time for each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
    /// Linear steps of equal size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearSpec>,
    /// SageMaker blue/green deployment with automatic rollback on the watched alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenSpec>,
    /// SageMaker rolling deployment: the fleet replaced in batches, each baked with the
    /// watched alarms, rolled back in batches on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling: Option<RollingSpec>,
    /// Shadow testing before traffic moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowSpec>,
    /// Hold at the current step. Bake timers do not advance while paused.
    #[serde(default)]
    pub paused: bool,
    /// A rolled-back or failed candidate is not tried again until the spec changes; raising
    /// this counter is that change and nothing else, for a retry decided in Git. (On-call's
    /// `sagemaker-rollout retry`, like promote and abort, is a one-shot request in
    /// `status.requests` bound to the rollout it is for.)
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0))]
    pub retry: i64,
    /// Roll back (or hold) a rollout that makes no progress for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline: Option<super::schedule::ProgressDeadline>,
    /// When a new rollout or its next step may start (allowed times, freezes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<super::schedule::WindowsSpec>,
    /// How long after a rollout succeeds the previous champion's endpoint config and model
    /// are kept, so that `sagemaker-rollout undo` returns traffic to them at once (one
    /// UpdateEndpoint, no new rollout); after it they are deleted as usual. A kept config and
    /// model cost nothing (no instances run). Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_window: Option<DurationString>,
}

fn default_sum() -> String {
    "Sum".into()
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Rollout strategies.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Replace the champion in one update.
    Direct,
    /// Explicit weight steps with bake times.
    Canary,
    /// Equal weight steps with one bake time.
    Linear,
    /// SageMaker native blue/green with alarm auto-rollback.
    BlueGreen,
    /// SageMaker native rolling deployment: batches of the fleet replaced in place, each baked,
    /// rolled back in batches on an alarm; needs no second fleet.
    Rolling,
    /// Mirror a share of traffic to the candidate, then follow `shadow.then`.
    Shadow,
}

impl Strategy {
    /// What SageMaker's deployment guardrail this strategy hands the rollout to is called
    /// ("blue/green", "rolling"), or None where the controller shifts traffic itself.
    pub fn guardrail(self) -> Option<&'static str> {
        match self {
            Self::BlueGreen => Some("blue/green"),
            Self::Rolling => Some("rolling"),
            Self::Direct | Self::Canary | Self::Linear | Self::Shadow => None,
        }
    }
}

/// Canary steps.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("self.steps.map(s, s.weight).isSorted() && self.steps.all(s, self.steps.filter(t, t.weight == s.weight).size() == 1)").message("canary step weights must be strictly increasing")
)]
pub struct CanarySpec {
    /// Steps in order; weights strictly increasing and below 100 (100 % is the final promotion).
    #[schemars(length(min = 1, max = 10))]
    pub steps: Vec<CanaryStep>,
}

/// One canary step.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("has(self.bake) || (has(self.pause) && self.pause)").message("a canary step needs a bake, or pause: true")
)]
pub struct CanaryStep {
    /// Percent of production traffic on the candidate during this step.
    #[schemars(range(min = 1, max = 99))]
    pub weight: i32,
    /// How long to hold this step with no alarm before moving on (required unless `pause`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<DurationString>,
    /// After the bake (at once, without one), hold at this weight until on-call promotes
    /// (`sagemaker-rollout promote`): a manual approval step. The alarms keep judging while
    /// it waits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pause: bool,
}

/// Linear steps.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinearSpec {
    /// Percent added at each step (steps at stepWeight, 2×stepWeight, … below 100).
    #[schemars(range(min = 1, max = 99))]
    pub step_weight: i32,
    /// Bake time of every step.
    pub bake: DurationString,
}

/// Native SageMaker blue/green settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenSpec {
    /// Time SageMaker watches the alarms after shifting traffic, before finishing.
    pub bake: DurationString,
    /// Time the old (blue) fleet is kept after the switch, for a fast rollback.
    #[serde(default = "default_termination_wait")]
    pub termination_wait: DurationString,
    /// Shift this percent of the instances first (SageMaker canary traffic routing: at
    /// least one instance, at most half of them, so serving.instanceCount must be 2 or
    /// more); all at once when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub canary_percent: Option<i32>,
}

/// SageMaker rolling deployment settings (deployment guardrails' RollingUpdatePolicy).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RollingSpec {
    /// Instances replaced per batch, as `{instances: N}` or `{percent: P}` of the fleet:
    /// SageMaker takes 5-50 % of the variant's instances, so `serving.instanceCount` must be 2
    /// or more.
    pub batch: BatchSize,
    /// How long SageMaker watches the alarms on each new batch before the next (0s to 1h).
    pub bake: DurationString,
    /// Instances returned to the old fleet per batch on a rollback; all at once when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_batch: Option<BatchSize>,
    /// The whole deployment's time limit (10m to 8h); by default the batches' bakes plus an
    /// hour of provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationString>,
}

/// A share of a variant's instances: a count or a percentage (exactly one).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("has(self.instances) != has(self.percent)").message("give instances or percent, not both")
)]
pub struct BatchSize {
    /// A number of instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub instances: Option<i32>,
    /// A percentage of the variant's instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub percent: Option<i32>,
}

/// Shadow stage settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShadowSpec {
    /// Percent of production requests copied to the candidate; its responses are discarded.
    #[schemars(range(min = 1, max = 100))]
    pub sampling_percent: i32,
    /// How long the shadow stage lasts with no alarm.
    pub duration: DurationString,
    /// What follows the shadow stage: `Canary` (the canary steps), `Promote` (straight to
    /// 100 %) or `Hold` (stay in shadow until `promote: true`).
    pub then: ShadowThen,
}

/// What follows a shadow stage.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShadowThen {
    /// Continue with the canary steps in `rollout.canary`.
    Canary,
    /// Move straight to 100 %.
    Promote,
    /// Stay in shadow until on-call promotes (`sagemaker-rollout promote`).
    Hold,
}

/// Alarm-gated analysis.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("duration(self.interval) >= duration('5s') && duration(self.interval) <= duration('5m')").message("analysis.interval must be between 5s and 5m")
)]
pub struct AnalysisSpec {
    /// `Alarm`: a watched alarm in ALARM rolls back automatically. `Manual`: it pauses the
    /// rollout instead, for a human to decide (abort or promote).
    #[serde(default)]
    pub rollback_on: RollbackOn,
    /// How often the watched alarms are read while the candidate takes traffic (5s to 5m):
    /// a firing alarm starts the rollback within one interval.
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m))+$"))]
    pub interval: DurationString,
    /// Alarms to watch.
    #[serde(default)]
    pub alarms: AlarmsSpec,
    /// Candidate against champion during Canary and Linear steps: both variants serve the
    /// same traffic mix at the same time, so each interval their metrics over the step so far
    /// are compared (CloudWatch GetMetricData); worse by more than the margin rolls back (or
    /// holds with `rollbackOn: Manual`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub compare: Vec<CompareRule>,
    /// How sure a comparison must be before it fails (rolls back) or passes:
    /// 0.99 means at most 1 % of steps of a candidate no worse than the margin are failed,
    /// however often the comparison is looked at (a sequential, always-valid test).
    #[serde(default = "default_confidence")]
    #[schemars(range(min = 0.8, max = 0.9999))]
    pub confidence: f64,
    /// What a step's end does while a comparison is not yet conclusive (too little traffic
    /// to tell): `Proceed` to the next step, `Hold` until it is (or a human promotes or
    /// aborts), or `RollBack`.
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
    /// Judge a step's first minute of traffic too. By default comparisons start at the first
    /// whole minute beginning a minute after the step's weights took effect, so a candidate
    /// still warming up (caches, connections, a new instance) is not judged against a warm
    /// champion.
    #[serde(default, skip_serializing_if = "is_false")]
    pub judge_first_minute: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the end of a bake does with a comparison that has not decided.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnInconclusive {
    #[default]
    Proceed,
    Hold,
    RollBack,
}

fn default_confidence() -> f64 {
    0.99
}

/// One comparison of candidate and champion.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompareRule {
    /// `ModelLatency` or `OverheadLatency` (with `statistic`), or an error rate in percent.
    pub metric: CompareMetric,
    /// For the latencies: Average (the default) or a percentile such as p99. A latency is
    /// judged minute by minute, each minute only with enough requests on both variants for
    /// its statistic: 20 for Average, and what CloudWatch asks for a percentile (1,000 for
    /// p99), so a percentile suits only variants that serve that many every minute.
    #[serde(default = "default_average")]
    #[schemars(regex(pattern = r"^(Average|p[0-9]{1,2}(\.[0-9]+)?)$"), transform = no_default)]
    pub statistic: String,
    /// Worse means candidate > champion × maxRatio (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ratio: Option<f64>,
    /// Worse means candidate > champion + maxIncrease: a latency (`50ms`) or, for a rate,
    /// percentage points (`1%` or `1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(us|ms|s|%)?$"))]
    pub max_increase: Option<String>,
    /// Requests each variant must have served in the step before it is judged.
    #[serde(default = "default_min_invocations")]
    #[schemars(range(min = 1), transform = no_default)]
    pub min_invocations: i64,
}

/// Metrics candidate and champion are compared on.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareMetric {
    /// Model latency (microseconds), with `statistic`.
    ModelLatency,
    /// Latency SageMaker adds (microseconds), with `statistic`.
    OverheadLatency,
    /// 5xx responses per 100 requests over the step.
    Invocation5XXErrorRate,
    /// 4xx responses per 100 requests over the step.
    Invocation4XXErrorRate,
}

/// Drops a field's `default` from the CRD: inside a list item the API server would fill it
/// in, and Argo CD's diff, which cannot see such defaults, would show the resource OutOfSync
/// for ever. The controller applies the same default when it reads the spec (serde).
fn no_default(schema: &mut schemars::Schema) {
    schema.remove("default");
}

fn default_average() -> String {
    "Average".into()
}

fn default_min_invocations() -> i64 {
    100
}

fn default_interval() -> DurationString {
    DurationString::new("15s")
}

impl Default for AnalysisSpec {
    fn default() -> Self {
        Self {
            rollback_on: RollbackOn::default(),
            interval: default_interval(),
            alarms: AlarmsSpec::default(),
            compare: Vec::new(),
            confidence: default_confidence(),
            on_inconclusive: OnInconclusive::default(),
            judge_first_minute: false,
        }
    }
}

/// Reaction to a firing alarm.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RollbackOn {
    /// Roll back automatically.
    #[default]
    Alarm,
    /// Pause and wait for a human.
    Manual,
}

/// Watched alarms.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AlarmsSpec {
    /// Names of CloudWatch alarms owned by someone else; ALARM means roll back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub existing: Vec<String>,
    /// Alarms this controller creates on the candidate variant and removes afterwards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub create: Vec<AlarmRule>,
}

/// An alarm created and owned by the controller, scoped to the candidate variant.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("self.metric != 'Custom' || has(self.custom)").message("metric Custom needs custom.namespace and custom.metricName"),
    validation = Rule::new("!has(self.datapoints) || self.datapoints <= (has(self.periods) ? self.periods : 1)").message("datapoints (M) must not exceed periods (N)")
)]
pub struct AlarmRule {
    /// Which endpoint metric: a SageMaker variant metric, or `Custom` with `custom` set.
    pub metric: AlarmMetric,
    /// Statistic: Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99
    /// (default Sum; the error rates and the Invocations floor take Sum only).
    #[serde(default = "default_sum")]
    #[schemars(
        regex(pattern = r"^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$"),
        transform = no_default
    )]
    pub statistic: String,
    /// Threshold above which the alarm fires: a number, or a latency such as `500ms` / `1.5s`,
    /// or a percentage such as `80%` (an error rate: `1%` or `1`). For `Invocations` it is a
    /// floor: fewer requests per minute than this, or none, fire it.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(us|ms|s|%)?$"))]
    pub threshold: String,
    /// One-minute periods the alarm judges (N; default 1). With `datapoints` unset all of
    /// them must breach: N consecutive minutes.
    #[serde(default = "default_one")]
    #[schemars(range(min = 1, max = 60), transform = no_default)]
    pub periods: i32,
    /// How many of the last `periods` minutes must breach for ALARM (M of N, CloudWatch's
    /// DatapointsToAlarm; at most `periods`, default all of them): `datapoints: 3` with
    /// `periods: 5` rides out one or two noisy minutes of an error rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60))]
    pub datapoints: Option<i32>,
    /// The custom metric, when `metric` is `Custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomMetric>,
}

/// Metrics an owned alarm can watch.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmMetric {
    /// Count of 5xx responses from the model.
    Invocation5XXErrors,
    /// Count of 4xx responses.
    Invocation4XXErrors,
    /// 5xx responses as a percentage of invocations (CloudWatch metric math); no requests, no
    /// alarm.
    Invocation5XXErrorRate,
    /// 4xx responses as a percentage of invocations; no requests, no alarm.
    Invocation4XXErrorRate,
    /// Requests per minute, as a floor: the candidate receiving fewer (or none) fires it, once
    /// it has had traffic for `periods` minutes.
    Invocations,
    /// Model latency (CloudWatch reports microseconds).
    ModelLatency,
    /// Overhead latency added by SageMaker.
    OverheadLatency,
    /// Instance CPU utilization in percent.
    CPUUtilization,
    /// Instance memory utilization in percent.
    MemoryUtilization,
    /// A metric named in `custom`.
    Custom,
}

/// A custom CloudWatch metric.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomMetric {
    /// CloudWatch namespace.
    #[schemars(length(min = 1, max = 255))]
    pub namespace: String,
    /// Metric name.
    #[schemars(length(min = 1, max = 255))]
    pub metric_name: String,
    /// Dimensions; the value `${variant}` is replaced by the candidate variant name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
}

/// Target-tracking autoscaling.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(cel, validation = Rule::new("self.min <= self.max").message("autoscaling.min must not exceed autoscaling.max"))]
pub struct AutoscalingSpec {
    /// Fewest instances.
    #[schemars(range(min = 1, max = 100))]
    pub min: i32,
    /// Most instances.
    #[schemars(range(min = 1, max = 100))]
    pub max: i32,
    /// The tracked metric and its target value.
    pub target: ScalingTarget,
    /// Wait after a scale-in before another.
    #[serde(default = "default_scale_in_cooldown")]
    pub scale_in_cooldown: DurationString,
    /// Wait after a scale-out before another.
    #[serde(default = "default_scale_out_cooldown")]
    pub scale_out_cooldown: DurationString,
}

/// Target-tracking metric.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScalingTarget {
    /// `InvocationsPerInstance` (requests per minute per instance) or `ModelLatency`
    /// (microseconds).
    pub metric: ScalingMetric,
    /// Target value of the metric.
    #[schemars(range(min = 0.001))]
    pub value: f64,
}

/// Metrics autoscaling can track.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingMetric {
    /// SageMakerVariantInvocationsPerInstance.
    InvocationsPerInstance,
    /// Average ModelLatency of the variant.
    ModelLatency,
    /// SageMakerVariantProvisionedConcurrencyUtilization (a serverless variant with
    /// provisioned concurrency: what is scaled is its provisioned concurrency, a target of
    /// 0.5 to 0.9 keeps it that busy).
    ProvisionedConcurrencyUtilization,
    /// SageMakerInferenceComponentInvocationsPerCopy (an inference component: what is scaled
    /// is its copy count; the target is requests per minute per copy).
    InvocationsPerCopy,
}

/// Data capture settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataCaptureSpec {
    /// Percent of requests captured.
    #[schemars(range(min = 1, max = 100))]
    pub sampling_percent: i32,
    /// S3 prefix the captures go to.
    #[schemars(regex(pattern = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"))]
    pub destination_s3_uri: String,
}

/// The smoke test sent to the candidate variant alone.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SmokeTestSpec {
    /// Content-Type of the request.
    #[schemars(length(min = 1))]
    pub content_type: String,
    /// Request body.
    pub body: String,
    /// What the response must look like.
    #[serde(default)]
    pub expect: SmokeExpect,
}

/// Expected smoke-test response.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SmokeExpect {
    /// Expected HTTP status.
    #[serde(default = "default_status")]
    #[schemars(range(min = 100, max = 599))]
    pub status: i32,
    /// A regular expression the response body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_matches: Option<String>,
}

impl Default for SmokeExpect {
    fn default() -> Self {
        Self {
            status: default_status(),
            body_matches: None,
        }
    }
}

/// Where deployment records go.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditSpec {
    /// S3 prefix; one JSON object per rollout is written below it.
    #[schemars(regex(pattern = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"))]
    pub s3_uri: String,
}

/// Milestone notifications.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotifySpec {
    /// An Amazon SNS topic (standard or FIFO), in any region of the account: the path to
    /// chat (Amazon Q Developer in chat applications), e-mail or a pager.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo)$"
    ))]
    pub sns_topic_arn: String,
}

/// What deletion of the resource does to AWS.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Keep every AWS resource; only the finalizer is removed.
    #[default]
    Retain,
    /// Delete the endpoint, configs, models, alarms and scaling targets this resource owns.
    Delete,
}

fn default_true() -> bool {
    true
}
fn default_one() -> i32 {
    1
}
fn default_status() -> i32 {
    200
}
fn default_max_uncompressed() -> ByteSize {
    ByteSize::new("50Gi")
}
fn default_termination_wait() -> DurationString {
    DurationString::new("10m")
}
fn default_scale_in_cooldown() -> DurationString {
    DurationString::new("300s")
}
fn default_scale_out_cooldown() -> DurationString {
    DurationString::new("60s")
}
