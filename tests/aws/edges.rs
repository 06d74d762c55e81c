//! Adapter paths the whole-rollout scenarios do not reach, on the emulator: a composite
//! alarm among the existing ones (DescribeAlarms must ask for composites), latency-tracking
//! autoscaling (a customized metric), a model error from the smoke test, and blue/green
//! deployments without alarms and on a large fleet.

use std::time::Duration;

use sagemaker_rollout::aws::alarms::{Alarms, SdkAlarms};
use sagemaker_rollout::aws::endpoints::Endpoints;
use sagemaker_rollout::aws::registry::SdkRegistry;
use sagemaker_rollout::aws::runtime::{Invoker, SdkRuntime};
use sagemaker_rollout::aws::scaling::{Scaling, SdkScaling};
use sagemaker_rollout::aws::sdk_endpoints::SdkEndpoints;
use sagemaker_rollout::plan::actions::{
    AlarmKind, Capacity, ConfigPlan, NativeDeployment, NativePolicy, ScalingPlan,
};
use sagemaker_rollout::plan::{AlarmState, EndpointStatus};

use crate::contract::{serving_endpoint, tags, variant};
use crate::emulator::Emulator;

/// CW-1: DescribeAlarms returns composite alarms only when asked for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_composite_alarm_among_the_existing_ones_is_found_with_its_state() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    cw.put_metric_alarm()
        .alarm_name("team-errors")
        .namespace("Team")
        .metric_name("Errors")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cw.put_composite_alarm()
        .alarm_name("team-health")
        .alarm_rule("ALARM(\"team-errors\")")
        .send()
        .await
        .unwrap();
    emu.alarm_state("team-health", "ALARM");
    let found = SdkAlarms::new(&config)
        .describe(&["team-health".to_owned(), "team-errors".to_owned()])
        .await
        .unwrap();
    let states: Vec<(String, AlarmState)> = found.into_iter().map(|a| (a.name, a.state)).collect();
    assert!(
        states.contains(&("team-health".to_owned(), AlarmState::Alarm)),
        "the composite is watched too: {states:?}"
    );
    assert_eq!(states.len(), 2);
    emu.assert_clean();
}

/// CW-6, CW-14, CW-15, CW-19: an error-rate alarm is metric math (no single-metric member,
/// lowercase ids, one query returning data) and a floor is LessThanThreshold with missing
/// data breaching; the emulator accepts both and echoes what AWS stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_and_floor_alarms_are_accepted_as_aws_defines_them() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let alarms = SdkAlarms::new(&config);
    let plan = |name: &str, kind: AlarmKind, metric: &str, threshold: f64| {
        crate::contract::variant_alarm(name, kind, metric, "Sum", threshold)
    };
    // M of N: 2 of the last 3 minutes (CW-32).
    let mut rate = plan("rate", AlarmKind::RateAbove, "Invocation5XXErrors", 2.0);
    rate.datapoints = 2;
    alarms.put(&rate).await.unwrap();
    alarms
        .put(&plan("floor", AlarmKind::Below, "Invocations", 5.0))
        .await
        .unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let out = cw
        .describe_alarms()
        .alarm_names("rate")
        .alarm_names("floor")
        .send()
        .await
        .unwrap();
    let by = |n: &str| {
        out.metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(n))
            .unwrap()
            .clone()
    };
    let rate = by("rate");
    assert!(rate.metric_name().is_none() && rate.period().is_none());
    let queries = rate.metrics();
    assert_eq!(queries.len(), 3);
    let returning: Vec<_> = queries
        .iter()
        .filter(|q| q.return_data() == Some(true))
        .collect();
    assert_eq!(returning.len(), 1);
    assert!(
        returning[0]
            .expression()
            .is_some_and(|e| e.starts_with("IF(invocations >= ")
                && e.ends_with(", 100 * errors / invocations)")),
        "a rate judged only on minutes with enough requests: {:?}",
        returning[0].expression()
    );
    assert_eq!(rate.treat_missing_data(), Some("notBreaching"));
    assert_eq!(
        (rate.evaluation_periods(), rate.datapoints_to_alarm()),
        (Some(3), Some(2))
    );
    let floor = by("floor");
    assert_eq!(
        floor.comparison_operator(),
        Some(&aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold)
    );
    assert_eq!(floor.treat_missing_data(), Some("breaching"));
    assert_eq!(
        (floor.evaluation_periods(), floor.datapoints_to_alarm()),
        (Some(3), Some(3))
    );
    emu.assert_clean();
}

