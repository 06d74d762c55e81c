//! The candidate as the planner sees it: the resolved package or artifact, its artifact
//! verdict (the streaming validator on its ModelDataUrl, cached per candidate; for a
//! validation run, also whether the artifact is the run's), its lineage, and — with
//! `compareWithChampion` — both artifacts' metric.

use std::sync::Arc;

use jiff::Timestamp;

use super::journal::{MAX_INTERRUPTED, Verdict};
use super::resolve::Resolved;
use super::{ArtifactFacts, Engine, EngineError};
use crate::api::{S3Uri, ValidSpec, is_package_id};
use crate::artifact::remote::{RemoteError, validate_s3};
use crate::artifact::validate::Report;
use crate::aws::registry::PackageInfo;
use crate::plan::{ArtifactCheck, Candidate, Endpoint, MetricComparison, Origin};
use crate::tags;

/// How long a "does not exist" verdict on an artifact stands before it is checked again.
pub(crate) const RECHECK_MISSING: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

impl Engine {
    /// DescribeModelPackage, remembered per ARN.
    pub(super) async fn package(
        &self,
        arn: &str,
        now: Timestamp,
    ) -> Result<PackageInfo, EngineError> {
        if let Some(r) = self.caches.packages.get(arn) {
            return Ok(r.info);
        }
        let info = self.aws(now).describe_package(arn).await?;
        self.caches
            .packages
            .put(arn, Resolved::package(info.clone(), Default::default()));
        Ok(info)
    }

    pub(super) async fn candidate(
        &self,
        spec: &ValidSpec,
        r: Resolved,
        endpoint: Option<&Endpoint>,
        now: Timestamp,
    ) -> Result<Candidate, EngineError> {
        let arn = r.info.arn.clone();
        let url = r.info.model_data_url.clone().unwrap_or_default();
        let mut facts = self.cached_facts(&arn, now);
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
                    .and_then(|v| v.candidate_id.clone())
                    .filter(|a| *a != arn);
                match champion {
                    None => None,
                    Some(champion_arn) => {
                        if facts.is_none() {
                            facts = Some(self.facts(spec, &arn, &url, now).await?);
                        }
                        // An artifact-store champion's id is its model.tar.gz.
                        let champion_url = if is_package_id(&champion_arn) {
                            self.package(&champion_arn, now)
                                .await?
                                .model_data_url
                                .unwrap_or_default()
                        } else {
                            champion_arn.clone()
                        };
                        let champion_facts = match self.cached_facts(&champion_arn, now) {
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
        let model_info = facts.as_ref().and_then(|f| f.model_info.as_ref());
        let artifact_run = model_info
            .and_then(|m| m.get(tags::RUN_ID))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let mut artifact = facts
            .as_ref()
            .map(|f| f.check.clone())
            .unwrap_or(ArtifactCheck::Unchecked);
        // A validation run vouches for one artifact: one trained by another run is not it.
        if let (Origin::Validation { results, .. }, Some(run), Some(found)) =
            (&r.origin, r.run_id(), &artifact_run)
            && matches!(artifact, ArtifactCheck::Valid { .. })
            && run != *found
        {
            artifact = ArtifactCheck::Invalid {
                reason: format!(
                    "its model-info.json names run {found} but {results} validated run {run}"
                ),
            };
        }
        Ok(Candidate {
            candidate_id: arn,
            origin: r.origin.clone(),
            environment: r.environment.clone(),
            run_id: r.run_id().or(artifact_run),
            approval: r.info.approval.clone(),
            status: r.info.status.clone(),
            image: r.info.image.clone(),
            model_data_url: url,
            lineage: {
                let mut recorded = r.info.metadata.clone();
                recorded.extend(r.tags.clone());
                tags::lineage(
                    &recorded,
                    model_info,
                    facts.as_ref().and_then(|f| f.metrics.as_ref()),
                )
            },
            artifact,
            comparison,
        })
    }

    /// The artifact verdict remembered for a candidate, unless it is due to be checked again.
    fn cached_facts(&self, id: &str, now: Timestamp) -> Option<ArtifactFacts> {
        self.caches
            .artifacts
            .get(id)
            .filter(|f| f.recheck_at.is_none_or(|t| now < t))
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
                .find(|v| v.candidate_id.as_deref() == Some(arn))
        }) else {
            return Ok(None);
        };
        let tags = self
            .model_tags(&variant.model_name, now)
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
            recheck_at: None,
            pin: None,
        };
        self.caches.artifacts.put(arn, facts.clone());
        Ok(Some(facts))
    }

