//! The Kubernetes side: the in-memory API server fake, the real controller against it (on
//! the simulator, and once with real SDK clients against the AWS emulator), scripted
//! request sequences, leader election, HTTP endpoints, the TLS provider, and the ignored
//! real-cluster test.

#[path = "../emulator/account.rs"]
mod account;
#[path = "../emulator/harness.rs"]
mod emulator;
#[path = "../fake_api/mod.rs"]
mod fake_api;

mod kind;
mod kube_fake;
mod lease;
mod oncall;
mod reconcile;
mod requests;
mod scale;
mod sdk;
mod tenancy;
mod tenants_wire;
mod tls;
