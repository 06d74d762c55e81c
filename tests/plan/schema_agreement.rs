//! `check` and the API server agree: one table of specs, each run through the CRD schema as
//! an independent validator sees it (Python's `jsonschema`, the validator
//! kubernetes-validate uses, on the generated openAPIV3Schema, plus the CEL rules through
//! kube's CEL engine) and through `check`'s own loader. Whatever the schema rejects, `check`
//! rejects; each row also says what the schema itself must conclude, so the oracle cannot
//! silently pass everything.

use std::io::Write;
use std::process::{Command, Stdio};

use kube::CustomResourceExt;
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::api::document::{Outcome, load_yaml};
use serde_json::{Value, json};

fn python() -> std::path::PathBuf {
    std::env::var_os("MOTO_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
        })
}

/// The OpenAPI schema as draft-4 JSON Schema: `nullable: true` becomes a `null` type.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
            for (k, x) in map {
                if k == "nullable" {
                    continue;
                }
                out.insert(k.clone(), to_json_schema(x));
            }
            if nullable && let Some(Value::String(t)) = out.get("type").cloned() {
                out.insert("type".into(), json!([t, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

const ORACLE: &str = r#"
import json, sys
import jsonschema
req = json.load(sys.stdin)
v = jsonschema.Draft4Validator(req["schema"])
print(json.dumps([sorted(e.message for e in v.iter_errors(d)) for d in req["docs"]]))
"#;

/// For each spec, the structural schema's complaints (empty when it accepts).
fn oracle(specs: &[Value]) -> Vec<Vec<String>> {
    let crd = serde_json::to_value(ModelDeployment::crd()).expect("crd");
    let schema = to_json_schema(
        crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
            .expect("spec schema"),
    );
    let mut child = Command::new(python())
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python from .venv (run `bash scripts/test.sh`, which installs it)");
    let input = json!({"schema": schema, "docs": specs}).to_string();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("oracle");
    assert!(out.status.success(), "oracle failed");
    serde_json::from_slice(&out.stdout).expect("oracle output")
}

fn cel_rejects(spec: &Value) -> bool {
    let crd = serde_json::to_value(ModelDeployment::crd()).expect("crd");
    let schema = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
        .expect("spec schema");
    let compiled = kube::core::cel::compile_schema(schema);
    kube::core::cel::validate_compiled(&compiled, spec, None).is_err()
}

fn base() -> Value {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").expect("example");
    let doc: Value = serde_saphyr::from_str(&text).expect("yaml");
    doc["spec"].clone()
}

/// What `check` says about a spec (inside the canary example's envelope).
fn check_rejects(spec: &Value) -> bool {
    let doc = json!({
        "apiVersion": "sagemaker.mlops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "churn", "namespace": "ml-prod"},
        "spec": spec,
    });
    let text = serde_saphyr::to_string(&doc).expect("render");
    let docs = load_yaml("case", &text).expect("loads");
    !matches!(docs[0].outcome, Outcome::Valid(_))
}

type Mutation = fn(&mut Value);

/// (case, mutation, whether the CRD schema — structure or CEL — rejects it).
fn table() -> Vec<(&'static str, Mutation, bool)> {
    vec![
        ("the canary example as it is", |_| {}, false),
        (
            "a bake of 5min",
            |s| s["rollout"]["canary"]["steps"][0]["bake"] = json!("5min"),
            true,
        ),
        (
            "a bake of 1w",
            |s| s["rollout"]["canary"]["steps"][0]["bake"] = json!("1w"),
            true,
        ),
        (
            "a bake of 1.5h",
            |s| s["rollout"]["canary"]["steps"][0]["bake"] = json!("1.5h"),
            true,
        ),
        (
            "a bake of 1h30m",
            |s| s["rollout"]["canary"]["steps"][0]["bake"] = json!("1h30m"),
            false,
        ),
        (
            "an alarm interval of 1s (CEL: at least 5s)",
            |s| s["analysis"]["interval"] = json!("1s"),
            true,
        ),
        (
            "an alarm interval of 1m30s",
            |s| s["analysis"]["interval"] = json!("1m30s"),
            false,
        ),
        (
            "an alarm interval of 1h (pattern: no hours)",
            |s| s["analysis"]["interval"] = json!("1h"),
            true,
        ),
        (
            "an alarm interval of 6m (CEL: at most 5m)",
            |s| s["analysis"]["interval"] = json!("6m"),
            true,
        ),
        (
            "a scale-in cooldown of 5 minutes",
            |s| s["autoscaling"]["scaleInCooldown"] = json!("5 minutes"),
            true,
        ),
        (
            "a 64-character endpoint name with hyphens",
            |s| s["endpointName"] = json!(format!("churn-{}ab", "a-".repeat(28))),
            true,
        ),
        (
            "a 63-character endpoint name with hyphens",
            |s| s["endpointName"] = json!(format!("churn-{}a", "a-".repeat(28))),
            false,
        ),
        (
            "a 64-character package group",
            |s| s["candidate"]["modelPackageGroup"] = json!("g".repeat(64)),
            true,
        ),
        (
            "eleven canary steps",
            |s| {
                s["rollout"]["canary"]["steps"] = json!(
                    (1..=11)
                        .map(|w| json!({"weight": w, "bake": "1m"}))
                        .collect::<Vec<_>>()
                )
            },
            true,
        ),
        (
            "twenty-one existing alarms",
            |s| {
                s["analysis"]["alarms"]["existing"] =
                    json!((0..21).map(|i| format!("a{i}")).collect::<Vec<_>>())
            },
            true,
        ),
        (
            "eleven owned alarms",
            |s| {
                s["analysis"]["alarms"]["create"] = json!((0..11).map(|i| json!({"metric": "Invocation5XXErrors", "statistic": format!("p{}", 50 + i), "threshold": "1"})).collect::<Vec<_>>())
            },
            true,
        ),
        (
            "a threshold with a space",
            |s| s["analysis"]["alarms"]["create"][0]["threshold"] = json!("5 %"),
            true,
        ),
        (
            "a threshold in scientific notation",
            |s| s["analysis"]["alarms"]["create"][0]["threshold"] = json!("1e3"),
            true,
        ),
        (
            "a threshold starting with a dot",
            |s| s["analysis"]["alarms"]["create"][0]["threshold"] = json!(".5"),
            true,
        ),
        (
            "a statistic that is not one",
            |s| s["analysis"]["alarms"]["create"][0]["statistic"] = json!("Median"),
            true,
        ),
        (
            "an unknown strategy",
            |s| s["rollout"]["strategy"] = json!("Canery"),
            true,
        ),
        (
            "an unknown approval",
            |s| s["candidate"]["approval"] = json!("Yes"),
            true,
        ),
        (
            "an instance count as a string",
            |s| s["serving"]["instanceCount"] = json!("two"),
            true,
        ),
        (
            "an instance count of 0",
            |s| s["serving"]["instanceCount"] = json!(0),
            true,
        ),
        (
            "a fractional instance count",
            |s| s["serving"]["instanceCount"] = json!(1.5),
            true,
        ),
        (
            "a canary weight of 100",
            |s| s["rollout"]["canary"]["steps"][1]["weight"] = json!(100),
            true,
        ),
        (
            "canary weights going down",
            |s| s["rollout"]["canary"]["steps"][1]["weight"] = json!(5),
            true,
        ),
        (
            "sampling at 101 %",
            |s| s["dataCapture"]["samplingPercent"] = json!(101),
            true,
        ),
        (
            "a capture destination that is not s3://",
            |s| s["dataCapture"]["destinationS3Uri"] = json!("https://bucket/x"),
            true,
        ),
        (
            "an instance type without ml.",
            |s| s["serving"]["instanceType"] = json!("m5.large"),
            true,
        ),
        (
            "a region that is not one",
            |s| s["region"] = json!("mars"),
            true,
        ),
        (
            "a role ARN of another shape",
            |s| s["executionRoleArn"] = json!("arn:aws:iam::1234:role/x"),
            true,
        ),
        (
            "both candidate sources",
            |s| {
                s["candidate"]["modelPackageArn"] =
                    json!("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3")
            },
            true,
        ),
        (
            "strategy Linear without linear",
            |s| s["rollout"]["strategy"] = json!("Linear"),
            true,
        ),
        (
            "autoscaling min above max",
            |s| s["autoscaling"]["min"] = json!(9),
            true,
        ),
        (
            "a byte size with an unknown suffix",
            |s| s["artifact"]["maxUncompressedBytes"] = json!("50GB"),
            true,
        ),
        (
            "a smoke status of 700",
            |s| s["smokeTest"]["expect"]["status"] = json!(700),
            true,
        ),
        (
            "a missing execution role",
            |s| {
                s.as_object_mut()
                    .expect("object")
                    .remove("executionRoleArn");
            },
            true,
        ),
    ]
}

#[test]
fn check_rejects_whatever_the_crd_schema_rejects() {
    let rows: Vec<(&str, Value, bool)> = table()
        .into_iter()
        .map(|(name, mutate, schema_rejects)| {
            let mut s = base();
            mutate(&mut s);
            (name, s, schema_rejects)
        })
        .collect();
    let specs: Vec<Value> = rows.iter().map(|(_, s, _)| s.clone()).collect();
    let structural = oracle(&specs);
    let mut wrong = Vec::new();
    for ((name, spec, expected), complaints) in rows.iter().zip(structural) {
        let schema = !complaints.is_empty() || cel_rejects(spec);
        if schema != *expected {
            wrong.push(format!(
                "{name}: the schema {} it (expected {}): {complaints:?}",
                if schema { "rejects" } else { "accepts" },
                if *expected { "rejects" } else { "accepts" }
            ));
        }
        if schema && !check_rejects(spec) {
            wrong.push(format!(
                "{name}: the schema rejects it but check accepts it"
            ));
        }
        if !schema && check_rejects(spec) && !*expected {
            wrong.push(format!("{name}: check rejects a spec the schema accepts"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    println!("{} cases through the schema, CEL and check", rows.len());
}
