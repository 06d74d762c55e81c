//! Re-created variants and inherited settings, on the emulator: a config the controller did
//! not write (KMS key, volume size, timeouts, routing, async inference, data capture, a
//! serverless variant) comes through a new config unchanged except for what the plan says.

use crate::emulator::Emulator;

use aws_sdk_sagemaker::types::{
    AsyncInferenceConfig, AsyncInferenceOutputConfig, CaptureMode, CaptureOption,
    ContainerDefinition, DataCaptureConfig, ProductionVariant, ProductionVariantInstanceType,
    ProductionVariantRoutingConfig, ProductionVariantServerlessConfig, RoutingStrategy,
};
use sagemaker_rollout::aws::endpoints::Endpoints;
use sagemaker_rollout::aws::sdk_endpoints::SdkEndpoints;
use sagemaker_rollout::plan::actions::{ConfigPlan, Inherit, VariantPlan, VariantTemplate};

async fn legacy(client: &aws_sdk_sagemaker::Client) {
    for model in ["legacy-model", "new-model"] {
        client
            .create_model()
            .model_name(model)
            .execution_role_arn("arn:aws:iam::123456789012:role/exec")
            .primary_container(
                ContainerDefinition::builder()
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
                    .model_data_url("s3://legacy/model.tar.gz")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    client
        .create_endpoint_config()
        .endpoint_config_name("legacy-config")
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name("legacy-model")
                .instance_type(ProductionVariantInstanceType::MlM5Xlarge)
                .initial_instance_count(3)
                .volume_size_in_gb(64)
                .model_data_download_timeout_in_seconds(1200)
                .container_startup_health_check_timeout_in_seconds(600)
                .routing_config(
                    ProductionVariantRoutingConfig::builder()
                        .routing_strategy(RoutingStrategy::LeastOutstandingRequests)
                        .build(),
                )
                .build(),
        )
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/legacy")
        .async_inference_config(
            AsyncInferenceConfig::builder()
                .output_config(
                    AsyncInferenceOutputConfig::builder()
                        .s3_output_path("s3://legacy/async-out/")
                        .build(),
                )
                .build(),
        )
        .data_capture_config(
            DataCaptureConfig::builder()
                .enable_capture(true)
                .initial_sampling_percentage(5)
                .destination_s3_uri("s3://legacy/capture/")
                .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/capture")
                .capture_options(
                    CaptureOption::builder()
                        .capture_mode(CaptureMode::Input)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .create_endpoint_config()
        .endpoint_config_name("legacy-serverless")
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name("legacy-model")
                .serverless_config(
                    ProductionVariantServerlessConfig::builder()
                        .memory_size_in_mb(2048)
                        .max_concurrency(5)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn champion(template: &str, weight: f64, count: i32) -> VariantPlan {
    VariantPlan {
        name: "AllTraffic".into(),
        model_name: "legacy-model".into(),
        instance_type: String::new(),
        instance_count: count,
        serverless: None,
        weight,
        template: Some(VariantTemplate {
            config: template.into(),
            variant: "AllTraffic".into(),
        }),
    }
}

fn candidate() -> VariantPlan {
    VariantPlan {
        name: "v-new".into(),
        model_name: "new-model".into(),
        instance_type: "ml.m5.large".into(),
        instance_count: 1,
        serverless: None,
        weight: 0.0,
        template: None,
    }
}

fn plan(name: &str, production: Vec<VariantPlan>, inherit: &str, data_capture: bool) -> ConfigPlan {
    ConfigPlan {
        name: name.into(),
        production,
        shadow: vec![],
        data_capture: None,
        inherit: Some(Inherit {
            config: inherit.into(),
            data_capture,
        }),
        tags: [("managed-by".to_owned(), "sagemaker-rollout".to_owned())].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_champion_keeps_every_field_of_its_variant_and_config() {
    let emu = Emulator::start();
    let config = emu.config().await;
    let client = aws_sdk_sagemaker::Client::new(&config);
    legacy(&client).await;
    let endpoints = SdkEndpoints::new(&config);
    endpoints
        .create_endpoint_config(&plan(
            "ours-c-1",
            vec![champion("legacy-config", 0.9, 2), candidate()],
            "legacy-config",
            true,
        ))
        .await
        .unwrap();
    let out = client
        .describe_endpoint_config()
        .endpoint_config_name("ours-c-1")
        .send()
        .await
        .unwrap();
    let variants = out.production_variants();
    let champ = variants
        .iter()
        .find(|v| v.variant_name() == Some("AllTraffic"))
        .unwrap();
    assert_eq!(
        (
            champ.instance_type().map(|t| t.as_str()),
            champ.initial_instance_count(),
            champ.initial_variant_weight(),
            champ.volume_size_in_gb(),
            champ.model_data_download_timeout_in_seconds(),
            champ.container_startup_health_check_timeout_in_seconds(),
            champ
                .routing_config()
                .and_then(|r| r.routing_strategy())
                .map(|s| s.as_str()),
        ),
        (
            Some("ml.m5.xlarge"),
            Some(2),
            Some(0.9),
            Some(64),
            Some(1200),
            Some(600),
            Some("LEAST_OUTSTANDING_REQUESTS"),
        ),
        "the champion is its old variant with the plan's weight and count"
    );
    let cand = variants
        .iter()
        .find(|v| v.variant_name() == Some("v-new"))
        .unwrap();
    assert_eq!(
        (cand.volume_size_in_gb(), cand.routing_config()),
        (None, None)
    );
    assert_eq!(
        out.kms_key_id(),
        Some("arn:aws:kms:us-east-1:123456789012:key/legacy")
    );
    assert_eq!(
        out.async_inference_config()
            .and_then(|a| a.output_config())
            .and_then(|o| o.s3_output_path()),
        Some("s3://legacy/async-out/")
    );
    let dc = out
        .data_capture_config()
        .expect("the adopted data capture stays beside the champion");
    assert_eq!(
        (
            dc.initial_sampling_percentage(),
            dc.destination_s3_uri(),
            dc.kms_key_id()
        ),
        (
            Some(5),
            Some("s3://legacy/capture/"),
            Some("arn:aws:kms:us-east-1:123456789012:key/capture")
        )
    );

    // The candidate alone: endpoint-wide settings stay, the data capture follows the spec.
    endpoints
        .create_endpoint_config(&plan("ours-c-2", vec![candidate()], "ours-c-1", false))
        .await
        .unwrap();
    let out = client
        .describe_endpoint_config()
        .endpoint_config_name("ours-c-2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.kms_key_id(),
        Some("arn:aws:kms:us-east-1:123456789012:key/legacy")
    );
    assert!(out.async_inference_config().is_some());
    assert!(out.data_capture_config().is_none());

    // A serverless champion stays serverless: no instance type or count is made up.
    endpoints
        .create_endpoint_config(&plan(
            "ours-c-3",
            vec![champion("legacy-serverless", 1.0, 1)],
            "legacy-serverless",
            false,
        ))
        .await
        .unwrap();
    let out = client
        .describe_endpoint_config()
        .endpoint_config_name("ours-c-3")
        .send()
        .await
        .unwrap();
    let v = &out.production_variants()[0];
    assert_eq!(
        (
            v.instance_type().is_none(),
            v.initial_instance_count(),
            v.serverless_config()
                .map(|s| (s.memory_size_in_mb(), s.max_concurrency())),
        ),
        (true, None, Some((Some(2048), Some(5))))
    );
    emu.assert_clean();
}
