//! The IAM policies in `deploy/iam/` grant exactly the AWS calls the code makes: the action
//! list is derived from the adapters' SDK calls, and the conditions scope role passing, the
//! autoscaling service-linked role and every endpoint/config/model/inference-component
//! mutation. The single-tenant policy and the tenant role grant the same calls; the
//! controller's own role in multi-tenant mode only assumes tenant roles. What each policy
//! allows and refuses, request by request, is evaluated offline by `tests/iam/evaluate.mjs`
//! (run from `scripts/test.sh`).

use std::collections::BTreeSet;

use sagemaker_rollout::tags::{HOSTS_KEY, MANAGED_BY};
use sagemaker_rollout::tenancy::{ADOPT_BY_TAG, CLUSTER_TAG, NAME_TAG, NAMESPACE_TAG};
use serde_json::Value;

const SINGLE_TENANT: &str = "deploy/iam/single-tenant.json";
const TENANT_ROLE: &str = "deploy/iam/tenant-role.json";
const CONTROLLER: &str = "deploy/iam/controller.json";
const TENANT_TRUST: &str = "deploy/iam/tenant-trust.json";
const CI: &str = "deploy/iam/ci.json";

/// The IAM actions the adapters call, read from the source: every `client.<operation>()`
/// of an official SDK client, attributed to the service of the adapter it appears in.
fn actions_in_code() -> BTreeSet<String> {
    let call = regex::Regex::new(r"client\s*\.\s*([a-z_0-9]+)\(\)").unwrap();
    let mut out = BTreeSet::new();
    // One adapter file per service; InvokeEndpoint is authorized as a SageMaker action.
    for (file, service) in [
        ("src/aws/sdk_endpoints.rs", "sagemaker"),
        ("src/aws/sdk_components.rs", "sagemaker"),
        ("src/aws/registry.rs", "sagemaker"),
        ("src/aws/runtime.rs", "sagemaker"),
        ("src/aws/scaling.rs", "application-autoscaling"),
        ("src/aws/alarms.rs", "cloudwatch"),
        ("src/aws/s3.rs", "s3"),
        ("src/aws/s3/copy.rs", "s3"),
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
                    // S3 authorizes multipart parts, copies (their source as GetObject, which
                    // the artifact reads already need) and HEAD as PutObject / GetObject.
                    (
                        "s3",
                        "create_multipart_upload"
                        | "upload_part"
                        | "complete_multipart_upload"
                        | "copy_object"
                        | "upload_part_copy",
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
const REGISTER_ONLY: [&str; 3] = [
    "sagemaker:CreateModelPackage",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackageGroup",
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

/// The actions the Allow statements grant (Deny statements only take away).
fn policy_actions(statements: &[Value]) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| list(&s["Action"]))
        .collect()
}

/// No NotAction or NotResource, no wildcard action; Allow statements everywhere, and Deny
/// statements only where `denies` says so, each taking away only what the file grants.
fn well_formed(path: &str, statements: &[Value], denies: bool) {
    for s in statements {
        let effect = s["Effect"].as_str().unwrap_or_default();
        assert!(
            effect == "Allow" || (denies && effect == "Deny"),
            "{path}: {effect} statement"
        );
        assert!(
            s["NotAction"].is_null() && s["NotResource"].is_null(),
            "{path}: NotAction/NotResource"
        );
        for a in list(&s["Action"]) {
            assert!(!a.contains('*'), "{path}: wildcard action {a}");
        }
    }
    let granted = policy_actions(statements);
    for s in statements.iter().filter(|s| s["Effect"] == "Deny") {
        for a in list(&s["Action"]) {
            assert!(
                granted.contains(&a),
                "{path}: denies {a}, which it never grants"
            );
        }
    }
}

#[test]
fn iam_policies_grant_exactly_the_calls_the_code_makes() {
    let code = actions_in_code();
    let controller = policy(SINGLE_TENANT);
    let tenant = policy(TENANT_ROLE);
    let ci = policy(CI);
    well_formed(SINGLE_TENANT, &controller, false);
    well_formed(CI, &ci, false);
    well_formed(TENANT_ROLE, &tenant, true);
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
    // A tenant session makes the same calls as the single-tenant controller, except that it
    // never assumes another role: the controller's own role did that to get the session.
    let expected_tenant: BTreeSet<String> = expected_controller
        .iter()
        .filter(|a| *a != "sts:AssumeRole")
        .cloned()
        .collect();
    assert_eq!(policy_actions(&tenant), expected_tenant, "{TENANT_ROLE}");
}

/// In multi-tenant mode the controller's own role assumes tenant roles (under the IAM path
/// `/sagemaker-rollout-tenant/`) with the session tags the code sends, and nothing else; the
/// trust policy template admits only that.
#[test]
fn the_controller_role_only_assumes_tenant_roles_with_the_tenants_session_tags() {
    let controller = policy(CONTROLLER);
    well_formed(CONTROLLER, &controller, false);
    assert_eq!(
        policy_actions(&controller),
        BTreeSet::from(
            ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"].map(str::to_owned)
        )
    );
    let keys: BTreeSet<String> = [NAMESPACE_TAG, NAME_TAG, CLUSTER_TAG]
        .map(str::to_owned)
        .into();
    for s in &controller {
        for r in list(&s["Resource"]) {
            assert!(
                r.starts_with("arn:aws:iam::*:role/sagemaker-rollout-tenant/"),
                "{CONTROLLER}: {r}"
            );
        }
    }
    for s in statements_granting(&controller, "sts:AssumeRole")
        .into_iter()
        .chain(statements_granting(&controller, "sts:TagSession"))
    {
        let c = &s["Condition"];
        assert_eq!(
            c["Null"][format!("aws:RequestTag/{NAMESPACE_TAG}")],
            "false",
            "{CONTROLLER}: the namespace session tag is required"
        );
        let allowed: BTreeSet<String> = list(&c["ForAllValues:StringEquals"]["aws:TagKeys"])
            .into_iter()
            .collect();
        assert_eq!(
            allowed, keys,
            "{CONTROLLER}: the session tag keys the code sends"
        );
    }
    let trust = policy(TENANT_TRUST);
    for s in &trust {
        assert_eq!(s["Effect"], "Allow");
        assert!(
            s["Principal"]["AWS"].is_string(),
            "{TENANT_TRUST}: one principal"
        );
        let actions = list(&s["Action"]);
        if actions.iter().any(|a| a == "sts:TagSession") {
            let allowed: BTreeSet<String> =
                list(&s["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"])
                    .into_iter()
                    .collect();
            assert_eq!(allowed, keys, "{TENANT_TRUST}");
        }
    }
    let trusted: BTreeSet<String> = trust.iter().flat_map(|s| list(&s["Action"])).collect();
    assert_eq!(trusted, policy_actions(&controller), "{TENANT_TRUST}");
}

fn statements_granting<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| list(&s["Action"]).iter().any(|a| a == action))
        .collect()
}

