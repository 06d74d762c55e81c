//! The hosting shapes beside instance-backed variants, through the real binary on the
//! emulator: a serverless variant rolled out by SageMaker's blue/green all at once, its
//! provisioned concurrency scaled by Application Auto Scaling, rolled back by SageMaker on an
//! alarm, and deleted cleanly.

use super::scenarios::{alarm_during_the_update, alone, clean_rest};
use crate::account::{Account, KPI, report};

const BLUE_GREEN: &str = "{strategy: BlueGreen, blueGreen: {bake: 2s, terminationWait: 1s}}";
const SERVERLESS: &str = "  autoscaling: {min: 1, max: 4, target: {metric: ProvisionedConcurrencyUtilization, value: 0.7}}\n";

/// `path`'s manifest with a serverless variant instead of instances.
fn serverless(path: &std::path::Path) -> &std::path::Path {
    let text = std::fs::read_to_string(path).unwrap();
    let instances = "  serving: {instanceType: ml.m5.large, instanceCount: 2}\n";
    assert!(text.contains(instances), "{text}");
    let text = text.replace(
        instances,
        "  serving: {serverless: {memoryMB: 2048, maxConcurrency: 10, provisionedConcurrency: 2}}\n",
    );
    std::fs::write(path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serverless_variant_is_rolled_out_scaled_rolled_back_and_deleted() {
    let acct = Account::new().await;
    acct.package("run-1", 0.90).await;
    acct.apply(serverless(
        &acct.manifest("churn", "wire-sl", "run-1", BLUE_GREEN, SERVERLESS),
    ));
    let candidate = acct.package("run-2", 0.91).await;
    acct.requests();
    let file = acct.manifest("churn", "wire-sl", "run-2", BLUE_GREEN, SERVERLESS);
    acct.apply(serverless(&file));
    let serving = alone(&acct, "wire-sl");
    assert_eq!(serving.package, candidate);
    let state = acct.state();
    let config = state["sagemaker"]["endpoint_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == acct.endpoint("wire-sl").unwrap()["config"])
        .unwrap()
        .clone();
    let variant = &config["request"]["ProductionVariants"][0];
    assert_eq!(
        variant["ServerlessConfig"]["MemorySizeInMB"], 2048,
        "{variant}"
    );
    assert!(variant["InstanceType"].is_null(), "{variant}");
    let targets = state["autoscaling"]["targets"].as_array().unwrap().clone();
    let target = targets
        .iter()
        .find(|t| t["ResourceId"] == format!("endpoint/wire-sl/variant/{}", serving.variant))
        .unwrap_or_else(|| panic!("the serving variant is scaled: {targets:?}"));
    assert_eq!(
        (target["ScalableDimension"].as_str(), &target["MaxCapacity"]),
        (
            Some("sagemaker:variant:DesiredProvisionedConcurrency"),
            &serde_json::json!(4)
        )
    );
    let deployment = acct.endpoint("wire-sl").unwrap()["last_deployment_config"].clone();
    assert_eq!(
        deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"], "ALL_AT_ONCE",
        "{deployment}"
    );
    clean_rest(&acct, "wire-sl", "wire/churn");
    report("serverless blue/green (all at once)", acct.requests());

    // The next candidate trips an alarm during the bake: SageMaker rolls it back.
    acct.package("run-3", 0.93).await;
    acct.requests();
    let next = acct.manifest("churn", "wire-sl", "run-3", BLUE_GREEN, SERVERLESS);
    alarm_during_the_update(&acct, "wire-sl", serverless(&next));
    assert_eq!(alone(&acct, "wire-sl").package, candidate);
    clean_rest(&acct, "wire-sl", "wire/churn");
    report("serverless rolled back by SageMaker", acct.requests());

    // Deleted: the endpoint, its configs and models, and its scalable target.
    acct.emu.alarm_state(KPI, "OK");
    let out = acct.run(&["delete", "-f", &next.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(acct.endpoint("wire-sl").is_none());
    let (configs, models, alarms) = acct.owned("wire/churn");
    assert!(configs.is_empty() && models.is_empty() && alarms.is_empty());
    let targets = acct.state()["autoscaling"]["targets"].to_string();
    assert!(!targets.contains("wire-sl"), "{targets}");
    acct.emu.assert_clean();
}
