//! The IAM policies grant exactly the AWS calls the code makes: the action list is derived
//! from the adapters' SDK calls, and the conditions scope role passing, the autoscaling
//! service-linked role and every endpoint/config/model mutation.

use std::collections::BTreeSet;

use sagemaker_rollout::tags::MANAGED_BY;
use serde_json::Value;

/// The IAM actions the adapters call, read from the source: every `client.<operation>()`
/// of an official SDK client, attributed to the service of the adapter it appears in.
fn actions_in_code() -> BTreeSet<String> {
    let call = regex::Regex::new(r"client\s*\.\s*([a-z_0-9]+)\(\)").unwrap();
    let mut out = BTreeSet::new();
    // One adapter file per service; InvokeEndpoint is authorized as a SageMaker action.
    for (file, service) in [
        ("src/aws/sdk_endpoints.rs", "sagemaker"),
        ("src/aws/registry.rs", "sagemaker"),
        ("src/aws/runtime.rs", "sagemaker"),
        ("src/aws/scaling.rs", "application-autoscaling"),
        ("src/aws/alarms.rs", "cloudwatch"),
        ("src/aws/s3.rs", "s3"),
        ("src/aws/notify.rs", "sns"),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        {
            let chunk = text.as_str();
            for m in call.captures_iter(chunk) {
                let op = &m[1];
                let camel: String = op
                    .split('_')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect();
                let action = match (service, op) {
                    // S3 authorizes multipart parts and HEAD as PutObject / GetObject.
                    (
                        "s3",
                        "create_multipart_upload" | "upload_part" | "complete_multipart_upload",
                    ) => "s3:PutObject".to_owned(),
                    ("s3", "head_object") => "s3:GetObject".to_owned(),
                    _ => format!("{service}:{camel}"),
                };
                out.insert(action);
            }
        }
    }
    let config = std::fs::read_to_string("src/aws/mod.rs").unwrap();
    if config.contains("AssumeRoleProvider") {
        out.insert("sts:AssumeRole".into());
    }
    out
}

/// Permissions AWS checks besides the action called: creating with an execution role
/// (PassRole), Application Auto Scaling's service-linked role on first registration, tags
/// in PutMetricAlarm (TagResource), SSE-KMS objects read (Decrypt) and written
/// (GenerateDataKey) through S3.
const IMPLIED: [&str; 5] = [
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
    "cloudwatch:TagResource",
    "kms:Decrypt",
    "kms:GenerateDataKey",
];

/// Calls only `sagemaker-rollout register` makes (a CI pipeline's role, not the controller's).
const REGISTER_ONLY: [&str; 4] = [
    "sagemaker:CreateModelPackage",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackageGroup",
    "s3:AbortMultipartUpload",
];

fn policy(path: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["Version"], "2012-10-17");
    v["Statement"].as_array().unwrap().clone()
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        _ => vec![],
    }
}

fn policy_actions(statements: &[Value]) -> BTreeSet<String> {
    statements.iter().flat_map(|s| list(&s["Action"])).collect()
}

#[test]
fn iam_policies_grant_exactly_the_calls_the_code_makes() {
    let code = actions_in_code();
    let controller = policy("deploy/iam-policy.json");
    let ci = policy("deploy/iam-policy-ci.json");
    for s in controller.iter().chain(ci.iter()) {
        assert_eq!(s["Effect"], "Allow");
        assert!(s["NotAction"].is_null() && s["NotResource"].is_null());
        for a in list(&s["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a}");
        }
    }
    let mut wanted: BTreeSet<String> = code.clone();
    wanted.extend(IMPLIED.iter().map(|s| (*s).to_owned()));
    let mut granted = policy_actions(&controller);
    granted.extend(policy_actions(&ci));
    let missing: Vec<_> = wanted.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&wanted).collect();
    assert!(
        missing.is_empty(),
        "the code calls {missing:?} but no policy grants it"
    );
    assert!(extra.is_empty(), "granted but never called: {extra:?}");
    let controller_actions = policy_actions(&controller);
    for a in REGISTER_ONLY {
        assert!(
            code.contains(a),
            "{a} is no longer called; update REGISTER_ONLY"
        );
        assert!(
            !controller_actions.contains(a),
            "the controller does not need {a}"
        );
    }
    let expected_controller: BTreeSet<String> = wanted
        .iter()
        .filter(|a| !REGISTER_ONLY.contains(&a.as_str()))
        .cloned()
        .collect();
    assert_eq!(controller_actions, expected_controller);
}

fn statements_granting<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| list(&s["Action"]).iter().any(|a| a == action))
        .collect()
}

#[test]
fn iam_policy_conditions_scope_role_passing_linked_roles_and_mutations() {
    let p = policy("deploy/iam-policy.json");
    for s in statements_granting(&p, "iam:PassRole") {
        assert_eq!(
            s["Condition"]["StringEquals"]["iam:PassedToService"],
            "sagemaker.amazonaws.com"
        );
    }
    for s in statements_granting(&p, "iam:CreateServiceLinkedRole") {
        assert_eq!(
            s["Condition"]["StringEquals"]["iam:AWSServiceName"],
            "sagemaker.application-autoscaling.amazonaws.com"
        );
    }
    // Endpoints, configs and models: created only with our tag, changed only when tagged.
    for action in [
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateModel",
        "UpdateEndpoint",
        "UpdateEndpointWeightsAndCapacities",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
        "DeleteTags",
        "AddTags",
        "InvokeEndpoint",
    ] {
        let granting = statements_granting(&p, &format!("sagemaker:{action}"));
        assert!(!granting.is_empty(), "{action}");
        for s in granting {
            let eq = &s["Condition"]["StringEquals"];
            let tag = eq["aws:ResourceTag/managed-by"]
                .as_str()
                .or(eq["aws:RequestTag/managed-by"].as_str());
            assert_eq!(
                tag,
                Some(MANAGED_BY),
                "{action} must be scoped to managed-by={MANAGED_BY}"
            );
            assert!(
                !list(&s["Resource"]).iter().any(|r| r == "*"),
                "{action} on *"
            );
        }
    }
    // Alarm writes: our own alarms (current and legacy names) and the target-tracking
    // alarms Application Auto Scaling creates for endpoint variants, nothing else.
    let mut alarm_resources: Vec<String> = statements_granting(&p, "cloudwatch:PutMetricAlarm")
        .into_iter()
        .flat_map(|s| list(&s["Resource"]))
        .collect();
    alarm_resources.sort();
    assert_eq!(
        alarm_resources,
        [
            "arn:aws:cloudwatch:*:*:alarm:TargetTracking*",
            "arn:aws:cloudwatch:*:*:alarm:sagemaker-rollout-*",
            "arn:aws:cloudwatch:*:*:alarm:sagemaker-rollout.*",
        ]
    );
    for s in statements_granting(&p, "kms:Decrypt") {
        assert_eq!(
            s["Condition"]["StringLike"]["kms:ViaService"],
            "s3.*.amazonaws.com"
        );
    }
}
