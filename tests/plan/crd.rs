//! The committed CRD matches the Rust types; its schema carries the validations and printer
//! columns on-call and GitOps rely on; its CEL rules accept every example and reject the
//! mistakes they exist for (evaluated client-side with kube's CEL support).

use kube::CustomResourceExt;
use sagemaker_rollout::api::crd::{CRD_PATH, POLICY_CRD_PATH, crd_yaml, policy_crd_yaml};
use sagemaker_rollout::api::document::load_yaml;
use sagemaker_rollout::api::*;
use serde_json::json;

fn examples() -> Vec<(String, ModelDeployment)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("deploy/examples").expect("deploy/examples") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read example");
        for loaded in load_yaml(&path.display().to_string(), &text).expect("example parses") {
            let (md, _) = loaded.into_valid().expect("example is valid");
            out.push((path.display().to_string(), md));
        }
    }
    out
}

#[test]
fn committed_crd_matches_the_generated_one() {
    let committed = std::fs::read_to_string(CRD_PATH).expect("committed CRD");
    let generated = crd_yaml().expect("render");
    assert!(
        committed == generated,
        "{CRD_PATH} is stale: run `cargo run -- crd > {CRD_PATH}` and commit it"
    );
}

#[test]
fn committed_policy_crd_matches_the_generated_one() {
    let committed = std::fs::read_to_string(POLICY_CRD_PATH).expect("committed CRD");
    assert!(
        committed == policy_crd_yaml().expect("render"),
        "{POLICY_CRD_PATH} is stale: run `cargo run -- crd deploymentpolicies > {POLICY_CRD_PATH}` and commit it"
    );
}

#[test]
fn crd_has_names_scope_status_and_printer_columns() {
    let crd = ModelDeployment::crd();
    assert_eq!(crd.spec.group, "sagemaker.mlops.dev");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["mdep".to_owned()]));
    let v = &crd.spec.versions[0];
    assert_eq!(v.name, "v1alpha1");
    assert!(
        v.subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some(),
        "status subresource"
    );
    let columns: Vec<&str> = v
        .additional_printer_columns
        .as_ref()
        .expect("printer columns")
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Ready",
            "Reason",
            "Strategy",
            "Phase",
            "Step",
            "Weight",
            "Candidate",
            "Endpoint",
            "SageMaker",
            "Age",
            "Message",
            "Champion"
        ]
    );
    let wide: Vec<&str> = v
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .filter(|c| c.priority == Some(1))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(wide, ["Message", "Champion"], "kubectl get -o wide");
    // Conditions are a list keyed by type (a server-side apply keeps other managers' ones)
    // and their transition time is a date-time.
    let schema = serde_json::to_value(&v.schema).unwrap();
    let conditions = schema
        .pointer("/openAPIV3Schema/properties/status/properties/conditions")
        .expect("conditions");
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
    assert_eq!(
        conditions["items"]["properties"]["lastTransitionTime"]["format"],
        "date-time"
    );
}

#[test]
fn every_schema_property_has_a_description() {
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                if v.get("description").is_none()
                    && !["apiVersion", "kind", "metadata"].contains(&k.as_str())
                {
                    missing.push(p.clone());
                }
                walk(&p, v, missing);
                if let Some(items) = v.get("items") {
                    walk(&p, items, missing);
                }
            }
        }
    }
    let crd = serde_json::to_value(ModelDeployment::crd()).unwrap();
    let root = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .unwrap();
    let mut missing = Vec::new();
    walk("", root, &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description (kubectl explain shows nothing): {missing:?}"
    );
}

#[test]
fn schema_declares_enums_ranges_and_duration_patterns() {
    let crd = serde_json::to_value(ModelDeployment::crd()).unwrap();
    let spec = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties")
        .unwrap();
    let strategy = &spec["rollout"]["properties"]["strategy"]["enum"];
    assert_eq!(
        strategy,
        &json!([
            "Direct",
            "Canary",
            "Linear",
            "BlueGreen",
            "Rolling",
            "Shadow"
        ])
    );
    let weight = &spec["rollout"]["properties"]["canary"]["properties"]["steps"]["items"]["properties"]
        ["weight"];
    assert_eq!(
        (weight["minimum"].as_f64(), weight["maximum"].as_f64()),
        (Some(1.0), Some(99.0))
    );
    let bake = &spec["rollout"]["properties"]["linear"]["properties"]["bake"];
    assert_eq!(bake["pattern"], json!(units::DURATION_PATTERN));
    let sampling = &spec["dataCapture"]["properties"]["samplingPercent"];
    assert_eq!(
        (sampling["minimum"].as_f64(), sampling["maximum"].as_f64()),
        (Some(1.0), Some(100.0))
    );
}

