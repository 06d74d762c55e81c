//! The simulator's SageMaker control plane for endpoints, configs and models: status
//! transitions on the virtual clock, immutable configs, updates refused while transitioning,
//! relative weights, silent rollbacks (rows of docs/aws-rules.md, checked in `rules`).

use super::tenancy::Write;
use std::collections::BTreeMap;

use async_trait::async_trait;

use super::rules::{self, invalid};
use super::{
    ACCOUNT, CREATE_TIME, DELETE_TIME, REGION, SimEndpoint, Simulator, Transition, UPDATE_TIME,
    WEIGHTS_TIME,
};
use crate::aws::AwsError;
use crate::aws::endpoints::{
    ConfigDescription, ConfigVariant, EndpointDescription, Endpoints, VariantState,
};
use crate::plan::EndpointStatus;
use crate::plan::actions::{ConfigPlan, ModelContainer, ModelPlan, NativeDeployment, VariantPlan};
fn state_of(v: &VariantPlan) -> VariantState {
    VariantState {
        name: v.name.clone(),
        current_weight: v.weight,
        desired_weight: None,
        // A serverless variant has no instances (DescribeEndpoint says 0).
        current_instances: if v.serverless.is_some() {
            0
        } else {
            v.instance_count
        },
        desired_instances: None,
    }
}

/// An endpoint of `name` that has been InService since `since`, serving `config`.
pub(super) fn in_service(
    name: &str,
    since: jiff::Timestamp,
    config: &ConfigPlan,
) -> EndpointDescription {
    let mut desc = EndpointDescription {
        name: name.to_owned(),
        arn: format!(
            "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{}",
            name.to_ascii_lowercase()
        ),
        status: EndpointStatus::InService,
        config_name: String::new(),
        failure_reason: None,
        last_modified: since,
        variants: Vec::new(),
        shadow_variants: Vec::new(),
    };
    apply_config(&mut desc, config);
    desc
}

/// Makes the endpoint serve `config`.
pub(super) fn apply_config(desc: &mut EndpointDescription, config: &ConfigPlan) {
    desc.config_name = config.name.clone();
    desc.variants = config.production.iter().map(state_of).collect();
    desc.shadow_variants = config.shadow.iter().map(state_of).collect();
}

fn config_variant(v: &VariantPlan) -> ConfigVariant {
    ConfigVariant {
        name: v.name.clone(),
        model_name: v.model_name.clone(),
        instance_type: v.instance_type.clone(),
        instance_count: v.instance_count,
        weight: v.weight,
        serverless: v.serverless.is_some(),
    }
}

#[async_trait]
impl Endpoints for Simulator {
    async fn describe_endpoint(&self, name: &str) -> Result<Option<EndpointDescription>, AwsError> {
        let st = self.enter("sagemaker", "DescribeEndpoint", false)?;
        Ok(st.endpoints.get(name).map(|e| e.desc.clone()))
    }

    async fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> Result<Option<ConfigDescription>, AwsError> {
        let st = self.enter("sagemaker", "DescribeEndpointConfig", false)?;
        Ok(st.configs.get(name).map(|c| ConfigDescription {
            name: c.name.clone(),
            production: c.production.iter().map(config_variant).collect(),
            shadow: c.shadow.iter().map(config_variant).collect(),
            async_inference: false,
        }))
    }

    async fn model_tags(&self, model: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let st = self.enter("sagemaker", "ListTags", false)?;
        Ok(st.models.get(model).map(|m| m.tags.clone()))
    }

    async fn endpoint_tags(
        &self,
        endpoint_arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let mut st = self.enter("sagemaker", "ListTags", false)?;
        st.tags_of(endpoint_arn).map(|t| t.clone()).ok_or_else(|| {
            invalid(
                "ListTags",
                format!("Could not find resource {endpoint_arn}"),
            )
        })
    }

