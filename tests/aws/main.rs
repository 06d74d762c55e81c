//! The AWS adapters over real HTTP: S3 and the registry, endpoints and autoscaling (the same
//! scenario against the emulator and the simulator), CloudWatch; and the ignored real-AWS
//! test.

#[path = "../emulator/account.rs"]
mod account;
#[path = "../emulator/harness.rs"]
mod emulator;

mod agreement;
mod artifact;
mod cloudwatch;
mod configs;
mod contract;
mod edges;
mod fence;
mod real_aws;
mod sources;
mod wire;
