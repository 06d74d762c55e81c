//! What SageMaker accepts in a model's container definition (`Image`, `ModelDataUrl`,
//! `Environment`) and what the controller needs of an artifact-store candidate's URI (it is
//! the candidate's identity, kept in tags). One home for these rules: `check` applies them to
//! `spec.candidate.artifact` and `spec.serving.environment`, and the engine to the artifact a
//! `validation_results.json` names, which is only known at run time.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::FieldError;
use crate::api::units::S3Uri;

/// Longest artifact URI: the `candidate` marker tag holds it and ` selector=<16 hex>` in
/// SageMaker's 256 characters (docs/aws-rules.md SM-45).
pub const MAX_ARTIFACT_URI_CHARS: usize = 230;
/// ContainerDefinition.Image: at most 255 characters, no whitespace.
const MAX_IMAGE_CHARS: usize = 255;

static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$").expect("static regex"));
/// An Amazon ECR image: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>`.
static ECR_IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/[^:@\s]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})?$")
        .expect("static regex")
});

/// Problems with the S3 URI of an artifact-store model.tar.gz, at `path`.
pub fn artifact_uri(path: &str, uri: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    match S3Uri::parse(uri) {
        Err(e) => out.push(FieldError::new(path, e)),
        Ok(_) if !uri.starts_with("s3://") => out.push(FieldError::new(
            path,
            format!(
                "\"{uri}\" must be written as s3://bucket/key (it is the candidate's identity)"
            ),
        )),
        Ok(u) if u.key.is_empty() || u.key.ends_with('/') => out.push(FieldError::new(
            path,
            format!("\"{uri}\" names a bucket or prefix, not a model.tar.gz object"),
        )),
        // ContainerDefinition.ModelDataUrl "must point to a single gzip compressed tar
        // archive (.tar.gz suffix)".
        Ok(u) if !u.key.ends_with(".tar.gz") => out.push(FieldError::new(
            path,
            format!(
                "\"{uri}\" does not end in .tar.gz; SageMaker needs a gzip-compressed tar archive"
            ),
        )),
        Ok(_) => {}
    }
    let chars = uri.chars().count();
    if chars > MAX_ARTIFACT_URI_CHARS {
        out.push(FieldError::new(
            path,
            format!("is {chars} characters; at most {MAX_ARTIFACT_URI_CHARS}, because the candidate's identity is kept in a tag"),
        ));
    }
    // A tag value's characters, but no space: the marker splits the id from the rest there.
    if !uri
        .chars()
        .all(|c| c != ' ' && crate::tags::allowed_char(c))
    {
        out.push(FieldError::new(
            path,
            format!("\"{uri}\" has characters a tag cannot hold; use letters, digits and _ . : / = + - @"),
        ));
    }
    out
}

/// Problems with an inference image at `path`. An ECR image must be in the endpoint's
/// region (`region`, when known) — SageMaker pulls it from there.
pub fn image(path: &str, image: &str, region: Option<&str>) -> Vec<FieldError> {
    let mut out = Vec::new();
    let chars = image.chars().count();
    if chars == 0 || chars > MAX_IMAGE_CHARS || image.chars().any(char::is_whitespace) {
        out.push(FieldError::new(
            path,
            format!("\"{image}\" is not an image URI (1-{MAX_IMAGE_CHARS} characters, no spaces)"),
        ));
        return out;
    }
    if !image.contains(".dkr.ecr") {
        return out;
    }
    match ECR_IMAGE.captures(image) {
        None => out.push(FieldError::new(
            path,
            format!("\"{image}\" is not an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:<digest>])"),
        )),
        Some(c) => {
            if let (Some(want), Some(got)) = (region, c.get(2).map(|m| m.as_str()))
                && want != got
            {
                out.push(FieldError::new(
                    path,
                    format!("the image is in {got} but the endpoint is in {want}; SageMaker needs the image in the endpoint's region"),
                ));
            }
        }
    }
    out
}

/// Problems with a container environment at `path` (ContainerDefinition.Environment: at
/// most 100 entries, names of letters, digits and `_`, values of at most 1024 bytes,
/// everything together at most 32 KB).
pub fn environment(path: &str, env: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut out = environment_size(path, env);
    out.extend(environment_entries(path, env));
    out
}

/// The limits on a whole environment: at most 100 entries and 32 KB. Applied to what the
/// model gets, an artifact's environment merged with `spec.serving.environment`.
pub fn environment_size(path: &str, env: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut out = Vec::new();
    if env.len() > 100 {
        out.push(FieldError::new(
            path,
            format!("{} entries; SageMaker allows at most 100", env.len()),
        ));
    }
    let total: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > 32 * 1024 {
        out.push(FieldError::new(
            path,
            format!("keys and values total {total} bytes; SageMaker allows at most 32768"),
        ));
    }
    out
}

/// The rules on each variable: its name, and its value's length.
pub fn environment_entries(path: &str, env: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (k, v) in env {
        if !ENV_NAME.is_match(k) {
            out.push(FieldError::new(
                format!("{path}[{k}]"),
                "must be a variable name (letters, digits, _; not starting with a digit)",
            ));
        }
        // The API reference counts bytes (the service model's max counts characters).
        if v.len() > 1024 {
            out.push(FieldError::new(
                format!("{path}[{k}]"),
                format!("value is {} bytes; at most 1024", v.len()),
            ));
        }
    }
    out
}

/// The environment a model from an artifact runs with: the artifact's, with
/// `spec.serving.environment` applied on top (the endpoint's settings win).
pub fn merged(
    artifact: &BTreeMap<String, String>,
    serving: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = artifact.clone();
    out.extend(serving.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The size limits on what the model gets: `env` with `spec.serving.environment` on top.
pub fn merged_size(
    path: &str,
    env: &BTreeMap<String, String>,
    serving: &BTreeMap<String, String>,
) -> Vec<FieldError> {
    let together = merged(env, serving);
    environment_size(path, &together)
        .into_iter()
        .map(|mut e| {
            e.message = format!("with spec.serving.environment: {}", e.message);
            e
        })
        .collect()
}