/// AAS-2: latency tracking needs a customized metric; it is registered and read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_tracking_is_a_customized_metric_policy() {
    let emu = Emulator::start();
    let config = emu.config().await;
    serving_endpoint(&SdkEndpoints::new(&config), &SdkRegistry::new(&config)).await;
    let scaling = SdkScaling::new(&config);
    let plan = ScalingPlan {
        variant: "v-a".into(),
        min: 1,
        max: 3,
        metric: "ModelLatency".into(),
        target_value: 250_000.0,
        scale_in_cooldown: Duration::from_secs(300),
        scale_out_cooldown: Duration::from_secs(60),
    };
    scaling.register("contract-ep", &plan).await.unwrap();
    let regs = scaling
        .registrations("contract-ep", &["v-a".to_owned()])
        .await
        .unwrap();
    assert_eq!(regs.len(), 1);
    let policy = regs[0].policy.clone().expect("the policy");
    assert_eq!(
        (policy.metric.as_str(), policy.target_value),
        ("ModelLatency", 250_000.0)
    );
    assert!(
        plan.is_registered(&regs[0]),
        "read back as registered: {:?}",
        regs[0]
    );
    let policies = emu.state()["autoscaling"]["policies"].clone();
    let spec = &policies[0]["TargetTrackingScalingPolicyConfiguration"];
    assert!(spec["PredefinedMetricSpecification"].is_null());
    assert_eq!(
        spec["CustomizedMetricSpecification"]["MetricName"],
        "ModelLatency"
    );
    emu.assert_clean();
}

/// RT-4: a model that answers an error status comes back as that status, not as an AWS
/// failure to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_error_reports_the_containers_status() {
    let emu = Emulator::start();
    let config = emu.config().await;
    serving_endpoint(&SdkEndpoints::new(&config), &SdkRegistry::new(&config)).await;
    emu.invoke_result(
        serde_json::json!({"endpoint": "contract-ep", "variant": "v-b",
        "status": 500, "body": "boom", "content_type": "text/plain"}),
    );
    let reply = SdkRuntime::new(&config)
        .invoke("contract-ep", "v-b", "text/csv", "1,2,3")
        .await
        .unwrap();
    assert_eq!(reply.status, 500, "{reply:?}");
    emu.assert_clean();
}

async fn fleet(endpoints: &SdkEndpoints, instances: i32) {
    let mut v = variant("v-a", "contract-m-a", 1.0);
    v.instance_count = instances;
    for name in ["contract-fleet-1", "contract-fleet-2"] {
        endpoints
            .create_endpoint_config(&ConfigPlan {
                name: name.into(),
                production: vec![v.clone()],
                shadow: vec![],
                data_capture: None,
                inherit: None,
                tags: tags(&[("owner", "ns/contract")]),
            })
            .await
            .unwrap();
    }
    endpoints
        .create_endpoint("contract-fleet", "contract-fleet-1", &tags(&[]))
        .await
        .unwrap();
    settle(endpoints).await;
}

/// The DeploymentConfig the emulator last received for `contract-fleet`.
fn last_deployment_config(emu: &Emulator) -> serde_json::Value {
    emu.state()["sagemaker"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "contract-fleet")
        .unwrap()["last_deployment_config"]
        .clone()
}

