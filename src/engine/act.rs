//! Acting: performs a plan's actions in order, stopping at the first failure (the next pass
//! re-observes and re-plans, so a partial plan is always safe). Results AWS cannot show by
//! itself (the smoke test) are written back as endpoint tags before the pass ends.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{ArtifactFacts, Engine, EngineError, Target};
use crate::api::{S3Uri, SmokeTestView, ValidSpec};
use crate::aws::endpoints::{ConfigDescription, ConfigVariant};
use crate::aws::{AwsError, ErrorClass};
use crate::plan::actions::{Action, ArtifactCopy, ConfigPlan, VariantPlan};
use crate::plan::desired::content_hash;
use crate::plan::markers::Smoke;
use crate::plan::smoke::evaluate;
use crate::plan::{ArtifactCheck, Markers, Plan};

impl Engine {
    /// Performs `plan`; returns whether the finalizer may be released and the endpoint's
    /// tags after this plan's writes.
    pub(crate) async fn act(
        &self,
        target: &Target<'_>,
        plan: &Plan,
        now: Timestamp,
    ) -> Result<Acted, EngineError> {
        // The markers' holder: the endpoint, or the inference component the spec targets.
        let arn = match &target.component {
            Some(arn) => arn.clone(),
            None => (plan.status.endpoint.as_ref())
                .and_then(|e| e.arn.clone())
                .unwrap_or_default(),
        };
        let acted = match self.perform(target, plan, &arn, now).await {
            // The gate closed while a call was in flight (the fence kept its request back,
            // or the lease lapsed while AWS answered): whoever holds the lease carries on.
            Err(EngineError::Aws(_)) if !self.may_act() => Err(EngineError::Gated),
            other => other,
        };
        match &acted {
            Ok(a) if !arn.is_empty() => self.caches.endpoint_tags.put(&arn, a.tags.clone()),
            // A failed call may still have been applied (a timeout after AWS acted): what
            // the endpoint carries is known again only by reading it.
            Err(_) => self.caches.endpoint_tags.remove(&arn),
            Ok(_) => {}
        }
        acted
    }

