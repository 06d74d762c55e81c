//! The Grafana dashboard and the alerting rules the chart ships. Their one home is the chart's
//! `files/` (the templates read them as they are; nothing under deploy/ copies them): the rules
//! pass `promtool check rules` and their unit tests (`tests/monitoring/alerts_test.yaml`, a
//! firing and a quiet case for every alert), every metric the dashboard and the rules name is
//! one the controller exports, every runbook link has its section in docs/oncall.md, and the
//! chart renders both exactly as in `files/` when enabled and nothing otherwise. promtool comes
//! with Debian's prometheus package (`scripts/tools.sh` installs it).

use std::collections::BTreeSet;
use std::process::Command;

use sagemaker_rollout::api::{HistoryEntry, ModelDeploymentStatus};
use sagemaker_rollout::controller::metrics::Metrics;
use sagemaker_rollout::engine::Call;
use serde_json::{Value, json};

use super::chart::{CHART, IMAGE, docs, kubernetes_validate, of_kind, run, template, tool};

const DASHBOARD: &str = "charts/sagemaker-rollout/files/dashboard.json";
const RULES: &str = "charts/sagemaker-rollout/files/alerts.yaml";
const RULE_TESTS: &str = "tests/monitoring/alerts_test.yaml";
/// Where the rules file's runbook links point (the chart's `prometheusRule.runbookBaseUrl`
/// default; the template re-points exactly this prefix).
const RUNBOOKS: &str = "https://github.com/example/sagemaker-rollout/blob/main/docs/oncall.md";

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "promtool could not run ({e}): install Debian's prometheus package \
             (`apt-get install prometheus`; `bash scripts/tools.sh` does)"
            )
        });
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rules() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(RULES).unwrap()).unwrap()
}

/// The alerting rules of the rules file, every group's.
fn alerts(rules: &Value) -> Vec<Value> {
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .filter(|r| r["alert"].is_string())
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&std::fs::read_to_string(DASHBOARD).unwrap()).unwrap()
}

#[test]
fn the_alerting_rules_pass_promtool_and_each_alert_has_a_firing_and_a_quiet_test() {
    let out = promtool(&["check", "rules", RULES]);
    assert!(out.contains("SUCCESS"), "{out}");
    let out = promtool(&["test", "rules", RULE_TESTS]);
    assert!(out.contains("SUCCESS"), "{out}");
    let tests: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(RULE_TESTS).unwrap()).unwrap();
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for t in tests["tests"].as_array().unwrap() {
        for case in t["alert_rule_test"].as_array().into_iter().flatten() {
            let name = case["alertname"].as_str().unwrap().to_owned();
            let expected = case["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected == 0 {
                quiet.insert(name);
            } else {
                fires.insert(name);
            }
        }
    }
    for alert in alerts(&rules()) {
        let name = alert["alert"].as_str().unwrap();
        assert!(fires.contains(name), "no test where {name} fires");
        assert!(quiet.contains(name), "no test where {name} must not fire");
    }
}

