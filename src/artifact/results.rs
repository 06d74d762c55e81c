//! The `validation_results.json` contract: what a validation stage writes about the run it
//! validated, and what the controller reads from it to choose an artifact-store candidate.
//!
//! ```json
//! {
//!   "candidate_run_id": "2026-11-20-abc123",
//!   "passed": true,
//!   "artifact": {
//!     "s3_uri": "s3://ml-artifacts/churn/2026-11-20-abc123/model.tar.gz",
//!     "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.4",
//!     "environment": {"MODEL_SERVER_WORKERS": "2"}
//!   },
//!   "gates": [{"name": "auc", "passed": true, "value": 0.91, "threshold": 0.85}]
//! }
//! ```
//!
//! `candidate_run_id`, `passed` and `artifact.s3_uri` / `artifact.image` are required;
//! `environment` and `gates` are optional, and other fields are ignored. A run passed only
//! when `passed` is `true` and no gate says `"passed": false`; a file claiming both is
//! refused as contradictory. Every problem is reported at once, each naming its field.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::FieldError;
use crate::api::valid::container;

/// Largest file read: a results document is a few hundred bytes; more is not one.
pub const MAX_RESULTS_BYTES: u64 = 1024 * 1024;

/// What a validation run says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationResults {
    pub run_id: String,
    /// None when the run passed; else why not (`passed: false`, with the failed gates).
    pub failed: Option<String>,
    pub artifact_uri: String,
    pub image: String,
    pub environment: BTreeMap<String, String>,
}

/// Reads a `validation_results.json`. `region` is the endpoint's, when known (the image
/// must be in it); `serving` is `spec.serving.environment`, applied on top of the artifact's
/// (the two together must fit SageMaker's limits).
pub fn parse(
    bytes: &[u8],
    region: Option<&str>,
    serving: &BTreeMap<String, String>,
) -> Result<ValidationResults, Vec<FieldError>> {
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return Err(vec![FieldError::new("(document)", "is not a JSON object")]),
        Err(e) => {
            return Err(vec![FieldError::new(
                "(document)",
                format!("is not JSON: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    let text = |path: &str, v: Option<&Value>, problems: &mut Vec<FieldError>| match v {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            problems.push(FieldError::new(path, "must be a non-empty string"));
            String::new()
        }
        None => {
            problems.push(FieldError::new(path, "is required"));
            String::new()
        }
    };
    let run_id = text(
        "candidate_run_id",
        doc.get("candidate_run_id"),
        &mut problems,
    );
    // It becomes the candidate_run_id tag, and is compared with model-info.json's.
    if !run_id.is_empty() && crate::tags::tag_safe(&run_id) != run_id {
        problems.push(FieldError::new(
            "candidate_run_id",
            format!(
                "\"{run_id}\" cannot be a tag value (at most 256 letters, digits, spaces and _ . : / = + - @)"
            ),
        ));
    }
    let passed = match doc.get("passed") {
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            problems.push(FieldError::new("passed", "must be true or false"));
            None
        }
        None => {
            problems.push(FieldError::new("passed", "is required"));
            None
        }
    };
    let failed_gates = gates(doc.get("gates"), &mut problems);
    let artifact = doc.get("artifact");
    if artifact.is_some_and(|a| !a.is_object()) {
        problems.push(FieldError::new("artifact", "must be an object"));
    }
    let field = |k: &str| artifact.and_then(|a| a.get(k));
    let artifact_uri = text("artifact.s3_uri", field("s3_uri"), &mut problems);
    if !artifact_uri.is_empty() {
        problems.extend(container::artifact_uri("artifact.s3_uri", &artifact_uri));
    }
    let image = text("artifact.image", field("image"), &mut problems);
    if !image.is_empty() {
        problems.extend(container::image("artifact.image", &image, region));
    }
    let environment = match field("environment") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                _ => {
                    problems.push(FieldError::new(
                        format!("artifact.environment[{k}]"),
                        "must be a string",
                    ));
                    None
                }
            })
            .collect(),
        Some(_) => {
            problems.push(FieldError::new(
                "artifact.environment",
                "must be an object of strings",
            ));
            BTreeMap::new()
        }
    };
    problems.extend(container::environment_entries(
        "artifact.environment",
        &environment,
    ));
    problems.extend(container::merged_size(
        "artifact.environment",
        &environment,
        serving,
    ));
    if passed == Some(true) && !failed_gates.is_empty() {
        problems.push(FieldError::new(
            "passed",
            format!(
                "is true but gates {} did not pass; the file contradicts itself",
                failed_gates.join(", ")
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let failed = (passed == Some(false)).then(|| {
        if failed_gates.is_empty() {
            "passed is false".to_owned()
        } else {
            format!("gates {} did not pass", failed_gates.join(", "))
        }
    });
    Ok(ValidationResults {
        run_id,
        failed,
        artifact_uri,
        image,
        environment,
    })
}

/// Names of the gates that did not pass.
fn gates(v: Option<&Value>, problems: &mut Vec<FieldError>) -> Vec<String> {
    let list = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            problems.push(FieldError::new("gates", "must be a list"));
            return Vec::new();
        }
    };
    let mut failed = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let name = g.get("name").and_then(Value::as_str);
        match (name, g.get("passed")) {
            (Some(n), Some(Value::Bool(p))) if !n.is_empty() => {
                if !p {
                    failed.push(n.to_owned());
                }
            }
            _ => problems.push(FieldError::new(
                format!("gates[{i}]"),
                "must have a non-empty name and passed: true or false",
            )),
        }
    }
    failed
}

/// Problems as one line, for a status message.
pub fn describe(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
