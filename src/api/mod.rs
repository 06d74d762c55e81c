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