async fn settle(endpoints: &SdkEndpoints) {
    for _ in 0..100 {
        let ep = endpoints.describe_endpoint("contract-fleet").await.unwrap();
        if ep.is_some_and(|e| e.status == EndpointStatus::InService) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("contract-fleet never settled");
}

/// SM-3, SM-5, SM-10: no AutoRollbackConfiguration without alarms; a 10 % canary of 12
/// instances is one instance; the longest waits (1 h bakes and termination wait) give an
/// execution timeout of the waits plus an hour, inside 600-28800 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_without_alarms_and_on_a_large_fleet_is_accepted() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let endpoints = SdkEndpoints::new(&config);
    serving_endpoint(&endpoints, &SdkRegistry::new(&config)).await;
    fleet(&endpoints, 12).await;
    let deployment = NativeDeployment {
        bake: Duration::from_secs(3600),
        policy: NativePolicy::BlueGreen {
            termination_wait: Duration::from_secs(3600),
            canary_percent: Some(10),
        },
        instance_count: 12,
        alarms: vec![],
    };
    assert_eq!(deployment.canary_instances(), Some(1));
    assert_eq!(
        deployment.max_execution_timeout(),
        Duration::from_secs(14_400)
    );
    endpoints
        .update_endpoint("contract-fleet", "contract-fleet-2", Some(&deployment))
        .await
        .unwrap();
    let sent = last_deployment_config(&emu);
    assert!(sent["AutoRollbackConfiguration"].is_null(), "{sent}");
    let routing = &sent["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"];
    assert_eq!(routing["CanarySize"]["Type"], "INSTANCE_COUNT");
    assert_eq!(routing["CanarySize"]["Value"], 1);
    emu.assert_clean();
}

/// SM-75, SM-76: a rolling deployment is sent as a RollingUpdatePolicy (batch and rollback
/// batch in instances or percent, the bake per batch, the execution timeout over the bakes);
/// SageMaker takes a batch of 5-50 % of the fleet only, so a batch of one instance of one is
/// refused before anything changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deployment_is_sent_as_a_rolling_update_policy_within_its_limits() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let endpoints = SdkEndpoints::new(&config);
    serving_endpoint(&endpoints, &SdkRegistry::new(&config)).await;
    fleet(&endpoints, 4).await;
    let rolling = |batch| NativeDeployment {
        bake: Duration::from_secs(600),
        policy: NativePolicy::Rolling {
            batch,
            rollback_batch: Some(Capacity::Percent(50)),
            timeout: None,
        },
        instance_count: 4,
        alarms: vec![],
    };
    let refused = endpoints
        .update_endpoint(
            "contract-fleet",
            "contract-fleet-2",
            Some(&rolling(Capacity::Instances(3))),
        )
        .await
        .unwrap_err();
    assert!(refused.message.contains("MaximumBatchSize"), "{refused}");
    let deployment = rolling(Capacity::Instances(1));
    assert_eq!(
        deployment.max_execution_timeout(),
        Duration::from_secs(4 * 600 + 3600),
        "four batches' bakes and an hour"
    );
    endpoints
        .update_endpoint("contract-fleet", "contract-fleet-2", Some(&deployment))
        .await
        .unwrap();
    let sent = last_deployment_config(&emu);
    let policy = &sent["RollingUpdatePolicy"];
    assert_eq!(policy["MaximumBatchSize"]["Type"], "INSTANCE_COUNT");
    assert_eq!(policy["MaximumBatchSize"]["Value"], 1);
    assert_eq!(
        policy["RollbackMaximumBatchSize"]["Type"],
        "CAPACITY_PERCENT"
    );
    assert_eq!(policy["WaitIntervalInSeconds"], 600);
    assert_eq!(policy["MaximumExecutionTimeoutInSeconds"], 6000);
    assert!(sent["BlueGreenUpdatePolicy"].is_null(), "{sent}");
    emu.assert_clean();
}
