//! Observation: reads what the planner decides from, and only that, into its plain types.
//!
//! A pass reads the endpoint (DescribeEndpoint) and its tags (ListTags: the progress
//! markers; while SageMaker transitions the endpoint or a rollout is in flight, the tags
//! this engine last read or wrote); joins each variant with its endpoint config and its model's lineage tags from
//! the cache (both immutable per name; read once per process); and then, depending on where
//! the rollout is:
//! - while SageMaker transitions, nothing more (the planner only waits);
//! - the candidate: from the cache while it is pinned, from the registry otherwise;
//! - the watched alarms, while a rollout is in flight or about to start
//!   ([`plan::reads_alarms`]);
//! - the variants' scalable targets and policies, when the planner may act on them
//!   ([`plan::reads_scaling`]).
//!
//! Owned configs, models and alarms are listed only to delete them (teardown, garbage
//! collection), never on an ordinary pass.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::resolve::{Lookup, resolve};
use super::store;
use super::{Engine, EngineError};
use crate::api::valid::CandidateSource;
use crate::api::{Teardown, ValidSpec};
use crate::aws::endpoints::{ConfigDescription, ConfigVariant, EndpointDescription, VariantState};
use crate::plan::desired::{is_owned_alarm, owned_alarm_prefixes, watched_alarms};
use crate::plan::{
    self, CandidateLookup, Endpoint, EndpointStatus, Markers, Observed, Owned, Stage, Variant,
};
use crate::tags;

impl Engine {
    /// Reads everything the planner decides from (AWS reads only, never a write).
    pub async fn observe(&self, spec: &ValidSpec, now: Timestamp) -> Result<Observed, EngineError> {
        if let Some(ic) = &spec.serving.component {
            return self.observe_component(spec, &ic.name, now).await;
        }
        let endpoint = self.read_endpoint(&spec.endpoint_name, now).await?;
        let markers = endpoint
            .as_ref()
            .map(|e| Markers::from_tags(&e.tags))
            .unwrap_or_default();
        if endpoint
            .as_ref()
            .is_some_and(|e| e.status != EndpointStatus::InService)
        {
            return Ok(Observed::of(endpoint));
        }
        let holder = endpoint
            .as_ref()
            .map(|e| e.tags.clone())
            .unwrap_or_default();
        let candidate = self.lookup(spec, endpoint.as_ref(), &holder, now).await?;
        let (alarms, alarms_read) =
            if plan::reads_alarms(spec, &markers, endpoint.as_ref(), &candidate) {
                let names = watched_alarms(spec, plan::alarm_scope(&markers));
                (self.describe_alarms(&names, now).await?, true)
            } else {
                (Vec::new(), false)
            };
        let (scaling, scaling_read) = match &endpoint {
            Some(e) if plan::reads_scaling(spec, e) => (self.scaling(e, now).await?, true),
            _ => (Vec::new(), false),
        };
        let comparison = match endpoint
            .as_ref()
            .and_then(|e| plan::comparison_queries(spec, &markers, e))
        {
            // Not before the step's first minute is complete: nothing whole to judge yet.
            Some((_, since)) if plan::compare::whole_minutes(since, now) == 0 => None,
            Some((queries, since)) => {
                let values = self.aws(now).metric_data(&queries, since).await?;
                Some(plan::readings(spec, &values))
            }
            None => None,
        };
        Ok(Observed {
            alarms,
            alarms_read,
            scaling,
            scaling_read,
            candidate,
            comparison,
            ..Observed::of(endpoint)
        })
    }

