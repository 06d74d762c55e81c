//! The simulator's inference components (rows SM-79, SM-80 of docs/aws-rules.md): created on an
//! existing InService endpoint for a model that exists, Creating then InService; updated only
//! while InService, Updating for the update's time or, with a rolling policy, for the bakes of
//! its batches of copies while its auto-rollback alarms are watched — one in ALARM restores
//! the previous model and copies, InService, with a FailureReason naming it; Deleting, then
//! gone with its scalable target.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::rules::invalid;
use super::tenancy::Write;
use super::{ACCOUNT, CREATE_TIME, DELETE_TIME, REGION, ROLLBACK_TIME, Simulator, State};
use super::{UPDATE_TIME, WEIGHTS_TIME};
use crate::aws::AwsError;
use crate::aws::components::{ComponentDescription, InferenceComponents};
use crate::plan::actions::{ComponentPlan, NativeDeployment};
use crate::plan::{AlarmState, ComponentStatus, EndpointStatus};

/// A component and what it is doing.
#[derive(Clone, Debug)]
pub(super) struct SimComponent {
    pub desc: ComponentDescription,
    pub tags: BTreeMap<String, String>,
    /// When the current transition ends, and what it restores if rolled back.
    pending: Option<(Timestamp, Pending)>,
}

#[derive(Clone, Debug)]
enum Pending {
    Create,
    Update {
        previous: (Option<String>, Option<crate::plan::Compute>, i32),
        deployment: Option<NativeDeployment>,
        started: Timestamp,
    },
    RollBack {
        reason: String,
    },
    Delete,
}

pub(super) fn arn(name: &str) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}")
}

/// SM-80: a rolling update of the copies is 5-50 % of them per batch, waits 0-3600 s per
/// batch, times out in 600-28800 s after its waits, and rolls back on 1-10 existing alarms.
fn rolling_limits(st: &State, d: &NativeDeployment) -> Result<(), AwsError> {
    let op = "UpdateInferenceComponent";
    if let crate::plan::actions::NativePolicy::Rolling { batch, .. } = &d.policy
        && !(5.0..=50.0).contains(&batch.percent_of(d.instance_count))
    {
        return Err(invalid(
            op,
            "MaximumBatchSize must be between 5% and 50% of the copy count of the inference component",
        ));
    }
    let timeout = d.max_execution_timeout().as_secs();
    if d.bake.as_secs() > 3600
        || !(600..=28_800).contains(&timeout)
        || timeout <= d.waits().as_secs()
    {
        return Err(invalid(
            op,
            "WaitIntervalInSeconds is 0-3600 and MaximumExecutionTimeoutInSeconds 600-28800, greater than the waits",
        ));
    }
    if d.alarms.len() > 10 {
        return Err(invalid(
            op,
            "AutoRollbackConfiguration.Alarms lists at most 10 alarms",
        ));
    }
    if let Some(a) = d.alarms.iter().find(|a| !st.alarms.contains_key(*a)) {
        return Err(invalid(
            op,
            format!("The CloudWatch alarm {a} in AutoRollbackConfiguration does not exist"),
        ));
    }
    Ok(())
}

impl State {
    /// SM-80: an inference component's copies scale on
    /// `sagemaker:inference-component:DesiredCopyCount` (resource
    /// `inference-component/<name>`), and only that dimension's metric fits it.
    pub(super) fn copies_target(
        &self,
        plan: &crate::plan::actions::ScalingPlan,
    ) -> Result<(), AwsError> {
        let bad = super::rules::scaling_invalid;
        let id = format!("inference-component/{}", plan.variant);
        if !self.components.contains_key(&plan.variant) {
            return Err(bad(format!(
                "Unable to register {id}: the inference component does not exist"
            )));
        }
        if plan.metric != crate::aws::scaling::INVOCATIONS_PER_COPY
            || plan.min < 0
            || plan.min > plan.max
        {
            return Err(bad(format!(
                "{id}: an inference component scales its copies (0 <= MinCapacity <= MaxCapacity) on SageMakerInferenceComponentInvocationsPerCopy"
            )));
        }
        Ok(())
    }

