//! sagemaker-rollout: declare which validated model serves an Amazon SageMaker endpoint and
//! how it gets there safely; a reconcile loop (Kubernetes controller or CLI) makes it so.
//!
//! Layout follows the reconcile shape observe → plan → act → status: [`api`] is the resource,
//! [`plan`] the pure decision function that carries most of the logic and tests.
#![forbid(unsafe_code)]

pub mod api;
pub mod artifact;
pub mod aws;
pub mod controller;
pub mod engine;
pub mod plan;
pub mod sim;