    /// Validates a package's artifact and caches what it says. A problem that validating
    /// again cannot fix (a ModelDataUrl that is not an S3 object, an object that does not
    /// exist) is a verdict on the candidate, not an error to retry. A missing object is
    /// looked for again after [`RECHECK_MISSING`]: an artifact-store URI may be named before
    /// its upload ends.
    pub(crate) async fn facts(
        &self,
        spec: &ValidSpec,
        arn: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<ArtifactFacts, EngineError> {
        if let Some(facts) = self.remembered(spec, url, now).await {
            self.caches.artifacts.put(arn, facts.clone());
            return Ok(facts);
        }
        let mut remember = true; // false: a missing object, looked for again later
        let report = match S3Uri::parse(url) {
            Err(e) => Err(format!("ModelDataUrl {e}")),
            Ok(uri) if uri.key.is_empty() || uri.key.ends_with('/') => Err(format!(
                "ModelDataUrl {url} names a bucket or prefix, not a model.tar.gz object"
            )),
            // The guard records the validation as started; it is ended below when it returns.
            Ok(_) if self.journal.begin(url) >= MAX_INTERRUPTED => Err(format!(
                "validating {url} was interrupted {MAX_INTERRUPTED} times: the controller stopped while reading it, most likely out of memory; it is refused so that it cannot stop the controller again (raise the controller's memory limit: a new pod validates it again)"
            )),
            Ok(uri) => {
                let store = Arc::clone(&self.clients.s3);
                // Out of the pass's slot: a long validation never holds one (engine::slot).
                let report = super::slot::aside(validate_s3(
                    store,
                    &uri,
                    Engine::limits(spec),
                    self.workers,
                ))
                .await;
                self.journal.end(url);
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
                        remember = false;
                        Err(format!("artifact {url} does not exist ({a})"))
                    }
                    // Archived, or a KMS key the role may not use: named (S3-11), and looked
                    // for again later (a restore or a grant may follow).
                    Err(RemoteError::Aws(a)) if let Some(why) = crate::aws::s3::refusal(&a) => {
                        remember = false;
                        Err(format!("artifact {url} {why} ({a})"))
                    }
                    // Without s3:ListBucket a missing object answers 403 (S3-2).
                    Err(RemoteError::Aws(a)) if a.is_access_denied() => {
                        remember = false;
                        Err(format!(
                            "artifact {url} does not exist, or the controller's role may not read it (s3:GetObject; grant s3:ListBucket to tell the two apart; a Requester Pays bucket also answers 403) ({a})"
                        ))
                    }
                    Err(RemoteError::Aws(a)) => return Err(EngineError::Aws(a)),
                    Err(other) => return Err(EngineError::Aws(other.into_aws())),
                }
            }
        };
        let facts = match report {
            Ok(report) => {
                let facts = facts_of(report, url);
                if let Some((_, etag)) = &facts.pin {
                    self.journal
                        .remember(url, verdict_of(&facts, etag, &self.under(spec), now));
                }
                facts
            }
            Err(reason) => ArtifactFacts {
                check: ArtifactCheck::Invalid { reason },
                model_info: None,
                metrics: None,
                recheck_at: (!remember).then(|| now + RECHECK_MISSING),
                pin: None,
            },
        };
        self.caches.artifacts.put(arn, facts.clone());
        Ok(facts)
    }
}

impl Engine {
    /// What a kept verdict was reached under: this validator, these limits, and the
    /// namespace whose role read the artifact — another tenant's session may not be allowed
    /// to read or decrypt it, so it never relies on this one's verdict.
    fn under(&self, spec: &ValidSpec) -> String {
        format!(
            "{} {:?} {}",
            env!("CARGO_PKG_VERSION"),
            Engine::limits(spec),
            tags::namespace_of(&self.owner)
        )
    }

    /// A verdict a finished validation left in the journal (before a restart), if the object
    /// is still the version it was reached on (one HeadObject instead of streaming it again).
    /// Anything else — no verdict, other limits, another version, a HEAD that fails — is
    /// validated as if nothing were kept.
    async fn remembered(
        &self,
        spec: &ValidSpec,
        url: &str,
        now: Timestamp,
    ) -> Option<ArtifactFacts> {
        let kept = self.journal.verdict(url, &self.under(spec))?;
        let uri = S3Uri::parse(url).ok()?;
        let head = self.clients.s3.head(&uri).await;
        self.log(now, "s3", "HeadObject", url.to_owned(), head.is_ok());
        if head.ok()?.etag.as_deref() != Some(kept.etag.as_str()) {
            return None;
        }
        Some(ArtifactFacts {
            check: kept.check,
            model_info: kept.model_info,
            metrics: kept.metrics,
            recheck_at: None,
            pin: Some((url.to_owned(), kept.etag)),
        })
    }
}

/// A validation's facts as the journal keeps them.
fn verdict_of(facts: &ArtifactFacts, etag: &str, under: &str, now: Timestamp) -> Verdict {
    Verdict {
        etag: etag.to_owned(),
        under: under.to_owned(),
        check: facts.check.clone(),
        model_info: facts.model_info.clone(),
        metrics: facts.metrics.clone(),
        at: now.as_second(),
    }
}

/// The verdict and metadata of a validation report.
fn facts_of(report: Report, url: &str) -> ArtifactFacts {
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
        recheck_at: None,
        pin: report.etag.map(|etag| (url.to_owned(), etag)),
    }
}
