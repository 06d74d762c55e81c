//! Adapter contract tests: the same scenario against the SDK adapters over real HTTP to the
//! project's emulator (AWS's service models as the oracle) and against the simulator, which
//! must agree.

use crate::emulator::Emulator;

use std::collections::BTreeMap;

use sagemaker_rollout::aws::endpoints::Endpoints;
use sagemaker_rollout::aws::registry::{ModelRegistry, NewPackage, SdkRegistry};
use sagemaker_rollout::aws::scaling::Scaling;
use sagemaker_rollout::aws::scaling::SdkScaling;
use sagemaker_rollout::aws::sdk_endpoints::SdkEndpoints;
use sagemaker_rollout::plan::EndpointStatus;
use sagemaker_rollout::plan::actions::{
    AlarmKind, AlarmPlan, ConfigPlan, ModelPlan, ScalingPlan, VariantPlan,
};
use sagemaker_rollout::sim::{Scenario, Simulator};

pub(crate) fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An owned alarm on variant `v-1` of `churn-prod`, as the planner makes them.
pub(crate) fn variant_alarm(
    name: &str,
    kind: AlarmKind,
    metric: &str,
    statistic: &str,
    threshold: f64,
) -> AlarmPlan {
    AlarmPlan {
        name: name.into(),
        kind,
        namespace: "AWS/SageMaker".into(),
        metric_name: metric.into(),
        statistic: statistic.into(),
        threshold,
        periods: 3,
        datapoints: 3,
        dimensions: tags(&[("EndpointName", "churn-prod"), ("VariantName", "v-1")]),
        tags: tags(&[("managed-by", "sagemaker-rollout")]),
    }
}

pub(crate) fn variant(name: &str, model: &str, weight: f64) -> VariantPlan {
    VariantPlan {
        name: name.into(),
        model_name: model.into(),
        instance_type: "ml.m5.large".into(),
        instance_count: 1,
        serverless: None,
        weight,
        template: None,
    }
}

/// What the scenario observed, compared between the emulator and the simulator.
#[derive(Debug, PartialEq)]
struct Observed {
    model_lineage: Option<String>,
    config_variants: Vec<(String, String)>,
    status: EndpointStatus,
    tags_after_update: BTreeMap<String, String>,
    weights_after_update: Vec<(String, f64)>,
    scaling: Vec<(String, i32, i32)>,
    scaling_after_deregister: usize,
    gone: bool,
}

