//! Candidate resolution in the artifact store: `spec.candidate.artifact` names the
//! model.tar.gz and its image directly (no AWS call); `spec.candidate.validationResults`
//! names a validation stage's `validation_results.json` (HeadObject and one GetObject),
//! whose run is the candidate with the artifact it names. A run that did not pass resolves
//! (so that it is refused with its reason, and a rollout of it is rolled back) but never
//! deploys. While a rollout pins an artifact the file no longer names, the lookup says so and
//! the planner keeps the pinned candidate from its markers.

use std::collections::BTreeMap;

use super::resolve::{Lookup, Resolved};
use crate::api::S3Uri;
use crate::api::valid::{CandidateSource, ValidSpec};
use crate::artifact::results::{self, MAX_RESULTS_BYTES};
use crate::aws::AwsError;
use crate::aws::registry::PackageInfo;
use crate::aws::s3::ObjectStore;
use crate::plan::Origin;

/// Finds an artifact-store candidate. `pinned` is the artifact URI a rollout was started for.
/// `region` is the endpoint's, when known (`spec.region`, else the endpoint's ARN): a
/// validation run's ECR image must be in it.
pub async fn resolve(
    store: &dyn ObjectStore,
    spec: &ValidSpec,
    region: Option<&str>,
    pinned: Option<&str>,
) -> Result<Lookup, AwsError> {
    match &spec.candidate.source {
        CandidateSource::Artifact {
            uri,
            image,
            environment,
        } => Ok(Lookup::Found(artifact(
            uri,
            image,
            environment,
            BTreeMap::new(),
            Origin::Artifact,
        ))),
        CandidateSource::Results { uri } => from_results(store, spec, uri, region, pinned).await,
        CandidateSource::Group { .. } | CandidateSource::Pinned { .. } => Ok(Lookup::NotFound(
            "spec.candidate names no artifact-store source".into(),
        )),
    }
}

async fn from_results(
    store: &dyn ObjectStore,
    spec: &ValidSpec,
    uri: &str,
    region: Option<&str>,
    pinned: Option<&str>,
) -> Result<Lookup, AwsError> {
    let not_found = |why: String| Ok(Lookup::NotFound(format!("validation results {uri} {why}")));
    let Ok(s3) = S3Uri::parse(uri) else {
        return not_found("are not an S3 URI".into());
    };
    // Without s3:ListBucket, S3 answers a missing object with 403 (S3-2): a pipeline that
    // names the file before writing it must wait, not stall.
    let missing = |e: &AwsError| e.is_not_found() || e.is_access_denied();
    let unreadable = "do not exist, or the controller's role may not read them (s3:GetObject; grant s3:ListBucket to tell the two apart; a Requester Pays bucket also answers 403)";
    // One GET of at most a byte past the limit: the bytes read are one version of the file
    // (a HEAD then a GET could read a size and bytes of two writes).
    let body = match store.get_prefix(&s3, MAX_RESULTS_BYTES + 1).await {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return not_found("do not exist".into()),
        Err(e) if let Some(why) = crate::aws::s3::refusal(&e) => {
            return not_found(why.replacen("is ", "are ", 1));
        }
        Err(e) if missing(&e) => return not_found(unreadable.into()),
        Err(e) => return Err(e),
    };
    if body.is_empty() || body.len() as u64 > MAX_RESULTS_BYTES {
        let size = if body.is_empty() {
            "0 bytes".to_owned()
        } else {
            "over 1 MiB".to_owned()
        };
        return not_found(format!(
            "are {size}; a validation_results.json is 1 byte to 1 MiB"
        ));
    }
    let r = match results::parse(&body, region, &spec.serving.environment) {
        Ok(r) => r,
        Err(problems) => {
            return not_found(format!("are not usable: {}", results::describe(&problems)));
        }
    };
    // Multi-tenant mode: the run may only name an artifact the tenant's policy lets it read
    // (the execution role fetches it, and no IAM rule of the tenant's ties the two).
    if let Some(prefixes) = &spec.artifact.read_prefixes
        && !crate::tenancy::inside(&r.artifact_uri, prefixes)
    {
        return not_found(format!(
            "name artifact {}, outside the S3 prefixes its DeploymentPolicy grants to read ({})",
            r.artifact_uri,
            prefixes.join(", ")
        ));
    }
    if let Some(p) = pinned
        && p != r.artifact_uri
    {
        return not_found(format!(
            "now name run {} (artifact {}), not the pinned candidate {p}",
            r.run_id, r.artifact_uri
        ));
    }
    let metadata = [(crate::tags::RUN_ID.to_owned(), r.run_id.clone())].into();
    Ok(Lookup::Found(artifact(
        &r.artifact_uri,
        &r.image,
        &r.environment,
        metadata,
        Origin::Validation {
            results: uri.to_owned(),
            failed: r.failed,
        },
    )))
}

/// The pinned candidate of a rollout in flight, rebuilt from its model's tags when its
/// validation results now name another run (a restarted process has nothing cached): its
/// artifact and image. Its environment is not recorded; the model exists by then, so a
/// CreateModel sent again for it is answered by its name.
pub fn from_model_tags(
    pinned: &str,
    results: &str,
    tags: &BTreeMap<String, String>,
) -> Option<Resolved> {
    if tags.get(crate::tags::ARTIFACT_URI).map(String::as_str) != Some(pinned) {
        return None;
    }
    let image = tags.get(crate::tags::IMAGE)?;
    let metadata = tags
        .get(crate::tags::RUN_ID)
        .map(|run| [(crate::tags::RUN_ID.to_owned(), run.clone())].into())
        .unwrap_or_default();
    let origin = Origin::Validation {
        results: results.to_owned(),
        failed: None,
    };
    Some(artifact(pinned, image, &BTreeMap::new(), metadata, origin))
}

/// An artifact-store candidate in the registry's shape: its id and ModelDataUrl are the
/// artifact's URI; it has no approval and no package status.
fn artifact(
    uri: &str,
    image: &str,
    environment: &BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
    origin: Origin,
) -> Resolved {
    Resolved {
        info: PackageInfo {
            arn: uri.to_owned(),
            group: None,
            version: None,
            approval: String::new(),
            status: String::new(),
            image: Some(image.to_owned()),
            model_data_url: Some(uri.to_owned()),
            metadata,
        },
        tags: BTreeMap::new(),
        origin,
        environment: environment.clone(),
    }
}
