//! The hosting shapes beside instance-backed variants, through the real binary on the
//! emulator: a serverless variant rolled out by SageMaker's blue/green all at once, its
//! provisioned concurrency scaled by Application Auto Scaling, rolled back by SageMaker on an
//! alarm, and deleted cleanly.

use super::scenarios::{alarm_during_the_update, alone, clean_rest};
use crate::account::{Account, KPI, report};

const BLUE_GREEN: &str = "{strategy: BlueGreen, blueGreen: {bake: 2s, terminationWait: 1s}}";
const SERVERLESS: &str = "  autoscaling: {min: 1, max: 4, target: {metric: ProvisionedConcurrencyUtilization, value: 0.7}}\n";

/// `path`'s manifest served by `serving` (a YAML line) instead of instances, without its smoke
/// test when `smoke` is false.
fn served_by<'p>(path: &'p std::path::Path, serving: &str, smoke: bool) -> &'p std::path::Path {
    let text = std::fs::read_to_string(path).unwrap();
    let instances = "  serving: {instanceType: ml.m5.large, instanceCount: 2}\n";
    assert!(text.contains(instances), "{text}");
    let text: String = (text
        .replace(instances, &format!("  serving: {serving}\n"))
        .lines())
    .filter(|l| smoke || !l.starts_with("  smokeTest:"))
    .map(|l| format!("{l}\n"))
    .collect();
    std::fs::write(path, text).unwrap();
    path
}

