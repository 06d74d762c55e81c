//! The scenarios: first deployment, canary (with autoscaling), linear, blue/green and its
//! alarm rollback by SageMaker, shadow then canary, an alarm mid-bake, a fault storm, a
//! `kill -9` mid-rollout, and `delete` next to another endpoint sharing the name prefix.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::account::{Account, KPI, Serving, report};

const CANARY: &str =
    "{strategy: Canary, canary: {steps: [{weight: 10, bake: 2s}, {weight: 50, bake: 2s}]}}";
const AUTOSCALING: &str = "  autoscaling: {min: 2, max: 4, target: {metric: InvocationsPerInstance, value: 70}, scaleInCooldown: 60s, scaleOutCooldown: 60s}\n";

/// Polls `cond` every 50 ms for up to 60 s.
pub(super) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The package serving `endpoint` alone (panics otherwise).
pub(super) fn alone(acct: &Account, endpoint: &str) -> Serving {
    let mut serving = acct.serving(endpoint);
    assert_eq!(serving.len(), 1, "one variant serves: {serving:?}");
    serving.remove(0)
}

/// An account with `run-1` serving `endpoint` (deployed by the binary) and `run-2`
/// registered; returns the two package ARNs.
pub(super) async fn with_champion(
    acct: &Account,
    endpoint: &str,
    rollout: &str,
    extra: &str,
) -> (String, String) {
    let champion = acct.package("run-1", 0.90).await;
    acct.apply(&acct.manifest("churn", endpoint, "run-1", rollout, extra));
    let candidate = acct.package("run-2", 0.91).await;
    acct.requests();
    (champion, candidate)
}

/// Nothing of `owner` is left but what serves `endpoint`; no rollout alarm remains.
pub(super) fn clean_rest(acct: &Account, endpoint: &str, owner: &str) {
    let serving = acct.serving(endpoint);
    let ep = acct.endpoint(endpoint).expect("endpoint");
    let (configs, models, alarms) = acct.owned(owner);
    assert_eq!(
        configs,
        vec![ep["config"].as_str().unwrap().to_owned()],
        "configs left"
    );
    let mut serving_models: Vec<String> = serving.iter().map(|s| s.model.clone()).collect();
    serving_models.sort();
    let mut models = models;
    models.sort();
    assert_eq!(models, serving_models, "models left");
    assert!(alarms.is_empty(), "rollout alarms left: {alarms:?}");
    assert!(ep["tags"].as_object().unwrap().len() <= 50);
    acct.emu.assert_clean();
}

fn operations(acct: &Account, op: &str) -> usize {
    acct.emu
        .counts()
        .get(&format!("sagemaker:{op}"))
        .copied()
        .unwrap_or(0)
}

