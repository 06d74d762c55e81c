//! The pure layers: the API (CRD schema, manifest loading, validation into a typed spec) and
//! the planner (a scenario per situation, property tests over random rollouts). No AWS, no
//! cluster, no clock.

#[path = "../support/mod.rs"]
mod support;

mod architecture;
mod crd;
mod manifests;
mod no_panic;
mod properties;
mod rollouts;
mod schema_agreement;
mod spec_check;
mod tenancy;