/// The shared scenario. `settle` lets the endpoint's transition finish (the emulator's take
/// a fraction of a second; the simulator's clock jumps).
async fn scenario(
    endpoints: &dyn Endpoints,
    registry: &dyn ModelRegistry,
    scaling: &dyn Scaling,
    settle: &dyn Fn(),
) -> Observed {
    registry
        .ensure_group("contract-models", "contract")
        .await
        .unwrap();
    let arn = registry
        .create_package(&NewPackage {
            group: "contract-models".into(),
            description: "contract".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1".into(),
            model_data_url: "s3://contract/model.tar.gz".into(),
            content_types: vec!["text/csv".into()],
            response_types: vec!["application/json".into()],
            approval: "Approved".into(),
            metadata: tags(&[("candidate_run_id", "run-c")]),
            client_token: None,
        })
        .await
        .unwrap();
    for name in ["contract-m-a", "contract-m-b"] {
        let model = ModelPlan {
            name: name.into(),
            candidate_id: arn.clone(),
            container: sagemaker_rollout::plan::actions::ModelContainer::Package,
            copy: None,
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
            environment: BTreeMap::new(),
            tags: tags(&[("model_package_arn", &arn), ("owner", "ns/contract")]),
        };
        endpoints.create_model(&model).await.unwrap();
        endpoints
            .create_model(&model)
            .await
            .expect("creating twice is idempotent");
    }
    let model_lineage = endpoints
        .model_tags("contract-m-a")
        .await
        .unwrap()
        .and_then(|t| t.get("model_package_arn").cloned())
        .map(|a| if a == arn { "package".to_owned() } else { a });
    let config = ConfigPlan {
        name: "contract-c-1".into(),
        production: vec![
            variant("v-a", "contract-m-a", 1.0),
            variant("v-b", "contract-m-b", 0.0),
        ],
        shadow: vec![],
        data_capture: None,
        inherit: None,
        tags: tags(&[("owner", "ns/contract")]),
    };
    endpoints.create_endpoint_config(&config).await.unwrap();
    endpoints
        .create_endpoint_config(&config)
        .await
        .expect("creating twice is idempotent");
    let described = endpoints
        .describe_endpoint_config("contract-c-1")
        .await
        .unwrap()
        .unwrap();
    let config_variants = described
        .production
        .iter()
        .map(|v| (v.name.clone(), v.model_name.clone()))
        .collect();
    assert!(
        endpoints
            .describe_endpoint("contract-ep")
            .await
            .unwrap()
            .is_none(),
        "missing endpoint is None"
    );
    endpoints
        .create_endpoint(
            "contract-ep",
            "contract-c-1",
            &tags(&[("owner", "ns/contract"), ("keep", "1"), ("drop", "x")]),
        )
        .await
        .unwrap();
    settle();
    let ep = endpoints
        .describe_endpoint("contract-ep")
        .await
        .unwrap()
        .unwrap();
    let status = ep.status;
    endpoints
        .tag_endpoint(
            &ep.arn,
            &tags(&[("owner", "ns/contract"), ("keep", "1"), ("drop", "x")]),
            &tags(&[("drop", ""), ("added", "2")]),
        )
        .await
        .unwrap();
    let tags_after_update = endpoints.endpoint_tags(&ep.arn).await.unwrap();
    endpoints
        .update_weights(
            "contract-ep",
            &[("v-a".to_owned(), 70.0), ("v-b".to_owned(), 30.0)]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    settle();
    let ep = endpoints
        .describe_endpoint("contract-ep")
        .await
        .unwrap()
        .unwrap();
    let weights_after_update = ep
        .variants
        .iter()
        .map(|v| (v.name.clone(), v.current_weight))
        .collect();
    scaling
        .register(
            "contract-ep",
            &ScalingPlan {
                variant: "v-a".into(),
                min: 1,
                max: 4,
                metric: "SageMakerVariantInvocationsPerInstance".into(),
                target_value: 70.0,
                scale_in_cooldown: std::time::Duration::from_secs(300),
                scale_out_cooldown: std::time::Duration::from_secs(60),
            },
        )
        .await
        .unwrap();
    let scaling_seen = scaling
        .registrations("contract-ep", &["v-a".to_owned()])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.variant, r.min, r.max))
        .collect();
    scaling.deregister("contract-ep", "v-a").await.unwrap();
    scaling
        .deregister("contract-ep", "v-a")
        .await
        .expect("deregistering twice is fine");
    let scaling_after_deregister = scaling
        .registrations("contract-ep", &["v-a".to_owned()])
        .await
        .unwrap()
        .len();
    endpoints.delete_endpoint("contract-ep").await.unwrap();
    settle();
    endpoints
        .delete_endpoint_config("contract-c-1")
        .await
        .unwrap();
    endpoints.delete_model("contract-m-a").await.unwrap();
    endpoints
        .delete_model("contract-m-a")
        .await
        .expect("NotFound on cleanup is success");
    let gone = endpoints
        .describe_endpoint("contract-ep")
        .await
        .unwrap()
        .is_none()
        && endpoints
            .describe_endpoint_config("contract-c-1")
            .await
            .unwrap()
            .is_none()
        && endpoints
            .model_tags("contract-m-a")
            .await
            .unwrap()
            .is_none();
    Observed {
        model_lineage,
        config_variants,
        status,
        tags_after_update: tags_after_update
            .into_iter()
            .filter(|(k, _)| k != "owner")
            .collect(),
        weights_after_update,
        scaling: scaling_seen,
        scaling_after_deregister,
        gone,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_adapters_against_the_emulator_agree_with_the_simulator() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let on_emulator = scenario(
        &SdkEndpoints::new(&config),
        &SdkRegistry::new(&config),
        &SdkScaling::new(&config),
        &|| std::thread::sleep(std::time::Duration::from_millis(900)),
    )
    .await;
    emu.assert_clean();

    let sim = Simulator::new(
        "2026-01-05T09:00:00Z".parse().unwrap(),
        &Scenario::default(),
    );
    let clock = sim.clock.clone();
    let settle = move || clock.advance_to(clock.now() + jiff::SignedDuration::from_mins(30));
    let on_sim = scenario(&sim, &sim, &sim, &settle).await;

    assert_eq!(on_emulator, on_sim);
    assert_eq!(on_sim.status, EndpointStatus::InService);
    assert_eq!(
        on_sim.tags_after_update,
        tags(&[("added", "2"), ("keep", "1")])
    );
    assert_eq!(
        on_sim.weights_after_update,
        vec![("v-a".to_owned(), 70.0), ("v-b".to_owned(), 30.0)]
    );
    assert!(on_sim.gone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_reaches_the_target_variant_and_returns_the_body() {
    use sagemaker_rollout::aws::runtime::Invoker;
    use sagemaker_rollout::aws::runtime::SdkRuntime;
    let emu = Emulator::start();
    let config = emu.config().await;
    let endpoints = SdkEndpoints::new(&config);
    let registry = SdkRegistry::new(&config);
    serving_endpoint(&endpoints, &registry).await;
    emu.invoke_result(
        serde_json::json!({"endpoint": "contract-ep", "variant": "v-b",
        "status": 200, "body": "{\"score\": 0.93}", "content_type": "application/json"}),
    );
    let reply = SdkRuntime::new(&config)
        .invoke("contract-ep", "v-b", "text/csv", "1,2,3")
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"score": 0.93}"#)
    );
    let expect = sagemaker_rollout::api::valid::SmokeTest {
        content_type: "text/csv".into(),
        body: "1,2,3".into(),
        expect_status: 200,
        body_matches: Some(regex::Regex::new("\"score\"").unwrap()),
    };
    assert_eq!(
        sagemaker_rollout::plan::smoke::evaluate(&expect, reply.status, &reply.body),
        Ok(())
    );
    let missing = SdkRuntime::new(&config)
        .invoke("no-such-endpoint", "v-b", "text/csv", "1,2,3")
        .await;
    assert!(
        missing.is_err(),
        "a missing endpoint is an error, not a reply"
    );
    emu.assert_clean();
}

