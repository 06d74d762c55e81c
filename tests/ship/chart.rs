//! What a platform team installs: the Helm chart and the kustomize base (rendered, linted,
//! validated against the Kubernetes schemas, RBAC checked). Needs the tools `scripts/tools.sh` installs
//! (helm, kubectl, kubernetes-validate); `bash scripts/test.sh` runs it first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const CRD: &str = "crds/modeldeployments.sagemaker.mlops.dev.yaml";
const POLICY_CRD: &str = "crds/deploymentpolicies.sagemaker.mlops.dev.yaml";
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

/// The image every rendering names (the chart has no default: none is published).
const IMAGE: &str = "image.repository=registry.example.com/ml-platform/sagemaker-rollout";

fn template(args: &[&str]) -> String {
    let mut all = vec![
        "template",
        "sr",
        CHART,
        "--namespace",
        "sagemaker-rollout-system",
        "--set",
        IMAGE,
    ];
    all.extend_from_slice(args);
    run(&tool("helm"), &all)
}

#[test]
fn chart_and_kustomize_crds_are_byte_copies_of_the_generated_one() {
    for (crd, copies) in [
        (
            CRD,
            [
                format!("{CHART}/crds/modeldeployments.sagemaker.mlops.dev.yaml"),
                "deploy/base/crd.yaml".to_owned(),
            ],
        ),
        (
            POLICY_CRD,
            [
                format!("{CHART}/crds/deploymentpolicies.sagemaker.mlops.dev.yaml"),
                "deploy/base/policy-crd.yaml".to_owned(),
            ],
        ),
    ] {
        let generated = std::fs::read(crd).unwrap();
        for copy in copies {
            assert!(
                std::fs::read(&copy).unwrap() == generated,
                "{copy} drifted from {crd}: cp {crd} {copy}"
            );
        }
    }
}

