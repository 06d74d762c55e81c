//! What a platform team installs: the Helm chart and the kustomize base (rendered, linted,
//! validated against the Kubernetes schemas, RBAC checked). Needs the tools `scripts/tools.sh` installs
//! (helm, kubectl, kubernetes-validate); `bash scripts/test.sh` runs it first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const CRD: &str = "crds/modeldeployments.sagemaker.mlops.dev.yaml";
const POLICY_CRD: &str = "crds/deploymentpolicies.sagemaker.mlops.dev.yaml";
pub(super) const CHART: &str = "charts/sagemaker-rollout";

pub(super) fn tool(name: &str) -> String {
    let local = format!(".tools/bin/{name}");
    assert!(
        Path::new(&local).exists(),
        "{local} is missing: run `bash scripts/tools.sh` (scripts/test.sh does)"
    );
    local
}

pub(super) fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(super) fn docs(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

pub(super) fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Validates rendered manifests against the Kubernetes 1.37 OpenAPI schemas (strict: no
/// unknown field). Kinds without a bundled schema (ServiceMonitor) are reported as warnings
/// by the tool and checked structurally by the tests below.
pub(super) fn kubernetes_validate(yaml: &str, what: &str) {
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
pub(super) const IMAGE: &str =
    "image.repository=registry.example.com/ml-platform/sagemaker-rollout";

/// `helm template` of the chart as release `release` with the image set, plus `args`.
fn template_args<'a>(release: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "template",
        release,
        CHART,
        "--namespace",
        "sagemaker-rollout-system",
        "--set",
        IMAGE,
    ];
    all.extend_from_slice(args);
    all
}

pub(super) fn template(args: &[&str]) -> String {
    run(&tool("helm"), &template_args("sr", args))
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
    // One volume: a small emptyDir for the validation journal and the verdicts (it outlives
    // a container restart, not the pod), no hostPath or anything else.
    assert_eq!(
        spec["volumes"],
        json!([{"name": "run", "emptyDir": {"sizeLimit": "8Mi"}}])
    );
    let journal = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "VALIDATION_JOURNAL")
        .expect("the validation journal is set");
    let mount = c["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert!(journal["value"].as_str().unwrap().starts_with(mount));
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
    // The requests (promote, abort, retry, undo); the status policy keeps them to those.
    out.insert((
        "sagemaker.mlops.dev".into(),
        "modeldeployments/status".into(),
        "patch".into(),
    ));
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

/// A ClusterRole the chart aggregates into the built-in `view`.
fn aggregated_to_view(role: &Value) -> bool {
    role["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
}

/// Reading ModelDeployments and DeploymentPolicies; nothing else.
fn view_grants() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for res in ["modeldeployments", "deploymentpolicies"] {
        for v in ["get", "list", "watch"] {
            out.insert(("sagemaker.mlops.dev".into(), res.into(), v.into()));
        }
    }
    out
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
    // The view-aggregated role is for people too: read-only, bound to nothing (at most one).
    let (view, cluster_roles): (Vec<&Value>, Vec<&Value>) = of_kind(d, "ClusterRole")
        .into_iter()
        .partition(|r| aggregated_to_view(r));
    assert!(view.len() <= 1);
    for v in &view {
        assert_eq!(grants(&v["rules"]), view_grants(), "read-only");
    }
    // The on-call role is for people (bound by the cluster's admins), never the controller's.
    let (oncall, controller_roles): (Vec<&Value>, Vec<&Value>) = cluster_roles
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
    // The on-call ClusterRole may patch status: the base ships the chart's status policy
    // (applied on its own), for its own service account, the same rules.
    let chart = docs(&run(
        &tool("helm"),
        &template_args("sagemaker-rollout", &[]),
    ));
    let policy = docs(&std::fs::read_to_string("deploy/base/status-policy.yaml").unwrap());
    kubernetes_validate(
        &std::fs::read_to_string("deploy/base/status-policy.yaml").unwrap(),
        "status-policy",
    );
    for kind in [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] {
        let ours = of_kind(&policy, kind)[0];
        let theirs = of_kind(&chart, kind)
            .into_iter()
            .find(|p| p["metadata"]["name"] == "sagemaker-rollout-status")
            .unwrap();
        assert_eq!(
            ours["spec"], theirs["spec"],
            "{kind}: the base and the chart agree"
        );
        assert!(
            ours["metadata"].get("namespace").is_none(),
            "{kind} is cluster-scoped"
        );
    }
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
    let want: BTreeSet<String> = [
        "Direct",
        "Canary",
        "Linear",
        "BlueGreen",
        "Rolling",
        "Shadow",
    ]
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

/// A ValidatingAdmissionPolicy's first match condition and its validations, as kube's CEL
/// engine takes them.
fn vap_expressions(
    policy: &Value,
) -> (
    kube::core::cel::VapExpression,
    Vec<kube::core::cel::VapExpression>,
) {
    let expression = |v: &Value| kube::core::cel::VapExpression {
        expression: v["expression"].as_str().unwrap().to_owned(),
        message: v["message"].as_str().map(str::to_owned),
        message_expression: None,
    };
    let validations = policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(expression)
        .collect();
    (
        expression(&policy["spec"]["matchConditions"][0]),
        validations,
    )
}

/// The on-call policy (`oncall.groups`): its CEL, evaluated with kube's CEL engine as the API
/// server would, lets the on-call groups change the rollout gates and nothing else, and does
/// not apply to anyone else.
#[test]
fn the_oncall_admission_policy_lets_on_call_change_only_the_gates() {
    use kube::core::cel::{AdmissionRequest, VapEvaluator};
    let oncall = |d: &[Value]| -> Vec<Value> {
        of_kind(d, "ValidatingAdmissionPolicy")
            .into_iter()
            .filter(|p| p["metadata"]["name"] == "sagemaker-rollout-oncall-gates")
            .cloned()
            .collect()
    };
    assert!(
        oncall(&docs(&template(&[]))).is_empty(),
        "no policy without groups"
    );
    let rendered = docs(&template(&["--set", "oncall.groups={sre,ml-oncall}"]));
    let policy = oncall(&rendered)[0].clone();
    let binding = of_kind(&rendered, "ValidatingAdmissionPolicyBinding")
        .into_iter()
        .find(|b| b["spec"]["policyName"] == policy["metadata"]["name"])
        .unwrap();
    assert_eq!(binding["spec"]["policyName"], policy["metadata"]["name"]);
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
    let (matches, validations) = vap_expressions(&policy);
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
    let allowed: [(&str, Edit); 3] = [
        ("pause", |v| v["spec"]["rollout"]["paused"] = json!(true)),
        ("resume", |v| v["spec"]["rollout"]["paused"] = json!(false)),
        ("nothing", |_| {}),
    ];
    for (what, edit) in allowed {
        let mut new = old.clone();
        edit(&mut new);
        let (applies, refused) = judge(&new, &["sre", "system:authenticated"]);
        assert!(applies, "{what}: the policy applies to on-call");
        assert!(refused.is_empty(), "{what} is a gate: {refused:?}");
    }
    let denied: [(&str, Edit); 9] = [
        ("the retry counter", |v| {
            v["spec"]["rollout"]["retry"] = json!(1)
        }),
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

/// The status policy (`statusGuard`, on by default): evaluated with kube's CEL engine as the
/// API server would, it lets anyone but the controller's service account change
/// `status.requests` of a ModelDeployment and nothing else of its status — not the target the
/// controller trusts, not the phase — and does not limit the controller.
#[test]
fn the_status_admission_policy_lets_others_write_only_the_requests() {
    use kube::core::cel::{AdmissionRequest, VapEvaluator};
    let rendered = docs(&template(&[]));
    let policy = of_kind(&rendered, "ValidatingAdmissionPolicy")
        .into_iter()
        .find(|p| p["metadata"]["name"] == "sr-sagemaker-rollout-status")
        .expect("the status policy by default")
        .clone();
    assert_eq!(
        policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"],
        json!(["modeldeployments/status"])
    );
    let off = docs(&template(&["--set", "statusGuard=false"]));
    assert!(
        of_kind(&off, "ValidatingAdmissionPolicy").is_empty(),
        "statusGuard=false installs none"
    );
    let (matches, validations) = vap_expressions(&policy);
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let mut old: Value = serde_saphyr::from_str(&text).unwrap();
    old["status"] = json!({"phase": "Progressing", "rolloutId": "20261207-030512-3fa9c1",
        "target": {"endpointName": "churn-prod"}});
    let judge = |new: &Value, user: &str| -> (bool, usize) {
        let e = VapEvaluator::builder()
            .object(new.clone())
            .old_object(old.clone())
            .request(AdmissionRequest {
                operation: "UPDATE".into(),
                username: user.into(),
                name: "churn".into(),
                namespace: "ml-prod".into(),
                ..Default::default()
            })
            .build();
        let applies = e.evaluate(std::slice::from_ref(&matches))[0].passed;
        let refused = e
            .evaluate(&validations)
            .iter()
            .filter(|r| !r.passed)
            .count();
        (applies, refused)
    };
    let controller = "system:serviceaccount:sagemaker-rollout-system:sr-sagemaker-rollout";
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, bool); 5] = [
        (
            "a promote request",
            |v| v["status"]["requests"] = json!({"promote": {"rollout": "20261207-030512-3fa9c1"}}),
            true,
        ),
        ("nothing", |_| {}, true),
        (
            "the target",
            |v| {
                v["status"]["target"]["assumedRoleArn"] =
                    json!("arn:aws:iam::210987654321:role/other")
            },
            false,
        ),
        (
            "the phase",
            |v| v["status"]["phase"] = json!("Succeeded"),
            false,
        ),
        (
            "the rollout id a request names",
            |v| v["status"]["rolloutId"] = json!("20260101-000000-000000"),
            false,
        ),
    ];
    for (what, edit, allowed) in cases {
        let mut new = old.clone();
        edit(&mut new);
        let (applies, refused) = judge(&new, "alice");
        assert!(applies, "{what}: the policy applies to others");
        assert_eq!(refused == 0, allowed, "{what}");
        let (applies, _) = judge(&new, controller);
        assert!(!applies, "{what}: the controller is not limited");
    }
    let mut gone = old.clone();
    gone["status"].as_object_mut().unwrap().remove("target");
    assert!(
        judge(&gone, "alice").1 > 0,
        "removing the target is refused"
    );
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
    // The schema refuses an unknown mode.
    template_refused(&["--set", "tenancy.mode=shared"]);
}

/// Renders the chart with a values file holding `values` (and the image), plus `args`.
fn template_with_values(values: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, values).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let mut all = vec!["-f", file.as_str()];
    all.extend_from_slice(args);
    template(&all)
}

/// Renders the chart as release `release`.
fn template_release(release: &str, args: &[&str]) -> String {
    run(&tool("helm"), &template_args(release, args))
}

/// The error of a rendering the chart refuses.
pub(super) fn template_refused(args: &[&str]) -> String {
    let all = template_args("sr", args);
    let out = Command::new(tool("helm")).args(&all).output().unwrap();
    assert!(!out.status.success(), "{args:?} was rendered");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn chart_values() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap())
        .unwrap()
}

/// `nameOverride` / `fullnameOverride` as `helm create` has them; without them the names are
/// what they were (`<release>-sagemaker-rollout`, or the release name when it contains the
/// chart's). The on-call ClusterRole and its admission policy keep their fixed names.
#[test]
fn name_overrides_follow_the_helm_conventions_and_the_default_names_stay() {
    let fixed = ["sagemaker-rollout-oncall", "sagemaker-rollout-oncall-gates"];
    let check = |d: &[Value], prefix: &str, deployment: &str, app: &str| {
        for x in d {
            let name = x["metadata"]["name"].as_str().unwrap();
            assert!(
                fixed.contains(&name) || name.starts_with(prefix),
                "{name} starts with {prefix}"
            );
        }
        let deploy = of_kind(d, "Deployment")[0];
        assert_eq!(deploy["metadata"]["name"], deployment);
        assert_eq!(deploy["metadata"]["labels"]["app.kubernetes.io/name"], app);
        assert_eq!(
            deploy["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            app
        );
        let service = of_kind(d, "Service")[0];
        assert_eq!(service["spec"]["selector"]["app.kubernetes.io/name"], app);
        assert_eq!(
            deploy["spec"]["template"]["spec"]["serviceAccountName"],
            deployment
        );
        assert_eq!(env(deploy)["LEASE_NAME"]["value"], deployment);
    };
    check(
        &docs(&template(&[])),
        "sr-sagemaker-rollout",
        "sr-sagemaker-rollout",
        "sagemaker-rollout",
    );
    check(
        &docs(&template_release("sagemaker-rollout", &[])),
        "sagemaker-rollout",
        "sagemaker-rollout",
        "sagemaker-rollout",
    );
    check(
        &docs(&template(&["--set", "nameOverride=rollouts"])),
        "sr-rollouts",
        "sr-rollouts",
        "rollouts",
    );
    let full = docs(&template(&[
        "--set",
        "fullnameOverride=ml-rollouts",
        "--set",
        "controller.shards={eu}",
    ]));
    check(&full, "ml-rollouts", "ml-rollouts", "sagemaker-rollout");
    assert_eq!(
        of_kind(&full, "Deployment")[1]["metadata"]["name"],
        "ml-rollouts-eu"
    );
    let crb = of_kind(&full, "ClusterRoleBinding")[0];
    assert_eq!(crb["subjects"][0]["name"], "ml-rollouts");
}

/// The pod's and the container's security contexts are values whose defaults are the
/// restricted profile `restricted()` checks; setting one key keeps the others.
#[test]
fn security_contexts_are_values_whose_defaults_are_the_restricted_profile() {
    let values = chart_values();
    let plain = docs(&template(&[]));
    let spec = &of_kind(&plain, "Deployment")[0]["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"], values["podSecurityContext"]);
    assert_eq!(
        spec["containers"][0]["securityContext"],
        values["securityContext"]
    );
    let d = docs(&template(&[
        "--set",
        "podSecurityContext.runAsUser=1000",
        "--set",
        "securityContext.readOnlyRootFilesystem=false",
    ]));
    let spec = &of_kind(&d, "Deployment")[0]["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"]["runAsUser"], 1000);
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    let sc = &spec["containers"][0]["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["allowPrivilegeEscalation"], false);
}

/// `controller.extraArgs` after `controller`, `controller.extraEnv` after the chart's
/// variables, `extraVolumes`/`extraVolumeMounts` on every shard's pod: the install page's CA
/// bundle example, rendered as it is written, validates and mounts the file it names.
#[test]
fn extra_args_env_and_volumes_reach_the_controller_and_the_ca_bundle_example_renders() {
    let install = std::fs::read_to_string("docs/install.md").unwrap();
    let section = install
        .split("### A custom CA bundle")
        .nth(1)
        .expect("docs/install.md has a \"A custom CA bundle\" section");
    let example = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("with a values example");
    let rendered = template_with_values(
        example,
        &[
            "--set",
            "controller.extraArgs={--lease-duration=20s}",
            "--set",
            "controller.shards={eu}",
        ],
    );
    kubernetes_validate(&rendered, "extras");
    let d = docs(&rendered);
    let deploys = of_kind(&d, "Deployment");
    assert_eq!(deploys.len(), 2);
    for deploy in deploys {
        let spec = &deploy["spec"]["template"]["spec"];
        let c = &spec["containers"][0];
        assert_eq!(c["args"], json!(["controller", "--lease-duration=20s"]));
        let e = env(deploy);
        assert_eq!(
            e["LEADER_ELECTION"]["value"], "true",
            "the chart's own stay"
        );
        let bundle = e["SSL_CERT_FILE"]["value"].as_str().unwrap();
        // After the chart's own (the validation journal's).
        let mount = &c["volumeMounts"][1];
        assert!(
            bundle.starts_with(mount["mountPath"].as_str().unwrap()),
            "{bundle} is in the mounted directory"
        );
        assert_eq!(mount["readOnly"], true);
        assert_eq!(spec["volumes"][1]["name"], mount["name"]);
        assert!(spec["volumes"][1]["configMap"]["name"].is_string());
    }
    let plain = docs(&template(&[]));
    let c = &of_kind(&plain, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["args"], json!(["controller"]));
    assert_eq!(
        c["volumeMounts"].as_array().unwrap().len(),
        1,
        "the journal's only"
    );
}

/// `topologySpreadConstraints`: one without a `labelSelector` spreads its own Deployment's
/// pods (each shard's apart), one with it is kept; nodeSelector and tolerations pass through
/// and the default anti-affinity stays.
#[test]
fn topology_spread_constraints_spread_each_deployments_own_pods() {
    let values = r#"
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
  - maxSkew: 2
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels:
        app.kubernetes.io/name: sagemaker-rollout
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Equal
    value: ml
    effect: NoSchedule
"#;
    let rendered = template_with_values(values, &["--set", "controller.shards={eu}"]);
    kubernetes_validate(&rendered, "topology");
    let d = docs(&rendered);
    let deploys = of_kind(&d, "Deployment");
    assert_eq!(deploys.len(), 2);
    for deploy in deploys {
        let spec = &deploy["spec"]["template"]["spec"];
        let tsc = spec["topologySpreadConstraints"].as_array().unwrap();
        assert_eq!(tsc.len(), 2);
        assert_eq!(
            tsc[0]["labelSelector"], deploy["spec"]["selector"],
            "the Deployment's own pods"
        );
        assert_eq!(tsc[0]["topologyKey"], "topology.kubernetes.io/zone");
        assert_eq!(
            tsc[1]["labelSelector"],
            json!({"matchLabels": {"app.kubernetes.io/name": "sagemaker-rollout"}})
        );
        assert_eq!(spec["nodeSelector"]["kubernetes.io/os"], "linux");
        assert_eq!(spec["tolerations"][0]["key"], "dedicated");
        assert!(spec["affinity"]["podAntiAffinity"].is_object());
    }
    let plain = docs(&template(&[]));
    assert!(
        of_kind(&plain, "Deployment")[0]["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .is_null()
    );
}

/// `leaderElection.enabled=false` drops the Lease Role and its binding, and the chart refuses
/// it with more than one replica (every replica would act at once), naming the fix.
#[test]
fn leader_election_off_drops_the_lease_role_and_refuses_more_than_one_replica() {
    let lease_objects = |d: &[Value]| -> usize {
        d.iter()
            .filter(|x| {
                x["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-leader-election"))
            })
            .count()
    };
    assert_eq!(
        lease_objects(&docs(&template(&[]))),
        2,
        "Role and RoleBinding"
    );
    let off = docs(&template(&[
        "--set",
        "replicaCount=1",
        "--set",
        "leaderElection.enabled=false",
    ]));
    assert_eq!(lease_objects(&off), 0);
    let rules: String = of_kind(&off, "Role")
        .iter()
        .chain(of_kind(&off, "ClusterRole").iter())
        .map(|r| r["rules"].to_string())
        .collect();
    assert!(
        !rules.contains("coordination.k8s.io"),
        "no Lease permission"
    );
    for replicas in ["replicaCount=2", "replicaCount=3"] {
        let err = template_refused(&["--set", replicas, "--set", "leaderElection.enabled=false"]);
        assert!(
            err.contains("leaderElection.enabled=false") && err.contains("replicaCount=1"),
            "{replicas}: {err}"
        );
    }
    let sharded = docs(&template(&[
        "--set",
        "replicaCount=1",
        "--set",
        "leaderElection.enabled=false",
        "--set",
        "controller.shards={eu}",
    ]));
    assert_eq!(
        of_kind(&sharded, "Deployment").len(),
        2,
        "one replica per shard"
    );
}

/// The ServiceMonitor keeps the per-resource `namespace` label (`honorLabels`, default on;
/// Prometheus would rename it `exported_namespace`), may live in another namespace (and then
/// still selects the Service in the release's), and takes interval, labels and relabelings.
#[test]
fn the_service_monitor_honours_the_resources_namespace_label_and_takes_relabelings() {
    let d = docs(&template(&["--set", "metrics.serviceMonitor.enabled=true"]));
    let sm = of_kind(&d, "ServiceMonitor")[0];
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["honorLabels"], true);
    assert_eq!(ep["interval"], "30s");
    assert!(ep["relabelings"].is_null() && ep["metricRelabelings"].is_null());
    assert_eq!(sm["metadata"]["namespace"], "sagemaker-rollout-system");
    let values = r#"
metrics:
  serviceMonitor:
    enabled: true
    namespace: monitoring
    interval: 15s
    labels:
      release: kube-prometheus-stack
    honorLabels: false
    relabelings:
      - action: replace
        targetLabel: cluster
        replacement: prod-eu-1
    metricRelabelings:
      - action: drop
        sourceLabels: [__name__]
        regex: "go_.*"
"#;
    let d = docs(&template_with_values(values, &[]));
    let sm = of_kind(&d, "ServiceMonitor")[0];
    assert_eq!(sm["metadata"]["namespace"], "monitoring");
    assert_eq!(sm["metadata"]["labels"]["release"], "kube-prometheus-stack");
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"],
        json!(["sagemaker-rollout-system"])
    );
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["honorLabels"], false);
    assert_eq!(ep["interval"], "15s");
    assert_eq!(ep["relabelings"][0]["targetLabel"], "cluster");
    assert_eq!(
        ep["metricRelabelings"][0]["sourceLabels"],
        json!(["__name__"])
    );
    let service = of_kind(&d, "Service")[0];
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            &service["metadata"]["labels"][k], v,
            "selects the metrics Service"
        );
    }
}

