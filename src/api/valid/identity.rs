//! Which endpoint, in which region, through which role, and what deletion does with it:
//! the part of a spec a resource needs even when the rest of it is invalid.

use regex::Regex;

use super::collect::*;
use super::*;
use crate::api::spec::*;

/// What deleting a ModelDeployment needs from its spec: which endpoint, where, and what to
/// do with it. Checked on its own, so an otherwise invalid spec can still be deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Teardown {
    pub endpoint_name: String,
    /// The inference component the spec targets: it is deleted, never the endpoint hosting it.
    pub component: Option<String>,
    pub region: Option<String>,
    pub assume_role_arn: Option<String>,
    pub deletion_policy: DeletionPolicy,
}

impl Teardown {
    /// The deletion contract of a spec that may be invalid elsewhere.
    pub fn from_spec(spec: &ModelDeploymentSpec) -> Result<Self, SpecErrors> {
        teardown(spec)
    }
}

/// The deletion contract: the endpoint's name and location, nothing else.
pub(super) fn teardown(spec: &ModelDeploymentSpec) -> Result<Teardown, SpecErrors> {
    let mut c = Collector::default();
    identity(&mut c, spec);
    if !c.0.is_empty() {
        return Err(SpecErrors(c.0));
    }
    Ok(Teardown {
        endpoint_name: spec.endpoint_name.clone(),
        component: (spec.serving.inference_component.as_ref()).map(|ic| ic.name.clone()),
        region: spec.region.clone(),
        assume_role_arn: spec.assume_role_arn.clone(),
        deletion_policy: spec.deletion_policy,
    })
}

/// Which endpoint, in which region, through which role: all deletion needs.
pub(super) fn identity(c: &mut Collector, spec: &ModelDeploymentSpec) {
    c.name(
        "spec.endpointName",
        &spec.endpoint_name,
        "a SageMaker endpoint name (1-63 letters, digits and hyphens, not starting or ending with a hyphen)",
    );
    if let Some(region) = &spec.region {
        c.pattern(
            "spec.region",
            region,
            re!(r"^[a-z]{2}(-[a-z]+)+-[0-9]$"),
            "an AWS region such as us-east-1",
        );
    }
    if let Some(arn) = &spec.assume_role_arn {
        c.pattern("spec.assumeRoleArn", arn, re!(ROLE_ARN), "an IAM role ARN");
    }
}