/// The metric names the controller exports, as a query names them: a counter `x` as
/// `x_total`, a histogram `x` as `x_bucket`, `x_sum` and `x_count` (and `x`, as descriptions
/// name it). prometheus-client writes only the families that have a series, so every family
/// gets one first.
fn exported() -> BTreeSet<String> {
    let m = Metrics::new();
    m.reconcile_started();
    m.reconcile_failed("transient");
    m.observe_duration(0.25);
    m.alarm_watch_reads(1);
    m.leader(true);
    m.aws_calls(&[Call {
        at: jiff::Timestamp::UNIX_EPOCH,
        service: "sns",
        operation: "Publish".to_owned(),
        detail: String::new(),
        ok: false,
    }]);
    let status: ModelDeploymentStatus = serde_json::from_value(json!({
        "phase": "Progressing",
        "candidate": {"weight": 10},
        "comparison": [{
            "metric": "ModelLatency p99",
            "candidate": 41.5,
            "champion": 40.0,
            "candidateInvocations": 1000,
            "championInvocations": 9000,
            "verdict": "Pass",
            "message": "",
        }],
    }))
    .unwrap();
    m.resource("ml-prod", "churn", &status);
    let finished: HistoryEntry = serde_json::from_value(json!({
        "outcome": "RolledBack",
        "startedAt": "2026-01-02T00:00:00Z",
        "finishedAt": "2026-01-02T00:30:00Z",
        "reason": "alarm",
    }))
    .unwrap();
    m.rollouts_finished("Canary", &[], &[finished]);
    let mut out = BTreeSet::new();
    for line in m.render().lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        match kind {
            "counter" => {
                out.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["", "_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// Every `sagemaker_rollout_…` name in a text (queries, descriptions, comments alike).
fn named(text: &str) -> BTreeSet<String> {
    regex::Regex::new(r"sagemaker_rollout_[a-z_]+")
        .unwrap()
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[test]
fn every_metric_the_dashboard_and_the_rules_name_is_one_the_controller_exports() {
    let exported = exported();
    for family in [
        "sagemaker_rollout_build_info",
        "sagemaker_rollout_rollouts_total",
        "sagemaker_rollout_rollout_duration_seconds_bucket",
        "sagemaker_rollout_analysis_value",
        "sagemaker_rollout_modeldeployment_phase",
    ] {
        assert!(exported.contains(family), "{family} in {exported:?}");
    }
    for (file, at_least) in [(DASHBOARD, 15), (RULES, 6)] {
        let used = named(&std::fs::read_to_string(file).unwrap());
        assert!(used.len() >= at_least, "{file} names {used:?}");
        let unknown: Vec<&String> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics the controller does not export: {unknown:?} (exported: \
             {exported:?}; a family without a series is not rendered: give a new one a series \
             in exported())"
        );
    }
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_runbook_section_in_the_oncall_guide() {
    let oncall = super::docs::anchors(&std::fs::read_to_string("docs/oncall.md").unwrap());
    let alerts = alerts(&rules());
    assert!(alerts.len() >= 7, "{alerts:?}");
    for a in &alerts {
        let name = a["alert"].as_str().unwrap();
        assert!(name.starts_with("SageMakerRollout"), "{name}");
        let severity = a["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: {severity}"
        );
        for k in ["summary", "description"] {
            assert!(a["annotations"][k].is_string(), "{name}: {k}");
        }
        let anchor = name.to_lowercase();
        assert_eq!(
            a["annotations"]["runbook_url"],
            format!("{RUNBOOKS}#{anchor}"),
            "{name}"
        );
        assert!(
            oncall.contains(&anchor),
            "docs/oncall.md has no section `### {name}`"
        );
    }
    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap())
            .unwrap();
    assert_eq!(values["prometheusRule"]["runbookBaseUrl"], RUNBOOKS);
}

#[test]
fn the_dashboard_queries_its_data_source_variable_and_filters_by_namespace() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_i64().unwrap() >= 39);
    assert_eq!(d["uid"], "sagemaker-rollout");
    let vars = d["templating"]["list"].as_array().unwrap();
    let var = |name: &str| vars.iter().find(|v| v["name"] == name).unwrap().clone();
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    let ns = var("namespace");
    assert_eq!(
        ns["definition"],
        "label_values(sagemaker_rollout_modeldeployment_phase, namespace)"
    );
    assert_eq!(ns["datasource"]["uid"], "${datasource}");
    let panels = d["panels"].as_array().unwrap();
    let ids: BTreeSet<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let mut queries = 0;
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let title = p["title"].as_str().unwrap();
        let g = &p["gridPos"];
        assert!(
            g["x"].as_i64().unwrap() + g["w"].as_i64().unwrap() <= 24,
            "{title}"
        );
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}");
            let expr = t["expr"].as_str().unwrap();
            // Per-resource series carry the ModelDeployment's namespace: filtered by the
            // variable, and read from the leader only (a former leader keeps stale values).
            if ["modeldeployment_", "comparison_verdict", "analysis_value"]
                .iter()
                .any(|m| expr.contains(m))
            {
                assert!(
                    expr.contains("namespace=~\"$namespace\""),
                    "{title}: {expr}"
                );
                assert!(
                    expr.contains("and on (instance) sagemaker_rollout_leader == 1"),
                    "{title}: {expr}"
                );
            }
            queries += 1;
        }
    }
    assert!(queries >= 15, "{queries} queries");
}

