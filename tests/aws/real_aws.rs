//! Against a real AWS account (never in the default run). With credentials in the
//! environment and a spec whose candidate exists in your registry:
//!
//! ```sh
//! SAGEMAKER_ROLLOUT_SPEC=my-spec.yaml cargo test --test real_aws -- --ignored --nocapture
//! ```
//!
//! It plans, applies with `--wait` until the rollout is at rest, checks the endpoint is
//! Succeeded, then deletes what the resource owns. It creates billable SageMaker resources.

use std::process::Command;

#[test]
#[ignore = "needs a real AWS account: set SAGEMAKER_ROLLOUT_SPEC and AWS credentials"]
fn plan_apply_and_delete_against_a_real_account() {
    let spec = std::env::var("SAGEMAKER_ROLLOUT_SPEC")
        .expect("SAGEMAKER_ROLLOUT_SPEC names a ModelDeployment manifest");
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let plan = Command::new(bin)
        .args(["plan", "-f", &spec])
        .status()
        .unwrap();
    assert!(plan.success());
    let apply = Command::new(bin)
        .args(["apply", "-f", &spec, "--wait"])
        .status()
        .unwrap();
    assert!(apply.success(), "apply did not end Succeeded");
    let delete = Command::new(bin)
        .args(["delete", "-f", &spec])
        .status()
        .unwrap();
    assert!(delete.success(), "delete did not release the resources");
}
