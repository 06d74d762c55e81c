//! sagemaker-rollout: declare which validated model serves an Amazon SageMaker endpoint and
//! how it gets there safely; a reconcile loop (Kubernetes controller or CLI) makes it so.
//!
//! Layout follows the reconcile shape observe → plan → act → status: [`api`] is the resource
//! and its validation into a typed spec, [`plan`] the pure decision function that carries
//! most of the logic and tests, [`engine`] observes and acts through the [`aws`] adapters,
//! [`sim`] is the simulator behind the same traits, [`controller`] the Kubernetes front end,
//! [`artifact`] the model.tar.gz contract, [`tags`] the tag vocabulary. ARCHITECTURE.md
//! draws the layers and says where each kind of change goes.
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod api;
pub mod artifact;
pub mod aws;
pub mod controller;
pub mod engine;
pub mod memo;
pub mod oncall;
pub mod plan;
pub mod sim;
pub mod tags;
pub mod tenancy;
