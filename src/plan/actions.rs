//! The actions a plan asks the engine to perform, in order, as domain values. Each is
//! idempotent by construction: names derive from content, so repeating an action after a
//! crash creates nothing new.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::HistoryEntry;

/// What a Model's container runs.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelContainer {
    /// The model package version by ARN (`ModelPackageName`): SageMaker allows it only for
    /// an Approved version.
    Package,
    /// The package's own container definition, for a version not (yet) Approved.
    Image {
        image: String,
        model_data_url: String,
    },
}

/// A SageMaker Model wrapping one model package version.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlan {
    pub name: String,
    pub package_arn: String,
    pub container: ModelContainer,
    pub execution_role_arn: String,
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// One variant of an endpoint config.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantPlan {
    pub name: String,
    pub model_name: String,
    pub instance_type: String,
    pub instance_count: i32,
    /// Relative weight; for a shadow variant, the sampled share of production requests.
    pub weight: f64,
}

/// Data capture of an endpoint config.
#[derive(Clone, Debug, PartialEq)]
pub struct DataCapturePlan {
    pub sampling_percent: i32,
    pub destination_s3_uri: String,
}

/// An immutable endpoint configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigPlan {
    pub name: String,
    pub production: Vec<VariantPlan>,
    pub shadow: Vec<VariantPlan>,
    pub data_capture: Option<DataCapturePlan>,
    pub tags: BTreeMap<String, String>,
}

/// SageMaker blue/green deployment settings for UpdateEndpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeDeployment {
    pub bake: Duration,
    pub termination_wait: Duration,
    /// Canary traffic routing size in percent; all at once when None.
    pub canary_percent: Option<i32>,
    /// Alarms SageMaker watches to roll back automatically.
    pub alarms: Vec<String>,
}

/// A CloudWatch alarm owned by the controller.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmPlan {
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    pub statistic: String,
    pub threshold: f64,
    pub periods: i32,
    pub dimensions: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Target-tracking autoscaling of one variant.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPlan {
    pub variant: String,
    pub min: i32,
    pub max: i32,
    /// `SageMakerVariantInvocationsPerInstance` or `ModelLatency`.
    pub metric: String,
    pub target_value: f64,
    pub scale_in_cooldown: Duration,
    pub scale_out_cooldown: Duration,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Check the candidate's model.tar.gz against the artifact contract.
    ValidateArtifact {
        package_arn: String,
        model_data_url: String,
        max_uncompressed_bytes: u64,
    },
    CreateModel(ModelPlan),
    CreateEndpointConfig(ConfigPlan),
    CreateEndpoint {
        config_name: String,
        tags: BTreeMap<String, String>,
    },
    UpdateEndpoint {
        config_name: String,
        deployment: Option<NativeDeployment>,
    },
    /// UpdateEndpointWeightsAndCapacities with these relative weights.
    UpdateWeights {
        weights: BTreeMap<String, f64>,
    },
    /// InvokeEndpoint with TargetVariant; the engine records the result as the `smoke` marker.
    RunSmokeTest {
        variant: String,
    },
    /// Set endpoint tags; an empty value removes the key.
    TagEndpoint {
        tags: BTreeMap<String, String>,
    },
    EnsureAlarm(AlarmPlan),
    DeleteAlarm {
        name: String,
    },
    RegisterScaling(ScalingPlan),
    /// Delete the variant's scaling policy, then deregister its scalable target.
    DeregisterScaling {
        variant: String,
    },
    DeleteEndpoint,
    DeleteEndpointConfig {
        name: String,
    },
    DeleteModel {
        name: String,
    },
    /// Append to the deployment record (status history and, when configured, S3 audit).
    RecordHistory(HistoryEntry),
    RemoveFinalizer,
}

impl Action {
    /// Whether this action changes AWS (as opposed to reading it or bookkeeping).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Self::ValidateArtifact { .. }
                | Self::RunSmokeTest { .. }
                | Self::RecordHistory(_)
                | Self::RemoveFinalizer
        )
    }

    /// Short name used in timelines and tests (`UpdateEndpoint`, `UpdateWeights`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ValidateArtifact { .. } => "ValidateArtifact",
            Self::CreateModel(_) => "CreateModel",
            Self::CreateEndpointConfig(_) => "CreateEndpointConfig",
            Self::CreateEndpoint { .. } => "CreateEndpoint",
            Self::UpdateEndpoint { .. } => "UpdateEndpoint",
            Self::UpdateWeights { .. } => "UpdateWeights",
            Self::RunSmokeTest { .. } => "RunSmokeTest",
            Self::TagEndpoint { .. } => "TagEndpoint",
            Self::EnsureAlarm(_) => "EnsureAlarm",
            Self::DeleteAlarm { .. } => "DeleteAlarm",
            Self::RegisterScaling(_) => "RegisterScaling",
            Self::DeregisterScaling { .. } => "DeregisterScaling",
            Self::DeleteEndpoint => "DeleteEndpoint",
            Self::DeleteEndpointConfig { .. } => "DeleteEndpointConfig",
            Self::DeleteModel { .. } => "DeleteModel",
            Self::RecordHistory(_) => "RecordHistory",
            Self::RemoveFinalizer => "RemoveFinalizer",
        }
    }
}