    /// The tags of the endpoint or inference component of `arn`.
    pub(super) fn tags_of(&mut self, arn: &str) -> Option<&mut BTreeMap<String, String>> {
        if let Some(e) = self.endpoints.values_mut().find(|e| e.desc.arn == arn) {
            return Some(&mut e.tags);
        }
        (self.components.values_mut())
            .find(|c| c.desc.arn == arn)
            .map(|c| &mut c.tags)
    }

    /// SM-79: the hosting endpoint exists, is InService, and has the variant named.
    fn hosting(&self, s: &ComponentPlan) -> Result<String, AwsError> {
        let op = "CreateInferenceComponent";
        let ep = (self.endpoints.get(&s.endpoint))
            .ok_or_else(|| invalid(op, format!("Could not find endpoint \"{}\"", s.endpoint)))?;
        if ep.desc.status != EndpointStatus::InService {
            return Err(invalid(
                op,
                format!(
                    "Endpoint \"{}\" is in status {}; an inference component is created on an InService endpoint",
                    s.endpoint,
                    ep.desc.status.as_str()
                ),
            ));
        }
        let variants: Vec<&str> = ep.desc.variants.iter().map(|v| v.name.as_str()).collect();
        match &s.variant {
            Some(v) if !variants.contains(&v.as_str()) => Err(invalid(
                op,
                format!(
                    "Endpoint \"{}\" has no production variant \"{v}\"",
                    s.endpoint
                ),
            )),
            Some(v) => Ok(v.clone()),
            None => Ok(variants.first().copied().unwrap_or_default().to_owned()),
        }
    }

    fn model_exists(&self, op: &'static str, model: &str) -> Result<(), AwsError> {
        if self.models.contains_key(model) {
            Ok(())
        } else {
            Err(invalid(op, format!("Could not find model \"{model}\"")))
        }
    }

    /// Transitions due by `now`, and the auto-rollback of a rolling update whose alarm fires
    /// while its batches bake (after the first batch's copies are placed).
    pub(super) fn settle_components(&mut self, now: Timestamp) {
        let firing: Vec<String> = (self.alarms.values())
            .filter(|(a, _)| a.state == AlarmState::Alarm)
            .map(|(a, _)| a.name.clone())
            .collect();
        let mut gone = Vec::new();
        for c in self.components.values_mut() {
            let tripped = match &c.pending {
                Some((
                    _,
                    Pending::Update {
                        deployment: Some(d),
                        started,
                        previous,
                    },
                )) if now >= *started + UPDATE_TIME / 2 => d
                    .alarms
                    .iter()
                    .find(|a| firing.contains(a))
                    .map(|a| (a.clone(), previous.clone())),
                _ => None,
            };
            if let Some((alarm, (model, compute, copies))) = tripped {
                // The previous specification comes back, copy batch by copy batch.
                c.desc.model_name = model;
                c.desc.compute = compute;
                c.desc.desired_copies = Some(copies);
                let reason = format!(
                    "Rolling update rolled back: alarm {alarm} went into ALARM while the batches baked"
                );
                c.pending = Some((now + ROLLBACK_TIME, Pending::RollBack { reason }));
            }
            let Some((at, _)) = &c.pending else { continue };
            if *at > now {
                continue;
            }
            let (_, pending) = c.pending.take().unwrap_or((now, Pending::Create));
            c.desc.status = ComponentStatus::InService;
            match pending {
                Pending::Create | Pending::Update { .. } => c.desc.failure_reason = None,
                Pending::RollBack { reason } => c.desc.failure_reason = Some(reason),
                Pending::Delete => gone.push(c.desc.name.clone()),
            }
            c.desc.current_copies = c.desc.desired_copies;
        }
        for name in gone {
            self.components.remove(&name);
            self.scaling
                .remove(&(crate::aws::scaling::COMPONENTS.to_owned(), name));
        }
    }
}

#[async_trait]
impl InferenceComponents for Simulator {
    async fn describe(&self, name: &str) -> Result<Option<ComponentDescription>, AwsError> {
        let st = self.enter("sagemaker", "DescribeInferenceComponent", false)?;
        Ok(st.components.get(name).map(|c| c.desc.clone()))
    }

