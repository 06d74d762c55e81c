//! Loading ModelDeployment manifests, as the CLI does without an API server: every document
//! of a YAML stream, each either a valid resource, an invalid one with every problem found
//! (field path, line and column, what was expected), or another kind, named and skipped.
//!
//! Per document: the envelope (`apiVersion`, `kind`, `metadata.name` and `namespace`, no
//! unknown top-level or metadata keys — a misspelt `namespace` would silently change who
//! owns the endpoint), then the CRD schema on the raw values (so a type error or an unknown
//! enum value is found with its place, and does not hide the others), then the semantic
//! rules of [`super::valid`] on whatever could be typed.

use std::sync::LazyLock;

use kube::CustomResourceExt;
use regex::Regex;
use serde_json::{Map, Value};

use super::ModelDeployment;
use super::source::{self, Positions};
use super::valid::{FieldError, ValidSpec, merge};

/// The `apiVersion` of every ModelDeployment.
pub const API_VERSION: &str = "sagemaker.mlops.dev/v1alpha1";
const KIND: &str = "ModelDeployment";

const TOP_LEVEL: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
];

static DNS_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("static regex")
});
static DNS_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("static regex"));

/// Why a manifest could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} is not valid YAML: {1}")]
    Yaml(String, String),
    #[error("{0}: no document found")]
    Empty(String),
}

/// What one document of a manifest is.
#[derive(Debug)]
pub enum Outcome {
    /// A ModelDeployment that passed every check.
    Valid(Box<(ModelDeployment, ValidSpec)>),
    /// A ModelDeployment with problems; `id` is `namespace/name` as far as it could be read.
    Invalid {
        id: String,
        problems: Vec<FieldError>,
    },
    /// Another kind (a Namespace next to the ModelDeployment, say): named, not used.
    Skipped { kind: String, name: String },
}

/// One document of a manifest.
#[derive(Debug)]
pub struct Document {
    /// 0-based index in the file.
    pub index: usize,
    pub outcome: Outcome,
}

impl Document {
    /// The resource and its validated spec, when this document is a valid ModelDeployment.
    pub fn into_valid(self) -> Option<(ModelDeployment, ValidSpec)> {
        match self.outcome {
            Outcome::Valid(v) => Some(*v),
            _ => None,
        }
    }
}

/// Every ModelDeployment of a YAML stream, all valid, or a message naming every problem
/// (for tools and tests that only want usable resources; other kinds are skipped).
pub fn load_valid(
    source_name: &str,
    text: &str,
) -> Result<Vec<(ModelDeployment, ValidSpec)>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for doc in load_yaml(source_name, text).map_err(|e| e.to_string())? {
        match doc.outcome {
            Outcome::Valid(v) => out.push(*v),
            Outcome::Invalid { id, problems: p } => {
                problems.extend(p.iter().map(|e| format!("{source_name}: {id}: {e}")))
            }
            Outcome::Skipped { .. } => {}
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

/// Reads every document of a YAML stream.
pub fn load_yaml(source_name: &str, text: &str) -> Result<Vec<Document>, LoadError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| LoadError::Yaml(source_name.to_owned(), e.to_string()))?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if docs.is_empty() {
        return Err(LoadError::Empty(source_name.to_owned()));
    }
    let mut positions = source::index(text);
    positions.resize_with(docs.len(), Positions::default);
    Ok(docs
        .into_iter()
        .zip(positions)
        .enumerate()
        .map(|(index, (doc, at))| Document {
            index,
            outcome: document(doc, &at),
        })
        .collect())
}

fn document(doc: Value, at: &Positions) -> Outcome {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !doc.is_object() {
        let problems = vec![FieldError::new("", "a document must be a mapping")];
        return invalid("<unnamed>".into(), problems, at);
    }
    if kind != KIND {
        return Outcome::Skipped {
            kind: if kind.is_empty() {
                "<no kind>".into()
            } else {
                kind.to_owned()
            },
            name: name.to_owned(),
        };
    }
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let id = format!(
        "{namespace}/{}",
        if name.is_empty() { "<unnamed>" } else { name }
    );
    let mut problems = envelope(&doc);
    let Some(spec) = doc.get("spec").filter(|s| s.is_object()) else {
        problems.push(FieldError::new("spec", "is required (a mapping)"));
        return invalid(id, problems, at);
    };
    let schema = super::schema::problems(spec);
    let (typed, substituted) = typed(&doc, &schema.structural);
    let semantic = match &typed {
        Some(md) => match ValidSpec::new(&md.spec) {
            Ok(valid) if schema.is_empty() && problems.is_empty() => {
                return Outcome::Valid(Box::new((md.clone(), valid)));
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                e.0.into_iter()
                    .filter(|e| !substituted.iter().any(|s| under(&e.path, s)))
                    .collect()
            }
        },
        None => Vec::new(),
    };
    problems.extend(merge(schema, semantic));
    invalid(id, problems, at)
}

