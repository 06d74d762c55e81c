//! The `ModelDeployment` API (group `sagemaker.mlops.dev`, version `v1alpha1`): the spec a
//! platform team writes, the status on-call reads, the CRD generated from both, and the
//! semantic checks the schema cannot express.

pub mod check;
pub mod crd;
pub mod document;
pub mod spec;
pub mod status;
pub mod units;

pub use spec::*;
pub use status::*;
pub use units::{ByteSize, DurationString};

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