/// Every statement of `statements` granting `action` (Allow statements only).
fn allows<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements_granting(statements, action)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect()
}

#[test]
fn iam_policy_conditions_scope_role_passing_linked_roles_and_mutations() {
    let single = policy(SINGLE_TENANT);
    let tenant = policy(TENANT_ROLE);
    for (path, p) in [(SINGLE_TENANT, &single), (TENANT_ROLE, &tenant)] {
        for s in allows(p, "iam:PassRole") {
            assert_eq!(
                s["Condition"]["StringEquals"]["iam:PassedToService"], "sagemaker.amazonaws.com",
                "{path}"
            );
            for r in list(&s["Resource"]) {
                assert!(
                    r.starts_with("arn:aws:iam::*:role/sagemaker-rollout/"),
                    "{path}: PassRole only under the path /sagemaker-rollout/: {r}"
                );
            }
        }
        for s in allows(p, "iam:CreateServiceLinkedRole") {
            assert_eq!(
                s["Condition"]["StringEquals"]["iam:AWSServiceName"],
                "sagemaker.application-autoscaling.amazonaws.com",
                "{path}"
            );
        }
        for action in [
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:DeregisterScalableTarget",
        ] {
            for s in allows(p, action) {
                let eq = &s["Condition"]["StringEquals"];
                assert_eq!(
                    eq["application-autoscaling:service-namespace"], "sagemaker",
                    "{path}"
                );
                // Instances, a serverless variant's provisioned concurrency (SM-78), or an
                // inference component's copies (SM-80).
                assert_eq!(
                    eq["application-autoscaling:scalable-dimension"],
                    serde_json::json!([
                        "sagemaker:variant:DesiredInstanceCount",
                        "sagemaker:variant:DesiredProvisionedConcurrency",
                        "sagemaker:inference-component:DesiredCopyCount"
                    ]),
                    "{path}"
                );
            }
        }
        for action in ["s3:GetObject", "s3:PutObject"] {
            for s in allows(p, action) {
                assert_eq!(
                    s["Condition"]["StringEquals"]["s3:ResourceAccount"], "${aws:PrincipalAccount}",
                    "{path}: {action} only in the account's own buckets"
                );
                assert!(
                    !list(&s["Resource"])
                        .iter()
                        .any(|r| r.starts_with("arn:aws:s3:::*")),
                    "{path}: {action} on any bucket"
                );
            }
        }
        for s in allows(p, "kms:Decrypt") {
            assert_eq!(
                s["Condition"]["StringLike"]["kms:ViaService"], "s3.*.amazonaws.com",
                "{path}"
            );
        }
    }
    // Endpoints, configs, models and inference components: created only with our tag, changed
    // only when tagged.
    let mutations = [
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateModel",
        "CreateInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
        "UpdateEndpoint",
        "UpdateEndpointWeightsAndCapacities",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
        "DeleteTags",
        "AddTags",
        "InvokeEndpoint",
    ];
    for action in mutations {
        let granting = allows(&single, &format!("sagemaker:{action}"));
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
    // The tenant role: the same, and the namespace tag (on the resource, in the request, or
    // the administrator's adopt-by offer) equal to the session's — or, for the endpoint an
    // inference component is placed on, the administrator's hosts tag listing the session's
    // namespace between colons.
    let session = format!("${{aws:PrincipalTag/{NAMESPACE_TAG}}}");
    let listed = format!("*:{session}:*");
    for action in mutations {
        let granting = allows(&tenant, &format!("sagemaker:{action}"));
        assert!(!granting.is_empty(), "{TENANT_ROLE}: {action}");
        for s in granting {
            let eq = &s["Condition"]["StringEquals"];
            let like = &s["Condition"]["StringLike"];
            let scoped = [
                format!("aws:ResourceTag/{NAMESPACE_TAG}"),
                format!("aws:RequestTag/{NAMESPACE_TAG}"),
                format!("aws:ResourceTag/{ADOPT_BY_TAG}"),
            ]
            .iter()
            .any(|k| eq[k.as_str()] == session.as_str())
                || like[format!("aws:ResourceTag/{HOSTS_KEY}").as_str()] == listed.as_str();
            assert!(
                scoped,
                "{TENANT_ROLE}: {action} must compare a namespace tag with the session's"
            );
            assert!(
                !list(&s["Resource"]).iter().any(|r| r == "*"),
                "{TENANT_ROLE}: {action} on *"
            );
        }
    }
    // The tenant can never drop the tags that say whose a resource is.
    let deletes_guarded = tenant.iter().any(|s| {
        s["Effect"] == "Deny"
            && list(&s["Action"])
                .iter()
                .any(|a| a == "sagemaker:DeleteTags")
            && {
                let keys = list(&s["Condition"]["ForAnyValue:StringEquals"]["aws:TagKeys"]);
                [NAMESPACE_TAG, "managed-by", ADOPT_BY_TAG, HOSTS_KEY]
                    .iter()
                    .all(|k| keys.iter().any(|x| x.as_str() == *k))
            }
    });
    assert!(
        deletes_guarded,
        "{TENANT_ROLE}: DeleteTags of the ownership tags is denied"
    );
    // ... nor set the administrator's tags: the adoption offer and the endpoints' hosts.
    for key in [ADOPT_BY_TAG, HOSTS_KEY] {
        for action in ["sagemaker:AddTags", "sagemaker:CreateEndpoint"] {
            let denied = tenant.iter().any(|s| {
                s["Effect"] == "Deny"
                    && list(&s["Action"]).iter().any(|a| a == action)
                    && list(&s["Condition"]["ForAnyValue:StringEquals"]["aws:TagKeys"])
                        .iter()
                        .any(|k| k == key)
            });
            assert!(denied, "{TENANT_ROLE}: {action} setting {key} is denied");
        }
    }
    // CreateInferenceComponent is authorized on the endpoint and on the new component: a
    // statement on endpoints grants that action alone (never another change to a shared
    // endpoint), and the component's own statements require the session's tags.
    let placing = allows(&tenant, "sagemaker:CreateInferenceComponent");
    let on = |s: &Value, kind: &str| {
        list(&s["Resource"])
            .iter()
            .any(|r| r.contains(&format!(":{kind}/")))
    };
    assert!(placing.iter().any(|&s| on(s, "endpoint")), "{TENANT_ROLE}");
    assert!(
        placing.iter().any(|&s| on(s, "inference-component")),
        "{TENANT_ROLE}"
    );
    for s in placing.iter().copied() {
        if on(s, "endpoint") {
            assert_eq!(
                list(&s["Action"]),
                ["sagemaker:CreateInferenceComponent"],
                "{TENANT_ROLE}: a statement placing components on endpoints grants nothing else"
            );
        }
        if on(s, "inference-component") {
            let eq = &s["Condition"]["StringEquals"];
            assert_eq!(
                eq[format!("aws:RequestTag/{NAMESPACE_TAG}").as_str()],
                session.as_str(),
                "{TENANT_ROLE}: a component is created with the session's namespace"
            );
            assert_eq!(
                eq["aws:RequestTag/managed-by"], MANAGED_BY,
                "{TENANT_ROLE}: a component is created with managed-by"
            );
        }
    }
    // Alarm writes: our own alarms (current and legacy names) and the target-tracking
    // alarms Application Auto Scaling creates for endpoint variants, nothing else.
    for (path, p) in [(SINGLE_TENANT, &single), (TENANT_ROLE, &tenant)] {
        let mut alarm_resources: Vec<String> = allows(p, "cloudwatch:PutMetricAlarm")
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
            ],
            "{path}"
        );
    }
    // CI registers versions only as PendingManualApproval.
    let ci = policy(CI);
    for s in allows(&ci, "sagemaker:CreateModelPackage") {
        assert_eq!(
            s["Condition"]["StringEquals"]["sagemaker:ModelApprovalStatus"],
            "PendingManualApproval"
        );
        assert!(
            !list(&s["Resource"])
                .iter()
                .any(|r| r.ends_with("model-package/*"))
        );
    }
}