#[test]
fn every_example_passes_the_cel_rules_and_the_validator() {
    let all = examples();
    assert!(all.len() >= 5, "an example per strategy");
    for strategy in [
        Strategy::Direct,
        Strategy::Canary,
        Strategy::Linear,
        Strategy::BlueGreen,
        Strategy::Shadow,
    ] {
        assert!(
            all.iter()
                .any(|(_, md)| md.spec.rollout.strategy == strategy),
            "no example for {strategy:?}"
        );
    }
    for (file, md) in &all {
        md.validate_cel()
            .unwrap_or_else(|e| panic!("{file}: CEL rejected the example: {e:?}"));
        ValidSpec::new(&md.spec).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

fn canary_example() -> ModelDeployment {
    examples()
        .into_iter()
        .find(|(f, _)| f.ends_with("canary.yaml"))
        .unwrap()
        .1
}

#[test]
fn cel_rejects_non_increasing_canary_weights() {
    let mut md = canary_example();
    md.spec.rollout.canary.as_mut().unwrap().steps[1].weight = 10;
    let err = format!("{:?}", md.validate_cel().unwrap_err());
    assert!(err.contains("strictly increasing"), "{err}");
}

#[test]
fn cel_rejects_two_candidate_sources() {
    let mut md = canary_example();
    md.spec.candidate.model_package_arn =
        Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/4".into());
    let err = format!("{:?}", md.validate_cel().unwrap_err());
    assert!(
        err.contains(
            "exactly one of modelPackageGroup, modelPackageArn, artifact and validationResults"
        ),
        "{err}"
    );
}

#[test]
fn cel_accepts_an_artifact_store_source_alone_and_refuses_it_beside_another() {
    let mut md = canary_example();
    md.spec.candidate.model_package_group = None;
    md.spec.candidate.match_tags = None;
    md.spec.candidate.validation_results =
        Some("s3://ml-artifacts/churn/run-7/validation_results.json".into());
    md.validate_cel()
        .expect("validationResults alone is one source");
    md.spec.candidate.artifact = Some(ArtifactSource {
        s3_uri: "s3://ml-artifacts/churn/run-7/model.tar.gz".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1".into(),
        environment: None,
    });
    let err = format!("{:?}", md.validate_cel().unwrap_err());
    assert!(err.contains("exactly one of"), "{err}");
    md.spec.candidate.validation_results = None;
    md.validate_cel().expect("artifact alone is one source");
}

#[test]
fn cel_rejects_a_strategy_without_its_parameters() {
    for (strategy, needle) in [
        (Strategy::Linear, "strategy Linear needs rollout.linear"),
        (
            Strategy::BlueGreen,
            "strategy BlueGreen needs rollout.blueGreen",
        ),
        (Strategy::Shadow, "strategy Shadow needs rollout.shadow"),
    ] {
        let mut md = canary_example();
        md.spec.rollout.strategy = strategy;
        let err = format!("{:?}", md.validate_cel().unwrap_err());
        assert!(err.contains(needle), "{strategy:?}: {err}");
    }
    let mut md = canary_example();
    md.spec.rollout.canary = None;
    assert!(
        format!("{:?}", md.validate_cel().unwrap_err())
            .contains("strategy Canary needs rollout.canary")
    );
}

#[test]
fn cel_rejects_inverted_autoscaling() {
    let mut md = canary_example();
    md.spec.autoscaling.as_mut().unwrap().min = 9;
    let err = format!("{:?}", md.validate_cel().unwrap_err());
    assert!(
        err.contains("autoscaling.min must not exceed autoscaling.max"),
        "{err}"
    );
}

/// The example as the controller leaves it once it owns the endpoint.
fn deployed(mut md: ModelDeployment) -> ModelDeployment {
    md.status = Some(ModelDeploymentStatus {
        target: Some(TargetView {
            endpoint_name: md.spec.endpoint_name.clone(),
            region: md.spec.region.clone(),
            assume_role_arn: md.spec.assume_role_arn.clone(),
            assumed_role_arn: None,
            inference_component: None,
        }),
        ..Default::default()
    });
    md
}

#[test]
fn cel_refuses_changing_the_target_once_deployed_and_allows_it_before() {
    use kube::core::cel::validate_cel_update;
    let before = canary_example();
    let mut renamed = before.clone();
    renamed.spec.endpoint_name = "churn-elsewhere".into();
    validate_cel_update(&renamed, &before).expect("not deployed yet: the target may change");

    let old = deployed(before);
    let mut gates = old.clone();
    gates.spec.rollout.paused = true;
    validate_cel_update(&gates, &old).expect("the gates may change");
    type Change = fn(&mut ModelDeploymentSpec);
    let cases: [(&str, Change); 4] = [
        ("spec.endpointName cannot change", |s| {
            s.endpoint_name = "churn-elsewhere".into()
        }),
        ("spec.region cannot change", |s| {
            s.region = Some(if s.region.as_deref() == Some("eu-west-1") {
                "us-east-1".into()
            } else {
                "eu-west-1".into()
            })
        }),
        ("spec.assumeRoleArn cannot change", |s| {
            s.assume_role_arn = Some("arn:aws:iam::210987654321:role/elsewhere".into())
        }),
        ("spec.region cannot change", |s| {
            s.region = if s.region.is_some() {
                None
            } else {
                Some("eu-west-1".into())
            }
        }),
    ];
    for (want, change) in cases {
        let mut moved = old.clone();
        change(&mut moved.spec);
        let err = format!("{:?}", validate_cel_update(&moved, &old).unwrap_err());
        assert!(err.contains(want), "{want}: {err}");
    }
    // A resource an older CRD let drift (spec no longer the target): writes that leave the
    // field alone still pass (the controller's status and finalizer writes, a gate), so
    // the controller can say why it stalled and the resource can be deleted.
    let mut drifted = old.clone();
    drifted.spec.endpoint_name = "churn-elsewhere".into();
    let mut gate = drifted.clone();
    gate.spec.rollout.paused = true;
    validate_cel_update(&gate, &drifted).expect("a write that leaves the target alone");
}

#[test]
fn a_target_changed_behind_an_older_crds_back_is_named_and_deletion_keeps_the_deployed_one() {
    let old = deployed(canary_example());
    assert!(old.target_changes().is_none());
    let mut moved = old.clone();
    moved.spec.endpoint_name = "churn-elsewhere".into();
    moved.spec.region = Some("eu-west-1".into());
    let changes = moved.target_changes().expect("named");
    let paths: Vec<&str> = changes.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["spec.endpointName", "spec.region"]);
    assert!(
        changes.0[0]
            .message
            .contains("create a new ModelDeployment")
    );
    let teardown = moved.teardown().expect("teardown");
    assert_eq!(teardown.endpoint_name, old.spec.endpoint_name);
    assert_eq!(teardown.region, old.spec.region);
}

/// No default inside a list item: the API server would fill it in and Argo CD's diff, which
/// cannot see those, would show every resource that omits it OutOfSync for ever. The
/// controller applies those defaults itself when it reads the spec.
#[test]
fn the_crd_sets_no_default_inside_a_list_item() {
    fn walk(v: &serde_json::Value, path: &str, in_items: bool, found: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if in_items && m.contains_key("default") {
                    found.push(path.to_owned());
                }
                for (k, v) in m {
                    walk(v, &format!("{path}/{k}"), in_items || k == "items", found);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), in_items, found);
                }
            }
            _ => {}
        }
    }
    let crd = serde_json::to_value(ModelDeployment::crd()).unwrap();
    let mut found = Vec::new();
    walk(&crd["spec"]["versions"][0]["schema"], "", false, &mut found);
    assert!(found.is_empty(), "defaults inside list items: {found:?}");
    // The controller still applies them.
    let rule: AlarmRule =
        serde_json::from_value(json!({"metric": "Invocation5XXErrors", "threshold": "5"})).unwrap();
    assert_eq!((rule.statistic.as_str(), rule.periods), ("Sum", 1));
    let compare: CompareRule =
        serde_json::from_value(json!({"metric": "ModelLatency", "maxRatio": 1.2})).unwrap();
    assert_eq!(
        (compare.statistic.as_str(), compare.min_invocations),
        ("Average", 100)
    );
}