/// Whoever may `view` a namespace reads its ModelDeployments (and, through a
/// ClusterRoleBinding to view, the DeploymentPolicies): a ClusterRole aggregated to `view`,
/// read-only, bound to nothing; `rbac.aggregateToView=false` leaves it out.
#[test]
fn a_read_only_cluster_role_is_aggregated_to_view() {
    let view_roles = |d: &[Value]| -> Vec<Value> {
        of_kind(d, "ClusterRole")
            .into_iter()
            .filter(|r| aggregated_to_view(r))
            .cloned()
            .collect()
    };
    let d = docs(&template(&[]));
    let roles = view_roles(&d);
    assert_eq!(roles.len(), 1);
    assert_eq!(grants(&roles[0]["rules"]), view_grants());
    let name = roles[0]["metadata"]["name"].as_str().unwrap();
    assert!(
        of_kind(&d, "ClusterRoleBinding")
            .iter()
            .chain(of_kind(&d, "RoleBinding").iter())
            .all(|b| b["roleRef"]["name"] != name),
        "bound by aggregation only"
    );
    assert!(view_roles(&docs(&template(&["--set", "rbac.aggregateToView=false"]))).is_empty());
}

/// A tag that reads as a number passes the schema and is rendered as text (a whole number
/// from a values file as an integer, not in float notation); a parent's `global:` values
/// pass the schema.
#[test]
fn numeric_image_tags_and_global_values_pass_the_schema() {
    let image = |d: &[Value]| -> String {
        of_kind(d, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let repo = "registry.example.com/ml-platform/sagemaker-rollout";
    let chart: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap())
            .unwrap();
    let app_version = chart["appVersion"].as_str().unwrap();
    assert_eq!(
        image(&docs(&template(&[]))),
        format!("{repo}:{app_version}")
    );
    assert_eq!(
        image(&docs(&template(&["--set", "image.tag=2"]))),
        format!("{repo}:2")
    );
    assert_eq!(
        image(&docs(&template(&["--set", "image.tag=1.2"]))),
        format!("{repo}:1.2")
    );
    for (values, tag) in [
        ("image:\n  tag: 2\n", "2"),
        ("image:\n  tag: 20240101\n", "20240101"),
        ("image:\n  tag: 1.5\n", "1.5"),
        ("image:\n  tag: \"1.10\"\n", "1.10"),
    ] {
        assert_eq!(
            image(&docs(&template_with_values(values, &[]))),
            format!("{repo}:{tag}"),
            "{values}"
        );
    }
    let d = docs(&template(&[
        "--set",
        "global.imageRegistry=registry.example.com",
        "--set",
        "global.labels.team=ml-platform",
    ]));
    assert_eq!(of_kind(&d, "Deployment").len(), 1);
}

/// Every value of values.yaml is in the schema, and every schema object that lists its
/// properties refuses others (a typo fails instead of being ignored); the root accepts
/// `global`, which a parent chart passes to its subcharts.
#[test]
fn the_schema_knows_every_value_and_refuses_unknown_keys() {
    let values = chart_values();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{CHART}/values.schema.json")).unwrap(),
    )
    .unwrap();
    fn walk(value: &Value, schema: &Value, root: &Value, path: &str, out: &mut Vec<String>) {
        let schema = match schema["$ref"].as_str() {
            Some(r) => r
                .trim_start_matches("#/")
                .split('/')
                .fold(root, |s, k| &s[k]),
            None => schema,
        };
        let (Some(map), Some(props)) = (value.as_object(), schema["properties"].as_object()) else {
            return;
        };
        if schema["additionalProperties"] != false {
            out.push(format!("{path}: additionalProperties is not false"));
        }
        for (k, v) in map {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match props.get(k) {
                Some(s) => walk(v, s, root, &at, out),
                None => out.push(format!("{at}: not in values.schema.json")),
            }
        }
    }
    let mut problems = Vec::new();
    walk(&values, &schema, &schema, "", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(schema["properties"]["global"]["type"], "object");
    assert_eq!(
        schema["properties"]["image"]["properties"]["tag"]["type"],
        json!(["string", "number"])
    );
}

/// The chart's README carries the values table generated from values.yaml's `# --`
/// comments; `scripts/chart-readme.py --check` fails on drift and on a value without one.
#[test]
fn the_chart_readme_values_table_is_generated_from_values_yaml() {
    let out = Command::new("python3")
        .args(["scripts/chart-readme.py", "--check"])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = std::fs::read_to_string(format!("{CHART}/README.md")).unwrap();
    for key in [
        "`image.repository`",
        "`leaderElection.enabled`",
        "`metrics.serviceMonitor.honorLabels`",
        "`rbac.aggregateToView`",
    ] {
        assert!(readme.contains(key), "{key} in the chart's README");
    }
    let values = std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap();
    assert!(values.contains("\nreplicaCount: 2\n"));
    for (edited, says) in [
        (
            values.replace("\nreplicaCount: 2\n", "\nreplicaCount: 3\n"),
            "out of date",
        ),
        (
            format!("{values}\nundocumentedValue: 1\n"),
            "undocumentedValue",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("values.yaml"), edited).unwrap();
        std::fs::write(dir.path().join("README.md"), &readme).unwrap();
        let out = Command::new("python3")
            .args(["scripts/chart-readme.py", "--check", "--chart"])
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{says}: --check passed");
        assert!(err.contains(says), "{says}: {err}");
    }
}

/// The chart as a subchart: the parent of tests/fixtures/parent-chart (its dependency
/// pointed at this repository's chart, in a temporary copy) sets `global:` values and the
/// subchart's under its name; `helm dependency update` (offline: a file:// repository),
/// `helm lint --strict` and `helm template` pass and render what the parent asked for.
#[test]
fn the_chart_works_as_a_subchart_of_a_parent_with_global_values() {
    let fixture = Path::new("tests/fixtures/parent-chart");
    let relative = "file://../../../charts/sagemaker-rollout";
    let work = tempfile::tempdir().unwrap();
    let parent = work.path().join("ml-platform");
    std::fs::create_dir_all(parent.join("templates")).unwrap();
    let chart_yaml = std::fs::read_to_string(fixture.join("Chart.yaml")).unwrap();
    assert!(
        chart_yaml.contains(relative),
        "the fixture depends on {relative}"
    );
    let chart = std::fs::canonicalize(CHART).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        chart_yaml.replace(relative, &format!("file://{}", chart.display())),
    )
    .unwrap();
    for f in ["values.yaml", "templates/NOTES.txt"] {
        std::fs::copy(fixture.join(f), parent.join(f)).unwrap();
    }
    let home = work.path().join("helm-home");
    let helm = |args: &[&str]| -> String {
        let out = Command::new(tool("helm"))
            .args(args)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = parent.to_str().unwrap();
    helm(&["dependency", "update", "--skip-refresh", dir]);
    let lint = helm(&["lint", "--strict", dir]);
    assert!(lint.contains("0 chart(s) failed"), "{lint}");
    let rendered = helm(&["template", "platform", dir, "--namespace", "ml-platform"]);
    kubernetes_validate(&rendered, "subchart");
    let d = docs(&rendered);
    let deploy = of_kind(&d, "Deployment")[0];
    assert_eq!(deploy["metadata"]["name"], "ml-rollouts");
    assert_eq!(deploy["metadata"]["namespace"], "ml-platform");
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"],
        "registry.example.com/ml-platform/sagemaker-rollout:2"
    );
    assert_eq!(c["args"], json!(["controller", "--lease-duration=20s"]));
    assert_eq!(env(deploy)["TENANCY"]["value"], "single");
    assert_eq!(of_kind(&d, "ServiceMonitor").len(), 1);
}