    async fn create(
        &self,
        spec: &ComponentPlan,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let op = "CreateInferenceComponent";
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", op, true)?;
        // Authorized on the endpoint as well as on the new component (SM-81).
        let hosts = st.endpoints.get(&spec.endpoint).map(|e| &e.tags);
        self.tenant_allows("sagemaker", op, &spec.endpoint, Write::Host(hosts))?;
        self.tenant_allows("sagemaker", op, &spec.name, Write::Create(tags))?;
        super::rules::name(op, "inferenceComponentName", &spec.name)?;
        super::rules::tags(op, tags)?;
        if st.components.contains_key(&spec.name) {
            return Err(invalid(
                op,
                format!(
                    "Cannot create already existing inference component \"{}\"",
                    arn(&spec.name)
                ),
            ));
        }
        let variant = st.hosting(spec)?;
        st.model_exists(op, &spec.model_name)?;
        let desc = ComponentDescription {
            name: spec.name.clone(),
            arn: arn(&spec.name),
            endpoint: spec.endpoint.clone(),
            variant: Some(variant),
            status: ComponentStatus::Creating,
            model_name: Some(spec.model_name.clone()),
            compute: Some(spec.compute.clone()),
            desired_copies: Some(spec.copies),
            current_copies: Some(0),
            failure_reason: None,
        };
        let tags = tags.iter().filter(|(_, v)| !v.is_empty());
        st.components.insert(
            spec.name.clone(),
            SimComponent {
                desc,
                tags: tags.map(|(k, v)| (k.clone(), v.clone())).collect(),
                pending: Some((now + CREATE_TIME, Pending::Create)),
            },
        );
        Ok(())
    }

    async fn update(
        &self,
        spec: &ComponentPlan,
        deployment: Option<&NativeDeployment>,
    ) -> Result<(), AwsError> {
        let op = "UpdateInferenceComponent";
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", op, true)?;
        let write = Write::Change(st.components.get(&spec.name).map(|c| &c.tags));
        self.tenant_allows("sagemaker", op, &spec.name, write)?;
        st.model_exists(op, &spec.model_name)?;
        if let Some(d) = deployment {
            rolling_limits(&st, d)?;
        }
        let c = in_service(&mut st, op, &spec.name)?;
        let previous = (
            c.desc.model_name.clone(),
            c.desc.compute.clone(),
            c.desc.desired_copies.unwrap_or(0),
        );
        c.desc.model_name = Some(spec.model_name.clone());
        c.desc.compute = Some(spec.compute.clone());
        c.desc.desired_copies = Some(spec.copies);
        c.desc.status = ComponentStatus::Updating;
        c.desc.failure_reason = None;
        let done = match deployment {
            Some(d) => {
                now + UPDATE_TIME / 2
                    + jiff::SignedDuration::try_from(d.waits()).unwrap_or_default()
            }
            None => now + UPDATE_TIME,
        };
        c.pending = Some((
            done,
            Pending::Update {
                previous,
                deployment: deployment.cloned(),
                started: now,
            },
        ));
        Ok(())
    }

