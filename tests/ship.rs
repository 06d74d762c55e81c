//! What a platform team installs: the Helm chart, the kustomize base, the IAM policies, the
//! Argo CD health check and the Dockerfile. Needs the tools `scripts/tools.sh` installs
//! (helm, kubectl, kubernetes-validate); `bash scripts/test.sh` runs it first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use sagemaker_rollout::plan::desired::MANAGED_BY;
use serde_json::{Value, json};

const CRD: &str = "crds/modeldeployments.sagemaker.mlops.dev.yaml";
const CHART: &str = "charts/sagemaker-rollout";

fn tool(name: &str) -> String {
    let local = format!(".tools/bin/{name}");
    assert!(
        Path::new(&local).exists(),
        "{local} is missing: run `bash scripts/tools.sh` (scripts/test.sh does)"
    );
    local
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Validates rendered manifests against the Kubernetes 1.37 OpenAPI schemas (strict: no
/// unknown field). Kinds without a bundled schema (ServiceMonitor) are reported as warnings
/// by the tool and checked structurally by the tests below.
fn kubernetes_validate(yaml: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{what}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(".venv-validate/bin/kubernetes-validate")
        .args(["--strict", "--quiet", "--no-warn"])
        .arg(&file)
        .output()
        .expect(".venv-validate is missing: run `bash scripts/tools.sh`");
    assert!(
        out.status.success(),
        "{what} does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn template(args: &[&str]) -> String {
    let mut all = vec![
        "template",
        "sr",
        CHART,
        "--namespace",
        "sagemaker-rollout-system",
    ];
    all.extend_from_slice(args);
    run(&tool("helm"), &all)
}

#[test]
fn chart_and_kustomize_crds_are_byte_copies_of_the_generated_one() {
    let generated = std::fs::read(CRD).unwrap();
    for copy in [
        format!("{CHART}/crds/modeldeployments.sagemaker.mlops.dev.yaml"),
        "deploy/base/crd.yaml".to_owned(),
    ] {
        assert!(
            std::fs::read(&copy).unwrap() == generated,
            "{copy} drifted from {CRD}: cp {CRD} {copy}"
        );
    }
}

const VALUE_SETS: [&[&str]; 4] = [
    &[],
    &[
        "--set",
        "aws.irsaRoleArn=arn:aws:iam::123456789012:role/sagemaker-rollout",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
    ],
    &[
        "--set",
        "controller.watchNamespaces={ml-prod,ml-staging}",
        "--set",
        "aws.podIdentity=true",
    ],
    &[
        "--set",
        "replicaCount=1",
        "--set",
        "controller.logFormat=text",
    ],
];

#[test]
fn helm_lint_and_template_are_clean_and_validate_for_every_value_set() {
    let helm = tool("helm");
    for set in VALUE_SETS {
        let mut lint = vec!["lint", "--strict", CHART];
        lint.extend_from_slice(set);
        let out = run(&helm, &lint);
        assert!(out.contains("0 chart(s) failed"), "{out}");
        let rendered = template(set);
        kubernetes_validate(&rendered, "chart");
    }
}

#[test]
fn values_schema_rejects_bad_values_with_the_field_named() {
    for (set, field) in [
        ("replicaCount=0", "replicaCount"),
        ("controller.logFormat=xml", "logFormat"),
        ("aws.irsaRoleArn=my-role", "irsaRoleArn"),
        ("controller.pollInterval=soon", "pollInterval"),
    ] {
        let out = Command::new(tool("helm"))
            .args(["template", "sr", CHART, "--set", set])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{set} was accepted");
        assert!(err.contains(field), "{set}: {err}");
    }
}

fn restricted(pod: &Value) {
    let spec = &pod["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let containers = spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(sc["capabilities"]["add"].is_null());
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for k in ["requests", "limits"] {
        for r in ["cpu", "memory"] {
            assert!(c["resources"][k][r].is_string(), "resources.{k}.{r}");
        }
    }
    assert!(spec["hostNetwork"].is_null() && spec["hostPID"].is_null());
    assert!(spec["volumes"].is_null(), "no hostPath or other volumes");
}

fn env(pod: &Value) -> BTreeMap<String, Value> {
    pod["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// (apiGroup, resource, verb) triples a set of RBAC rules grants.
fn grants(rules: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules.as_array().unwrap() {
        assert!(r["resourceNames"].is_null() || r["resourceNames"].is_array());
        for g in r["apiGroups"].as_array().unwrap() {
            for res in r["resources"].as_array().unwrap() {
                for v in r["verbs"].as_array().unwrap() {
                    let s = |x: &Value| x.as_str().unwrap().to_owned();
                    out.insert((s(g), s(res), s(v)));
                }
            }
        }
    }
    out
}

fn expected_grants() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let g = "sagemaker.mlops.dev";
    for v in ["get", "list", "watch", "patch", "update"] {
        out.insert((g.into(), "modeldeployments".into(), v.into()));
    }
    for sub in ["modeldeployments/status", "modeldeployments/finalizers"] {
        for v in ["get", "patch", "update"] {
            out.insert((g.into(), sub.into(), v.into()));
        }
    }
    for v in ["create", "patch"] {
        out.insert(("events.k8s.io".into(), "events".into(), v.into()));
    }
    out
}

fn lease_grants() -> BTreeSet<(String, String, String)> {
    ["get", "create", "update"]
        .iter()
        .map(|v| ("coordination.k8s.io".into(), "leases".into(), (*v).into()))
        .collect()
}

fn check_rbac(d: &[Value], namespace: &str, watched: &[&str]) {
    let leases: Vec<_> = of_kind(d, "Role")
        .into_iter()
        .filter(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap()
                .ends_with("leader-election")
        })
        .collect();
    assert_eq!(leases.len(), 1);
    assert_eq!(
        leases[0]["metadata"]["namespace"], namespace,
        "leases in the release namespace only"
    );
    assert_eq!(grants(&leases[0]["rules"]), lease_grants());
    let md_roles: Vec<_> = of_kind(d, "Role")
        .into_iter()
        .filter(|r| {
            !r["metadata"]["name"]
                .as_str()
                .unwrap()
                .ends_with("leader-election")
        })
        .collect();
    if watched.is_empty() {
        let cr = of_kind(d, "ClusterRole");
        assert_eq!(cr.len(), 1);
        assert_eq!(
            grants(&cr[0]["rules"]),
            expected_grants(),
            "nothing else, cluster-wide"
        );
        assert!(md_roles.is_empty());
    } else {
        assert!(
            of_kind(d, "ClusterRole").is_empty(),
            "namespaced install needs no ClusterRole"
        );
        let namespaces: BTreeSet<_> = md_roles
            .iter()
            .map(|r| r["metadata"]["namespace"].as_str().unwrap())
            .collect();
        assert_eq!(namespaces, watched.iter().copied().collect());
        for r in md_roles {
            assert_eq!(grants(&r["rules"]), expected_grants());
        }
    }
    let all: String = d.iter().map(|x| x.to_string()).collect();
    for forbidden in ["\"secrets\"", "\"configmaps\"", "\"*\""] {
        assert!(
            !all.contains(forbidden),
            "RBAC must not mention {forbidden}"
        );
    }
}

#[test]
fn chart_renders_a_restricted_deployment_least_privilege_rbac_and_the_optional_extras() {
    let plain = docs(&template(&[]));
    let deploy = of_kind(&plain, "Deployment");
    assert_eq!(deploy.len(), 1);
    restricted(deploy[0]);
    assert_eq!(deploy[0]["spec"]["replicas"], 2);
    let e = env(deploy[0]);
    assert_eq!(
        e["LEADER_ELECTION"]["value"], "true",
        "two replicas elect a leader"
    );
    assert_eq!(
        e["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(e["WATCH_NAMESPACES"]["value"], "");
    check_rbac(&plain, "sagemaker-rollout-system", &[]);
    assert_eq!(of_kind(&plain, "Service").len(), 1);
    assert!(of_kind(&plain, "ServiceMonitor").is_empty());
    assert!(of_kind(&plain, "NetworkPolicy").is_empty());
    let sa = of_kind(&plain, "ServiceAccount")[0];
    assert!(sa["metadata"]["annotations"].is_null());

    let extras = docs(&template(VALUE_SETS[1]));
    let sa = of_kind(&extras, "ServiceAccount")[0];
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/sagemaker-rollout"
    );
    let sm = of_kind(&extras, "ServiceMonitor");
    assert_eq!(sm.len(), 1);
    assert_eq!(sm[0]["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(sm[0]["spec"]["endpoints"][0]["port"], "http");
    let np = of_kind(&extras, "NetworkPolicy");
    assert_eq!(np.len(), 1);
    assert_eq!(np[0]["spec"]["policyTypes"], json!(["Ingress", "Egress"]));

    let namespaced = docs(&template(VALUE_SETS[2]));
    check_rbac(
        &namespaced,
        "sagemaker-rollout-system",
        &["ml-prod", "ml-staging"],
    );
    let e = env(of_kind(&namespaced, "Deployment")[0]);
    assert_eq!(e["WATCH_NAMESPACES"]["value"], "ml-prod,ml-staging");
    let sa = of_kind(&namespaced, "ServiceAccount")[0];
    assert_eq!(
        sa["metadata"]["labels"]["sagemaker.mlops.dev/aws-credentials"],
        "eks-pod-identity"
    );

    let single = docs(&template(VALUE_SETS[3]));
    assert_eq!(
        env(of_kind(&single, "Deployment")[0])["LEADER_ELECTION"]["value"],
        "false"
    );
    assert!(of_kind(&single, "PodDisruptionBudget").is_empty());
}

#[test]
fn kustomize_base_renders_validates_and_matches_the_chart() {
    let rendered = run(&tool("kubectl"), &["kustomize", "deploy/"]);
    kubernetes_validate(&rendered, "kustomize");
    let d = docs(&rendered);
    let kinds: BTreeSet<_> = d.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    for k in [
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ] {
        assert!(kinds.contains(k), "{k} missing");
    }
    let deploy = of_kind(&d, "Deployment")[0];
    restricted(deploy);
    assert_eq!(deploy["metadata"]["namespace"], "sagemaker-rollout-system");
    check_rbac(&d, "sagemaker-rollout-system", &[]);
    let ns = of_kind(&d, "Namespace")[0];
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn example_resources_cover_every_strategy_and_pass_the_checker() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let mut strategies = BTreeSet::new();
    for entry in std::fs::read_dir("deploy/examples").unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new(bin)
            .args(["check", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for d in docs(&text) {
            strategies.insert(
                d["spec"]["rollout"]["strategy"]
                    .as_str()
                    .unwrap_or("Direct")
                    .to_owned(),
            );
        }
    }
    let want: BTreeSet<String> = ["Direct", "Canary", "Linear", "BlueGreen", "Shadow"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(strategies, want);
}

// ---------------------------------------------------------------------------------------
// IAM

/// The IAM actions the adapters call, read from the source: every `client.<operation>()`
/// of an official SDK client, attributed to the service of the adapter it appears in.
fn actions_in_code() -> BTreeSet<String> {
    let call = regex::Regex::new(r"client\s*\.\s*([a-z_0-9]+)\(\)").unwrap();
    let mut out = BTreeSet::new();
    for file in [
        "src/aws/sdk_endpoints.rs",
        "src/aws/sdk_services.rs",
        "src/aws/registry.rs",
        "src/aws/s3.rs",
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        // Split at each `impl` so that operations in sdk_services.rs are attributed to the
        // runtime, autoscaling or CloudWatch client they belong to.
        let mut service = match file {
            "src/aws/s3.rs" => "s3",
            _ => "sagemaker",
        };
        for chunk in text.split("\nimpl ") {
            if chunk.starts_with("SdkRuntime") || chunk.contains("Invoker for SdkRuntime") {
                service = "sagemaker";
            } else if chunk.contains("SdkScaling") {
                service = "application-autoscaling";
            } else if chunk.contains("SdkAlarms") {
                service = "cloudwatch";
            }
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
/// in PutMetricAlarm (TagResource), tags in CreateModelPackage (AddTags, already granted
/// to the controller for its own tagging).
const IMPLIED: [&str; 3] = [
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
    "cloudwatch:TagResource",
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
    for s in statements_granting(&p, "cloudwatch:PutMetricAlarm") {
        assert_eq!(
            list(&s["Resource"]),
            ["arn:aws:cloudwatch:*:*:alarm:sagemaker-rollout-*"]
        );
    }
}

// ---------------------------------------------------------------------------------------
// Argo CD

const HEALTH: &str = "deploy/argocd/resource_customizations/sagemaker.mlops.dev/ModelDeployment";

fn argo_health(obj: &Value) -> (String, String) {
    use mlua::LuaSerdeExt;
    let lua = mlua::Lua::new();
    let script = std::fs::read_to_string(format!("{HEALTH}/health.lua")).unwrap();
    lua.globals()
        .set("obj", lua.to_value(obj).unwrap())
        .unwrap();
    let hs: mlua::Table = lua.load(&script).eval().unwrap();
    (hs.get("status").unwrap(), hs.get("message").unwrap())
}

#[test]
fn argo_cd_health_check_passes_its_resource_customizations_tests() {
    let tests: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(format!("{HEALTH}/health_test.yaml")).unwrap(),
    )
    .unwrap();
    let cases = tests["tests"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let input = format!("{HEALTH}/{}", case["inputPath"].as_str().unwrap());
        let obj: Value = serde_saphyr::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
        let (status, message) = argo_health(&obj);
        assert_eq!(status, case["healthStatus"]["status"], "{input}");
        assert_eq!(message, case["healthStatus"]["message"], "{input}");
    }
}

#[tokio::test]
async fn argo_cd_health_reads_real_controller_statuses() {
    use sagemaker_rollout::engine::simulate::{SimOptions, simulate};
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let md = sagemaker_rollout::api::document::load_yaml("canary", &text)
        .unwrap()
        .remove(0)
        .resource;
    for (scenario, want) in [
        ("", "Healthy"),
        (
            "events: [{at: 20m, alarm: churn-business-kpi, state: ALARM}]",
            "Degraded",
        ),
    ] {
        let options = SimOptions {
            scenario: sagemaker_rollout::sim::Scenario::parse(scenario).unwrap(),
            ..SimOptions::default()
        };
        let s = simulate(&md.spec, "ml-prod/churn", &options).await.unwrap();
        let mut status = serde_json::to_value(s.rest.status).unwrap();
        status["observedGeneration"] = json!(1);
        for c in status["conditions"].as_array_mut().unwrap() {
            c["observedGeneration"] = json!(1);
        }
        let obj =
            json!({"metadata": {"name": "churn", "generation": 1}, "spec": {}, "status": status});
        assert_eq!(argo_health(&obj).0, want, "{scenario}");
    }
}

// ---------------------------------------------------------------------------------------
// Dockerfile

#[test]
fn dockerfile_is_multi_stage_pinned_static_and_non_root() {
    let text = std::fs::read_to_string("Dockerfile").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage");
    for f in &froms {
        let image = f.split_whitespace().nth(1).unwrap();
        if image == "scratch" {
            continue;
        }
        let pinned = image.contains("@sha256:")
            || image.rsplit_once(':').is_some_and(|(_, tag)| {
                tag != "latest" && tag.chars().filter(|c| *c == '.').count() >= 2
            });
        assert!(
            pinned,
            "{image} is not pinned to an exact version or digest"
        );
    }
    let last = text.rsplit("\nFROM ").next().unwrap();
    let final_from = last.lines().next().unwrap();
    assert!(
        final_from.starts_with("scratch") || final_from.contains("distroless"),
        "final stage has no shell: {final_from}"
    );
    assert!(
        !last.contains("\nRUN "),
        "no RUN (hence no shell) in the final stage"
    );
    let copies: Vec<&str> = last.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(
        copies.len(),
        2,
        "only the binary and the CA bundle: {copies:?}"
    );
    assert!(copies.iter().any(|c| c.contains("ca-certificates.crt")));
    assert!(copies.iter().any(|c| c.contains("/sagemaker-rollout")));
    let user = last
        .lines()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    let uid = user[5..].split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "numeric non-root USER: {user}"
    );
    // The dependency layer is built before the sources are copied.
    let deps = text
        .find("COPY Cargo.toml Cargo.lock")
        .expect("manifest copied first");
    let src = text.find("COPY src").expect("sources copied");
    let first_build = text.find("cargo build").unwrap();
    assert!(
        deps < first_build && first_build < src,
        "cached dependency layer"
    );
    assert!(text.contains("alpine"), "musl builder for a static binary");
    let ignore = std::fs::read_to_string(".dockerignore").unwrap();
    assert!(ignore.lines().any(|l| l == "target"));
}
