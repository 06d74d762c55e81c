//! The `ModelDeployment` API (group `sagemaker.mlops.dev`, version `v1alpha1`): the spec a
//! platform team writes, the status on-call reads and its kstatus conditions, the CRD
//! generated from both, and the validation that turns a spec into the typed [`ValidSpec`]
//! the rest of the crate works with.

pub mod conditions;
pub mod crd;
pub mod document;
pub mod errors;
pub mod policy;
pub mod requests;
pub mod schedule;
pub mod schema;
pub mod source;
pub mod spec;
pub mod status;
pub mod units;
pub mod valid;

pub use requests::{Gate, GateRequest, Requests};
pub use schedule::{DeadlineAction, ProgressDeadline, TimeWindow, Weekday, WindowsSpec};
pub use spec::*;
pub use status::*;
pub use units::{ByteSize, DurationString, S3Uri};
pub use valid::{FieldError, SpecErrors, Teardown, ValidSpec};

impl ModelDeployment {
    /// The target fields changed since the resource deployed (`status.target`), each named
    /// with how to move an endpoint properly; None when unchanged or not yet deployed. The
    /// CRD refuses such a change; this catches one an older CRD let through.
    pub fn target_changes(&self) -> Option<SpecErrors> {
        let target = self.status.as_ref()?.target.as_ref()?;
        let how = "cannot change once the resource has deployed: to move, create a new ModelDeployment for the new target and delete this one (its deletionPolicy decides what becomes of the old endpoint)";
        let shown = |v: Option<&str>| v.map_or_else(|| "unset".to_owned(), |v| format!("{v:?}"));
        let mut errors = Vec::new();
        let fields = [
            (
                "spec.endpointName",
                Some(self.spec.endpoint_name.as_str()),
                Some(target.endpoint_name.as_str()),
            ),
            (
                "spec.region",
                self.spec.region.as_deref(),
                target.region.as_deref(),
            ),
            (
                "spec.assumeRoleArn",
                self.spec.assume_role_arn.as_deref(),
                target.assume_role_arn.as_deref(),
            ),
            (
                "spec.serving.inferenceComponent.name",
                (self.spec.serving.inference_component.as_ref()).map(|c| c.name.as_str()),
                target.inference_component.as_deref(),
            ),
        ];
        for (path, now, deployed) in fields {
            if now != deployed {
                errors.push(FieldError::new(
                    path,
                    format!("{} {how} (deployed with {})", shown(now), shown(deployed)),
                ));
            }
        }
        (!errors.is_empty()).then_some(SpecErrors(errors))
    }

    /// What deletion cleans up: the target the resource deployed to when it has one (so a
    /// target changed behind an older CRD's back never redirects the clean-up), else the
    /// spec's.
    pub fn teardown(&self) -> Result<Teardown, SpecErrors> {
        match self.status.as_ref().and_then(|s| s.target.as_ref()) {
            Some(t) => Ok(Teardown {
                endpoint_name: t.endpoint_name.clone(),
                region: t.region.clone(),
                // The role the resource acted through, when a policy chose it.
                assume_role_arn: t.assumed_role_arn.clone().or(t.assume_role_arn.clone()),
                deletion_policy: self.spec.deletion_policy,
                component: t.inference_component.clone(),
            }),
            None => Teardown::from_spec(&self.spec),
        }
    }

    /// The identity the engine uses for ownership tags, `namespace/name`: the same for the
    /// CLI and the controller, so a CI pipeline and the cluster agree on who drives the
    /// endpoint.
    pub fn owner(&self) -> String {
        format!(
            "{}/{}",
            self.metadata.namespace.as_deref().unwrap_or("default"),
            self.metadata.name.as_deref().unwrap_or("unnamed")
        )
    }
}
