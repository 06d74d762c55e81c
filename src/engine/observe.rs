//! Observation: reads the endpoint (joined with its config and the lineage tags of each
//! variant's model), the candidate, the watched and owned alarms, the scaling targets and the
//! owned configs and models, into the planner's plain types.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;

use super::resolve::{Lookup, resolve};
use super::{ArtifactFacts, Engine, EngineError};
use crate::api::{S3Uri, Teardown, ValidSpec};
use crate::artifact::remote::{RemoteError, validate_s3};
use crate::artifact::validate::Report;
use crate::aws::AwsError;
use crate::aws::alarms::owned_prefix;
use crate::aws::endpoints::{ConfigVariant, EndpointDescription, VariantState};
use crate::plan::desired::{variant_name, watched_alarms};
use crate::plan::{
    self, ArtifactCheck, Candidate, CandidateLookup, Endpoint, Markers, MetricComparison, Observed,
    Owned, Variant,
};
use crate::tags;

impl Engine {
    /// Runs one AWS call and logs it.
    pub(crate) async fn call<T>(
        &self,
        now: Timestamp,
        service: &'static str,
        operation: &str,
        detail: impl Into<String>,
        fut: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        let result = fut.await;
        self.log(now, service, operation, detail.into(), result.is_ok());
        result
    }

