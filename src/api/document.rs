//! Loading ModelDeployment manifests from YAML, as the CLI does without an API server.
//!
//! Besides parsing, this reports fields the schema does not know (a typo such as
//! `strategey` would otherwise be dropped silently, as the API server prunes it) by walking
//! the document against the generated OpenAPI schema.

use kube::CustomResourceExt;
use serde_json::Value;

use super::ModelDeployment;
use super::check::FieldError;

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} is not valid YAML: {1}")]
    Yaml(String, String),
    #[error("{0}: no ModelDeployment document found")]
    Empty(String),
    #[error("{source_name}: document {index} is not a ModelDeployment: {message}")]
    Shape {
        source_name: String,
        index: usize,
        message: String,
    },
}

/// A parsed manifest and the unknown fields it carried.
#[derive(Debug)]
pub struct Loaded {
    pub resource: ModelDeployment,
    pub unknown_fields: Vec<FieldError>,
}

/// Parses every `ModelDeployment` document of a YAML stream (other kinds are skipped).
pub fn load_yaml(source_name: &str, text: &str) -> Result<Vec<Loaded>, LoadError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| LoadError::Yaml(source_name.to_owned(), e.to_string()))?;
    let schema = schema();
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        if doc.get("kind").and_then(Value::as_str) != Some("ModelDeployment") {
            continue;
        }
        let mut unknown = Vec::new();
        if let Some(spec) = doc.get("spec") {
            unknown_fields(
                spec,
                schema.pointer("/properties/spec").unwrap_or(&Value::Null),
                "spec",
                &mut unknown,
            );
        }
        let resource: ModelDeployment =
            serde_json::from_value(doc).map_err(|e| LoadError::Shape {
                source_name: source_name.to_owned(),
                index,
                message: e.to_string(),
            })?;
        out.push(Loaded {
            resource,
            unknown_fields: unknown,
        });
    }
    if out.is_empty() {
        return Err(LoadError::Empty(source_name.to_owned()));
    }
    Ok(out)
}

fn schema() -> Value {
    let crd = serde_json::to_value(ModelDeployment::crd()).unwrap_or_default();
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or_default()
}

fn unknown_fields(value: &Value, schema: &Value, path: &str, out: &mut Vec<FieldError>) {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            for (k, v) in map {
                let child_path = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(s), _) => unknown_fields(v, s, &child_path, out),
                    (None, Some(s)) => unknown_fields(v, s, &format!("{path}[{k}]"), out),
                    (None, None) if props.is_some() => out.push(FieldError {
                        path: child_path,
                        message: "unknown field (it would be dropped by the API server)".into(),
                    }),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    unknown_fields(v, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}