/// A two-variant endpoint `contract-ep` (`v-a` 1.0, `v-b` 0.0), InService.
pub(crate) async fn serving_endpoint(endpoints: &SdkEndpoints, registry: &SdkRegistry) {
    registry
        .ensure_group("contract-models", "contract")
        .await
        .unwrap();
    let arn = registry
        .create_package(&NewPackage {
            group: "contract-models".into(),
            description: "contract".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1".into(),
            model_data_url: "s3://contract/model.tar.gz".into(),
            content_types: vec!["text/csv".into()],
            response_types: vec!["application/json".into()],
            approval: "Approved".into(),
            metadata: tags(&[("candidate_run_id", "run-c")]),
            client_token: None,
        })
        .await
        .unwrap();
    for name in ["contract-m-a", "contract-m-b"] {
        let model = ModelPlan {
            name: name.into(),
            candidate_id: arn.clone(),
            container: sagemaker_rollout::plan::actions::ModelContainer::Package,
            copy: None,
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
            environment: BTreeMap::new(),
            tags: tags(&[("owner", "ns/contract")]),
        };
        endpoints.create_model(&model).await.unwrap();
    }
    let config = ConfigPlan {
        name: "contract-c-1".into(),
        production: vec![
            variant("v-a", "contract-m-a", 1.0),
            variant("v-b", "contract-m-b", 0.0),
        ],
        shadow: vec![],
        data_capture: None,
        inherit: None,
        tags: tags(&[("owner", "ns/contract")]),
    };
    endpoints.create_endpoint_config(&config).await.unwrap();
    endpoints
        .create_endpoint(
            "contract-ep",
            "contract-c-1",
            &tags(&[("owner", "ns/contract")]),
        )
        .await
        .unwrap();
    for _ in 0..50 {
        let ep = endpoints.describe_endpoint("contract-ep").await.unwrap();
        if ep.is_some_and(|e| e.status == EndpointStatus::InService) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("contract-ep never became InService");
}