    async fn tag_endpoint(
        &self,
        endpoint_arn: &str,
        _current: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "AddTags", true)?;
        let current = st
            .tags_of(endpoint_arn)
            .ok_or_else(|| invalid("AddTags", format!("Could not find resource {endpoint_arn}")))?;
        let added: BTreeMap<String, String> = tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let write = Write::Tag {
            current,
            added: &added,
        };
        self.tenant_allows("sagemaker", "AddTags", endpoint_arn, write)?;
        let mut after = current.clone();
        after.extend(tags.clone());
        after.retain(|_, v| !v.is_empty());
        rules::tags("AddTags", &after)?;
        *current = after;
        Ok(())
    }

    async fn create_model(&self, model: &ModelPlan) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "CreateModel", true)?;
        self.tenant_allows(
            "sagemaker",
            "CreateModel",
            &model.name,
            Write::Create(&model.tags),
        )?;
        rules::name("CreateModel", "modelName", &model.name)?;
        rules::tags("CreateModel", &model.tags)?;
        if let ModelContainer::Image {
            image,
            model_data_url,
        } = &model.container
        {
            rules::image_container(image, model_data_url)?;
        }
        if let ModelContainer::Package = model.container {
            // A container naming a package needs an existing, Completed, Approved version.
            let Some(pkg) = st
                .packages
                .iter()
                .find(|p| p.info.arn == model.candidate_id)
            else {
                return Err(invalid(
                    "CreateModel",
                    format!("Model package {} does not exist", model.candidate_id),
                ));
            };
            if pkg.info.status != "Completed" || pkg.info.approval != "Approved" {
                return Err(invalid(
                    "CreateModel",
                    format!(
                        "Model package {} is {} with ModelApprovalStatus {}; only a Completed, Approved version can be deployed by its ARN",
                        model.candidate_id, pkg.info.status, pkg.info.approval
                    ),
                ));
            }
        }
        st.models
            .entry(model.name.clone())
            .or_insert_with(|| model.clone());
        Ok(())
    }

    async fn create_endpoint_config(&self, config: &ConfigPlan) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "CreateEndpointConfig", true)?;
        let write = Write::Create(&config.tags);
        self.tenant_allows("sagemaker", "CreateEndpointConfig", &config.name, write)?;
        if let Some(existing) = st.configs.get(&config.name) {
            // Like AWS, an existing name is an existing config; the simulator also checks that
            // the same name never means different variants (a naming bug).
            let same = existing.production == config.production
                && existing.shadow == config.shadow
                && existing.data_capture == config.data_capture;
            return if same {
                Ok(())
            } else {
                Err(invalid(
                    "CreateEndpointConfig",
                    format!(
                        "Cannot create already existing endpoint configuration \"{}\"",
                        config.name
                    ),
                ))
            };
        }
        rules::name("CreateEndpointConfig", "endpointConfigName", &config.name)?;
        for v in config.production.iter().chain(&config.shadow) {
            rules::name("CreateEndpointConfig", "variantName", &v.name)?;
        }
        rules::tags("CreateEndpointConfig", &config.tags)?;
        rules::shadow_pair(config)?;
        rules::serverless_config(config)?;
        if let Some(v) = config
            .production
            .iter()
            .chain(&config.shadow)
            .find(|v| !st.models.contains_key(&v.model_name))
        {
            return Err(invalid(
                "CreateEndpointConfig",
                format!("Could not find model \"{}\"", v.model_name),
            ));
        }
        st.configs.insert(config.name.clone(), config.clone());
        Ok(())
    }

    async fn create_endpoint(
        &self,
        name: &str,
        config: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", "CreateEndpoint", true)?;
        self.tenant_allows("sagemaker", "CreateEndpoint", name, Write::Create(tags))?;
        rules::name("CreateEndpoint", "endpointName", name)?;
        rules::tags("CreateEndpoint", tags)?;
        if st.endpoints.contains_key(name) {
            return Err(invalid(
                "CreateEndpoint",
                format!("Cannot create already existing endpoint \"{name}\""),
            ));
        }
        if !st.configs.contains_key(config) {
            return Err(invalid(
                "CreateEndpoint",
                format!("Could not find endpoint configuration \"{config}\""),
            ));
        }
        let desc = EndpointDescription {
            name: name.to_owned(),
            arn: format!(
                "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{}",
                name.to_ascii_lowercase()
            ),
            status: EndpointStatus::Creating,
            config_name: config.to_owned(),
            failure_reason: None,
            last_modified: now,
            variants: vec![],
            shadow_variants: vec![],
        };
        let fail = st.fail_next_update.take();
        let pending = match fail {
            // A create that fails leaves a Failed endpoint (unlike an update).
            Some(reason) => (now + CREATE_TIME, Transition::CreateFailed { reason }),
            None => (
                now + CREATE_TIME,
                Transition::Create {
                    config: config.to_owned(),
                },
            ),
        };
        st.endpoints.insert(
            name.to_owned(),
            SimEndpoint {
                desc,
                tags: tags.clone(),
                pending: Some(pending),
            },
        );
        Ok(())
    }

    async fn update_endpoint(
        &self,
        name: &str,
        config: &str,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", "UpdateEndpoint", true)?;
        let write = Write::Change(st.endpoints.get(name).map(|e| &e.tags));
        self.tenant_allows("sagemaker", "UpdateEndpoint", name, write)?;
        let Some(target) = st.configs.get(config).cloned() else {
            return Err(invalid(
                "UpdateEndpoint",
                format!("Could not find endpoint configuration \"{config}\""),
            ));
        };
        let scaled: Vec<String> = st
            .scaling
            .keys()
            .filter(|(e, _)| e == name)
            .map(|(_, v)| v.clone())
            .collect();
        // SageMaker refuses an update that removes a variant with autoscaling registered or
        // changes its instance type ("Update endpoints that use auto scaling"); a change of
        // model, weight or instance count is allowed.
        let serving_types: BTreeMap<String, String> = st
            .endpoints
            .get(name)
            .and_then(|e| st.configs.get(&e.desc.config_name))
            .map(|c| {
                c.production
                    .iter()
                    .map(|v| (v.name.clone(), v.instance_type.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let in_service = st
            .endpoints
            .get(name)
            .map(|e| e.desc.status)
            .ok_or_else(|| {
                invalid(
                    "UpdateEndpoint",
                    format!("Could not find endpoint \"{name}\""),
                )
            })?;
        if in_service != EndpointStatus::InService {
            return Err(invalid(
                "UpdateEndpoint",
                format!(
                    "Cannot update in-progress endpoint \"{name}\" ({})",
                    in_service.as_str()
                ),
            ));
        }
        // SM-77: an instance-backed endpoint cannot become serverless.
        let serving_serverless = st
            .endpoints
            .get(name)
            .and_then(|e| st.configs.get(&e.desc.config_name))
            .is_some_and(|c| c.production.iter().all(|v| v.serverless.is_some()));
        if !serving_serverless && target.production.iter().any(|v| v.serverless.is_some()) {
            return Err(invalid(
                "UpdateEndpoint",
                "You cannot update an instance-based endpoint to a serverless endpoint configuration",
            ));
        }
        for variant in &scaled {
            let kept = target.production.iter().find(|v| &v.name == variant);
            if kept.is_none_or(|k| serving_types.get(variant) != Some(&k.instance_type)) {
                return Err(invalid(
                    "UpdateEndpoint",
                    format!(
                        "The variant \"{variant}\" has automatic scaling configured; deregister it before updating the endpoint"
                    ),
                ));
            }
        }
        // The blue/green exclusions: a DeploymentConfig keeps the variant names.
        if deployment.is_some() {
            let mut old: Vec<&String> = serving_types.keys().collect();
            let mut new: Vec<&String> = target.production.iter().map(|v| &v.name).collect();
            old.sort();
            new.sort();
            if old != new {
                return Err(invalid(
                    "UpdateEndpoint",
                    format!(
                        "Deployment guardrails require the same production variants in the old and the new endpoint configuration: {old:?} vs {new:?}"
                    ),
                ));
            }
            if let Some(d) = deployment {
                rules::guardrail_limits(d)?;
                // Docs silent (SM-4): like the emulator, refuse alarms that do not exist.
                if let Some(missing) = d.alarms.iter().find(|a| !st.alarms.contains_key(*a)) {
                    return Err(invalid(
                        "UpdateEndpoint",
                        format!("AutoRollbackConfiguration alarm {missing} does not exist"),
                    ));
                }
            }
        }
        let fail = st.fail_next_update.take();
        let Some(ep) = st.endpoints.get_mut(name) else {
            return Err(invalid(
                "UpdateEndpoint",
                format!("Could not find endpoint \"{name}\""),
            ));
        };
        ep.desc.last_modified = now;
        // A blue/green deployment bakes once (its canary's shift is not modelled); a rolling
        // one bakes each batch.
        let baking = |d: &NativeDeployment| match d.policy {
            crate::plan::actions::NativePolicy::BlueGreen { .. } => d.bake,
            crate::plan::actions::NativePolicy::Rolling { .. } => d.waits(),
        };
        let duration = UPDATE_TIME
            + deployment
                .map(|d| jiff::SignedDuration::try_from(baking(d)).unwrap_or_default())
                .unwrap_or_default();
        ep.desc.status = EndpointStatus::Updating;
        let fail = fail.map(|r| match deployment {
            Some(d) => format!("{} deployment failed: {r}", titled(d.name())),
            None => r,
        });
        ep.pending = Some((
            now + duration,
            Transition::Update {
                config: config.to_owned(),
                fail,
                deployment: deployment.cloned(),
                started: now,
            },
        ));
        Ok(())
    }

    async fn update_weights(
        &self,
        name: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", "UpdateEndpointWeightsAndCapacities", true)?;
        let write = Write::Change(st.endpoints.get(name).map(|e| &e.tags));
        let op = "UpdateEndpointWeightsAndCapacities";
        self.tenant_allows("sagemaker", op, name, write)?;
        let ep = st.endpoints.get_mut(name).ok_or_else(|| {
            invalid(
                "UpdateEndpointWeightsAndCapacities",
                format!("Could not find endpoint \"{name}\""),
            )
        })?;
        if ep.desc.status != EndpointStatus::InService {
            return Err(invalid(
                "UpdateEndpointWeightsAndCapacities",
                format!("Cannot update in-progress endpoint \"{name}\""),
            ));
        }
        if let Some(unknown) = weights
            .keys()
            .find(|k| !ep.desc.variants.iter().any(|v| &v.name == *k))
        {
            return Err(invalid(
                "UpdateEndpointWeightsAndCapacities",
                format!("The variant \"{unknown}\" does not exist"),
            ));
        }
        for v in &mut ep.desc.variants {
            v.desired_weight = weights.get(&v.name).copied();
        }
        ep.desc.status = EndpointStatus::Updating;
        ep.desc.last_modified = now;
        ep.pending = Some((now + WEIGHTS_TIME, Transition::Weights(weights.clone())));
        Ok(())
    }

    async fn delete_endpoint(&self, name: &str) -> Result<(), AwsError> {
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", "DeleteEndpoint", true)?;
        let write = Write::Change(st.endpoints.get(name).map(|e| &e.tags));
        self.tenant_allows("sagemaker", "DeleteEndpoint", name, write)?;
        if let Some(ep) = st.endpoints.get_mut(name)
            && ep.desc.status != EndpointStatus::Deleting
        {
            ep.desc.status = EndpointStatus::Deleting;
            ep.pending = Some((now + DELETE_TIME, Transition::Delete));
        }
        Ok(())
    }

    async fn delete_endpoint_config(&self, name: &str) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "DeleteEndpointConfig", true)?;
        let write = Write::Change(st.configs.get(name).map(|c| &c.tags));
        self.tenant_allows("sagemaker", "DeleteEndpointConfig", name, write)?;
        st.configs.remove(name);
        Ok(())
    }

    async fn delete_model(&self, name: &str) -> Result<(), AwsError> {
        let mut st = self.enter("sagemaker", "DeleteModel", true)?;
        let write = Write::Change(st.models.get(name).map(|m| &m.tags));
        self.tenant_allows("sagemaker", "DeleteModel", name, write)?;
        st.models.remove(name);
        Ok(())
    }

    async fn list_owned(
        &self,
        endpoint: &str,
        owner: &str,
    ) -> Result<(Vec<String>, Vec<String>), AwsError> {
        let st = self.enter("sagemaker", "ListEndpointConfigs", false)?;
        let mine = |tags: &BTreeMap<String, String>, kind: &str, name: &str| {
            crate::plan::desired::owned_resource(endpoint, owner, kind, name, tags)
        };
        let configs = st
            .configs
            .values()
            .filter(|c| mine(&c.tags, "c", &c.name))
            .map(|c| c.name.clone())
            .collect();
        let models = st
            .models
            .values()
            .filter(|m| mine(&m.tags, "m", &m.name))
            .map(|m| m.name.clone())
            .collect();
        Ok((configs, models))
    }
}

/// `name` with its first letter capitalised, as SageMaker writes a deployment's kind at the
/// start of a FailureReason ("Blue/green deployment …", "Rolling deployment …").
pub(super) fn titled(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
