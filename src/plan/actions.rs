//! The actions a plan asks the engine to perform, in order, as domain values. Each is
//! idempotent by construction: names derive from content, so repeating an action after a
//! crash creates nothing new.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::HistoryEntry;
pub use crate::api::valid::Capacity;

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

/// The validated artifact copied, before the model is created, to where the model reads it
/// (`spec.artifact.copyTo`): the version validated, or nothing (S3-14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactCopy {
    pub from: String,
    pub to: String,
}

/// A SageMaker Model wrapping one model package version.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlan {
    pub name: String,
    pub candidate_id: String,
    pub container: ModelContainer,
    /// Copied first, and the container's `ModelDataUrl` is the copy.
    pub copy: Option<ArtifactCopy>,
    pub execution_role_arn: String,
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// One variant of an endpoint config.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantPlan {
    pub name: String,
    pub model_name: String,
    /// Empty for a serverless variant.
    pub instance_type: String,
    pub instance_count: i32,
    /// Serverless capacity instead of instances (ServerlessConfig).
    pub serverless: Option<crate::api::ServerlessSpec>,
    /// Relative weight; for a shadow variant, the sampled share of production requests.
    pub weight: f64,
    /// A variant re-created from an existing config (the champion's): every field of the
    /// original ProductionVariant is kept — volume size, timeouts, serverless settings,
    /// routing, core dumps, whatever AWS adds — and only the weight (and, on instances, the
    /// count) comes from this plan.
    pub template: Option<VariantTemplate>,
}

/// Where a re-created variant comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VariantTemplate {
    pub config: String,
    pub variant: String,
}

/// Endpoint-wide settings a new config takes over from the one serving now, so that a
/// rollout never changes how the endpoint works: KMS key, asynchronous inference, network
/// isolation, VPC, execution role, metrics, explainer — and its data capture when the spec
/// sets none and the serving config is not the controller's (an adopted endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Inherit {
    pub config: String,
    pub data_capture: bool,
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
    pub inherit: Option<Inherit>,
    pub tags: BTreeMap<String, String>,
}

/// An inference component as created or updated: the model its copies run, what each copy
/// reserves, and how many copies.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentPlan {
    pub name: String,
    /// The endpoint hosting it, and the variant (SageMaker picks when None).
    pub endpoint: String,
    pub variant: Option<String>,
    pub model_name: String,
    pub compute: super::observed::Compute,
    pub copies: i32,
}

/// SageMaker deployment guardrails settings for UpdateEndpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeDeployment {
    /// How long each traffic shift (blue/green) or batch (rolling) bakes with the alarms.
    pub bake: Duration,
    pub policy: NativePolicy,
    /// Instances of the new fleet (the canary and the batches are sized against it).
    pub instance_count: i32,
    /// Alarms SageMaker watches to roll back automatically (1-10; none means SageMaker
    /// cannot roll back by itself and no AutoRollbackConfiguration is sent).
    pub alarms: Vec<String>,
}

/// Which guardrail: a new fleet beside the old, or the fleet replaced in batches.
#[derive(Clone, Debug, PartialEq)]
pub enum NativePolicy {
    /// BlueGreenUpdatePolicy: the old fleet kept `termination_wait` after the switch; a
    /// canary of `canary_percent` of the instances first, or all at once.
    BlueGreen {
        termination_wait: Duration,
        canary_percent: Option<i32>,
    },
    /// RollingUpdatePolicy: `batch` of the instances at a time, rolled back `rollback_batch`
    /// at a time (all at once when None); `timeout` overrides the derived execution timeout.
    Rolling {
        batch: Capacity,
        rollback_batch: Option<Capacity>,
        timeout: Option<Duration>,
    },
}

/// Time SageMaker may take to provision the new fleet, on top of the waits.
const PROVISIONING: Duration = Duration::from_secs(3600);

impl NativeDeployment {
    /// Instances of a blue/green canary: `canary_percent` of the fleet, at least one (the
    /// spec check refuses a canary that would be less than one instance or more than half
    /// the fleet).
    pub fn canary_instances(&self) -> Option<i32> {
        match &self.policy {
            NativePolicy::BlueGreen {
                canary_percent: Some(p),
                ..
            } => Some((self.instance_count * p / 100).max(1)),
            _ => None,
        }
    }