const VALUE_SETS: [&[&str]; 5] = [
    &[],
    &[
        "--set",
        "aws.irsaRoleArn=arn:aws:iam::123456789012:role/sagemaker-rollout",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "oncall.groups={sre,ml-oncall}",
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
    &[
        "--set",
        "controller.shards={eu,batch}",
        "--set",
        "networkPolicy.enabled=true",
    ],
];

#[test]
fn helm_lint_and_template_are_clean_and_validate_for_every_value_set() {
    let helm = tool("helm");
    for set in VALUE_SETS {
        let mut lint = vec!["lint", "--strict", CHART, "--set", IMAGE];
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

/// Reading ModelDeployments and their Events, patching the spec's gates; nothing else.
fn oncall_grants() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for v in ["get", "list", "watch", "patch"] {
        out.insert((
            "sagemaker.mlops.dev".into(),
            "modeldeployments".into(),
            v.into(),
        ));
    }
    for v in ["get", "list", "watch"] {
        out.insert(("events.k8s.io".into(), "events".into(), v.into()));
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
    // The on-call role is for people (bound by the cluster's admins), never the controller's.
    let (oncall, controller_roles): (Vec<&Value>, Vec<&Value>) = of_kind(d, "ClusterRole")
        .into_iter()
        .partition(|r| r["metadata"]["name"] == "sagemaker-rollout-oncall");
    // Cluster-scoped reads only: policies and namespaces (their labels, kube-system's UID).
    let (tenancy, controller_roles): (Vec<&Value>, Vec<&Value>) =
        controller_roles.into_iter().partition(|r| {
            r["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-tenancy"))
        });
    assert_eq!(tenancy.len(), 1, "the tenancy ClusterRole is installed");
    let mut tenancy_grants = BTreeSet::new();
    for v in ["get", "list", "watch"] {
        tenancy_grants.insert((String::new(), "namespaces".to_owned(), v.to_owned()));
        tenancy_grants.insert((
            "sagemaker.mlops.dev".to_owned(),
            "deploymentpolicies".to_owned(),
            v.to_owned(),
        ));
    }
    assert_eq!(grants(&tenancy[0]["rules"]), tenancy_grants);
    assert_eq!(oncall.len(), 1, "the on-call ClusterRole is installed");
    assert_eq!(grants(&oncall[0]["rules"]), oncall_grants());
    let bound: String = of_kind(d, "ClusterRoleBinding")
        .iter()
        .chain(of_kind(d, "RoleBinding").iter())
        .map(|b| b["roleRef"]["name"].to_string())
        .collect();
    assert!(
        !bound.contains("oncall"),
        "the controller is not bound to the on-call role"
    );
    if watched.is_empty() {
        let cr = controller_roles;
        assert_eq!(cr.len(), 1);
        assert_eq!(
            grants(&cr[0]["rules"]),
            expected_grants(),
            "nothing else, cluster-wide"
        );
        assert!(md_roles.is_empty());
    } else {
        assert!(
            controller_roles.is_empty(),
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

    // One replica still elects a leader: a rolling upgrade runs the new pod beside the old.
    let single = docs(&template(VALUE_SETS[3]));
    let deploy = of_kind(&single, "Deployment")[0];
    assert_eq!(env(deploy)["LEADER_ELECTION"]["value"], "true");
    assert_eq!(deploy["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
    assert!(of_kind(&single, "PodDisruptionBudget").is_empty());
    // Without leader election two pods must never run: Recreate, not a rolling update.
    let unelected = docs(&template(&[
        "--set",
        "replicaCount=1",
        "--set",
        "leaderElection.enabled=false",
    ]));
    let deploy = of_kind(&unelected, "Deployment")[0];
    assert_eq!(env(deploy)["LEADER_ELECTION"]["value"], "false");
    assert_eq!(deploy["spec"]["strategy"], json!({"type": "Recreate"}));
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

/// `controller.shards`: one more Deployment (and PodDisruptionBudget) per shard, each with
/// `SHARD` set and a selector no other Deployment's pods match; the default shard keeps the
/// release's selector (an upgrade keeps its Deployment); the metrics Service selects them all.
#[test]
fn chart_renders_one_deployment_per_shard_with_disjoint_selectors() {
    let d = docs(&template(&["--set", "controller.shards={eu,batch}"]));
    let deploys = of_kind(&d, "Deployment");
    let names: Vec<&str> = deploys
        .iter()
        .map(|x| x["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "sr-sagemaker-rollout",
            "sr-sagemaker-rollout-eu",
            "sr-sagemaker-rollout-batch"
        ]
    );
    let shards: Vec<Option<Value>> = deploys
        .iter()
        .map(|x| env(x).get("SHARD").map(|e| e["value"].clone()))
        .collect();
    assert_eq!(shards, [None, Some("eu".into()), Some("batch".into())]);
    let plain = docs(&template(&[]));
    assert_eq!(
        deploys[0]["spec"]["selector"],
        of_kind(&plain, "Deployment")[0]["spec"]["selector"],
        "the default shard's selector is unchanged"
    );
    let labels = |x: &Value| x["spec"]["template"]["metadata"]["labels"].clone();
    let selects = |sel: &Value, labels: &Value| {
        sel["matchLabels"]
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| labels[k] == *v)
    };
    for (i, a) in deploys.iter().enumerate() {
        for (j, b) in deploys.iter().enumerate() {
            assert_eq!(
                selects(&a["spec"]["selector"], &labels(b)),
                i == j,
                "{} selecting the pods of {}",
                names[i],
                names[j]
            );
        }
    }
    let service = of_kind(&d, "Service")[0];
    for x in &deploys {
        let sel = json!({"matchLabels": service["spec"]["selector"].clone()});
        assert!(
            selects(&sel, &labels(x)),
            "metrics Service selects every shard"
        );
    }
    assert_eq!(of_kind(&d, "PodDisruptionBudget").len(), 3);
}

/// The on-call policy (`oncall.groups`): its CEL, evaluated with kube's CEL engine as the API
/// server would, lets the on-call groups change the rollout gates and nothing else, and does
/// not apply to anyone else.
#[test]
fn the_oncall_admission_policy_lets_on_call_change_only_the_gates() {
    use kube::core::cel::{AdmissionRequest, VapEvaluator, VapExpression};
    assert!(
        of_kind(&docs(&template(&[])), "ValidatingAdmissionPolicy").is_empty(),
        "no policy without groups"
    );
    let rendered = docs(&template(&["--set", "oncall.groups={sre,ml-oncall}"]));
    let policy = of_kind(&rendered, "ValidatingAdmissionPolicy")[0].clone();
    let binding = of_kind(&rendered, "ValidatingAdmissionPolicyBinding")[0];
    assert_eq!(binding["spec"]["policyName"], policy["metadata"]["name"]);
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
    let expression = |v: &Value| VapExpression {
        expression: v["expression"].as_str().unwrap().to_owned(),
        message: v["message"].as_str().map(str::to_owned),
        message_expression: None,
    };
    let validations: Vec<VapExpression> = policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(expression)
        .collect();
    let matches = expression(&policy["spec"]["matchConditions"][0]);
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let mut old: Value = serde_saphyr::from_str(&text).unwrap();
    old["metadata"]["finalizers"] = json!(["sagemaker.mlops.dev/aws-resources"]);
    old["metadata"]["labels"] = json!({"team": "growth"});
    let request = |groups: &[&str]| AdmissionRequest {
        operation: "UPDATE".into(),
        username: "someone".into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        name: "churn".into(),
        namespace: "ml-prod".into(),
        ..Default::default()
    };
    let judge = |new: &Value, groups: &[&str]| -> (bool, Vec<String>) {
        let e = VapEvaluator::builder()
            .object(new.clone())
            .old_object(old.clone())
            .request(request(groups))
            .build();
        let applies = e.evaluate(std::slice::from_ref(&matches))[0].passed;
        let refused = e
            .evaluate(&validations)
            .into_iter()
            .filter(|r| !r.passed)
            .map(|r| r.message.unwrap_or_default())
            .collect();
        (applies, refused)
    };
    type Edit = fn(&mut Value);
    let allowed: [(&str, Edit); 5] = [
        ("pause", |v| v["spec"]["rollout"]["paused"] = json!(true)),
        ("promote", |v| v["spec"]["rollout"]["promote"] = json!(true)),
        ("abort", |v| v["spec"]["rollout"]["abort"] = json!(true)),
        ("retry", |v| v["spec"]["rollout"]["retry"] = json!(1)),
        ("nothing", |_| {}),
    ];
    for (what, edit) in allowed {
        let mut new = old.clone();
        edit(&mut new);
        let (applies, refused) = judge(&new, &["sre", "system:authenticated"]);
        assert!(applies, "{what}: the policy applies to on-call");
        assert!(refused.is_empty(), "{what} is a gate: {refused:?}");
    }
    let denied: [(&str, Edit); 8] = [
        ("adopt", |v| v["spec"]["adopt"] = json!(true)),
        ("assumeRoleArn", |v| {
            v["spec"]["assumeRoleArn"] = json!("arn:aws:iam::210987654321:role/other")
        }),
        ("deletionPolicy", |v| {
            v["spec"]["deletionPolicy"] = json!("Delete")
        }),
        ("endpointName", |v| v["spec"]["endpointName"] = json!("x")),
        ("strategy", |v| {
            v["spec"]["rollout"]["strategy"] = json!("Direct")
        }),
        ("canary steps", |v| {
            v["spec"]["rollout"]["canary"]["steps"][0]["weight"] = json!(40)
        }),
        ("a shard label", |v| {
            v["metadata"]["labels"]["sagemaker.mlops.dev/shard"] = json!("b")
        }),
        ("the finalizer", |v| v["metadata"]["finalizers"] = json!([])),
    ];
    for (what, edit) in denied {
        let mut new = old.clone();
        edit(&mut new);
        let (applies, refused) = judge(&new, &["ml-oncall"]);
        assert!(applies, "{what}: the policy applies to on-call");
        assert!(!refused.is_empty(), "on-call may not change {what}");
        let (applies, _) = judge(&new, &["ml-platform-admins"]);
        assert!(!applies, "{what}: others are not limited by this policy");
    }
}

/// No image is published for this chart, so it has no default that could be mistaken for one:
/// installing without `image.repository` fails at once, saying what to do.
#[test]
fn the_chart_refuses_to_render_without_an_image_and_says_how_to_get_one() {
    let out = Command::new(tool("helm"))
        .args(["template", "sr", CHART])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("image.repository is required") && err.contains("Dockerfile"),
        "{err}"
    );
    let rendered = docs(&template(&["--set", "image.tag=1.2.3"]));
    let deploy = of_kind(&rendered, "Deployment")[0];
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/ml-platform/sagemaker-rollout:1.2.3"
    );
}

/// A one-team cluster installs with one value: `tenancy.mode=single` runs the controller
/// without DeploymentPolicies (and without reading them); the default is multi-tenant, with
/// the cluster id passed on when set.
#[test]
fn one_value_switches_the_chart_to_single_tenant_mode() {
    let tenancy_rules = |d: &[Value]| -> Vec<String> {
        of_kind(d, "ClusterRole")
            .into_iter()
            .filter(|r| {
                r["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-tenancy"))
            })
            .flat_map(|r| r["rules"].as_array().cloned().unwrap_or_default())
            .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let multi = docs(&template(&["--set", "tenancy.clusterId=prod-eu-1"]));
    let e = env(of_kind(&multi, "Deployment")[0]);
    assert_eq!(e["TENANCY"]["value"], "multi");
    assert_eq!(e["CLUSTER_ID"]["value"], "prod-eu-1");
    assert_eq!(tenancy_rules(&multi), ["namespaces", "deploymentpolicies"]);
    let single = docs(&template(&["--set", "tenancy.mode=single"]));
    let e = env(of_kind(&single, "Deployment")[0]);
    assert_eq!(e["TENANCY"]["value"], "single");
    assert!(
        !e.contains_key("CLUSTER_ID"),
        "kube-system's UID by default"
    );
    assert_eq!(
        tenancy_rules(&single),
        ["namespaces"],
        "no DeploymentPolicy read"
    );
    let refused = Command::new(tool("helm"))
        .args([
            "template",
            "sr",
            CHART,
            "--set",
            IMAGE,
            "--set",
            "tenancy.mode=shared",
        ])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "the schema refuses an unknown mode"
    );
}