    /// Reads everything the planner decides from (AWS reads only, never a write).
    pub async fn observe(&self, spec: &ValidSpec, now: Timestamp) -> Result<Observed, EngineError> {
        let c = &self.clients;
        let name = &spec.endpoint_name;
        let desc = self
            .call(
                now,
                "sagemaker",
                "DescribeEndpoint",
                name.clone(),
                c.endpoints.describe_endpoint(name),
            )
            .await?;
        let endpoint = match desc {
            Some(d) => Some(self.join(d, now).await?),
            None => None,
        };
        let tags = endpoint
            .as_ref()
            .map(|e| e.tags.clone())
            .unwrap_or_default();
        let markers = Markers::from_tags(&tags);
        let pinned = plan::pinned_candidate(spec, &tags);
        let lookup = self
            .call(
                now,
                "sagemaker",
                "ResolveCandidate",
                match &spec.candidate.source {
                    crate::api::valid::CandidateSource::Group { group, .. } => group.clone(),
                    crate::api::valid::CandidateSource::Pinned { arn } => arn.clone(),
                },
                async { resolve(c.registry.as_ref(), spec, pinned.as_deref()).await },
            )
            .await?;
        let candidate = match lookup {
            Lookup::Found(r) => {
                CandidateLookup::Found(self.candidate(spec, r, endpoint.as_ref(), now).await?)
            }
            Lookup::NotFound(why) => CandidateLookup::NotFound(why),
        };
        let variant = markers.variant.clone().or_else(|| match &candidate {
            CandidateLookup::Found(cand) => Some(variant_name(spec, &cand.package_arn)),
            CandidateLookup::NotFound(_) => None,
        });
        let owned_alarms = self
            .call(
                now,
                "cloudwatch",
                "DescribeAlarms",
                owned_prefix(name),
                c.alarms.list(&owned_prefix(name)),
            )
            .await?;
        let mut names = variant
            .map(|v| watched_alarms(spec, &v))
            .unwrap_or_else(|| spec.analysis.existing.clone());
        for n in &owned_alarms {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let alarms = if names.is_empty() {
            Vec::new()
        } else {
            self.call(
                now,
                "cloudwatch",
                "DescribeAlarms",
                names.join(","),
                c.alarms.describe(&names),
            )
            .await?
        };
        let scaling = self
            .call(
                now,
                "application-autoscaling",
                "DescribeScalableTargets",
                name.clone(),
                c.scaling.registrations(name),
            )
            .await?;
        let (configs, models) = self
            .call(
                now,
                "sagemaker",
                "ListEndpointConfigs+ListModels",
                name.clone(),
                c.endpoints.list_owned(name, &self.owner),
            )
            .await?;
        Ok(Observed {
            endpoint,
            alarms,
            scaling,
            candidate,
            owned: Owned {
                endpoint_configs: configs,
                models,
                alarms: owned_alarms,
            },
        })
    }

    /// DescribeEndpoint + DescribeEndpointConfig + each model's lineage tags + endpoint tags.
    async fn join(&self, d: EndpointDescription, now: Timestamp) -> Result<Endpoint, EngineError> {
        let c = &self.clients;
        let config = self
            .call(
                now,
                "sagemaker",
                "DescribeEndpointConfig",
                d.config_name.clone(),
                c.endpoints.describe_endpoint_config(&d.config_name),
            )
            .await?;
        let tags = self
            .call(
                now,
                "sagemaker",
                "ListTags",
                d.arn.clone(),
                c.endpoints.endpoint_tags(&d.arn),
            )
            .await?;
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
            tags,
        })
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
            self.call(
                now,
                "sagemaker",
                "ListTags",
                model_name.clone(),
                self.clients.endpoints.model_tags(&model_name),
            )
            .await?
        };
        let lineage = lineage.unwrap_or_default();
        Ok(Variant {
            name: v.name.clone(),
            model_name,
            package_arn: lineage.get("model_package_arn").cloned(),
            run_id: lineage.get("candidate_run_id").cloned(),
            current_weight: v.current_weight,
            desired_weight: v.desired_weight,
            instance_type: spec.map(|s| s.instance_type.clone()).unwrap_or_default(),
            current_instances: v.current_instances,
            desired_instances: v.desired_instances,
        })
    }

    async fn candidate(
        &self,
        spec: &ValidSpec,
        r: super::resolve::Resolved,
        endpoint: Option<&Endpoint>,
        now: Timestamp,
    ) -> Result<Candidate, EngineError> {
        let arn = r.info.arn.clone();
        let url = r.info.model_data_url.clone().unwrap_or_default();
        let mut facts = self.artifact(&arn);
        if facts.is_none() {
            facts = self.facts_from_model(endpoint, &arn, now).await?;
        }
        let comparison = match &spec.candidate.compare_with_champion {
            Some(cmp) => {
                let champion = endpoint
                    .and_then(|e| {
                        e.variants
                            .iter()
                            .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))
                    })
                    .and_then(|v| v.package_arn.clone())
                    .filter(|a| *a != arn);
                match champion {
                    None => None,
                    Some(champion_arn) => {
                        if facts.is_none() {
                            facts = Some(self.facts(spec, &arn, &url, now).await?);
                        }
                        let champion_url = self
                            .call(
                                now,
                                "sagemaker",
                                "DescribeModelPackage",
                                champion_arn.clone(),
                                self.clients.registry.describe_package(&champion_arn),
                            )
                            .await?
                            .model_data_url
                            .unwrap_or_default();
                        let champion_facts = match self.artifact(&champion_arn) {
                            Some(f) => f,
                            None => self.facts(spec, &champion_arn, &champion_url, now).await?,
                        };
                        let metric = |f: &ArtifactFacts| {
                            f.metrics
                                .as_ref()
                                .and_then(|m| m.get(&cmp.metric))
                                .and_then(|v| v.as_f64())
                        };
                        Some(MetricComparison {
                            candidate: facts.as_ref().and_then(metric),
                            champion: metric(&champion_facts),
                        })
                    }
                }
            }
            None => None,
        };
        Ok(Candidate {
            package_arn: arn,
            run_id: r.run_id(),
            approval: r.info.approval.clone(),
            image: r.info.image.clone(),
            model_data_url: url,
            lineage: {
                let mut recorded = r.info.metadata.clone();
                recorded.extend(r.tags.clone());
                tags::lineage(
                    &recorded,
                    facts.as_ref().and_then(|f| f.model_info.as_ref()),
                    facts.as_ref().and_then(|f| f.metrics.as_ref()),
                )
            },
            artifact: facts
                .as_ref()
                .map(|f| f.check.clone())
                .unwrap_or(ArtifactCheck::Unchecked),
            comparison,
        })
    }

    /// After a restart, the lineage of a candidate already deployed is read back from its
    /// model's tags (written only after the artifact passed validation) instead of streaming
    /// the artifact again.
    async fn facts_from_model(
        &self,
        endpoint: Option<&Endpoint>,
        arn: &str,
        now: Timestamp,
    ) -> Result<Option<ArtifactFacts>, EngineError> {
        let Some(variant) = endpoint.and_then(|e| {
            e.variants
                .iter()
                .chain(&e.shadow_variants)
                .find(|v| v.package_arn.as_deref() == Some(arn))
        }) else {
            return Ok(None);
        };
        let tags = self
            .call(
                now,
                "sagemaker",
                "ListTags",
                variant.model_name.clone(),
                self.clients.endpoints.model_tags(&variant.model_name),
            )
            .await?
            .unwrap_or_default();
        let Some(sha256) = tags.get(tags::ARTIFACT_SHA256).cloned() else {
            return Ok(None);
        };
        let info: serde_json::Map<String, serde_json::Value> =
            [tags::RUN_ID, tags::DATA_VERSION, tags::GIT_COMMIT]
                .iter()
                .filter_map(|k| {
                    tags.get(*k)
                        .map(|v| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                })
                .collect();
        let facts = ArtifactFacts {
            check: ArtifactCheck::Valid { sha256 },
            model_info: Some(serde_json::Value::Object(info)),
            metrics: None,
        };
        self.remember_artifact(arn, facts.clone());
        Ok(Some(facts))
    }

    /// Validates a package's artifact and caches what it says. A problem that validating
    /// again cannot fix (a ModelDataUrl that is not an S3 object, an object that does not
    /// exist) is a verdict on the candidate, not an error to retry.
    pub(crate) async fn facts(
        &self,
        spec: &ValidSpec,
        arn: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<ArtifactFacts, EngineError> {
        let report = match S3Uri::parse(url) {
            Err(e) => Err(format!("ModelDataUrl {e}")),
            Ok(uri) => {
                let store = Arc::clone(&self.clients.s3);
                let report = validate_s3(store, &uri, Engine::limits(spec), self.workers).await;
                self.log(
                    now,
                    "s3",
                    "GetObject(ranged)",
                    url.to_owned(),
                    report.is_ok(),
                );
                match report {
                    Ok(report) => Ok(report),
                    Err(RemoteError::Aws(a)) if a.is_not_found() => {
                        Err(format!("artifact {url} does not exist ({a})"))
                    }
                    Err(RemoteError::Aws(a)) => return Err(EngineError::Aws(a)),
                    Err(other) => return Err(EngineError::Aws(other.into_aws())),
                }
            }
        };
        let facts = match report {
            Ok(report) => facts_of(report),
            Err(reason) => ArtifactFacts {
                check: ArtifactCheck::Invalid { reason },
                model_info: None,
                metrics: None,
            },
        };
        self.remember_artifact(arn, facts.clone());
        Ok(facts)
    }

    /// What deletion needs: the endpoint and its tags, the scaling targets and everything
    /// tagged as owned.
    pub(crate) async fn observe_teardown(
        &self,
        teardown: &Teardown,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let c = &self.clients;
        let name = &teardown.endpoint_name;
        let desc = self
            .call(
                now,
                "sagemaker",
                "DescribeEndpoint",
                name.clone(),
                c.endpoints.describe_endpoint(name),
            )
            .await?;
        let endpoint = match desc {
            Some(d) => {
                let tags = self
                    .call(
                        now,
                        "sagemaker",
                        "ListTags",
                        d.arn.clone(),
                        c.endpoints.endpoint_tags(&d.arn),
                    )
                    .await?;
                Some(Endpoint {
                    name: d.name,
                    arn: d.arn,
                    status: d.status,
                    config_name: d.config_name,
                    failure_reason: d.failure_reason,
                    last_modified: d.last_modified,
                    variants: Vec::new(),
                    shadow_variants: Vec::new(),
                    tags,
                })
            }
            None => None,
        };
        let owned_alarms = self
            .call(
                now,
                "cloudwatch",
                "DescribeAlarms",
                owned_prefix(name),
                c.alarms.list(&owned_prefix(name)),
            )
            .await?;
        let scaling = self
            .call(
                now,
                "application-autoscaling",
                "DescribeScalableTargets",
                name.clone(),
                c.scaling.registrations(name),
            )
            .await?;
        let (configs, models) = self
            .call(
                now,
                "sagemaker",
                "ListEndpointConfigs+ListModels",
                name.clone(),
                c.endpoints.list_owned(name, &self.owner),
            )
            .await?;
        Ok(Observed {
            endpoint,
            alarms: Vec::new(),
            scaling,
            candidate: CandidateLookup::NotFound("deleting".into()),
            owned: Owned {
                endpoint_configs: configs,
                models,
                alarms: owned_alarms,
            },
        })
    }
}

/// The verdict and metadata of a validation report.
fn facts_of(report: Report) -> ArtifactFacts {
    let check = if report.valid {
        ArtifactCheck::Valid {
            sha256: report.sha256.clone().unwrap_or_default(),
        }
    } else {
        ArtifactCheck::Invalid {
            reason: report
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    };
    ArtifactFacts {
        check,
        model_info: report.model_info,
        metrics: report.metrics,
    }
}