fn invalid(id: String, mut problems: Vec<FieldError>, at: &Positions) -> Outcome {
    for p in &mut problems {
        p.location = at.locate(&p.path);
    }
    Outcome::Invalid { id, problems }
}

fn under(path: &str, ancestor: &str) -> bool {
    path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// apiVersion, kind and metadata, as the API server would check them.
fn envelope(doc: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    match doc.get("apiVersion").and_then(Value::as_str) {
        Some(API_VERSION) => {}
        Some(other) => out.push(FieldError::new(
            "apiVersion",
            format!("\"{other}\" is not {API_VERSION}"),
        )),
        None => out.push(FieldError::new(
            "apiVersion",
            format!("is required ({API_VERSION})"),
        )),
    }
    if let Some(map) = doc.as_object() {
        for k in map.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
            out.push(FieldError::new(
                k.clone(),
                "unknown top-level field (expected apiVersion, kind, metadata, spec)",
            ));
        }
    }
    let Some(meta) = doc.get("metadata").and_then(Value::as_object) else {
        out.push(FieldError::new("metadata", "is required (with a name)"));
        return out;
    };
    for k in meta.keys().filter(|k| !METADATA.contains(&k.as_str())) {
        out.push(FieldError::new(
            format!("metadata.{k}"),
            "unknown metadata field (a misspelt name or namespace would change which resource this is)",
        ));
    }
    match meta.get("name") {
        Some(Value::String(n)) if n.len() <= 253 && DNS_SUBDOMAIN.is_match(n) => {}
        Some(Value::String(n)) => out.push(FieldError::new(
            "metadata.name",
            format!("\"{n}\" is not a lowercase DNS subdomain name (letters, digits, - and ., at most 253)"),
        )),
        Some(other) => out.push(FieldError::new(
            "metadata.name",
            format!("{other} is not a string"),
        )),
        None => out.push(FieldError::new("metadata.name", "is required")),
    }
    match meta.get("namespace") {
        None => {}
        Some(Value::String(n)) if n.len() <= 63 && DNS_LABEL.is_match(n) => {}
        Some(other) => out.push(FieldError::new(
            "metadata.namespace",
            format!("{other} is not a lowercase DNS label (letters, digits and -, at most 63)"),
        )),
    }
    out
}

/// The document as a typed resource. Values the schema refused are removed (or, when
/// required, replaced by a neutral value of the right type) so that the rules can still
/// look at everything else; their paths are returned so that nothing is reported twice.
fn typed(doc: &Value, schema: &[FieldError]) -> (Option<ModelDeployment>, Vec<String>) {
    if let Ok(md) = serde_json::from_value::<ModelDeployment>(doc.clone()) {
        return (Some(md), Vec::new());
    }
    let mut doc = doc.clone();
    let mut substituted = Vec::new();
    for e in schema {
        if replace(&mut doc, &e.path) {
            substituted.push(e.path.clone());
        }
    }
    (serde_json::from_value(doc).ok(), substituted)
}

/// Removes the value at `path` (dotted, with `[i]`/`[key]`), or puts a neutral value of the
/// schema's type there when the field is required.
fn replace(doc: &mut Value, path: &str) -> bool {
    static ROOT: LazyLock<Value> = LazyLock::new(|| {
        let crd = serde_json::to_value(ModelDeployment::crd()).unwrap_or_default();
        crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_default()
    });
    let segments = split(path);
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut value = &mut *doc;
    let mut schema = &*ROOT;
    for seg in parents {
        schema = child_schema(schema, seg);
        value = match value {
            Value::Object(m) => match m.get_mut(seg) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let field_schema = child_schema(schema, last);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(last.as_str())));
    match value {
        Value::Object(m) if required => {
            m.insert(last.clone(), neutral(field_schema));
            true
        }
        Value::Object(m) => m.remove(last).is_some(),
        Value::Array(a) => match last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
            Some(v) => {
                *v = neutral(field_schema);
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn child_schema<'a>(schema: &'a Value, seg: &str) -> &'a Value {
    static NONE: Value = Value::Null;
    schema
        .get("properties")
        .and_then(|p| p.get(seg))
        .or_else(|| schema.get("additionalProperties"))
        .or_else(|| schema.get("items"))
        .unwrap_or(&NONE)
}

fn neutral(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") | Some("number") => schema
            .get("minimum")
            .cloned()
            .map(|m| Value::from(m.as_f64().unwrap_or(0.0) as i64))
            .unwrap_or(Value::from(0)),
        Some("boolean") => Value::Bool(false),
        Some("array") => Value::Array(Vec::new()),
        Some("object") => Value::Object(Map::new()),
        _ => Value::String(String::new()),
    }
}

fn split(path: &str) -> Vec<String> {
    path.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