    async fn perform(
        &self,
        target: &Target<'_>,
        plan: &Plan,
        arn: &str,
        now: Timestamp,
    ) -> Result<Acted, EngineError> {
        let ep = target.endpoint;
        let mut released = false;
        // What the endpoint carries, kept current across this plan's writes.
        let mut tags_now = target.tags.clone();
        // Before anything of a plan that creates a model is done (its alarms, its tags).
        for action in &plan.actions {
            if let Action::CreateModel(m) = action {
                self.pinned(&m.candidate_id, now).await?;
            }
        }
        for action in &plan.actions {
            if !self.may_act() {
                return Err(EngineError::Gated);
            }
            match action {
                Action::ValidateArtifact {
                    candidate_id,
                    model_data_url,
                    ..
                } => {
                    if let Some(spec) = target.spec {
                        self.facts(spec, candidate_id, model_data_url, now).await?;
                    }
                }
                Action::CreateModel(m) => {
                    // A model that exists reads its copy already: never copied over again.
                    let copy = match &m.copy {
                        Some(c) if self.model_tags(&m.name, now).await?.is_none() => Some(c),
                        _ => None,
                    };
                    if let Some(copy) = copy {
                        self.copy_artifact(target.spec, &m.candidate_id, copy, now)
                            .await?;
                    }
                    let created = self.aws(now).create_model(m).await;
                    if let (Err(_), Some(copy)) = (&created, copy) {
                        // No model reads it: the copy goes (a failure to delete it only
                        // leaves it, to be found by its key).
                        if let Ok(uri) = S3Uri::parse(&copy.to) {
                            let _ = self.aws(now).delete_object(&uri).await;
                        }
                    }
                    created?;
                    // Its lineage is what was just written (the name hashes the content,
                    // so an existing model of this name carries the same tags).
                    let mut written = BTreeMap::new();
                    apply_tags(&mut written, &m.tags);
                    self.caches.model_tags.put(&m.name, Some(written));
                }
                Action::CreateEndpointConfig(cfg) => {
                    self.aws(now).create_endpoint_config(cfg).await?;
                    // What the planner reads of a config (variant, model, instance type) is
                    // what this plan says, with what it inherits; the name hashes the
                    // content. Inherited from a config not at hand: described when read.
                    if let Some(d) = described(cfg, |n| self.caches.configs.get(n)) {
                        self.caches.configs.put(&cfg.name, d);
                    }
                }
                Action::CreateEndpoint { config_name, tags } => {
                    // A new endpoint under a name (and ARN) an older one may have had.
                    self.caches.endpoint_tags.clear();
                    self.aws(now).create_endpoint(ep, config_name, tags).await?;
                    tags_now = tags.clone();
                }
                Action::UpdateEndpoint {
                    config_name,
                    deployment,
                } => {
                    self.aws(now)
                        .update_endpoint(ep, config_name, deployment.as_ref())
                        .await?
                }
                Action::UpdateWeights { weights } => {
                    self.aws(now).update_weights(ep, weights).await?
                }
                Action::RunSmokeTest { variant } => {
                    if let Some(spec) = target.spec {
                        self.smoke(spec, arn, variant, &mut tags_now, now).await?
                    }
                }
                Action::TagEndpoint { tags } => {
                    let m = Markers::from_tags(tags);
                    let detail = format!(
                        "stage={} step={}",
                        m.stage.map(|s| s.as_str()).unwrap_or("-"),
                        m.step
                    );
                    self.aws(now)
                        .tag_endpoint(arn, &tags_now, tags, detail)
                        .await?;
                    apply_tags(&mut tags_now, tags);
                }
                Action::EnsureAlarm(a) => {
                    // Owned by this resource, as AWS sees it: teardown deletes only alarms
                    // whose owner tag is ours, and the tenant role's policy only alarms
                    // tagged with the session's namespace.
                    let mut a = a.clone();
                    a.tags.extend(crate::tags::ownership(&self.owner));
                    let driver = crate::tags::tag_safe(&self.driver.name);
                    a.tags.insert(crate::tags::DRIVER_KEY.to_owned(), driver);
                    self.aws(now).put_alarm(&a).await?
                }
                Action::DeleteAlarm { name } => {
                    self.aws(now)
                        .delete_alarms(std::slice::from_ref(name))
                        .await?
                }
                Action::RegisterScaling(s) => {
                    // Forgotten first: a half-done registration must be read again.
                    self.caches.scaling.clear();
                    self.aws(now).register_scaling(target.scaled(), s).await?
                }
                Action::DeregisterScaling { variant } => {
                    self.caches.scaling.clear();
                    (self.aws(now))
                        .deregister_scaling(target.scaled(), variant)
                        .await?
                }
                Action::DeleteEndpoint => {
                    self.caches.endpoint_tags.clear();
                    self.aws(now).delete_endpoint(ep).await?
                }
                Action::DeleteEndpointConfig { name } => self.delete_config(name, now).await?,
                Action::DeleteModel { name } => self.delete_model(name, now).await?,
                Action::CollectGarbage {
                    keep_configs,
                    keep_models,
                } => {
                    let untagged_ours = target.component.is_none();
                    (self.collect_garbage(ep, keep_configs, keep_models, untagged_ours, now))
                        .await?
                }
                Action::RecordHistory(entry) => {
                    if let Some((spec, prefix)) =
                        target.spec.and_then(|s| s.audit.as_ref().map(|a| (s, a)))
                    {
                        // The deployment record: where the candidate came from (registry
                        // search, ARN, artifact or validation results), the resolved candidate
                        // and lineage, the config serving now, the smoke test, the outcome.
                        let smoke = spec.smoke_test.as_ref().map(|t| {
                            serde_json::json!({
                                "request": {"contentType": t.content_type, "body": t.body},
                                "expect": spec.raw().smoke_test.as_ref().map(|s| &s.expect),
                                "result": self.caches.smoke.lock().ok().and_then(|s| s.clone()),
                            })
                        });
                        let record = serde_json::json!({
                            "endpoint": ep,
                            "owner": self.owner,
                            "entry": entry,
                            "candidateSource": spec.raw().candidate,
                            "smokeTest": smoke,
                            "status": plan.status,
                        });
                        let run = entry
                            .candidate_run_id
                            .clone()
                            .unwrap_or_else(|| "unknown".into());
                        // One key per rollout and outcome (its start; a refusal, which has
                        // none, by what was refused and why): the record written again after
                        // a failure replaces itself.
                        let when = entry.started_at.as_deref().map_or_else(
                            || content_hash(&(entry.candidate_id(), &entry.reason), 12),
                            |s| s.replace(':', ""),
                        );
                        let key = prefix.join(ep).join(&format!(
                            "{when}-{run}-{}.json",
                            entry.outcome.to_ascii_lowercase()
                        ));
                        let body = serde_json::to_vec_pretty(&record).unwrap_or_default();
                        self.aws(now).put_object(&key, body.into()).await?;
                    }
                }
                Action::RemoveFinalizer => released = true,
                Action::CreateInferenceComponent { component, tags } => {
                    self.aws(now).create_component(component, tags).await?;
                    tags_now = tags.clone();
                }
                Action::UpdateInferenceComponent {
                    component,
                    deployment,
                } => {
                    (self.aws(now))
                        .update_component(component, deployment.as_ref())
                        .await?
                }
                Action::SetComponentCopies { name, copies } => {
                    self.aws(now).set_component_copies(name, *copies).await?
                }
                Action::DeleteInferenceComponent { name } => {
                    // A component created again under this name (and ARN) is read afresh.
                    self.caches.endpoint_tags.clear();
                    self.aws(now).delete_component(name).await?
                }
            }
        }
        Ok(Acted {
            released,
            tags: tags_now,
        })
    }