    /// The waits SageMaker adds up: one bake per traffic shift then the termination wait
    /// (blue/green), or one bake per batch (rolling).
    pub fn waits(&self) -> Duration {
        match &self.policy {
            NativePolicy::BlueGreen {
                termination_wait,
                canary_percent,
            } => {
                let shifts = if canary_percent.is_some() { 2 } else { 1 };
                self.bake * shifts + *termination_wait
            }
            NativePolicy::Rolling { batch, .. } => self.bake * batch.batches(self.instance_count),
        }
    }

    /// MaximumExecutionTimeoutInSeconds: 600-28800 s and longer than the waits: the spec's
    /// rolling timeout, or the waits plus an hour of provisioning.
    pub fn max_execution_timeout(&self) -> Duration {
        let derived = self.waits() + PROVISIONING;
        let chosen = match &self.policy {
            NativePolicy::Rolling {
                timeout: Some(t), ..
            } => *t,
            _ => derived,
        };
        chosen.clamp(Duration::from_secs(600), Duration::from_secs(28_800))
    }

    /// What the deployment is called in messages (`Strategy::guardrail`).
    pub fn name(&self) -> &'static str {
        let strategy = match self.policy {
            NativePolicy::BlueGreen { .. } => crate::api::Strategy::BlueGreen,
            NativePolicy::Rolling { .. } => crate::api::Strategy::Rolling,
        };
        strategy.guardrail().unwrap_or_default()
    }
}

/// A CloudWatch alarm owned by the controller.
/// How an owned alarm judges its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmKind {
    /// The metric over the threshold; missing data is not breaching.
    Above,
    /// `100 * metric / Invocations` (same namespace and dimensions, per-minute sums) over the
    /// threshold, by CloudWatch metric math, judged only on minutes with at least
    /// [`AlarmPlan::rate_guard`] requests (fewer: no data point, and missing data is not
    /// breaching), so that one error among a handful of requests never rolls back.
    RateAbove,
    /// A floor: the metric under the threshold, and missing data breaching. ALARM from
    /// creation until traffic arrives, so it is watched only once the candidate has had
    /// traffic for its periods ([`AlarmPlan::armed_after`]).
    Below,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlarmPlan {
    pub name: String,
    pub kind: AlarmKind,
    pub namespace: String,
    pub metric_name: String,
    pub statistic: String,
    pub threshold: f64,
    pub periods: i32,
    /// How many of the `periods` must breach (DatapointsToAlarm, M of N).
    pub datapoints: i32,
    pub dimensions: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// How long CloudWatch may take to make a new metric's statistics readable (CW-30).
pub const NEW_METRIC_DELAY: Duration = Duration::from_secs(120);

impl AlarmPlan {
    /// The fewest requests a minute of a rate alarm is judged on: enough that more than three
    /// errors are needed to cross the threshold, and at least 20 — `max(20, ⌈300 /
    /// threshold⌉)` (5 % → 60 requests, 1 % → 300).
    pub fn rate_guard(&self) -> f64 {
        if self.threshold > 0.0 {
            (300.0 / self.threshold).ceil().max(20.0)
        } else {
            20.0
        }
    }

    /// The metric math of a rate alarm over the queries `errors` and `invocations`: the rate
    /// where the minute had [`Self::rate_guard`] requests, no data point otherwise (an `IF`
    /// without a false value drops the point, CW-28; a minute without requests would divide
    /// by zero, which drops it too, CW-17).
    pub fn rate_expression(&self) -> String {
        format!(
            "IF(invocations >= {}, 100 * errors / invocations)",
            self.rate_guard()
        )
    }

    /// How long after the first whole minute of the candidate's traffic the alarm says
    /// something: a floor needs its evaluation periods of complete minutes, and then
    /// CloudWatch's time to make a new metric readable — the candidate's variant is a new
    /// metric (up to 2 minutes, CW-30); the others say something at once.
    pub fn armed_after(&self) -> Duration {
        match self.kind {
            AlarmKind::Below => {
                Duration::from_secs(60 * u64::try_from(self.periods).unwrap_or(1))
                    + NEW_METRIC_DELAY
            }
            AlarmKind::Above | AlarmKind::RateAbove => Duration::ZERO,
        }
    }
}

/// Target-tracking autoscaling of one variant.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPlan {
    pub variant: String,
    pub min: i32,
    pub max: i32,
    /// `SageMakerVariantInvocationsPerInstance` (a predefined metric) or `ModelLatency` (a
    /// customized metric: Application Auto Scaling has no predefined latency metric).
    pub metric: String,
    pub target_value: f64,
    pub scale_in_cooldown: Duration,
    pub scale_out_cooldown: Duration,
}

