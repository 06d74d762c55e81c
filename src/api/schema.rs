//! The CRD's own schema, applied client-side: what the API server would reject, found
//! without one. `check`, `apply`, `simulate` and the controller all run a spec through
//! [`problems`] before any semantic rule, so whatever the CRD schema rejects, they reject.
//!
//! Checked, as Kubernetes' structural schemas define them: `type` (integers must be whole
//! numbers), `enum`, `pattern` (RE2 syntax, unanchored like the API server's), `minLength`
//! / `maxLength` (in characters), `minimum` / `maximum`, `minItems` / `maxItems`,
//! `required`, unknown fields (kubectl's strict field validation refuses them; the server
//! would otherwise prune them silently), `nullable` (a null where it is not allowed is
//! pruned, as the API server does, so only `required` can complain about it), and the
//! `x-kubernetes-validations` CEL rules through kube's CEL engine. Formats and defaults are
//! not validation in Kubernetes and are not checked here.

use std::collections::HashMap;
use std::sync::LazyLock;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, compile_schema, validate_compiled};
use regex::Regex;
use serde_json::Value;

use super::ModelDeployment;
use super::errors::FieldError;

struct Compiled {
    spec: Value,
    cel: CompiledSchema,
    /// Every `pattern` of the schema, compiled once.
    patterns: HashMap<String, Regex>,
}

fn collect_patterns(schema: &Value, out: &mut HashMap<String, Regex>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("pattern")
                && let Ok(re) = Regex::new(p)
            {
                out.insert(p.clone(), re);
            }
            map.values().for_each(|v| collect_patterns(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

static SPEC_SCHEMA: LazyLock<Compiled> = LazyLock::new(|| {
    let crd = serde_json::to_value(ModelDeployment::crd()).unwrap_or_default();
    let spec = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
        .cloned()
        .unwrap_or_default();
    let cel = compile_schema(&spec);
    let mut patterns = HashMap::new();
    collect_patterns(&spec, &mut patterns);
    Compiled {
        spec,
        cel,
        patterns,
    }
});

/// What the CRD schema says about a spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Problems {
    /// Types, enums, patterns, lengths, ranges, required and unknown fields.
    pub structural: Vec<FieldError>,
    /// Failed `x-kubernetes-validations` rules (evaluated only on a sound structure, as the
    /// API server does).
    pub cel: Vec<FieldError>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.structural.is_empty() && self.cel.is_empty()
    }

    /// Every problem, structural first.
    pub fn all(self) -> Vec<FieldError> {
        let mut out = self.structural;
        out.extend(self.cel);
        out
    }
}

/// Every schema problem of a spec (as JSON), with paths rooted at `spec`.
pub fn problems(spec: &Value) -> Problems {
    let schema = &*SPEC_SCHEMA;
    let mut structural = Vec::new();
    walk(spec, &schema.spec, "spec", &mut structural);
    let mut out = Vec::new();
    if structural.is_empty()
        && let Err(errors) = validate_compiled(&schema.cel, spec, None)
    {
        for e in errors.iter() {
            let path = e.field_path.trim_start_matches('.');
            out.push(FieldError::new(
                if path.is_empty() || path == "spec" {
                    "spec".to_owned()
                } else if path.starts_with("spec") {
                    path.to_owned()
                } else {
                    format!("spec.{path}")
                },
                e.message.clone(),
            ));
        }
    }
    Problems {
        structural,
        cel: out,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    match expected {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => true,
    }
}

fn expected_name(t: &str) -> &str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        other => other,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn walk(value: &Value, schema: &Value, path: &str, out: &mut Vec<FieldError>) {
    let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
    if value.is_null() {
        // Pruned by the API server unless nullable; `required` on the parent reports it.
        let _ = nullable;
        return;
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str)
        && !type_matches(t, value)
    {
        out.push(FieldError::new(
            path,
            format!(
                "{} is {}; expected {}",
                shown(value),
                type_name(value),
                expected_name(t)
            ),
        ));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let names: Vec<String> = options
            .iter()
            .map(|o| {
                o.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| o.to_string())
            })
            .collect();
        out.push(FieldError::new(
            path,
            format!("{} is not one of {}", shown(value), names.join(", ")),
        ));
    }
    match value {
        Value::String(s) => string(s, schema, path, out),
        Value::Number(n) => number(n.as_f64().unwrap_or(0.0), schema, path, out),
        Value::Array(items) => {
            let len = items.len() as u64;
            bound(len, schema, "minItems", "maxItems", "entries", path, out);
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if map.get(required).is_none_or(Value::is_null) {
                    out.push(FieldError::new(format!("{path}.{required}"), "is required"));
                }
            }
            for (k, v) in map {
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(s), _) => walk(v, s, &format!("{path}.{k}"), out),
                    (None, Some(s)) => walk(v, s, &format!("{path}[{k}]"), out),
                    (None, None) if !preserve && props.is_some() => {
                        let field = format!("{path}.{k}");
                        out.push(FieldError::new(&field, unknown(&field)));
                    }
                    (None, None) => {}
                }
            }
        }
        _ => {}
    }
}