    /// A model is created only from the version of its artifact that was validated: the
    /// object is looked at again (HeadObject) and, replaced since, its verdict is dropped and
    /// the pass ends — the next one validates what is there now (S3-12).
    async fn pinned(&self, candidate: &str, now: Timestamp) -> Result<(), EngineError> {
        let Some((url, etag)) = self.caches.artifacts.get(candidate).and_then(|f| f.pin) else {
            return Ok(());
        };
        let Ok(uri) = S3Uri::parse(&url) else {
            return Ok(());
        };
        let head = self.clients.s3.head(&uri).await;
        self.log(now, "s3", "HeadObject", url.clone(), head.is_ok());
        let now_etag = head.map_err(EngineError::Aws)?.etag;
        if now_etag.as_deref() == Some(etag.as_str()) {
            return Ok(());
        }
        self.caches.artifacts.remove(candidate);
        Err(EngineError::Aws(AwsError::new(
            ErrorClass::Transient,
            "s3",
            "HeadObject",
            format!(
                "artifact {url} changed since it was validated (ETag {etag}, now {}): it is validated again before any model is created from it",
                now_etag.as_deref().unwrap_or("none")
            ),
        )))
    }

    /// The artifact a model is created from copied to where the model reads it, conditioned
    /// on the ETag the validation read (S3-14): a replaced object answers 412, its verdict is
    /// dropped, and the next pass validates what is there now.
    async fn copy_artifact(
        &self,
        spec: Option<&ValidSpec>,
        candidate: &str,
        copy: &ArtifactCopy,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let refused = |why: String| {
            EngineError::Aws(AwsError::new(ErrorClass::Terminal, "s3", "CopyObject", why))
        };
        let parse = |u: &str| S3Uri::parse(u).map_err(refused);
        let (from, to) = (parse(&copy.from)?, parse(&copy.to)?);
        let pin = |f: Option<ArtifactFacts>| {
            f.and_then(|f| f.pin)
                .filter(|(url, _)| *url == copy.from)
                .map(|(_, etag)| etag)
        };
        let mut etag = pin(self.caches.artifacts.get(candidate));
        // A verdict read back from a model's tags names no version (after a restart): the
        // artifact is validated now, so that what is copied is a version validated.
        if etag.is_none()
            && let Some(spec) = spec.filter(|s| s.artifact.validate)
        {
            let facts = self.facts(spec, candidate, &copy.from, now).await?;
            if let ArtifactCheck::Invalid { reason } = &facts.check {
                return Err(refused(format!(
                    "{} is not copied: validated again, it is refused: {reason}",
                    copy.from
                )));
            }
            etag = pin(Some(facts));
        }
        let copied = self.aws(now).copy_object(&from, &to, etag.as_deref()).await;
        if copied.as_ref().is_err_and(|e| e.status == Some(412)) {
            self.caches.artifacts.remove(candidate);
        }
        Ok(copied?)
    }

