//! The Kubernetes side: the in-memory API server fake, the real controller against it,
//! scripted request sequences, leader election, HTTP endpoints, the TLS provider, and the
//! ignored real-cluster test.

#[path = "../fake_api/mod.rs"]
mod fake_api;

mod kind;
mod kube_fake;
mod lease;
mod reconcile;
mod requests;
mod tls;
