//! Multi-tenant admission: which DeploymentPolicy governs a ModelDeployment and whether the
//! spec stays inside its grant. One table: each row a spec change (from the canary example)
//! and the fields the policy must refuse, or none.

use std::collections::BTreeMap;

use sagemaker_rollout::api::policy::DeploymentPolicy;
use sagemaker_rollout::api::{ModelDeploymentSpec, ValidSpec};
use sagemaker_rollout::tenancy::{Refusal, admit, admit_teardown, glob};
use serde_json::{Value, json};

fn policy(name: &str, spec: Value) -> DeploymentPolicy {
    serde_json::from_value(json!({
        "apiVersion": "sagemaker.mlops.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("policy parses")
}

/// The ml-prod team's grant, covering everything the canary example asks for.
fn grant() -> Value {
    json!({
        "namespaces": {"names": ["ml-prod"]},
        "roles": [{"roleArn": "arn:aws:iam::123456789012:role/sagemaker-rollout-tenant/ml-prod", "regions": ["us-east-1"]}],
        "regions": ["us-east-1"],
        "endpointNames": ["churn-*"],
        "executionRoles": ["arn:aws:iam::123456789012:role/sagemaker-exec"],
        "modelPackageGroups": ["churn-*"],
        "s3": {"read": ["s3://ml-artifacts/ml-prod/"], "write": ["s3://ml-audit/", "s3://ml-capture/churn/"]},
        "snsTopics": ["arn:aws:sns:us-east-1:123456789012:ml-prod-*"],
        "maxUncompressedBytes": "50Gi",
    })
}

fn canary() -> Value {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    doc["spec"].clone()
}

fn valid(spec: &Value) -> ValidSpec {
    let raw: ModelDeploymentSpec = serde_json::from_value(spec.clone()).expect("spec parses");
    ValidSpec::new(&raw).expect("spec is valid")
}

fn set(spec: &mut Value, path: &str, v: Value) {
    let mut at = spec;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        at = at.get_mut(*p).expect(path);
    }
    at[parts[parts.len() - 1]] = v;
}

fn refused_fields(r: Result<sagemaker_rollout::tenancy::Grant, Refusal>) -> Vec<String> {
    match r {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().0.into_iter().map(|f| f.path).collect(),
    }
}

#[test]
fn a_policy_admits_what_it_grants_and_names_every_field_it_does_not() {
    type Row = (
        &'static str,
        Vec<(&'static str, Value)>,
        &'static [&'static str],
    );
    let rows: Vec<Row> = vec![
        (
            "the canary example inside its grant is admitted",
            vec![],
            &[],
        ),
        (
            "another team's endpoint name is refused",
            vec![("endpointName", json!("fraud-prod"))],
            &["spec.endpointName"],
        ),
        (
            "an endpoint name in other letters' case is the granted one (SageMaker ignores case)",
            vec![("endpointName", json!("Churn-Prod"))],
            &[],
        ),
        (
            "a region the policy does not list is refused",
            vec![("region", json!("eu-west-1"))],
            &["spec.region", "spec.region"],
        ),
        (
            "a role of another account is refused",
            vec![(
                "assumeRoleArn",
                json!("arn:aws:iam::999999999999:role/admin"),
            )],
            &["spec.assumeRoleArn"],
        ),
        (
            "the granted role named explicitly is admitted",
            vec![(
                "assumeRoleArn",
                json!("arn:aws:iam::123456789012:role/sagemaker-rollout-tenant/ml-prod"),
            )],
            &[],
        ),
        (
            "another team's execution role is refused",
            vec![(
                "executionRoleArn",
                json!("arn:aws:iam::123456789012:role/fraud-exec"),
            )],
            &["spec.executionRoleArn"],
        ),
        (
            "an execution role in another account is refused twice: pattern and account",
            vec![(
                "executionRoleArn",
                json!("arn:aws:iam::999999999999:role/sagemaker-exec"),
            )],
            &["spec.executionRoleArn", "spec.executionRoleArn"],
        ),
        (
            "another team's package group is refused",
            vec![("candidate.modelPackageGroup", json!("fraud-models"))],
            &["spec.candidate.modelPackageGroup"],
        ),
        (
            "audit records into another bucket are refused",
            vec![("audit", json!({"s3Uri": "s3://fraud-audit/x"}))],
            &["spec.audit.s3Uri"],
        ),
        (
            "data capture outside the granted prefix is refused (a prefix is a directory)",
            vec![(
                "dataCapture",
                json!({"samplingPercent": 20, "destinationS3Uri": "s3://ml-capture/churn-other"}),
            )],
            &["spec.dataCapture.destinationS3Uri"],
        ),
        (
            "a topic of another team is refused",
            vec![(
                "notify",
                json!({"snsTopicArn": "arn:aws:sns:us-east-1:123456789012:fraud-alerts"}),
            )],
            &["spec.notify.snsTopicArn"],
        ),
        (
            "the team's own topic is admitted",
            vec![(
                "notify",
                json!({"snsTopicArn": "arn:aws:sns:us-east-1:123456789012:ml-prod-alerts"}),
            )],
            &[],
        ),
        (
            "adoption is refused when the policy grants none",
            vec![("adopt", json!(true))],
            &["spec.adopt"],
        ),
        (
            "an artifact limit above the policy's ceiling is admitted, to run under the ceiling",
            vec![(
                "artifact",
                json!({"validate": true, "maxUncompressedBytes": "100Gi"}),
            )],
            &[],
        ),
        (
            "copies of artifacts under a granted write prefix are admitted",
            vec![(
                "artifact",
                json!({"validate": true, "maxUncompressedBytes": "1Gi", "copyTo": "s3://ml-capture/churn/models/"}),
            )],
            &[],
        ),
        (
            "copies of artifacts under another team's prefix are refused",
            vec![(
                "artifact",
                json!({"validate": true, "maxUncompressedBytes": "1Gi", "copyTo": "s3://ml-artifacts/fraud/deployed/"}),
            )],
            &["spec.artifact.copyTo"],
        ),
        (
            "skipping validation is refused unless allowed",
            vec![(
                "artifact",
                json!({"validate": false, "maxUncompressedBytes": "1Gi"}),
            )],
            &["spec.artifact.validate"],
        ),
        (
            "every violation is named at once",
            vec![
                ("endpointName", json!("fraud-prod")),
                (
                    "executionRoleArn",
                    json!("arn:aws:iam::123456789012:role/fraud-exec"),
                ),
                ("adopt", json!(true)),
            ],
            &["spec.endpointName", "spec.executionRoleArn", "spec.adopt"],
        ),
    ];
    let policies = [policy("ml-prod", grant())];
    let labels = BTreeMap::new();
    for (name, changes, expected) in rows {
        let mut spec = canary();
        for (path, v) in changes {
            set(&mut spec, path, v);
        }
        let got = refused_fields(admit("ml-prod", &labels, &valid(&spec), None, &policies));
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn the_policys_ceiling_lowers_the_artifact_limit_and_an_unreadable_one_refuses() {
    let policies = [policy("ml-prod", grant())];
    let labels = BTreeMap::new();
    let mut spec = canary();
    spec["artifact"] = json!({"validate": true, "maxUncompressedBytes": "100Gi"});
    let mut valid = valid(&spec);
    let g = admit("ml-prod", &labels, &valid, None, &policies).unwrap();
    g.apply(&mut valid);
    assert_eq!(valid.artifact.max_uncompressed_bytes, 50 << 30);
    let mut broken = grant();
    broken["maxUncompressedBytes"] = json!("lots");
    let policies = [policy("ml-prod", broken)];
    assert_eq!(
        refused_fields(admit("ml-prod", &labels, &valid, None, &policies)),
        ["spec.artifact.maxUncompressedBytes"]
    );
}

#[test]
fn a_namespace_no_policy_selects_is_refused_naming_it() {
    let policies = [policy("ml-prod", grant())];
    let r = admit(
        "fraud",
        &BTreeMap::new(),
        &valid(&canary()),
        None,
        &policies,
    );
    let e = r.expect_err("no policy selects fraud");
    assert_eq!(e.reason(), "NoPolicy");
    assert!(e.to_string().contains("\"fraud\""), "{e}");
}

#[test]
fn a_label_selector_selects_and_a_broken_one_selects_nothing() {
    let mut by_label = grant();
    by_label["namespaces"] = json!({"selector": {"matchLabels": {"team": "growth"}}});
    let mut broken = grant();
    broken["namespaces"] =
        json!({"selector": {"matchExpressions": [{"key": "team", "operator": "Bogus"}]}});
    let mut everything = grant();
    everything["namespaces"] = json!({"selector": {}});
    let policies = [
        policy("a-broken", broken),
        policy("b-growth", by_label),
        policy("c-everything", everything),
    ];
    let growth = BTreeMap::from([("team".to_owned(), "growth".to_owned())]);
    let g = admit("any-ns", &growth, &valid(&canary()), None, &policies).expect("admitted");
    assert_eq!(g.policy, "b-growth");
    assert_eq!(
        g.role_arn,
        "arn:aws:iam::123456789012:role/sagemaker-rollout-tenant/ml-prod"
    );
    let other = BTreeMap::from([("team".to_owned(), "fraud".to_owned())]);
    let refused = admit("any-ns", &other, &valid(&canary()), None, &policies);
    assert_eq!(
        refused.map_err(|e| e.reason()),
        Err("NoPolicy"),
        "an empty selector selects nothing"
    );
}

#[test]
fn adoption_is_admitted_only_for_the_endpoint_names_granted() {
    let mut g = grant();
    g["adopt"] = json!({"endpointNames": ["churn-legacy-*"]});
    let policies = [policy("ml-prod", g)];
    let mut spec = canary();
    spec["adopt"] = json!(true);
    let labels = BTreeMap::new();
    assert_eq!(
        refused_fields(admit("ml-prod", &labels, &valid(&spec), None, &policies)),
        ["spec.adopt"]
    );
    spec["endpointName"] = json!("churn-legacy-1");
    assert!(admit("ml-prod", &labels, &valid(&spec), None, &policies).is_ok());
    // For an inference component, what is taken over is the component: its name is checked.
    let mut ic = spec.clone();
    ic["serving"] = json!({"inferenceComponent": {"name": "churn-ranker", "copies": 1, "compute": {"memoryMB": 1024}}});
    ic["rollout"] = json!({"strategy": "Direct"});
    for gone in ["autoscaling", "dataCapture", "smokeTest"] {
        ic.as_object_mut().unwrap().remove(gone);
    }
    ic["analysis"].as_object_mut().unwrap().remove("compare");
    ic["candidate"]
        .as_object_mut()
        .unwrap()
        .remove("compareWithChampion");
    assert_eq!(
        refused_fields(admit("ml-prod", &labels, &valid(&ic), None, &policies)),
        ["spec.adopt"]
    );
    ic["serving"]["inferenceComponent"]["name"] = json!("churn-legacy-ranker");
    assert!(admit("ml-prod", &labels, &valid(&ic), None, &policies).is_ok());
}

#[test]
fn the_role_follows_the_region_and_a_deletion_needs_only_its_target_granted() {
    let mut g = grant();
    g["regions"] = json!([]);
    g["roles"] = json!([
        {"roleArn": "arn:aws:iam::123456789012:role/t/us", "regions": ["us-east-1"]},
        {"roleArn": "arn:aws:iam::123456789012:role/t/eu", "regions": ["eu-west-1"]},
    ]);
    let policies = [policy("ml-prod", g)];
    let labels = BTreeMap::new();
    let mut spec = canary();
    spec["region"] = json!("eu-west-1");
    let grant = admit("ml-prod", &labels, &valid(&spec), None, &policies).unwrap();
    assert_eq!(grant.role_arn, "arn:aws:iam::123456789012:role/t/eu");
    // Without spec.region the controller's default decides; without either, refused.
    spec.as_object_mut().unwrap().remove("region");
    let us = admit(
        "ml-prod",
        &labels,
        &valid(&spec),
        Some("us-east-1"),
        &policies,
    )
    .unwrap();
    assert_eq!(us.role_arn, "arn:aws:iam::123456789012:role/t/us");
    assert_eq!(
        refused_fields(admit("ml-prod", &labels, &valid(&spec), None, &policies)),
        ["spec.region"]
    );
    // A deletion: the execution role the policy no longer grants does not matter.
    let mut spec = canary();
    spec["executionRoleArn"] = json!("arn:aws:iam::123456789012:role/revoked");
    let teardown = valid(&spec).teardown();
    assert!(admit_teardown("ml-prod", &labels, &teardown, None, &policies).is_ok());
    assert!(admit_teardown("other", &labels, &teardown, None, &policies).is_err());
}

#[test]
fn globs_match_runs_of_any_character_and_nothing_else() {
    let rows = [
        ("churn-*", "churn-prod", true),
        ("churn-*", "churn-", true),
        ("churn-*", "xchurn-prod", false),
        ("*-prod", "churn-prod", true),
        (
            "arn:aws:sns:*:123:ml-*",
            "arn:aws:sns:us-east-1:123:ml-a",
            true,
        ),
        (
            "arn:aws:sns:*:123:ml-*",
            "arn:aws:sns:us-east-1:999:ml-a",
            false,
        ),
        ("a*b*c", "abc", true),
        ("a*b*c", "acb", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        ("ab*ba", "aba", false),
    ];
    for (pattern, value, expected) in rows {
        assert_eq!(glob(pattern, value), expected, "{pattern} vs {value}");
    }
}