/// The flags of `sagemaker-rollout controller`: the fields of its `Config` with
/// `#[arg(long …)]`, kebab-cased (or their explicit `long = "…"`), read from the source.
fn controller_flags() -> BTreeSet<String> {
    let src = std::fs::read_to_string("src/controller/config.rs").unwrap();
    let explicit = regex::Regex::new(r#"long\s*=\s*"([^"]+)""#).unwrap();
    let is_long = regex::Regex::new(r"\blong\b").unwrap();
    let field = regex::Regex::new(r"^\s*pub\s+([a-z_][a-z0-9_]*)\s*:").unwrap();
    let mut out = BTreeSet::new();
    let mut pending: Option<Option<String>> = None;
    for line in src.lines() {
        let t = line.trim_start();
        if t.starts_with("#[arg(") && is_long.is_match(t) {
            pending = Some(explicit.captures(t).map(|c| c[1].to_owned()));
        } else if let Some(c) = field.captures(line)
            && let Some(name) = pending.take()
        {
            out.insert(name.unwrap_or_else(|| c[1].replace('_', "-")));
        }
    }
    out
}

/// `s` up to its first whitespace outside brackets and braces.
fn top_level_token(s: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            c if c.is_whitespace() && depth <= 0 => return &s[..i],
            _ => {}
        }
    }
    s
}