    /// Deletes what [`Engine::owned`] finds for the endpoint except what is kept: owned
    /// alarms first (they watch variants about to go), then configs, then models. NotFound
    /// is success (a concurrent pass or a person got there first).
    async fn collect_garbage(
        &self,
        ep: &str,
        keep_configs: &[String],
        keep_models: &[String],
        untagged_ours: bool,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        // The rollout's end: the endpoint is ours — unless it only hosts our component, when
        // alarms without an owner tag are not ours to delete.
        let owned = self.owned(ep, untagged_ours, now).await?;
        // A model a kept config names stays with it (the previous champion kept for undo).
        let mut keep_models = keep_models.to_vec();
        for name in keep_configs
            .iter()
            .filter(|n| owned.endpoint_configs.contains(n))
        {
            if let Some(c) = self.config(name, now).await? {
                keep_models.extend(
                    c.production
                        .iter()
                        .chain(&c.shadow)
                        .map(|v| v.model_name.clone()),
                );
            }
        }
        if !owned.alarms.is_empty() {
            self.aws(now).delete_alarms(&owned.alarms).await?;
        }
        for name in owned
            .endpoint_configs
            .iter()
            .filter(|n| !keep_configs.contains(n))
        {
            self.delete_config(name, now).await?;
        }
        for name in owned.models.iter().filter(|n| !keep_models.contains(n)) {
            self.delete_model(name, now).await?;
        }
        Ok(())
    }

    /// DeleteEndpointConfig (NotFound is success), and the cached description forgotten.
    async fn delete_config(&self, name: &str, now: Timestamp) -> Result<(), EngineError> {
        self.aws(now).delete_endpoint_config(name).await?;
        self.caches.configs.remove(name);
        Ok(())
    }

    /// The copy of the artifact the model was created from, if one was made for it (its tag,
    /// which `spec.tags` cannot set, names it, and only a key of the copies' own shape,
    /// `<prefix><model>/model.tar.gz`, is deleted); then DeleteModel (NotFound is success),
    /// and the cached lineage forgotten.
    async fn delete_model(&self, name: &str, now: Timestamp) -> Result<(), EngineError> {
        let shape = format!("{name}/model.tar.gz");
        let copy = self
            .model_tags(name, now)
            .await?
            .and_then(|t| t.get(crate::tags::ARTIFACT_COPY).cloned())
            .and_then(|uri| S3Uri::parse(&uri).ok())
            .filter(|uri| uri.key == shape || uri.key.ends_with(&format!("/{shape}")));
        // The copy first: were DeleteModel to succeed and the delete of the copy fail, no
        // later pass would know of the copy any more.
        if let Some(uri) = copy {
            self.aws(now).delete_object(&uri).await?;
        }
        self.aws(now).delete_model(name).await?;
        self.caches.model_tags.remove(name);
        Ok(())
    }

