//! The tag vocabulary: every tag key the controller writes on AWS resources, what a valid tag
//! value is, and how lineage is derived. One home, so that the planner, the engine, the
//! simulator, `register` and the spec validator agree on every spelling.
//!
//! Three families of keys:
//! - ownership: `managed-by` (always [`MANAGED_BY`]) and `owner` (`namespace/name`);
//! - lineage: [`LINEAGE_KEYS`], read from the model package and the artifact;
//! - progress markers: keys under [`MARKER_PREFIX`], written on the endpoint only (see
//!   `plan::markers`).

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Value of [`MANAGED_BY_KEY`] on everything the controller creates.
pub const MANAGED_BY: &str = "sagemaker-rollout";
/// Key saying which tool manages a resource.
pub const MANAGED_BY_KEY: &str = "managed-by";
/// Key naming the ModelDeployment (`namespace/name`) that owns a resource.
pub const OWNER_KEY: &str = "owner";
/// Key naming the endpoint a model, endpoint config or alarm was created for: with the owner
/// it makes ownership exact (two endpoints never claim one resource).
pub const ENDPOINT_KEY: &str = "endpoint";
/// Key naming the Kubernetes namespace (the tenant) a resource was created for. The tenant
/// role's IAM policy compares it with the session's tag of the same key (`aws:ResourceTag`
/// against `aws:PrincipalTag`), so AWS itself keeps tenants apart.
pub const NAMESPACE_KEY: &str = "sagemaker-rollout:namespace";
/// Key naming who drives a rollout's alarms for their owner (a controller's cluster id, or
/// `cli`): a resource of the same name in another cluster never deletes them.
pub const DRIVER_KEY: &str = "sagemaker-rollout:driver";
/// Key an administrator sets on an existing endpoint to let one namespace adopt it.
pub const ADOPT_BY_KEY: &str = "sagemaker-rollout:adopt-by";

/// Key an administrator sets on a shared endpoint to say which namespaces may place inference
/// components on it: `:team-a:team-b:` (each namespace between colons, so that `team` never
/// matches `team-a`). The tenant role's policy compares it with `StringLike
/// *:${aws:PrincipalTag/sagemaker-rollout:namespace}:*` — a tenant can no more write this tag
/// than the namespace tag.
pub const HOSTS_KEY: &str = "sagemaker-rollout:hosts";

/// Whether an endpoint with `tags` lets namespace `ns` place inference components on it: it
/// lists `ns` in [`HOSTS_KEY`], or belongs to `ns` itself.
pub fn hosts(tags: &BTreeMap<String, String>, ns: &str) -> bool {
    tags.get(NAMESPACE_KEY).is_some_and(|v| v == ns)
        || tags
            .get(HOSTS_KEY)
            .is_some_and(|v| v.contains(&format!(":{ns}:")))
}

/// The ownership tags of a resource created for `owner` (`namespace/name`): the owner and
/// its namespace, tag-safe.
pub fn ownership(owner: &str) -> [(String, String); 2] {
    [
        (OWNER_KEY.to_owned(), tag_safe(owner)),
        (NAMESPACE_KEY.to_owned(), tag_safe(namespace_of(owner))),
    ]
}

/// The namespace of an owner (`namespace/name`).
pub fn namespace_of(owner: &str) -> &str {
    owner.split_once('/').map_or(owner, |(ns, _)| ns)
}

/// Lineage run id of the model.
pub const RUN_ID: &str = "candidate_run_id";
/// Dataset version the model was trained on.
pub const DATA_VERSION: &str = "data_version";
/// Commit of the training code.
pub const GIT_COMMIT: &str = "git_commit";
/// First 16 hex characters of the sha256 of the canonical `artifacts/metrics.json`.
pub const METRICS_HASH: &str = "metrics_hash";
/// sha256 of the model.tar.gz.
pub const ARTIFACT_SHA256: &str = "artifact_sha256";
/// ARN of the model package version a model was created from.
pub const PACKAGE_ARN: &str = "model_package_arn";

/// S3 URI of the artifact-store model.tar.gz a model was created from.
pub const ARTIFACT_URI: &str = "model_artifact_uri";

/// S3 URI of the copy a model was created from (`spec.artifact.copyTo`): the model's
/// `ModelDataUrl`, deleted with the model.
pub const ARTIFACT_COPY: &str = "model_artifact_copy";

/// Inference image of an artifact-store candidate's model: with the URI it lets a restarted
/// controller rebuild a pinned candidate whose validation results moved on to another run.
pub const IMAGE: &str = "model_image";
/// First 16 hex characters of the sha256 of an artifact-store candidate's own container
/// environment (on its model only): a results file naming the same artifact with another
/// environment is told apart from the one serving.
pub const ENVIRONMENT_HASH: &str = "model_environment_hash";

/// Lineage keys, in the order they are documented.
pub const LINEAGE_KEYS: &[&str] = &[
    RUN_ID,
    DATA_VERSION,
    PACKAGE_ARN,
    ARTIFACT_URI,
    IMAGE,
    ENVIRONMENT_HASH,
    METRICS_HASH,
    GIT_COMMIT,
    ARTIFACT_SHA256,
];

/// Prefix of the progress-marker tags on the endpoint.
pub const MARKER_PREFIX: &str = "sagemaker-rollout:";

