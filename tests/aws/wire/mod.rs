//! Whole rollouts of the real binary over HTTP: `sagemaker-rollout apply --wait` (and
//! `delete`) as a CI job runs them, against the emulator (see `tests/emulator/account.rs`
//! for the account they run in). Every scenario asserts what AWS holds afterwards, ends with
//! no service-model violation, and prints its HTTP request count (docs/benchmarks.md).

mod bench;
mod compare;
mod scenarios;
mod shapes;
