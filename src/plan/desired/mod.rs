//! Desired AWS resources derived from the spec and the resolved candidate: deterministic,
//! content-addressed names (a repeated create is a no-op, and a name belongs to exactly one
//! endpoint), lineage tags, configs; the owned alarms ([`alarms`]) and the scaling policy
//! ([`scaling`]).

mod alarms;
mod scaling;

pub use alarms::{
    AlarmScope, arms_at, is_owned_alarm, judging_alarms, native_alarms, owned_alarm_prefixes,
    owned_alarms, watched_alarms,
};
pub use scaling::{INVOCATIONS_PER_COPY, scaling_hash, scaling_plan};

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::actions::{
    ArtifactCopy, ConfigPlan, DataCapturePlan, Inherit, ModelContainer, ModelPlan, VariantPlan,
    VariantTemplate,
};
use super::observed::{ArtifactCheck, Candidate, Endpoint, Origin, Variant};
use crate::api::ValidSpec;
use crate::api::valid::container;
use crate::tags::{self, tag_safe};

/// First `n` hex characters of the sha256 of `value`'s JSON form.
pub fn content_hash(value: &impl Serialize, n: usize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&bytes));
    digest[..n.min(digest.len())].to_owned()
}

/// Hash of the whole spec: a rolled-back candidate is retried only when this changes.
pub fn spec_hash(spec: &ValidSpec) -> String {
    content_hash(spec.raw(), 16)
}

/// Hash of `spec.candidate`, stored as the `selector` marker.
pub fn selector_hash(spec: &ValidSpec) -> String {
    content_hash(&spec.raw().candidate, 16)
}

const HASH_CHARS: usize = 10;

/// The endpoint part of a resource name: the whole endpoint name when it fits the
/// 63-character limit beside `-<kind>-<hash>`, else its first characters.
fn name_prefix(endpoint: &str, kind: &str) -> (String, bool) {
    let budget = 63 - kind.len() - HASH_CHARS - 2;
    let truncated = endpoint.chars().count() > budget;
    let prefix: String = endpoint.chars().take(budget).collect();
    (prefix.trim_end_matches('-').to_owned(), truncated)
}

/// `<endpoint>-<kind>-<hash>` within SageMaker's 63-character name limit. A name belongs to
/// one endpoint: endpoint names cannot contain what follows (`-m-` or `-c-` and ten hex
/// digits) in a way that collides, and when the endpoint name had to be shortened its full
/// spelling is hashed in, so that two endpoints sharing a long prefix never share a name.
fn resource_name(endpoint: &str, kind: &str, hash: &str) -> String {
    let (prefix, truncated) = name_prefix(endpoint, kind);
    let hash = if truncated {
        content_hash(&(hash, endpoint), HASH_CHARS)
    } else {
        hash.to_owned()
    };
    format!("{prefix}-{kind}-{hash}")
}

