//! Shared fixtures for planner tests: [`fixtures`] (a base spec, candidates, ARNs),
//! [`world`] (`World`, a tiny instant-effect model of AWS that applies plan actions with
//! SageMaker's rules — updates rejected while transitioning, immutable configs, relative
//! weights, silent rollback — on a virtual clock) and [`invariants`] (checked on every plan,
//! and the end state a crash must not change).
#![allow(dead_code)] // each test binary uses a different subset

mod fixtures;
mod invariants;
mod world;

pub use fixtures::*;
pub use invariants::*;
pub use world::*;