/// The marker tag recording the `spec.tags` keys the controller applied to an endpoint, as
/// [`short_key`]s: a key recorded there and no longer in `spec.tags` is the controller's to
/// remove; a key someone else set never is.
pub const USER_TAGS_KEY: &str = "sagemaker-rollout:user-tags";

/// A tag key's short name in [`USER_TAGS_KEY`]: 8 hex digits of its sha256 (20 keys fit a
/// 256-character tag value).
pub fn short_key(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `key` is one the controller applied from `spec.tags`, by the endpoint's record.
pub fn applied_user_tag(endpoint: &BTreeMap<String, String>, key: &str) -> bool {
    let short = short_key(key);
    endpoint
        .get(USER_TAGS_KEY)
        .is_some_and(|v| v.split(' ').any(|s| s == short))
}

/// The keys on `endpoint` the controller applied from `spec.tags` and `spec_tags` no longer
/// lists: its own to remove (a marker or a key set by anyone else never is).
pub fn stale_user_tags<'a>(
    spec_tags: &'a BTreeMap<String, String>,
    endpoint: &'a BTreeMap<String, String>,
) -> impl Iterator<Item = &'a String> + 'a {
    endpoint.keys().filter(move |k| {
        !k.starts_with(MARKER_PREFIX)
            && !spec_tags.contains_key(*k)
            && applied_user_tag(endpoint, k)
    })
}

/// AWS allows 50 tags per SageMaker resource.
pub const MAX_TAGS: usize = 50;
/// Most `spec.tags` entries: lineage, ownership and markers use the rest of the 50.
pub const MAX_USER_TAGS: usize = 20;
/// Longest tag key AWS accepts.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest tag value AWS accepts.
pub const MAX_VALUE_CHARS: usize = 256;

/// Whether `c` may appear in a SageMaker tag key or value (letters, digits, spaces and
/// `_ . : / = + - @`).
pub fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// Whether `key` is one the controller writes (ownership, lineage or a marker); users may
/// not set these through `spec.tags`.
pub fn is_reserved(key: &str) -> bool {
    // IAM matches tag keys case-insensitively: `Sagemaker-Rollout:Namespace` would stand in
    // for ours in a policy's condition.
    let key = key.to_ascii_lowercase();
    let key = key.as_str();
    key == MANAGED_BY_KEY
        || key == OWNER_KEY
        || key == ENDPOINT_KEY
        || LINEAGE_KEYS.contains(&key)
        || key == ARTIFACT_COPY
        || key.starts_with(MARKER_PREFIX)
}

/// Makes free text a valid AWS tag value: allowed characters only, at most 256 of them.
pub fn tag_safe(s: &str) -> String {
    s.chars()
        .map(|c| if allowed_char(c) { c } else { ' ' })
        .take(MAX_VALUE_CHARS)
        .collect()
}

/// The [`METRICS_HASH`] of a metrics document: serde_json orders object keys, so equal
/// metrics always hash equal.
pub fn metrics_hash(metrics: &Value) -> String {
    let canonical = serde_json::to_vec(metrics).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))[..16].to_owned()
}

/// Lineage of a model as tag values. `recorded` are the values the registry already holds
/// (package metadata or tags) and win; the artifact's `model-info.json` and
/// `artifacts/metrics.json` fill what is missing.
pub fn lineage(
    recorded: &BTreeMap<String, String>,
    model_info: Option<&Value>,
    metrics: Option<&Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in [RUN_ID, DATA_VERSION, GIT_COMMIT, METRICS_HASH] {
        if let Some(v) = recorded.get(key).filter(|v| !v.is_empty()) {
            out.insert(key.to_owned(), tag_safe(v));
        }
    }
    if let Some(info) = model_info {
        for key in [RUN_ID, DATA_VERSION, GIT_COMMIT] {
            if let Some(v) = info
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                out.entry(key.to_owned()).or_insert_with(|| tag_safe(v));
            }
        }
    }
    if let Some(m) = metrics {
        out.entry(METRICS_HASH.to_owned())
            .or_insert_with(|| metrics_hash(m));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reserved_keys_are_reserved_in_any_letter_case() {
        for key in [
            "managed-by",
            "MANAGED-BY",
            "Sagemaker-Rollout:Namespace",
            "Owner",
        ] {
            assert!(is_reserved(key), "{key}");
        }
        assert!(!is_reserved("team"));
    }

    #[test]
    fn tag_safe_replaces_forbidden_characters_and_truncates() {
        assert_eq!(tag_safe("a\"b{c}"), "a b c ");
        assert_eq!(tag_safe(&"x".repeat(300)).len(), 256);
    }

    #[test]
    fn recorded_lineage_wins_and_the_artifact_fills_the_rest() {
        let recorded = [(RUN_ID.to_owned(), "run-7".to_owned())]
            .into_iter()
            .collect();
        let info =
            json!({"candidate_run_id": "other", "data_version": "dv-3", "git_commit": "abc"});
        let metrics = json!({"auc": 0.9});
        let l = lineage(&recorded, Some(&info), Some(&metrics));
        assert_eq!(l[RUN_ID], "run-7");
        assert_eq!(l[DATA_VERSION], "dv-3");
        assert_eq!(l[GIT_COMMIT], "abc");
        assert_eq!(l[METRICS_HASH], metrics_hash(&metrics));
    }

    #[test]
    fn markers_and_lineage_keys_are_reserved() {
        assert!(is_reserved("owner"));
        assert!(is_reserved("sagemaker-rollout:stage"));
        assert!(!is_reserved("team"));
    }
}