#[test]
fn the_chart_installs_the_dashboard_and_the_rules_as_in_files_only_when_enabled() {
    let plain = docs(&template(&[]));
    assert!(of_kind(&plain, "PrometheusRule").is_empty());
    assert!(of_kind(&plain, "ConfigMap").is_empty());

    let enabled = [
        "--set",
        "dashboard.enabled=true",
        "--set",
        "prometheusRule.enabled=true",
    ];
    let mut lint = vec!["lint", "--strict", CHART, "--set", IMAGE];
    lint.extend_from_slice(&enabled);
    let out = run(&tool("helm"), &lint);
    assert!(out.contains("0 chart(s) failed"), "{out}");
    let rendered = template(&enabled);
    kubernetes_validate(&rendered, "monitoring");
    let d = docs(&rendered);
    let cm = of_kind(&d, "ConfigMap");
    assert_eq!(cm.len(), 1);
    assert_eq!(cm[0]["metadata"]["namespace"], "sagemaker-rollout-system");
    assert_eq!(cm[0]["metadata"]["labels"]["grafana_dashboard"], "1");
    assert!(
        cm[0]["data"]["sagemaker-rollout.json"].as_str().unwrap()
            == std::fs::read_to_string(DASHBOARD).unwrap(),
        "the ConfigMap holds {DASHBOARD} byte for byte"
    );
    let rule = of_kind(&d, "PrometheusRule");
    assert_eq!(rule.len(), 1);
    assert_eq!(rule[0]["metadata"]["namespace"], "sagemaker-rollout-system");
    assert_eq!(
        rule[0]["spec"],
        rules(),
        "the PrometheusRule holds {RULES}, Prometheus's {{{{ $labels }}}} untouched by Helm"
    );

    let tuned = docs(&template(&[
        "--set",
        "dashboard.enabled=true",
        "--set",
        "dashboard.namespace=grafana",
        "--set",
        "dashboard.annotations.grafana_folder=ML platform",
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "prometheusRule.namespace=monitoring",
        "--set",
        "prometheusRule.labels.release=kube-prometheus-stack",
        "--set",
        "prometheusRule.runbookBaseUrl=https://wiki.example.com/ml/oncall",
        "--set",
        "prometheusRule.disabledAlerts={SageMakerRolloutStuck}",
        "--set-json",
        r#"prometheusRule.additionalRules=[{"alert":"SageMakerRolloutStuckLong","expr":"vector(1)","for":"8h"}]"#,
    ]));
    let cm = of_kind(&tuned, "ConfigMap")[0];
    assert_eq!(cm["metadata"]["namespace"], "grafana");
    assert_eq!(
        cm["metadata"]["annotations"]["grafana_folder"],
        "ML platform"
    );
    let rule = of_kind(&tuned, "PrometheusRule")[0];
    assert_eq!(rule["metadata"]["namespace"], "monitoring");
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    let groups = rule["spec"]["groups"].as_array().unwrap();
    let installed = alerts(&rule["spec"]);
    let names: Vec<&str> = installed
        .iter()
        .map(|a| a["alert"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"SageMakerRolloutStuck"), "{names:?}");
    assert_eq!(names.len(), alerts(&rules()).len(), "one out, one added");
    assert_eq!(
        groups.last().unwrap()["name"],
        "sagemaker-rollout-additional"
    );
    assert_eq!(
        groups.last().unwrap()["rules"][0]["alert"],
        "SageMakerRolloutStuckLong"
    );
    for a in installed
        .iter()
        .filter(|a| a["alert"] != "SageMakerRolloutStuckLong")
    {
        let url = a["annotations"]["runbook_url"].as_str().unwrap();
        assert!(
            url.starts_with("https://wiki.example.com/ml/oncall#sagemakerrollout"),
            "{url}"
        );
    }

    // A misspelt alert is refused.
    let err = super::chart::template_refused(&[
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "prometheusRule.disabledAlerts={SageMakerRolloutStuk}",
    ]);
    assert!(err.contains("no alert SageMakerRolloutStuk "), "{err}");
}