impl ScalingPlan {
    /// Whether `reg` is this plan in place: the target with these bounds and the policy with
    /// these settings.
    pub fn is_registered(&self, reg: &super::observed::ScalingRegistration) -> bool {
        reg.variant == self.variant
            && reg.min == self.min
            && reg.max == self.max
            && reg.policy.as_ref().is_some_and(|p| {
                p.metric == self.metric
                    && (p.target_value - self.target_value).abs() < 1e-9
                    && p.scale_in_cooldown.as_secs() == self.scale_in_cooldown.as_secs()
                    && p.scale_out_cooldown.as_secs() == self.scale_out_cooldown.as_secs()
            })
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Check the candidate's model.tar.gz against the artifact contract.
    ValidateArtifact {
        candidate_id: String,
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
    /// Delete what this resource owns for the endpoint and no longer needs: every owned
    /// alarm, and the endpoint configs and models other than those kept (what serves). The
    /// engine lists them (by exact name and owner) when it runs this.
    CollectGarbage {
        keep_configs: Vec<String>,
        keep_models: Vec<String>,
    },
    /// Append to the deployment record (status history and, when configured, S3 audit).
    RecordHistory(HistoryEntry),
    RemoveFinalizer,
    /// CreateInferenceComponent with these tags (ownership, lineage, markers).
    CreateInferenceComponent {
        component: ComponentPlan,
        tags: BTreeMap<String, String>,
    },
    /// UpdateInferenceComponent: a new model or compute, in batches of copies with the
    /// rolling policy and its alarms, or all at once.
    UpdateInferenceComponent {
        component: ComponentPlan,
        deployment: Option<NativeDeployment>,
    },
    /// UpdateInferenceComponentRuntimeConfig: the copy count alone.
    SetComponentCopies {
        name: String,
        copies: i32,
    },
    DeleteInferenceComponent {
        name: String,
    },
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

    /// Whether AWS's answer to this action is its outcome. Creating, updating or deleting an
    /// endpoint and moving weights start a transition that ends later; everything else is
    /// done when the call returns (a config, model or alarm exists or is gone, tags are set,
    /// a scalable target is registered), so a plan of only these needs no confirming look.
    pub fn settles_when_answered(&self) -> bool {
        !matches!(
            self,
            Self::CreateEndpoint { .. }
                | Self::UpdateEndpoint { .. }
                | Self::UpdateWeights { .. }
                | Self::DeleteEndpoint
                | Self::CreateInferenceComponent { .. }
                | Self::UpdateInferenceComponent { .. }
                | Self::SetComponentCopies { .. }
                | Self::DeleteInferenceComponent { .. }
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
            Self::CollectGarbage { .. } => "CollectGarbage",
            Self::RecordHistory(_) => "RecordHistory",
            Self::RemoveFinalizer => "RemoveFinalizer",
            Self::CreateInferenceComponent { .. } => "CreateInferenceComponent",
            Self::UpdateInferenceComponent { .. } => "UpdateInferenceComponent",
            Self::SetComponentCopies { .. } => "SetComponentCopies",
            Self::DeleteInferenceComponent { .. } => "DeleteInferenceComponent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(threshold: f64) -> AlarmPlan {
        AlarmPlan {
            name: "r".into(),
            kind: AlarmKind::RateAbove,
            namespace: "AWS/SageMaker".into(),
            metric_name: "Invocation5XXErrors".into(),
            statistic: "Sum".into(),
            threshold,
            periods: 2,
            datapoints: 2,
            dimensions: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn a_rate_alarm_needs_three_errors_to_cross_its_threshold_and_skips_quiet_minutes() {
        for (threshold, guard) in [(5.0, 60.0), (1.0, 300.0), (50.0, 20.0), (0.0, 20.0)] {
            let a = rate(threshold);
            assert_eq!(a.rate_guard(), guard, "{threshold} %");
            // Two errors among the guard's requests stay at or under the threshold.
            if threshold > 0.0 {
                assert!(200.0 / guard <= threshold, "{threshold} %");
            }
        }
        assert_eq!(
            rate(5.0).rate_expression(),
            "IF(invocations >= 60, 100 * errors / invocations)"
        );
    }
}