    /// InvokeEndpoint on the candidate variant alone; the verdict becomes the `smoke` marker.
    async fn smoke(
        &self,
        spec: &ValidSpec,
        arn: &str,
        variant: &str,
        tags_now: &mut BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let Some(test) = &spec.smoke_test else {
            return Ok(());
        };
        let ep = &spec.endpoint_name;
        let result = self
            .aws(now)
            .invoke(ep, variant, &test.content_type, &test.body)
            .await;
        let (verdict, view) = match result {
            Ok(inv) => {
                let verdict = evaluate(test, inv.status, &inv.body);
                let response: String = inv.body.chars().take(512).collect();
                let view = SmokeTestView {
                    result: if verdict.is_ok() { "Passed" } else { "Failed" }.into(),
                    at: Some(now.to_string()),
                    latency_ms: Some(inv.latency.as_millis() as i64),
                    response: Some(match &verdict {
                        Ok(()) => response,
                        Err(why) => format!("{why}; request {} {:?}", test.content_type, test.body),
                    }),
                };
                (verdict, view)
            }
            Err(e) if !e.is_retryable() => {
                let why = e.to_string();
                let view = SmokeTestView {
                    result: "Failed".into(),
                    at: Some(now.to_string()),
                    latency_ms: None,
                    response: Some(why.clone()),
                };
                (Err(why), view)
            }
            Err(e) => return Err(e.into()),
        };
        self.remember_smoke(view);
        let mut m = Markers::from_tags(tags_now);
        m.smoke = Some(if verdict.is_ok() {
            Smoke::Passed
        } else {
            Smoke::Failed
        });
        m.smoke_at = Some(now);
        self.aws(now)
            .tag_endpoint(arn, tags_now, &m.to_tags(), "smoke".to_owned())
            .await?;
        apply_tags(tags_now, &m.to_tags());
        Ok(())
    }
}

/// A config as DescribeEndpointConfig will describe it once `plan` has created it: the
/// endpoint's shape (asynchronous inference) inherited from `plan.inherit`, a variant's
/// (serverless) from its template, both looked up in `known`; None when one is not known.
fn described(
    plan: &ConfigPlan,
    known: impl Fn(&str) -> Option<ConfigDescription>,
) -> Option<ConfigDescription> {
    let serverless = |v: &VariantPlan| -> Option<bool> {
        let Some(t) = &v.template else {
            return Some(false);
        };
        let from = known(&t.config)?;
        let all = from.production.iter().chain(&from.shadow);
        Some(all.filter(|o| o.name == t.variant).any(|o| o.serverless))
    };
    let variants = |vs: &[VariantPlan]| -> Option<Vec<ConfigVariant>> {
        vs.iter()
            .map(|v| {
                Some(ConfigVariant {
                    name: v.name.clone(),
                    model_name: v.model_name.clone(),
                    instance_type: v.instance_type.clone(),
                    instance_count: v.instance_count,
                    weight: v.weight,
                    serverless: serverless(v)?,
                })
            })
            .collect()
    };
    let async_inference = match &plan.inherit {
        Some(i) => known(&i.config)?.async_inference,
        None => false,
    };
    Some(ConfigDescription {
        name: plan.name.clone(),
        production: variants(&plan.production)?,
        shadow: variants(&plan.shadow)?,
        async_inference,
    })
}

/// What acting left behind.
pub(crate) struct Acted {
    /// A `RemoveFinalizer` action ran.
    pub released: bool,
    /// The endpoint's tags after the plan's writes.
    pub tags: BTreeMap<String, String>,
}

/// `write` applied to `tags`, as AWS applies it (an empty value removes the key).
fn apply_tags(tags: &mut BTreeMap<String, String>, write: &BTreeMap<String, String>) {
    for (k, v) in write {
        if v.is_empty() {
            tags.remove(k);
        } else {
            tags.insert(k.clone(), v.clone());
        }
    }
}