/// The flags (without `--`) a text passes to the controller through `extraArgs`:
/// `--set controller.extraArgs={…}`, `extraArgs[0]=…`, `extraArgs: […]` and a YAML list
/// under `extraArgs:`.
fn extra_args_flags(text: &str) -> Vec<String> {
    let head = regex::Regex::new(r"extraArgs(?:\[[0-9]+\])?(=|:[ \t]*)").unwrap();
    let flag = regex::Regex::new(r"--([a-z][a-z0-9-]*)").unwrap();
    let mut out = Vec::new();
    let mut list: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = list {
            if indent >= at && line.trim_start().starts_with("- ") {
                out.extend(flag.captures_iter(line).map(|c| c[1].to_owned()));
                continue;
            }
            list = None;
        }
        for m in head.find_iter(line) {
            let token = top_level_token(&line[m.end()..]);
            out.extend(flag.captures_iter(token).map(|c| c[1].to_owned()));
            if token.is_empty() && m.as_str().starts_with("extraArgs:") {
                list = Some(indent);
            }
        }
    }
    out
}

/// Every controller flag the README, the install page and the chart pass through
/// `controller.extraArgs` is a flag of `sagemaker-rollout controller`.
#[test]
fn the_controller_flags_the_docs_pass_through_extra_args_exist() {
    let flags = controller_flags();
    for f in [
        "namespaces",
        "leader-election",
        "lease-duration",
        "aws-request-burst",
    ] {
        assert!(
            flags.contains(f),
            "{f} read from src/controller/config.rs: {flags:?}"
        );
    }
    let sample = "helm upgrade x --set 'controller.extraArgs={--lease-duration=30s}' --set image.tag=2\n\
                  controller:\n  extraArgs:\n    - --poll-interval=45s\n    - --no-such-flag\n  extraEnv: []\n\
                  extraArgs: [\"--shard\", \"eu\"]\n";
    assert_eq!(
        extra_args_flags(sample),
        ["lease-duration", "poll-interval", "no-such-flag", "shard"]
    );
    let mut seen = 0;
    let mut unknown = Vec::new();
    for page in [
        "README.md",
        "docs/install.md",
        "charts/sagemaker-rollout/README.md",
        "charts/sagemaker-rollout/values.yaml",
    ] {
        let text = std::fs::read_to_string(page).unwrap();
        for f in extra_args_flags(&text) {
            seen += 1;
            if !flags.contains(&f) {
                unknown.push(format!("{page}: --{f}"));
            }
        }
    }
    assert!(seen >= 1, "the install page shows controller.extraArgs");
    assert!(
        unknown.is_empty(),
        "not flags of `sagemaker-rollout controller`:\n{}",
        unknown.join("\n")
    );
}