pub(super) fn spawn(acct: &Account, file: &std::path::Path) -> Child {
    acct.command(&[
        "apply",
        "-f",
        &file.to_string_lossy(),
        "--wait",
        "--poll-interval",
        "100ms",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

/// Applies `file` as a CI job would and trips the team's alarm once SageMaker is updating the
/// endpoint (real-time waits, so that the alarm fires during the bake): the job fails, as a
/// rolled-back rollout does.
pub(super) fn alarm_during_the_update(acct: &Account, endpoint: &str, file: &std::path::Path) {
    acct.emu.set(serde_json::json!({"wait_scale": 1.0}));
    let mut child = spawn(acct, file);
    wait_until("SageMaker's deployment to start", || {
        acct.endpoint(endpoint)
            .is_some_and(|e| e["status"] == "Updating")
    });
    acct.emu.alarm_state(KPI, "ALARM");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "a rolled-back rollout fails the job"
    );
}

/// The candidate is live beside the champion (a canary step is baking).
pub(super) fn two_weighted(acct: &Account, endpoint: &str) -> bool {
    let s = acct.serving(endpoint);
    s.len() == 2 && s.iter().all(|v| v.weight > 0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_deployment_creates_the_endpoint_from_the_package() {
    let acct = Account::new().await;
    let arn = acct.package("run-1", 0.90).await;
    acct.apply(&acct.manifest("churn", "wire-first", "run-1", CANARY, ""));
    let serving = alone(&acct, "wire-first");
    assert_eq!(serving.package, arn);
    assert_eq!(acct.endpoint("wire-first").unwrap()["status"], "InService");
    let buckets = acct.state()["s3"]["buckets"].clone();
    let audit = buckets
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "wire-audit")
        .unwrap()["keys"]
        .clone();
    assert!(
        audit
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("deployments/wire-first/")),
        "the deployment record is written: {audit}"
    );
    clean_rest(&acct, "wire-first", "wire/churn");
    report("first deployment", acct.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_moves_through_its_steps_with_the_champion_autoscaled() {
    let acct = Account::new().await;
    let (_, candidate) = with_champion(&acct, "wire-canary", CANARY, AUTOSCALING).await;
    acct.apply(&acct.manifest("churn", "wire-canary", "run-2", CANARY, AUTOSCALING));
    let serving = alone(&acct, "wire-canary");
    assert_eq!(serving.package, candidate);
    assert_eq!(
        operations(&acct, "UpdateEndpointWeightsAndCapacities"),
        2,
        "10 % then 50 %"
    );
    let targets = acct.state()["autoscaling"]["targets"].clone();
    let ids: Vec<&str> = targets
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ResourceId"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![format!("endpoint/wire-canary/variant/{}", serving.variant)],
        "autoscaling follows the serving variant"
    );
    clean_rest(&acct, "wire-canary", "wire/churn");
    report("canary (2 steps, autoscaling)", acct.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_shifts_in_equal_steps() {
    let acct = Account::new().await;
    let linear = "{strategy: Linear, linear: {stepWeight: 25, bake: 1s}}";
    let (_, candidate) = with_champion(&acct, "wire-linear", linear, "").await;
    acct.apply(&acct.manifest("churn", "wire-linear", "run-2", linear, ""));
    assert_eq!(alone(&acct, "wire-linear").package, candidate);
    assert_eq!(
        operations(&acct, "UpdateEndpointWeightsAndCapacities"),
        3,
        "25, 50, 75 %"
    );
    clean_rest(&acct, "wire-linear", "wire/churn");
    report("linear (3 steps)", acct.requests());
}

const BLUE_GREEN: &str =
    "{strategy: BlueGreen, blueGreen: {bake: 2s, terminationWait: 1s, canaryPercent: 50}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_is_sagemakers_deployment_under_the_champions_variant_name() {
    let acct = Account::new().await;
    let (_, candidate) = with_champion(&acct, "wire-bg", BLUE_GREEN, "").await;
    let before = alone(&acct, "wire-bg");
    acct.apply(&acct.manifest("churn", "wire-bg", "run-2", BLUE_GREEN, ""));
    let after = alone(&acct, "wire-bg");
    assert_eq!(
        (after.package.as_str(), after.variant.as_str()),
        (candidate.as_str(), before.variant.as_str())
    );
    let deployment = acct.endpoint("wire-bg").unwrap()["last_deployment_config"].clone();
    assert_eq!(
        deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"], "CANARY",
        "{deployment}"
    );
    assert_eq!(operations(&acct, "UpdateEndpoint"), 1);
    clean_rest(&acct, "wire-bg", "wire/churn");
    report("blue/green (canary 50 %)", acct.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_alarm_is_rolled_back_by_sagemaker_and_not_retried() {
    let acct = Account::new().await;
    let (champion, _) = with_champion(&acct, "wire-bgr", BLUE_GREEN, "").await;
    let file = acct.manifest("churn", "wire-bgr", "run-2", BLUE_GREEN, "");
    alarm_during_the_update(&acct, "wire-bgr", &file);
    assert_eq!(alone(&acct, "wire-bgr").package, champion);
    assert_eq!(acct.endpoint("wire-bgr").unwrap()["status"], "InService");
    clean_rest(&acct, "wire-bgr", "wire/churn");
    let first = acct.requests();
    acct.emu.alarm_state(KPI, "OK");
    let again = acct.run(&["apply", "-f", &file.to_string_lossy()]);
    assert_eq!(again.status.code(), Some(1));
    let (_, mutating) = acct.requests();
    assert_eq!(
        mutating, 0,
        "the rolled-back candidate is not retried until the spec changes"
    );
    report("blue/green rolled back by SageMaker", first);
}

const ROLLING: &str =
    "{strategy: Rolling, rolling: {batch: {instances: 1}, bake: 2s, rollbackBatch: {percent: 50}}}";

/// Rolling through the real binary: one UpdateEndpoint with SageMaker's RollingUpdatePolicy
/// under the champion's variant name; an alarm during a batch's bake is rolled back by
/// SageMaker, reported as RolledBack and not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_replaces_the_fleet_in_batches_and_an_alarm_rolls_it_back() {
    let acct = Account::new().await;
    let (_, candidate) = with_champion(&acct, "wire-roll", ROLLING, "").await;
    let before = alone(&acct, "wire-roll");
    acct.apply(&acct.manifest("churn", "wire-roll", "run-2", ROLLING, ""));
    let after = alone(&acct, "wire-roll");
    assert_eq!(
        (after.package.as_str(), after.variant.as_str()),
        (candidate.as_str(), before.variant.as_str())
    );
    let deployment = acct.endpoint("wire-roll").unwrap()["last_deployment_config"].clone();
    let policy = &deployment["RollingUpdatePolicy"];
    assert_eq!(policy["MaximumBatchSize"]["Value"], 1, "{deployment}");
    assert_eq!(policy["WaitIntervalInSeconds"], 2);
    assert_eq!(
        deployment["AutoRollbackConfiguration"]["Alarms"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "the team's alarm and the one created"
    );
    assert_eq!(operations(&acct, "UpdateEndpoint"), 1);
    clean_rest(&acct, "wire-roll", "wire/churn");
    report("rolling (batches of 1 of 2)", acct.requests());

    // The next candidate trips an alarm while its batches bake.
    acct.package("run-3", 0.93).await;
    acct.requests();
    let file = acct.manifest("churn", "wire-roll", "run-3", ROLLING, "");
    alarm_during_the_update(&acct, "wire-roll", &file);
    assert_eq!(alone(&acct, "wire-roll").package, candidate);
    // The audit record of the rollout says who rolled it back, and why.
    let keys: Vec<String> = acct.state()["s3"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["name"] == "wire-audit")
        .flat_map(|b| b["keys"].as_object().unwrap().keys().cloned())
        .filter(|k| k.contains("wire-roll"))
        .collect();
    let s3 = sagemaker_rollout::aws::s3::SdkS3::new(&acct.config);
    let mut said = String::new();
    for key in keys {
        use sagemaker_rollout::aws::s3::{ObjectStore, S3Uri};
        let uri = S3Uri::parse(&format!("s3://wire-audit/{key}")).unwrap();
        let body = s3.get_prefix(&uri, 1 << 20).await.unwrap();
        said.push_str(&String::from_utf8_lossy(&body));
    }
    assert!(
        said.contains("SageMaker rolled back the rolling deployment"),
        "{said}"
    );
    clean_rest(&acct, "wire-roll", "wire/churn");
    report("rolling rolled back by SageMaker", acct.requests());
    // Deleted cleanly: nothing of the resource is left.
    acct.emu.alarm_state(KPI, "OK");
    let out = acct.run(&["delete", "-f", &file.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(acct.endpoint("wire-roll").is_none());
    let (configs, models, alarms) = acct.owned("wire/churn");
    assert!(configs.is_empty() && models.is_empty() && alarms.is_empty());
    acct.emu.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mirrors_then_the_canary_promotes() {
    let acct = Account::new().await;
    let shadow = "{strategy: Shadow, shadow: {samplingPercent: 50, duration: 2s, then: Canary}, canary: {steps: [{weight: 50, bake: 1s}]}}";
    let (_, candidate) = with_champion(&acct, "wire-shadow", shadow, "").await;
    acct.apply(&acct.manifest("churn", "wire-shadow", "run-2", shadow, ""));
    assert_eq!(alone(&acct, "wire-shadow").package, candidate);
    assert!(
        acct.endpoint("wire-shadow").unwrap()["shadow_variants"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    clean_rest(&acct, "wire-shadow", "wire/churn");
    report("shadow 2 s then canary", acct.requests());
}

/// The alarm is read every `analysis.interval` (5 s here) during the 30 s bake: the first
/// rollback request reaches AWS within that interval of the alarm (plus the pass that sends it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_a_bake_rolls_back_to_the_champion_within_one_interval() {
    let acct = Account::new().await;
    let slow =
        "{strategy: Canary, canary: {steps: [{weight: 10, bake: 30s}, {weight: 50, bake: 30s}]}}";
    let (champion, _) = with_champion(&acct, "wire-alarm", slow, "").await;
    let mut child = spawn(
        &acct,
        &acct.manifest("churn", "wire-alarm", "run-2", slow, ""),
    );
    wait_until("the first canary step", || {
        two_weighted(&acct, "wire-alarm")
    });
    // Well inside the bake, so that a whole interval passes before the bake would end.
    std::thread::sleep(Duration::from_secs(3));
    let alarm_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    acct.emu.alarm_state(KPI, "ALARM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let first = acct
        .emu
        .requests()
        .into_iter()
        .filter(|r| r["operation"] == "UpdateEndpointWeightsAndCapacities")
        .filter_map(|r| r["time"].as_f64())
        .find(|t| *t >= alarm_at)
        .expect("the rollback's weight change");
    let reaction = first - alarm_at;
    assert!(
        reaction <= 5.0 + 1.0,
        "first rollback request {reaction:.2} s after the alarm"
    );
    println!("alarm to first rollback request over the wire: {reaction:.2} s (interval 5 s)");
    assert_eq!(alone(&acct, "wire-alarm").package, champion);
    clean_rest(&acct, "wire-alarm", "wire/churn");
    report("canary, alarm mid-bake -> rollback", acct.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_throttling_and_server_errors_only_slows_it_down() {
    let acct = Account::new().await;
    let (_, candidate) = with_champion(&acct, "wire-storm", CANARY, "").await;
    acct.emu
        .faults(serde_json::json!({"throttle_percent": 20, "error_percent": 5, "seed": 7}));
    // The default retry mode (standard): a storm that throttles a fifth of the requests
    // whatever their rate slows the rollout down, for at most a few minutes.
    let started = Instant::now();
    let out = acct
        .command(&[
            "apply",
            "-f",
            &acct
                .manifest("churn", "wire-storm", "run-2", CANARY, "")
                .to_string_lossy(),
            "--wait",
            "--poll-interval",
            "100ms",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("canary under 20 % throttling + 5 % 5xx took {took:?}");
    assert!(
        took < Duration::from_secs(180),
        "a few minutes at most on top of a rollout of seconds: {took:?}"
    );
    acct.emu.faults(serde_json::json!({}));
    let injected = acct
        .emu
        .requests()
        .iter()
        .filter(|r| r["injected"].as_bool() == Some(true))
        .count();
    assert!(injected > 5, "the storm happened: {injected} faults");
    assert_eq!(alone(&acct, "wire-storm").package, candidate);
    clean_rest(&acct, "wire-storm", "wire/churn");
    report("canary under 20 % throttling + 5 % 5xx", acct.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rollout_then_a_rerun_converges_without_duplicates_or_orphans() {
    let acct = Account::new().await;
    let (_, candidate) = with_champion(&acct, "wire-kill", CANARY, "").await;
    let file = acct.manifest("churn", "wire-kill", "run-2", CANARY, "");
    let mut child = spawn(&acct, &file);
    wait_until("the first canary step", || two_weighted(&acct, "wire-kill"));
    child.kill().unwrap(); // SIGKILL: no cleanup, no last write
    child.wait().unwrap();
    acct.apply(&file);
    assert_eq!(alone(&acct, "wire-kill").package, candidate);
    assert_eq!(
        acct.state()["sagemaker"]["endpoints"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    clean_rest(&acct, "wire-kill", "wire/churn");
    report("canary, kill -9 at step 1, rerun", acct.requests());
}

/// The same manifest copied for a second region's endpoint (same ModelDeployment name, so
/// the same owner tag) next to it: deleting `pfx` must not touch `pfx-eu`, whose names
/// start the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_everything_of_ours_and_nothing_of_anyone_elses() {
    let acct = Account::new().await;
    acct.package("run-1", 0.90).await;
    let ours = acct.manifest("churn", "pfx", "run-1", CANARY, "");
    let twin = acct.manifest("churn", "pfx-eu", "run-1", CANARY, "");
    acct.apply(&ours);
    acct.apply(&twin);
    let (before, _, _) = acct.owned("wire/churn");
    let twin_config = acct.endpoint("pfx-eu").unwrap()["config"]
        .as_str()
        .unwrap()
        .to_owned();
    let twin_models: Vec<String> = acct
        .serving("pfx-eu")
        .into_iter()
        .map(|s| s.model)
        .collect();
    assert_eq!(before.len(), 2, "one config per endpoint: {before:?}");
    acct.requests();
    let out = acct.run(&["delete", "-f", &ours.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(acct.endpoint("pfx").is_none());
    let (configs, models, _) = acct.owned("wire/churn");
    assert_eq!(configs, vec![twin_config], "only the twin's config is left");
    assert_eq!(models, twin_models, "only the twin's model is left");
    assert_eq!(acct.endpoint("pfx-eu").unwrap()["status"], "InService");
    let alarms = acct.state()["cloudwatch"]["alarms"].to_string();
    assert!(
        alarms.contains(KPI),
        "the team's alarm is not ours to delete"
    );
    acct.emu.assert_clean();
    report("delete (Delete) beside pfx-eu", acct.requests());
}

/// `spec.notify`: each milestone is one SNS Publish, sent to the topic's own region (here not
/// the endpoint's), with the chat custom-notification body; the emulator checks each Publish
/// against SNS's rules before moto stores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milestones_are_published_to_the_topic_in_its_region() {
    let acct = Account::new().await;
    let config = acct.emu.config().await;
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&config)
            .region(aws_sdk_sns::config::Region::new("eu-west-1"))
            .build(),
    );
    let topic = sns.create_topic().name("ml-rollouts").send().await.unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let notify = format!("  notify: {{snsTopicArn: \"{topic}\"}}\n");
    with_champion(&acct, "wire-notify", CANARY, &notify).await;
    // `apply --svg` draws the rollout it drove.
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("rollout.svg");
    let file = acct.manifest("churn", "wire-notify", "run-2", CANARY, &notify);
    let out = acct.run(&[
        "apply",
        "-f",
        &file.to_string_lossy(),
        "--wait",
        "--svg",
        &picture.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&picture).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let candidate = doc
        .descendants()
        .find(|n| n.attribute("data-series") == Some("candidate"))
        .and_then(|n| n.attribute("data-points"))
        .unwrap()
        .to_owned();
    let weights: Vec<&str> = candidate
        .split(' ')
        .filter_map(|p| p.split(':').nth(1))
        .collect();
    for w in ["10", "50", "100"] {
        assert!(weights.contains(&w), "{candidate}");
    }
    let published = acct.state()["sns"]["published"].as_array().unwrap().clone();
    let second: Vec<&serde_json::Value> = published
        .iter()
        .filter(|p| p["Message"].as_str().unwrap().contains("run-2"))
        .collect();
    let milestones: Vec<String> = second
        .iter()
        .map(|p| {
            let m: serde_json::Value =
                serde_json::from_str(p["Message"].as_str().unwrap()).unwrap();
            m["metadata"]["additionalContext"]["milestone"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        milestones,
        ["started", "step_advanced", "step_advanced", "succeeded"]
    );
    for p in &second {
        assert_eq!(
            p["region"], "eu-west-1",
            "Publish goes to the topic's region"
        );
        assert_eq!(p["TopicArn"], topic.as_str());
        assert!(
            p["Subject"]
                .as_str()
                .unwrap()
                .starts_with("sagemaker-rollout: wire-notify ")
        );
    }
    acct.emu.assert_clean();
}

/// Puts `run`'s artifact and a validation_results.json naming it (passing or not) under
/// `s3://wire-models/store/<run>/`; returns the results URI and the artifact URI.
async fn validated_run(acct: &Account, run: &str, passed: bool) -> (String, String) {
    let s3 = sagemaker_rollout::aws::s3::SdkS3::new(&acct.config);
    let model = format!("s3://wire-models/store/{run}/model.tar.gz");
    let results = format!("s3://wire-models/store/{run}/validation_results.json");
    let put = |uri: &str, body: Vec<u8>| {
        let uri = sagemaker_rollout::aws::s3::S3Uri::parse(uri).unwrap();
        let s3 = s3.clone();
        async move {
            use sagemaker_rollout::aws::s3::ObjectStore;
            s3.put(&uri, body.into()).await.unwrap()
        }
    };
    put(&model, sagemaker_rollout::sim::artifact(run, 0.92).to_vec()).await;
    let doc = serde_json::json!({
        "candidate_run_id": run,
        "passed": passed,
        "artifact": {
            "s3_uri": model,
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/catboost:2",
            "environment": {"MODEL_SERVER_WORKERS": "2"},
        },
        "gates": [{"name": "auc", "passed": passed}],
    });
    put(&results, doc.to_string().into_bytes()).await;
    (results, model)
}

/// The manifest of `with_champion`'s resource, choosing its candidate from `results`.
fn from_results(
    acct: &Account,
    endpoint: &str,
    rollout: &str,
    results: &str,
) -> std::path::PathBuf {
    let path = acct.manifest("churn", endpoint, "run-x", rollout, "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!(
            "    modelPackageGroup: {}\n    matchTags: {{candidate_run_id: run-x}}\n    approval: Approved\n",
            crate::account::GROUP
        ),
        &format!("    validationResults: {results}\n"),
    );
    assert!(text.contains("validationResults"), "{text}");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validated_run_from_the_artifact_store_replaces_a_registry_champion() {
    let acct = Account::new().await;
    with_champion(&acct, "wire-store", CANARY, "").await;
    let (results, model) = validated_run(&acct, "run-3", true).await;
    acct.apply(&from_results(&acct, "wire-store", CANARY, &results));
    let serving = alone(&acct, "wire-store");
    assert_eq!(
        serving.package, "",
        "created from its image and data, not a package"
    );
    let state = acct.state();
    let m = state["sagemaker"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == serving.model.as_str())
        .unwrap()
        .clone();
    let container = &m["containers"][0];
    assert_eq!(container["ModelDataUrl"], model.as_str());
    assert_eq!(
        container["Image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/catboost:2"
    );
    assert_eq!(container["Environment"]["MODEL_SERVER_WORKERS"], "2");
    clean_rest(&acct, "wire-store", "wire/churn");
    report(
        "canary of a validated run from the artifact store",
        acct.requests(),
    );

    // The next run failed its gates: refused, and the validated run keeps serving.
    let (failed, _) = validated_run(&acct, "run-4", false).await;
    let out = acct.run(&[
        "apply",
        "-f",
        &from_results(&acct, "wire-store", CANARY, &failed).to_string_lossy(),
        "--wait",
    ]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "a refused run fails the job: {said}");
    assert!(
        said.contains("validation run run-4 did not pass its gates"),
        "{said}"
    );
    assert_eq!(alone(&acct, "wire-store").model, serving.model);
    report("a run that did not pass, refused", acct.requests());
}

/// A role named in the spec is assumed as the one acting for the resource: the CLI's session
/// is `sr-cli@<namespace>.<name>` (the controller's `sr-controller@…`), which CloudTrail
/// records and a trust policy can require (`sts:RoleSessionName`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_session_is_named_after_the_resource() {
    let acct = Account::new().await;
    acct.package("run-1", 0.90).await;
    let role = "  assumeRoleArn: arn:aws:iam::123456789012:role/deployer\n";
    acct.apply(&acct.manifest("churn", "wire-session", "run-1", CANARY, role));
    let sessions: Vec<String> = acct
        .emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "AssumeRole")
        .map(|r| r["target"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!sessions.is_empty(), "the role was assumed");
    assert!(
        sessions.iter().all(|s| s == "sr-cli@wire.churn"),
        "{sessions:?}"
    );
    assert_eq!(
        acct.endpoint("wire-session").unwrap()["status"],
        "InService"
    );
}

/// `artifact.copyTo` through the real binary on the emulator: the artifact-store candidate
/// is created from a copy of what was validated (CopyObject conditioned on its ETag, S3-14),
/// the registry champion by its package's name; the source overwritten afterwards leaves the
/// copy alone; the copy goes with its model at the resource's deletion (S3-15).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_read_copies_of_what_was_validated_and_the_copies_go_with_their_models() {
    let acct = Account::new().await;
    let copy_to = "  artifact: {copyTo: s3://wire-models/deployed/}\n";
    with_champion(&acct, "wire-copies", CANARY, copy_to).await;
    let copies = |acct: &Account| -> Vec<String> {
        acct.state()["s3"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["name"] == "wire-models")
            .flat_map(|b| b["keys"].as_object().unwrap().keys().cloned())
            .filter(|k| k.starts_with("deployed/"))
            .collect()
    };
    assert!(
        copies(&acct).is_empty(),
        "a registry package is deployed by name, not copied"
    );
    let (results, model) = validated_run(&acct, "run-3", true).await;
    let path = from_results(&acct, "wire-copies", CANARY, &results);
    let text = std::fs::read_to_string(&path).unwrap() + copy_to;
    std::fs::write(&path, text).unwrap();
    acct.apply(&path);
    let serving = alone(&acct, "wire-copies");
    let copy = format!("deployed/{}/model.tar.gz", serving.model);
    let state = acct.state();
    let m = state["sagemaker"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == serving.model.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        m["containers"][0]["ModelDataUrl"],
        format!("s3://wire-models/{copy}").as_str()
    );
    assert_eq!(copies(&acct), std::slice::from_ref(&copy));
    let copied = acct
        .emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "CopyObject" && r["status"] == 200)
        .count();
    assert_eq!(copied, 1, "one copy for the one model created");
    report(
        "canary of a validated run, deployed from a copy",
        acct.requests(),
    );
    // The pipeline writes over the key: the copy the endpoint loads is untouched.
    use sagemaker_rollout::aws::s3::{ObjectStore, S3Uri, SdkS3};
    let s3 = SdkS3::new(&acct.config);
    let source = S3Uri::parse(&model).unwrap();
    let deployed = S3Uri::parse(&format!("s3://wire-models/{copy}")).unwrap();
    let size = s3.head(&deployed).await.unwrap().size;
    s3.put(&source, bytes::Bytes::from_static(b"overwritten"))
        .await
        .unwrap();
    assert_eq!(s3.head(&deployed).await.unwrap().size, size);
    let out = acct.run(&["delete", "-f", &path.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(copies(&acct).is_empty(), "the copy went with the model");
    acct.emu.assert_clean();
}