    /// `observed` after this engine's own writes: the endpoint carries `tags`; with
    /// `validated`, the candidate carries the verdict just cached; and whatever the planner
    /// now needs that was not read (alarms, scaling, as the new markers ask) is read.
    pub(super) async fn refreshed(
        &self,
        spec: &ValidSpec,
        mut observed: Observed,
        tags: &BTreeMap<String, String>,
        validated: bool,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let before = observed
            .holder_tags()
            .map(Markers::from_tags)
            .unwrap_or_default();
        if let Some(t) = observed.holder_tags_mut() {
            *t = tags.clone();
        }
        if validated
            && let CandidateLookup::Found(c) = &observed.candidate
            && let Some(r) = self.caches.packages.get(&c.candidate_id)
        {
            observed.candidate = CandidateLookup::Found(
                self.candidate(spec, r, observed.endpoint.as_ref(), now)
                    .await?,
            );
        }
        if observed.targets_component {
            return self.refresh_component(spec, observed, &before, now).await;
        }
        let markers = Markers::from_tags(tags);
        if plan::reads_alarms(
            spec,
            &markers,
            observed.endpoint.as_ref(),
            &observed.candidate,
        ) {
            self.watched_again(spec, &mut observed, &markers, &before, now)
                .await?;
        }
        if !observed.scaling_read
            && let Some(e) = observed
                .endpoint
                .as_ref()
                .filter(|e| plan::reads_scaling(spec, e))
        {
            observed.scaling = self.scaling(e, now).await?;
            observed.scaling_read = true;
        }
        Ok(observed)
    }

    /// The alarms `markers` watch, read again only if they are others than those `before`
    /// watched (the scope follows the markers) or none were read.
    pub(super) async fn watched_again(
        &self,
        spec: &ValidSpec,
        observed: &mut Observed,
        markers: &Markers,
        before: &Markers,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let names = watched_alarms(spec, plan::alarm_scope(markers));
        if !observed.alarms_read || names != watched_alarms(spec, plan::alarm_scope(before)) {
            observed.alarms = self.describe_alarms(&names, now).await?;
            observed.alarms_read = true;
        }
        Ok(())
    }