    async fn set_copies(&self, name: &str, copies: i32) -> Result<(), AwsError> {
        let op = "UpdateInferenceComponentRuntimeConfig";
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", op, true)?;
        let write = Write::Change(st.components.get(name).map(|c| &c.tags));
        self.tenant_allows("sagemaker", op, name, write)?;
        let c = in_service(&mut st, op, name)?;
        let previous = (
            c.desc.model_name.clone(),
            c.desc.compute.clone(),
            c.desc.desired_copies.unwrap_or(0),
        );
        c.desc.desired_copies = Some(copies);
        c.desc.status = ComponentStatus::Updating;
        c.pending = Some((
            now + WEIGHTS_TIME,
            Pending::Update {
                previous,
                deployment: None,
                started: now,
            },
        ));
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<(), AwsError> {
        let op = "DeleteInferenceComponent";
        let now = self.clock.now();
        let mut st = self.enter("sagemaker", op, true)?;
        let write = Write::Change(st.components.get(name).map(|c| &c.tags));
        if st.components.contains_key(name) {
            self.tenant_allows("sagemaker", op, name, write)?;
        }
        if let Some(c) = st.components.get_mut(name)
            && c.desc.status != ComponentStatus::Deleting
        {
            c.desc.status = ComponentStatus::Deleting;
            c.pending = Some((now + DELETE_TIME, Pending::Delete));
        }
        Ok(())
    }
}

/// SM-80: a component changes only while InService.
fn in_service<'s>(
    st: &'s mut State,
    op: &'static str,
    name: &str,
) -> Result<&'s mut SimComponent, AwsError> {
    let c = (st.components.get_mut(name)).ok_or_else(|| {
        invalid(
            op,
            format!("Could not find inference component \"{}\"", arn(name)),
        )
    })?;
    if c.desc.status != ComponentStatus::InService {
        return Err(invalid(
            op,
            format!(
                "Inference component \"{}\" is in status {}; it can be updated only while InService",
                c.desc.arn,
                c.desc.status.as_str()
            ),
        ));
    }
    Ok(c)
}

/// The endpoint a platform team runs for inference components — one production variant on
/// GPU instances with no model, tagged to host the owner's namespace — and, with `champion`,
/// a component of the owner serving an older package, as a finished rollout leaves it.
pub(super) fn seed_host(
    sim: &Simulator,
    spec: &crate::api::ValidSpec,
    owner: &str,
    champion: Option<crate::plan::Candidate>,
) {
    use crate::plan::actions::{ConfigPlan, VariantPlan};
    use crate::tags::{HOSTS_KEY, namespace_of};
    let Some(ic) = spec.serving.component.clone() else {
        return;
    };
    let variant = VariantPlan {
        name: ic.variant.clone().unwrap_or_else(|| "AllTraffic".into()),
        model_name: String::new(),
        instance_type: "ml.g5.12xlarge".into(),
        instance_count: 2,
        serverless: None,
        weight: 1.0,
        template: None,
    };
    let config = ConfigPlan {
        name: format!("{}-hosting", spec.endpoint_name),
        production: vec![variant],
        shadow: Vec::new(),
        data_capture: None,
        inherit: None,
        tags: BTreeMap::new(),
    };
    let now = sim.clock.now();
    let since = now - jiff::SignedDuration::from_hours(48);
    let desc = super::endpoints::in_service(&spec.endpoint_name, since, &config);
    let hosts = format!(":{}:", namespace_of(owner));
    let champion = champion.map(|cand| {
        let lineage = crate::plan::desired::lineage_tags(spec, owner, &cand);
        (
            cand.candidate_id.clone(),
            crate::plan::desired::model_plan(spec, &cand, &lineage),
            lineage,
        )
    });
    let mut st = sim.lock();
    st.configs.insert(config.name.clone(), config);
    st.endpoints.insert(
        spec.endpoint_name.clone(),
        super::SimEndpoint {
            desc,
            tags: [(HOSTS_KEY.to_owned(), hosts)].into(),
            pending: None,
        },
    );
    let Some((arn_, model, lineage)) = champion else {
        return;
    };
    let markers = crate::plan::Markers {
        owner: Some(owner.to_owned()),
        stage: Some(crate::plan::Stage::Done),
        candidate: Some(arn_),
        run_id: Some("champion".into()),
        variant: Some(ic.name.clone()),
        target_config: Some(model.name.clone()),
        ..Default::default()
    };
    let mut tags = lineage;
    tags.extend(markers.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
    let desc = ComponentDescription {
        name: ic.name.clone(),
        arn: arn(&ic.name),
        endpoint: spec.endpoint_name.clone(),
        variant: ic.variant.clone().or(Some("AllTraffic".into())),
        status: ComponentStatus::InService,
        model_name: Some(model.name.clone()),
        compute: Some((&ic.compute).into()),
        desired_copies: Some(ic.copies),
        current_copies: Some(ic.copies),
        failure_reason: None,
    };
    st.models.insert(model.name.clone(), model);
    st.components.insert(
        ic.name.clone(),
        SimComponent {
            desc,
            tags,
            pending: None,
        },
    );
}