fn string(s: &str, schema: &Value, path: &str, out: &mut Vec<FieldError>) {
    let chars = s.chars().count() as u64;
    bound(
        chars,
        schema,
        "minLength",
        "maxLength",
        "characters",
        path,
        out,
    );
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // Patterns come from our own types; one that does not compile is a bug the CRD
        // tests catch, so it is skipped here rather than failing every spec.
        if let Some(re) = SPEC_SCHEMA.patterns.get(pattern)
            && !re.is_match(s)
        {
            out.push(FieldError::new(
                path,
                format!("\"{s}\" does not match the pattern {pattern}"),
            ));
        }
    }
}

fn number(n: f64, schema: &Value, path: &str, out: &mut Vec<FieldError>) {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let shown = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{}", x as i64)
        } else {
            x.to_string()
        }
    };
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        let range = match (min, max) {
            (Some(a), Some(b)) => format!("must be between {} and {}", shown(a), shown(b)),
            (Some(a), None) => format!("must be at least {}", shown(a)),
            (None, Some(b)) => format!("must be at most {}", shown(b)),
            (None, None) => String::new(),
        };
        out.push(FieldError::new(path, format!("{} {range}", shown(n))));
    }
}

fn bound(
    len: u64,
    schema: &Value,
    min_key: &str,
    max_key: &str,
    unit: &str,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if let Some(min) = schema.get(min_key).and_then(Value::as_u64)
        && len < min
    {
        out.push(FieldError::new(
            path,
            format!("has {len} {unit}; at least {min} required"),
        ));
    }
    if let Some(max) = schema.get(max_key).and_then(Value::as_u64)
        && len > max
    {
        out.push(FieldError::new(
            path,
            format!("has {len} {unit}; at most {max} allowed"),
        ));
    }
}

/// Why an unknown field is refused; for a gate that moved out of the spec, where it went.
fn unknown(field: &str) -> String {
    match field {
        "spec.rollout.promote" | "spec.rollout.abort" => format!(
            "unknown field: {} is a one-shot request for the rollout in flight now, made with `sagemaker-rollout {}` (status.requests), never kept in the spec",
            &field[13..],
            &field[13..]
        ),
        _ => "unknown field (it would be dropped by the API server)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "endpointName": "churn-prod",
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "candidate": {"modelPackageGroup": "churn", "matchTags": {"candidate_run_id": "r1"}},
            "serving": {"instanceType": "ml.m5.large", "instanceCount": 1},
            "rollout": {"strategy": "Direct"}
        })
    }

    #[test]
    fn a_valid_spec_has_no_schema_problems() {
        assert!(problems(&spec()).is_empty());
    }

    #[test]
    fn type_enum_pattern_length_and_unknown_fields_are_all_reported() {
        let mut s = spec();
        s["serving"]["instanceCount"] = json!("two");
        s["rollout"]["strategy"] = json!("Canery");
        s["serving"]["instanceType"] = json!("m5.large");
        s["endpointName"] = json!("a".repeat(64));
        s["rollout"]["strategey"] = json!("Canary");
        let found: Vec<String> = problems(&s).all().iter().map(ToString::to_string).collect();
        for want in [
            "spec.serving.instanceCount: \"two\" is a string; expected a whole number",
            "spec.rollout.strategy: \"Canery\" is not one of Direct, Canary, Linear, BlueGreen, Rolling, Shadow",
            "spec.serving.instanceType: \"m5.large\" does not match the pattern",
            "spec.endpointName: has 64 characters; at most 63 allowed",
            "spec.rollout.strategey: unknown field",
        ] {
            assert!(
                found.iter().any(|f| f.starts_with(want)),
                "{want} not in {found:#?}"
            );
        }
    }

    #[test]
    fn cel_rules_run_on_a_sound_structure() {
        let mut s = spec();
        s["analysis"]["alarms"]["create"] =
            json!([{"metric": "ModelLatency", "threshold": "1s", "periods": 1, "datapoints": 2}]);
        let found: Vec<String> = problems(&s).all().iter().map(ToString::to_string).collect();
        assert!(
            found
                .iter()
                .any(|f| f.contains("datapoints (M) must not exceed periods (N)")),
            "{found:?}"
        );
    }
}