    /// The candidate: the pinned one (by the markers in `holder`, the tags of what carries
    /// them) from the cache (no call while a rollout holds it), else a lookup in the registry
    /// or the artifact store.
    pub(super) async fn lookup(
        &self,
        spec: &ValidSpec,
        endpoint: Option<&Endpoint>,
        holder: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<CandidateLookup, EngineError> {
        let pinned = plan::pinned_candidate(spec, holder);
        let cached = pinned
            .as_deref()
            .and_then(|arn| self.caches.packages.get(arn));
        let lookup = match cached {
            Some(r) => Lookup::Found(r),
            None => {
                let source = &spec.candidate.source;
                let pinned = pinned.as_deref();
                let s3 = self.clients.s3.as_ref();
                let region = plan::region_of(spec, endpoint);
                let region = region.as_deref();
                // A candidate rebuilt from its model's tags lacks its environment: it is
                // not remembered, so that nothing but that existing model is made of it.
                let mut remember = true;
                let l = match source {
                    CandidateSource::Group { .. } | CandidateSource::Pinned { .. } => {
                        let registry = self.clients.registry.as_ref();
                        let label = source.label().to_owned();
                        let found = resolve(registry, spec, pinned);
                        self.aws(now).resolve_candidate(label, found).await?
                    }
                    // Named in the spec: nothing to read.
                    CandidateSource::Artifact { .. } => {
                        store::resolve(s3, spec, region, pinned).await?
                    }
                    CandidateSource::Results { uri } => {
                        let found = store::resolve(s3, spec, region, pinned);
                        let l = self.aws(now).validation_results(uri, found).await?;
                        match (l, pinned) {
                            (Lookup::NotFound(why), Some(pinned)) => {
                                let model = plan::desired::model_name(spec, pinned);
                                let tags = self.model_tags(&model, now).await?.unwrap_or_default();
                                remember = false;
                                store::from_model_tags(pinned, uri, &tags)
                                    .map_or(Lookup::NotFound(why), Lookup::Found)
                            }
                            (l, _) => l,
                        }
                    }
                };
                if let Lookup::Found(r) = &l
                    && remember
                {
                    self.caches.packages.put(&r.info.arn, r.clone());
                }
                l
            }
        };
        Ok(match lookup {
            Lookup::Found(r) => {
                CandidateLookup::Found(self.candidate(spec, r, endpoint, now).await?)
            }
            Lookup::NotFound(why) => CandidateLookup::NotFound(why),
        })
    }

    pub(super) async fn describe_alarms(
        &self,
        names: &[String],
        now: Timestamp,
    ) -> Result<Vec<plan::Alarm>, EngineError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.aws(now).describe_alarms(names).await?)
    }

    /// The variants' scalable targets and policies. While a rollout is in flight they are
    /// read once and remembered: only this engine's own Register/Deregister actions change
    /// them (and each forgets the entry); at rest, or for a teardown, they are read afresh.
    async fn scaling(
        &self,
        e: &Endpoint,
        now: Timestamp,
    ) -> Result<Vec<plan::ScalingRegistration>, EngineError> {
        let variants: Vec<String> = e
            .variants
            .iter()
            .chain(&e.shadow_variants)
            .map(|v| v.name.clone())
            .collect();
        let key = format!("{}|{}", e.name, variants.join(","));
        let in_flight = Markers::from_tags(&e.tags)
            .stage
            .is_some_and(Stage::in_flight);
        if in_flight && let Some(regs) = self.caches.scaling.get(&key) {
            return Ok(regs);
        }
        let regs = self
            .aws(now)
            .scaling_registrations(&e.name, &variants)
            .await?;
        self.caches.scaling.put(&key, regs.clone());
        Ok(regs)
    }

    /// DescribeEndpoint and the endpoint's tags, each variant joined with its config (cached)
    /// and its model's lineage (cached).
    pub(super) async fn read_endpoint(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<Endpoint>, EngineError> {
        let Some(d) = self.aws(now).describe_endpoint(name).await? else {
            self.caches.endpoint_tags.clear();
            return Ok(None);
        };
        let tags = (self.marker_tags(&d.arn, d.status.is_transitional(), now)).await?;
        Ok(Some(self.join(d, tags, now).await?))
    }

    /// The tags of what holds the markers (an endpoint, or an inference component), which
    /// this engine alone writes: while SageMaker `transitions` it (the planner only waits) or
    /// a rollout it drives is in flight, what it last read or wrote is what it carries. At
    /// rest they are read, so a resync notices whatever a person changed.
    pub(super) async fn marker_tags(
        &self,
        arn: &str,
        transitions: bool,
        now: Timestamp,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let known = (self.caches.endpoint_tags.get(arn))
            .filter(|t| transitions || Markers::from_tags(t).stage.is_some_and(Stage::in_flight));
        if let Some(tags) = known {
            return Ok(tags);
        }
        let tags = self.aws(now).endpoint_tags(arn).await?;
        self.caches.endpoint_tags.put(arn, tags.clone());
        Ok(tags)
    }

    async fn join(
        &self,
        d: EndpointDescription,
        tags: BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Endpoint, EngineError> {
        let config = self.config(&d.config_name, now).await?;
        let async_inference = config.as_ref().is_some_and(|c| c.async_inference);
        let (prod, shadow) = config.map(|c| (c.production, c.shadow)).unwrap_or_default();
        let mut variants = Vec::new();
        for v in &d.variants {
            variants.push(self.variant(v, &prod, now).await?);
        }
        let mut shadow_variants = Vec::new();
        for v in &d.shadow_variants {
            shadow_variants.push(self.variant(v, &shadow, now).await?);
        }
        Ok(Endpoint {
            name: d.name,
            arn: d.arn,
            status: d.status,
            config_name: d.config_name,
            failure_reason: d.failure_reason,
            last_modified: d.last_modified,
            variants,
            shadow_variants,
            async_inference,
            tags,
        })
    }

    /// DescribeEndpointConfig, remembered: a config never changes under its name.
    pub(super) async fn config(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<ConfigDescription>, EngineError> {
        if name.is_empty() {
            return Ok(None);
        }
        if let Some(c) = self.caches.configs.get(name) {
            return Ok(Some(c));
        }
        let c = self.aws(now).describe_endpoint_config(name).await?;
        if let Some(c) = &c {
            self.caches.configs.put(name, c.clone());
        }
        Ok(c)
    }

    /// A model's tags (its lineage), remembered: the controller writes them only when it
    /// creates the model.
    pub(super) async fn model_tags(
        &self,
        model: &str,
        now: Timestamp,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        if let Some(t) = self.caches.model_tags.get(model) {
            return Ok(t);
        }
        let t = self.aws(now).model_tags(model).await?;
        if t.is_some() {
            self.caches.model_tags.put(model, t.clone());
        }
        Ok(t)
    }

    async fn variant(
        &self,
        v: &VariantState,
        config: &[ConfigVariant],
        now: Timestamp,
    ) -> Result<Variant, EngineError> {
        let spec = config.iter().find(|c| c.name == v.name);
        let model_name = spec.map(|s| s.model_name.clone()).unwrap_or_default();
        let lineage = if model_name.is_empty() {
            None
        } else {
            self.model_tags(&model_name, now).await?
        };
        let lineage = lineage.unwrap_or_default();
        Ok(Variant {
            name: v.name.clone(),
            model_name,
            candidate_id: lineage
                .get(tags::PACKAGE_ARN)
                .or_else(|| lineage.get(tags::ARTIFACT_URI))
                .cloned(),
            run_id: lineage.get(tags::RUN_ID).cloned(),
            image: lineage.get(tags::IMAGE).cloned(),
            environment_hash: lineage.get(tags::ENVIRONMENT_HASH).cloned(),
            current_weight: v.current_weight,
            desired_weight: v.desired_weight,
            instance_type: spec.map(|s| s.instance_type.clone()).unwrap_or_default(),
            current_instances: v.current_instances,
            desired_instances: v.desired_instances,
            serverless: spec.is_some_and(|s| s.serverless),
        })
    }

    /// What deletion needs: the endpoint and its tags, the scaling targets of its variants and
    /// everything this resource owns for it.
    pub(crate) async fn observe_teardown(
        &self,
        teardown: &Teardown,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let name = &teardown.endpoint_name;
        if let Some(component) = &teardown.component {
            return self.observe_component_teardown(name, component, now).await;
        }
        let endpoint = self.read_endpoint(name, now).await?;
        let scaling = match &endpoint {
            Some(e) => self.scaling(e, now).await?,
            None => Vec::new(),
        };
        // Alarms of earlier versions carry no owner tag: they count as ours only where the
        // endpoint is ours (or gone), never beside another resource's endpoint.
        let untagged_ours = endpoint.as_ref().is_none_or(|e| {
            let markers = Markers::from_tags(&e.tags);
            plan::claim::claim_of(&markers, &self.owner, &self.driver).is_ours()
        });
        let owned = self.owned(name, untagged_ours, now).await?;
        Ok(Observed {
            scaling,
            scaling_read: true,
            owned,
            ..Observed::of(endpoint)
        })
    }

    /// Everything this resource owns for `endpoint`: configs, models and alarms, each by
    /// its exact name form and its owner and endpoint tags (an alarm of the same name form
    /// created by another resource — one that merely conflicts over the endpoint — is not
    /// ours to delete).
    pub(crate) async fn owned(
        &self,
        endpoint: &str,
        untagged_ours: bool,
        now: Timestamp,
    ) -> Result<Owned, EngineError> {
        let (configs, models) = self.aws(now).list_owned(endpoint, &self.owner).await?;
        let mut alarms = Vec::new();
        for prefix in owned_alarm_prefixes(endpoint) {
            let listed = self.aws(now).list_alarms(&prefix).await?;
            alarms.extend(
                listed
                    .into_iter()
                    .filter(|a| {
                        let owner = a.tags.get(tags::OWNER_KEY);
                        is_owned_alarm(endpoint, &a.name)
                            && (owner == Some(&tags::tag_safe(&self.owner))
                                || (owner.is_none() && untagged_ours))
                            && (a.tags.get(tags::ENDPOINT_KEY))
                                .is_none_or(|e| e == &tags::tag_safe(endpoint))
                            && (a.tags.get(tags::DRIVER_KEY))
                                .is_none_or(|d| d == &tags::tag_safe(&self.driver.name))
                    })
                    .map(|a| a.name),
            );
        }
        Ok(Owned {
            endpoint_configs: configs,
            models,
            alarms,
        })
    }
}
