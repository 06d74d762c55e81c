//! Endpoint configs on the SDK: reading one into the domain [`ConfigDescription`] and
//! building a CreateEndpointConfig request from a [`ConfigPlan`]. A planned variant with a
//! template, and a plan that inherits, start from the SDK's own description of the template
//! config, so every field AWS has — including ones this code does not know — is carried
//! over unchanged; only what the plan decides (names, weights, instance count, data capture
//! when the spec sets it) is replaced.

use aws_sdk_sagemaker::operation::create_endpoint_config::builders::CreateEndpointConfigFluentBuilder;
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_sdk_sagemaker::types::{
    CaptureMode, CaptureOption, DataCaptureConfig, ProductionVariant,
    ProductionVariantInstanceType, ProductionVariantServerlessConfig,
};

use super::endpoints::{ConfigDescription, ConfigVariant};
use crate::plan::actions::{ConfigPlan, VariantPlan};

/// The domain view of a described config.
pub(super) fn description(name: &str, out: &DescribeEndpointConfigOutput) -> ConfigDescription {
    let variant = |v: &ProductionVariant| ConfigVariant {
        name: v.variant_name().unwrap_or_default().to_owned(),
        model_name: v.model_name().unwrap_or_default().to_owned(),
        instance_type: v
            .instance_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        instance_count: v.initial_instance_count().unwrap_or(0),
        weight: f64::from(v.initial_variant_weight().unwrap_or(0.0)),
        serverless: v.serverless_config().is_some(),
    };
    ConfigDescription {
        name: name.to_owned(),
        production: out.production_variants().iter().map(variant).collect(),
        shadow: out
            .shadow_production_variants()
            .iter()
            .map(variant)
            .collect(),
        async_inference: out.async_inference_config().is_some(),
    }
}

/// A variant as planned; from its template's ProductionVariant when it has one (found in
/// `template`, the described template config).
fn variant(v: &VariantPlan, template: Option<&DescribeEndpointConfigOutput>) -> ProductionVariant {
    let original = v.template.as_ref().and_then(|t| {
        template?
            .production_variants()
            .iter()
            .chain(template?.shadow_production_variants())
            .find(|p| p.variant_name() == Some(t.variant.as_str()))
    });
    match original {
        Some(o) => {
            let mut p = o.clone();
            p.variant_name = Some(v.name.clone());
            p.model_name = Some(v.model_name.clone());
            p.initial_variant_weight = Some(v.weight as f32);
            // A serverless variant has no instances to count.
            if p.instance_type.is_some() {
                p.initial_instance_count = Some(v.instance_count);
            }
            p
        }
        None => {
            let p = ProductionVariant::builder()
                .variant_name(&v.name)
                .model_name(&v.model_name)
                .initial_variant_weight(v.weight as f32);
            match &v.serverless {
                // ServerlessConfig instead of an instance type and count (SM-77).
                Some(s) => p.serverless_config(
                    ProductionVariantServerlessConfig::builder()
                        .memory_size_in_mb(s.memory_mb)
                        .max_concurrency(s.max_concurrency)
                        .set_provisioned_concurrency(s.provisioned_concurrency)
                        .build(),
                ),
                None => p
                    .instance_type(ProductionVariantInstanceType::from(
                        v.instance_type.as_str(),
                    ))
                    .initial_instance_count(v.instance_count),
            }
            .build()
        }
    }
}

/// The spec's data capture: both directions, at the sampled percentage.
fn data_capture(c: &ConfigPlan) -> Option<DataCaptureConfig> {
    let dc = c.data_capture.as_ref()?;
    let options = [CaptureMode::Input, CaptureMode::Output]
        .into_iter()
        .map(|m| CaptureOption::builder().capture_mode(m).build())
        .collect();
    Some(
        DataCaptureConfig::builder()
            .enable_capture(true)
            .initial_sampling_percentage(dc.sampling_percent)
            .destination_s3_uri(&dc.destination_s3_uri)
            .set_capture_options(Some(options))
            .build(),
    )
}

/// Fills a CreateEndpointConfig request: variants, data capture, and what the plan
/// inherits from `template` (the described config named by `c.inherit` or a variant's
/// template; None when neither can be read, and the plan's own fields are used alone).
pub(super) fn request(
    mut req: CreateEndpointConfigFluentBuilder,
    c: &ConfigPlan,
    template: Option<&DescribeEndpointConfigOutput>,
) -> CreateEndpointConfigFluentBuilder {
    let variants = |vs: &[VariantPlan]| vs.iter().map(|v| variant(v, template)).collect();
    req = req.set_production_variants(Some(variants(&c.production)));
    if !c.shadow.is_empty() {
        req = req.set_shadow_production_variants(Some(variants(&c.shadow)));
    }
    let inherited = c.inherit.as_ref().and(template);
    if let Some(t) = inherited {
        req = req
            .set_kms_key_id(t.kms_key_id().map(str::to_owned))
            .set_async_inference_config(t.async_inference_config().cloned())
            .set_explainer_config(t.explainer_config().cloned())
            .set_execution_role_arn(t.execution_role_arn().map(str::to_owned))
            .set_vpc_config(t.vpc_config().cloned())
            .set_enable_network_isolation(t.enable_network_isolation())
            .set_metrics_config(t.metrics_config().cloned());
    }
    let capture = match (data_capture(c), inherited) {
        (Some(dc), _) => Some(dc),
        (None, Some(t)) if c.inherit.as_ref().is_some_and(|i| i.data_capture) => {
            t.data_capture_config().cloned()
        }
        _ => None,
    };
    req.set_data_capture_config(capture)
}

/// What DescribeEndpointConfig will say of the config `req` creates, as far as a later
/// config copies from it: the request's own fields. A config is immutable, so a config this
/// process created need not be read back when the next one (the candidate alone after its
/// steps) takes it as template; fields AWS fills in by default it fills in again.
pub(super) fn as_described(
    req: &CreateEndpointConfigFluentBuilder,
) -> DescribeEndpointConfigOutput {
    let r = req.as_input();
    DescribeEndpointConfigOutput::builder()
        .set_endpoint_config_name(r.get_endpoint_config_name().clone())
        .set_production_variants(r.get_production_variants().clone())
        .set_shadow_production_variants(r.get_shadow_production_variants().clone())
        .set_data_capture_config(r.get_data_capture_config().clone())
        .set_kms_key_id(r.get_kms_key_id().clone())
        .set_async_inference_config(r.get_async_inference_config().clone())
        .set_explainer_config(r.get_explainer_config().clone())
        .set_execution_role_arn(r.get_execution_role_arn().clone())
        .set_vpc_config(r.get_vpc_config().clone())
        .set_enable_network_isolation(*r.get_enable_network_isolation())
        .set_metrics_config(r.get_metrics_config().clone())
        .build()
}

/// The config a plan copies from: the inherited one, else the first variant template's.
pub(super) fn template_name(c: &ConfigPlan) -> Option<&str> {
    c.inherit.as_ref().map(|i| i.config.as_str()).or_else(|| {
        c.production
            .iter()
            .chain(&c.shadow)
            .find_map(|v| v.template.as_ref().map(|t| t.config.as_str()))
    })
}