/// Whether a model (`kind` "m") or endpoint config ("c") is one this resource created for
/// `endpoint`: the name has exactly that endpoint's form, the `owner` tag is this resource,
/// and the `endpoint` tag (absent on resources of earlier versions) names this endpoint.
pub fn owned_resource(
    endpoint: &str,
    owner: &str,
    kind: &str,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> bool {
    owns_name(endpoint, kind, name)
        && tags.get(tags::OWNER_KEY).map(String::as_str) == Some(owner)
        && tags
            .get(tags::ENDPOINT_KEY)
            .is_none_or(|e| e == &tag_safe(endpoint))
}

/// Whether `name` is a model (`kind` "m") or endpoint config ("c") name this controller
/// gives for `endpoint`: exactly `<prefix>-<kind>-<ten hex digits>`, nothing more — so that
/// endpoint `pfx` never claims the resources of endpoint `pfx-eu`.
pub fn owns_name(endpoint: &str, kind: &str, name: &str) -> bool {
    let (prefix, _) = name_prefix(endpoint, kind);
    name.strip_prefix(&prefix)
        .and_then(|rest| rest.strip_prefix(&format!("-{kind}-")))
        .is_some_and(|h| h.len() == HASH_CHARS && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Name of the candidate's production variant: changes with the package or artifact, the
/// instance type or the container environment (and an artifact source's image), so any of
/// those starts a new rollout.
pub fn variant_name(spec: &ValidSpec, candidate_id: &str) -> String {
    let settings = (
        candidate_id,
        &spec.serving.instance_type,
        &spec.serving.environment,
        &spec.execution_role_arn,
    );
    // A registry candidate's hash is unchanged by the artifact sources' settings, and an
    // instance-backed one by the serverless settings it does not have. A serverless variant's
    // memory is its "instance type" (a new rollout); its concurrency, like an instance count,
    // is applied in place.
    let serverless = spec.serving.serverless.as_ref().map(|s| s.memory_mb);
    let h = match (spec.candidate.source.artifact_settings(), serverless) {
        (None, None) => content_hash(&settings, 10),
        (Some(artifact), None) => content_hash(&(settings, artifact), 10),
        (artifact, Some(capacity)) => content_hash(&(settings, artifact, capacity), 10),
    };
    format!("v-{h}")
}

/// The [`tags::ENVIRONMENT_HASH`] of an artifact-store candidate's own environment.
pub fn environment_hash(cand: &Candidate) -> String {
    content_hash(&cand.environment, 16)
}

/// Name of the model of candidate `candidate_id`: changes with the candidate, the execution
/// role and the environment (and an artifact source's own image and environment).
pub fn model_name(spec: &ValidSpec, candidate_id: &str) -> String {
    let settings = (
        candidate_id,
        &spec.execution_role_arn,
        &spec.serving.environment,
    );
    let h = match spec.candidate.source.artifact_settings() {
        None => content_hash(&settings, 10),
        Some(artifact) => content_hash(&(settings, artifact), 10),
    };
    // Components of several resources share one endpoint: each makes its own models.
    let h = match &spec.serving.component {
        Some(ic) => content_hash(&(h, &ic.name), 10),
        None => h,
    };
    resource_name(&spec.endpoint_name, "m", &h)
}

pub fn model_plan(
    spec: &ValidSpec,
    cand: &Candidate,
    lineage: &BTreeMap<String, String>,
) -> ModelPlan {
    let name = model_name(spec, &cand.candidate_id);
    // With copyTo, an artifact-store candidate is deployed from a copy of what was validated.
    // A registry package is deployed by name (or from its own container definition), as its
    // package says: its ModelDataUrl is the package's to keep.
    let copy = spec
        .artifact
        .copy_to
        .as_ref()
        .filter(|_| cand.origin != Origin::Registry && !cand.model_data_url.is_empty())
        .map(|prefix| ArtifactCopy {
            from: cand.model_data_url.clone(),
            to: format!("{prefix}{name}/model.tar.gz"),
        });
    let image = |url: &str| ModelContainer::Image {
        image: cand.image.clone().unwrap_or_default(),
        model_data_url: url.to_owned(),
    };
    ModelPlan {
        container: match (&copy, &cand.origin, &cand.image, cand.approval.as_str()) {
            (Some(c), ..) => image(&c.to),
            (None, Origin::Registry, _, "Approved") | (None, Origin::Registry, None, _) => {
                ModelContainer::Package
            }
            _ => image(&cand.model_data_url),
        },
        name,
        candidate_id: cand.candidate_id.clone(),
        execution_role_arn: spec.execution_role_arn.clone(),
        environment: container::merged(&cand.environment, &spec.serving.environment),
        tags: {
            let mut tags = lineage.clone();
            if cand.origin != Origin::Registry {
                tags.insert(tags::ENVIRONMENT_HASH.into(), environment_hash(cand));
            }
            if let Some(c) = &copy {
                tags.insert(tags::ARTIFACT_COPY.into(), c.to.clone());
            }
            tags
        },
        copy,
    }
}

pub fn candidate_variant(
    spec: &ValidSpec,
    cand: &Candidate,
    model: &ModelPlan,
    weight: f64,
) -> VariantPlan {
    VariantPlan {
        name: variant_name(spec, &cand.candidate_id),
        model_name: model.name.clone(),
        instance_type: spec.serving.instance_type.clone(),
        // A serverless variant has no instances: its count is neither sent nor in any name.
        instance_count: if spec.serving.serverless.is_some() {
            0
        } else {
            spec.serving.instance_count
        },
        serverless: spec.serving.serverless.clone(),
        weight,
        template: None,
    }
}

/// The champion as a variant of a new config: its own ProductionVariant in `config` (the
/// config serving now), with the instance count it has now.
pub fn champion_variant(v: &Variant, weight: f64, config: &str) -> VariantPlan {
    VariantPlan {
        name: v.name.clone(),
        model_name: v.model_name.clone(),
        instance_type: v.instance_type.clone(),
        instance_count: v.desired_instances.unwrap_or(v.current_instances).max(1),
        // Its own serverless settings come with the template.
        serverless: None,
        weight,
        template: Some(VariantTemplate {
            config: config.to_owned(),
            variant: v.name.clone(),
        }),
    }
}

/// An endpoint config named by its content, taking over the endpoint-wide settings of the
/// config `from` serves now (see [`Inherit`]; None for a new endpoint).
pub fn config_plan(
    spec: &ValidSpec,
    production: Vec<VariantPlan>,
    shadow: Vec<VariantPlan>,
    lineage: &BTreeMap<String, String>,
    from: Option<&Endpoint>,
) -> ConfigPlan {
    let data_capture = spec.data_capture.as_ref().map(|d| DataCapturePlan {
        sampling_percent: d.sampling_percent,
        destination_s3_uri: d.destination_s3_uri.clone(),
    });
    // The data capture of an adopted endpoint stays while its champion serves beside the
    // candidate; a config of the candidate alone follows the spec.
    let champion_inside = production.iter().any(|v| v.template.is_some());
    let inherit = from.map(|ep| Inherit {
        config: ep.config_name.clone(),
        data_capture: data_capture.is_none()
            && champion_inside
            && !owns_name(&spec.endpoint_name, "c", &ep.config_name),
    });
    let key: Vec<_> = production
        .iter()
        .chain(&shadow)
        .map(|v| {
            (
                &v.name,
                &v.model_name,
                &v.instance_type,
                v.instance_count,
                v.weight.to_bits(),
            )
        })
        .collect();
    // Templates and inherited settings are not in the name: they copy what the serving
    // config already has, which is the same whichever of our configs they are copied from
    // (so a config at rest never looks changed). Only an inherited data capture changes
    // the content, and only then is the name different from before.
    let dc = data_capture
        .as_ref()
        .map(|d| (d.sampling_percent, &d.destination_s3_uri));
    let mut h = if inherit.as_ref().is_some_and(|i| i.data_capture) {
        content_hash(&(key, production.len(), dc, "inherited-data-capture"), 10)
    } else {
        content_hash(&(key, production.len(), dc), 10)
    };
    // Serverless capacity is content too (an instance-backed config's name is unchanged).
    let serverless: Vec<_> = production
        .iter()
        .filter_map(|v| v.serverless.as_ref())
        .map(|s| (s.memory_mb, s.max_concurrency, s.provisioned_concurrency))
        .collect();
    if !serverless.is_empty() {
        h = content_hash(&(h, serverless), 10);
    }
    ConfigPlan {
        name: resource_name(&spec.endpoint_name, "c", &h),
        production,
        shadow,
        data_capture,
        inherit,
        tags: lineage.clone(),
    }
}

/// The config serving the candidate alone, as the production variant `variant` (its own
/// `v-…` name, or the champion's for a blue/green deployment): where every successful
/// rollout ends.
pub fn candidate_only(
    spec: &ValidSpec,
    cand: &Candidate,
    model: &ModelPlan,
    lineage: &BTreeMap<String, String>,
    variant: &str,
    from: Option<&Endpoint>,
) -> ConfigPlan {
    let mut v = candidate_variant(spec, cand, model, 1.0);
    v.name = variant.to_owned();
    config_plan(spec, vec![v], vec![], lineage, from)
}

/// Whether the endpoint serves this candidate alone, whatever its variant is called: one
/// production variant, no shadow, running the candidate's model on the spec's instance type.
pub fn serves_alone(
    spec: &ValidSpec,
    cand: &Candidate,
    lineage: &BTreeMap<String, String>,
    ep: &Endpoint,
) -> bool {
    let model = model_plan(spec, cand, lineage);
    ep.shadow_variants.is_empty()
        && ep.variants.len() == 1
        && ep.variants[0].model_name == model.name
        && ep.variants[0].instance_type == spec.serving.instance_type
}

/// Lineage tags for Model, EndpointConfig and Endpoint (DESIGN §2).
pub fn lineage_tags(spec: &ValidSpec, owner: &str, cand: &Candidate) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), tag_safe(v)))
        .collect();
    for (k, v) in &cand.lineage {
        out.insert(k.clone(), tag_safe(v));
    }
    out.insert(tags::MANAGED_BY_KEY.into(), tags::MANAGED_BY.into());
    out.extend(tags::ownership(owner));
    out.insert(tags::ENDPOINT_KEY.into(), tag_safe(&spec.endpoint_name));
    if cand.origin == Origin::Registry {
        out.insert(tags::PACKAGE_ARN.into(), cand.candidate_id.clone());
    } else {
        out.insert(tags::ARTIFACT_URI.into(), cand.candidate_id.clone());
        if let Some(image) = &cand.image {
            out.insert(tags::IMAGE.into(), tag_safe(image));
        }
    }
    if let Some(run) = &cand.run_id {
        out.insert(tags::RUN_ID.into(), tag_safe(run));
    }
    if let ArtifactCheck::Valid { sha256 } = &cand.artifact {
        out.insert(tags::ARTIFACT_SHA256.into(), sha256.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_sagemakers_limit_and_belong_to_one_endpoint() {
        let short = resource_name("pfx", "c", "0123456789");
        assert_eq!(short, "pfx-c-0123456789");
        assert!(owns_name("pfx", "c", &short));
        assert!(!owns_name("pfx-eu", "c", &short));
        assert!(
            !owns_name("pfx", "c", "pfx-eu-c-0123456789"),
            "a longer endpoint's name"
        );
        assert!(!owns_name("pfx", "m", &short), "a config is not a model");
        assert!(!owns_name("pfx", "c", "pfx-c-0123456789-x"));
        let long = "a".repeat(60);
        let (one, two) = (format!("{long}-one"), format!("{long}-two"));
        let a = resource_name(&one, "m", "0123456789");
        let b = resource_name(&two, "m", "0123456789");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b, "the full endpoint name is hashed in when shortened");
        assert!(owns_name(&one, "m", &a));
    }

    #[test]
    fn ownership_needs_the_name_the_owner_and_the_endpoint() {
        let tags = |owner: &str, endpoint: Option<&str>| -> BTreeMap<String, String> {
            let mut t: BTreeMap<String, String> =
                [(tags::OWNER_KEY.to_owned(), owner.to_owned())].into();
            if let Some(e) = endpoint {
                t.insert(tags::ENDPOINT_KEY.to_owned(), e.to_owned());
            }
            t
        };
        let name = "pfx-c-0123456789";
        assert!(owned_resource(
            "pfx",
            "ns/a",
            "c",
            name,
            &tags("ns/a", Some("pfx"))
        ));
        assert!(
            owned_resource("pfx", "ns/a", "c", name, &tags("ns/a", None)),
            "earlier versions"
        );
        assert!(!owned_resource(
            "pfx",
            "ns/a",
            "c",
            name,
            &tags("ns/b", Some("pfx"))
        ));
        assert!(!owned_resource(
            "pfx",
            "ns/a",
            "c",
            name,
            &tags("ns/a", Some("pfx-eu"))
        ));
    }
}