/// `path`'s manifest with a serverless variant instead of instances.
fn serverless(path: &std::path::Path) -> &std::path::Path {
    let serving = "{serverless: {memoryMB: 2048, maxConcurrency: 10, provisionedConcurrency: 2}}";
    served_by(path, serving, true)
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

const ROLLING_COPIES: &str = "{strategy: Rolling, rolling: {batch: {instances: 1}, bake: 2s}}";
const COPIES: &str =
    "  autoscaling: {min: 2, max: 4, target: {metric: InvocationsPerCopy, value: 100}}\n";

/// The platform team's endpoint for inference components: instances, no model (SM-79).
async fn hosting_endpoint(acct: &Account, name: &str) {
    let sm = aws_sdk_sagemaker::Client::new(&acct.config);
    let variant = aws_sdk_sagemaker::types::ProductionVariant::builder()
        .variant_name("AllTraffic")
        .instance_type(aws_sdk_sagemaker::types::ProductionVariantInstanceType::MlG512Xlarge)
        .initial_instance_count(2)
        .build();
    let config = format!("{name}-hosting");
    (sm.create_endpoint_config())
        .endpoint_config_name(&config)
        .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker-exec")
        .production_variants(variant)
        .send()
        .await
        .unwrap();
    (sm.create_endpoint())
        .endpoint_name(name)
        .endpoint_config_name(&config)
        .send()
        .await
        .unwrap();
    super::scenarios::wait_until("the hosting endpoint", || {
        acct.endpoint(name)
            .is_some_and(|e| e["status"] == "InService")
    });
}

/// `path`'s manifest rolled out to an inference component (no smoke test: refused there).
fn on_component(path: &std::path::Path) -> &std::path::Path {
    let serving =
        "{inferenceComponent: {name: wire-ranker, copies: 2, compute: {memoryMB: 4096, cpus: 1}}}";
    served_by(path, serving, false)
}

/// The component as the emulator holds it, and the package its model was made from.
fn component(acct: &Account) -> Option<(serde_json::Value, String)> {
    let state = acct.state();
    let c = (state["sagemaker"]["inference_components"]
        .as_array()
        .unwrap()
        .iter())
    .find(|c| c["name"] == "wire-ranker")?
    .clone();
    let model = (state["sagemaker"]["models"].as_array().unwrap().iter())
        .find(|m| m["name"] == c["model"])
        .map(|m| {
            m["tags"]["model_package_arn"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    Some((c, model))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inference_component_is_created_updated_in_batches_rolled_back_and_deleted() {
    let acct = Account::new().await;
    hosting_endpoint(&acct, "wire-ic").await;
    let champion = acct.package("run-1", 0.90).await;
    acct.apply(on_component(&acct.manifest(
        "ranker",
        "wire-ic",
        "run-1",
        ROLLING_COPIES,
        COPIES,
    )));
    let (c, package) = component(&acct).expect("created");
    assert_eq!(
        (c["status"].as_str(), package.as_str()),
        (Some("InService"), champion.as_str())
    );
    report("inference component created", acct.requests());

    // The next candidate replaces the model a copy at a time; the copies are autoscaled.
    let candidate = acct.package("run-2", 0.91).await;
    acct.requests();
    acct.apply(on_component(&acct.manifest(
        "ranker",
        "wire-ic",
        "run-2",
        ROLLING_COPIES,
        COPIES,
    )));
    let (c, package) = component(&acct).unwrap();
    assert_eq!(
        (c["copies"].as_i64(), package.as_str()),
        (Some(2), candidate.as_str())
    );
    let sm = aws_sdk_sagemaker::Client::new(&acct.config);
    let d = (sm.describe_inference_component())
        .inference_component_name("wire-ranker")
        .send()
        .await
        .unwrap();
    let policy = d
        .last_deployment_config()
        .unwrap()
        .rolling_update_policy()
        .unwrap();
    let batch = policy.maximum_batch_size().unwrap();
    assert_eq!(
        (batch.r#type().map(|t| t.as_str()), batch.value()),
        (Some("COPY_COUNT"), Some(1))
    );
    let targets = acct.state()["autoscaling"]["targets"]
        .as_array()
        .unwrap()
        .clone();
    let target = (targets.iter())
        .find(|t| t["ResourceId"] == "inference-component/wire-ranker")
        .unwrap_or_else(|| panic!("the copies are scaled: {targets:?}"));
    assert_eq!(
        target["ScalableDimension"],
        "sagemaker:inference-component:DesiredCopyCount"
    );
    let (_, models, alarms) = acct.owned("wire/ranker");
    assert_eq!(
        (models.len(), alarms.len()),
        (1, 0),
        "{models:?} {alarms:?}"
    );
    assert_eq!(
        acct.endpoint("wire-ic").unwrap()["config"],
        "wire-ic-hosting"
    );
    report(
        "inference component rolled (batches of 1 of 2)",
        acct.requests(),
    );

    // The one after trips an alarm while a batch bakes: SageMaker restores run-2.
    acct.package("run-3", 0.93).await;
    acct.requests();
    acct.emu.set(serde_json::json!({"wait_scale": 1.0}));
    let next = acct.manifest("ranker", "wire-ic", "run-3", ROLLING_COPIES, COPIES);
    let mut child = super::scenarios::spawn(&acct, on_component(&next));
    super::scenarios::wait_until("SageMaker's rolling update to start", || {
        component(&acct).is_some_and(|(c, _)| c["status"] == "Updating")
    });
    acct.emu.alarm_state(KPI, "ALARM");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "a rolled-back rollout fails the job"
    );
    let (c, package) = component(&acct).unwrap();
    assert_eq!(
        (c["status"].as_str(), package.as_str()),
        (Some("InService"), candidate.as_str())
    );
    report(
        "inference component rolled back by SageMaker",
        acct.requests(),
    );

    // Deleted: the component, its models, its alarms and its scalable target — never the
    // endpoint hosting it.
    acct.emu.alarm_state(KPI, "OK");
    let out = acct.run(&["delete", "-f", &next.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(component(&acct).is_none());
    let (_, models, alarms) = acct.owned("wire/ranker");
    assert!(
        models.is_empty() && alarms.is_empty(),
        "{models:?} {alarms:?}"
    );
    let targets = acct.state()["autoscaling"]["targets"].to_string();
    assert!(!targets.contains("wire-ranker"), "{targets}");
    assert_eq!(acct.endpoint("wire-ic").unwrap()["status"], "InService");
}
