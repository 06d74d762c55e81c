//! The `ModelDeployment` API (group `sagemaker.mlops.dev`, version `v1alpha1`): the spec a
//! platform team writes, the status on-call reads and its kstatus conditions, the CRD
//! generated from both, and the validation that turns a spec into the typed [`ValidSpec`]
//! the rest of the crate works with.

pub mod conditions;
pub mod crd;
pub mod document;
pub mod errors;
pub mod schema;
pub mod source;
pub mod spec;
pub mod status;
pub mod units;
pub mod valid;

pub use spec::*;
pub use status::*;
pub use units::{ByteSize, DurationString, S3Uri};
pub use valid::{FieldError, SpecErrors, Teardown, ValidSpec};

impl ModelDeployment {
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
