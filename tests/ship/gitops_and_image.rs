//! The Argo CD health check and resource actions (Lua, run through mlua in Argo CD's
//! resource_customizations test layout, on real controller statuses, and against the CLI's own
//! gate commands) and the Dockerfile's structure.

use std::collections::{BTreeMap, BTreeSet};

use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::oncall::{GateChange, OncallError, gates};
use serde_json::{Value, json};

const HEALTH: &str = "deploy/argocd/resource_customizations/sagemaker.mlops.dev/ModelDeployment";
const ACTIONS: &str =
    "deploy/argocd/resource_customizations/sagemaker.mlops.dev/ModelDeployment/actions";

/// A Lua state with what Argo CD gives a customization from `argocd-cm` (util/lua/lua.go):
/// the base, table, package and os libraries, no string or math.
fn argo_vm() -> mlua::Lua {
    mlua::Lua::new_with(
        mlua::StdLib::TABLE | mlua::StdLib::PACKAGE | mlua::StdLib::OS,
        mlua::LuaOptions::default(),
    )
    .unwrap()
}

fn argo_health(obj: &Value) -> (String, String) {
    use mlua::LuaSerdeExt;
    let lua = argo_vm();
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

/// A file's text.
fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML file as JSON.
fn yaml_file(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

/// Runs an Argo CD Lua script as Argo CD does: `obj` (and an empty `actionParams`) as globals,
/// what the script returns as JSON.
fn argo_lua(script: &str, obj: &Value) -> mlua::Result<Value> {
    use mlua::LuaSerdeExt;
    let lua = argo_vm();
    let text = read(script);
    lua.globals().set("obj", lua.to_value(obj)?)?;
    lua.globals().set("actionParams", lua.create_table()?)?;
    let out: mlua::Value = lua.load(&text).eval()?;
    lua.from_value(out)
}

/// `obj` without what the actions may change: `spec.rollout.paused` (and a `spec.rollout`
/// left empty by that) and `status.requests`.
fn without_gates(obj: &Value) -> Value {
    let mut v = obj.clone();
    let empty = match v
        .pointer_mut("/spec/rollout")
        .and_then(Value::as_object_mut)
    {
        Some(rollout) => {
            rollout.remove("paused");
            rollout.is_empty()
        }
        None => false,
    };
    if empty {
        v["spec"].as_object_mut().unwrap().remove("rollout");
    }
    if let Some(status) = v.get_mut("status").and_then(Value::as_object_mut) {
        status.remove("requests");
    }
    v
}

/// `obj` with the time of each request left out (the CLI records it; the actions, to stay
/// deterministic, do not).
fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(r) = v
        .pointer_mut("/status/requests")
        .and_then(Value::as_object_mut)
    {
        for q in r.values_mut().filter_map(Value::as_object_mut) {
            q.remove("at");
        }
    }
    v
}

/// The CLI's gate command of an action.
fn gate_change(action: &str) -> GateChange {
    match action {
        "pause" => GateChange::Pause,
        "resume" => GateChange::Resume,
        "promote" => GateChange::PROMOTE,
        "abort" => GateChange::ABORT,
        "retry" => GateChange::RETRY,
        "undo" => GateChange::UNDO,
        other => panic!("no gate command for the action {other}"),
    }
}

/// What the CLI's gate command (`Oncall::change`, forced past any owner) makes of `obj`: the
/// object after its merge patch of the spec or of the status (unchanged when there is
/// nothing to change), or its refusal. None for an object the CLI cannot read as a
/// ModelDeployment (no `spec.rollout`).
fn cli_gate(obj: &Value, change: GateChange) -> Option<Result<Value, String>> {
    obj.pointer("/spec/rollout")?;
    let md: ModelDeployment =
        serde_json::from_value(obj.clone()).unwrap_or_else(|e| panic!("a ModelDeployment: {e}"));
    let patch = match change {
        GateChange::Request(gate) => match gates::request(&md, gate, "2026-01-05T10:00:00Z") {
            Ok(Some(patch)) => patch,
            Ok(None) => return Some(Ok(obj.clone())),
            Err(gates::Refusal::Nothing { gate, phase }) => {
                return Some(Err(OncallError::Nothing { gate, phase }.to_string()));
            }
            Err(other) => panic!("a request refused for {other:?}"),
        },
        _ if gates::fields(&md, change).is_empty() => return Some(Ok(obj.clone())),
        _ => gates::patch(&md, change, true).expect("forced"),
    };
    let mut after = obj.clone();
    json_patch::merge(&mut after, &patch);
    if let Some(m) = after["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    Some(Ok(without_times(&after)))
}

/// The actions: the directories of `actions/` with an `action.lua`.
fn action_names() -> BTreeSet<String> {
    std::fs::read_dir(ACTIONS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("action.lua").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn argo_cd_actions_pass_their_resource_customizations_tests_and_do_what_the_cli_does() {
    let names = action_names();
    let six: BTreeSet<String> = ["abort", "pause", "promote", "resume", "retry", "undo"]
        .map(String::from)
        .into();
    assert_eq!(names, six, "one action per gate command");
    let tests = yaml_file(&format!("{ACTIONS}/action_test.yaml"));

    // discoveryTests: the actions offered, each enabled or not.
    let mut seen: BTreeSet<(String, bool)> = BTreeSet::new();
    for case in tests["discoveryTests"].as_array().unwrap() {
        let input = format!("{ACTIONS}/{}", case["inputPath"].as_str().unwrap());
        let obj = yaml_file(&input);
        let got = argo_lua(&format!("{ACTIONS}/discovery.lua"), &obj)
            .unwrap_or_else(|e| panic!("{input}: {e}"));
        // Argo CD: an action is enabled unless it says `disabled: true`.
        let got: BTreeMap<String, bool> = got
            .as_object()
            .unwrap_or_else(|| panic!("{input}: discovery returned {got}"))
            .iter()
            .map(|(name, a)| (name.clone(), a["disabled"].as_bool().unwrap_or(false)))
            .collect();
        let want: BTreeMap<String, bool> = case["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_owned(),
                    a["disabled"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(got, want, "{input}");
        assert_eq!(
            got.keys().cloned().collect::<BTreeSet<_>>(),
            names,
            "{input}"
        );
        for (name, disabled) in &got {
            seen.insert((name.clone(), *disabled));
            let Some(cli) = cli_gate(&obj, gate_change(name)) else {
                continue;
            };
            let acts = matches!(&cli, Ok(after) if *after != obj);
            // Offered only where the CLI would change something; resume, promote, abort,
            // retry and undo exactly there (pause is kept to a rollout that moves).
            if !disabled {
                assert!(acts, "{input}: {name} is offered, the CLI: {cli:?}");
            }
            if matches!(
                name.as_str(),
                "resume" | "promote" | "abort" | "retry" | "undo"
            ) {
                assert_eq!(!disabled, acts, "{input}: {name}, the CLI: {cli:?}");
            }
        }
    }
    for name in &names {
        for disabled in [false, true] {
            assert!(
                seen.contains(&(name.clone(), disabled)),
                "no discovery test has {name} with disabled: {disabled}"
            );
        }
    }

    // actionTests: the object each action returns (Argo CD patches the difference), or its
    // refusal.
    let (mut acted, mut refused) = (BTreeSet::new(), BTreeSet::new());
    for case in tests["actionTests"].as_array().unwrap() {
        let action = case["action"].as_str().unwrap();
        let input = format!("{ACTIONS}/{}", case["inputPath"].as_str().unwrap());
        let obj = yaml_file(&input);
        let lua = argo_lua(&format!("{ACTIONS}/{action}/action.lua"), &obj);
        match (case["expectedErrorMessage"].as_str(), &lua) {
            (Some(message), Err(e)) => {
                assert!(e.to_string().contains(message), "{action} on {input}: {e}");
                refused.insert(action.to_owned());
            }
            (None, Ok(got)) => {
                let output = format!("{ACTIONS}/{}", case["expectedOutputPath"].as_str().unwrap());
                assert_eq!(got, &yaml_file(&output), "{action} on {input}");
                assert_eq!(
                    without_gates(got),
                    without_gates(&obj),
                    "{action} on {input} changes only the gates"
                );
                let requests = &got["status"]["requests"];
                assert!(
                    requests["promote"].is_null() || requests["abort"].is_null(),
                    "{action} on {input}: promote and abort clear each other"
                );
                acted.insert(action.to_owned());
            }
            _ => panic!("{action} on {input}: {lua:?}"),
        }
        // The CLI's gate command does the same to the same object.
        if let Some(cli) = cli_gate(&obj, gate_change(action)) {
            match (&lua, &cli) {
                (Ok(got), Ok(after)) => {
                    assert_eq!(got, after, "{action} on {input}: Argo CD and the CLI")
                }
                (Err(e), Err(message)) => assert!(
                    e.to_string().contains(message.as_str()),
                    "{action} on {input}: Argo CD {e}, the CLI {message}"
                ),
                _ => panic!("{action} on {input}: Argo CD {lua:?}, the CLI {cli:?}"),
            }
        }
    }
    assert_eq!(acted, names, "an action test for each action");
    for gate in ["promote", "abort", "retry", "undo"] {
        assert!(refused.contains(gate), "a refusal test for {gate}");
    }
}

#[test]
fn the_argocd_cm_patch_carries_the_lua_files_themselves() {
    let cm = yaml_file("deploy/argocd/argocd-cm-patch.yaml");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    let data = &cm["data"];
    let health = data["resource.customizations.health.sagemaker.mlops.dev_ModelDeployment"]
        .as_str()
        .expect("the health key");
    assert_eq!(health, read(&format!("{HEALTH}/health.lua")), "health.lua");
    // The actions key holds YAML: discovery.lua and a definition per action.
    let actions: Value = serde_saphyr::from_str(
        data["resource.customizations.actions.sagemaker.mlops.dev_ModelDeployment"]
            .as_str()
            .expect("the actions key"),
    )
    .unwrap();
    assert_eq!(
        actions["discovery.lua"].as_str().unwrap(),
        read(&format!("{ACTIONS}/discovery.lua")),
        "discovery.lua"
    );
    let mut defined = BTreeSet::new();
    for d in actions["definitions"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        assert_eq!(
            d["action.lua"].as_str().unwrap(),
            read(&format!("{ACTIONS}/{name}/action.lua")),
            "{name}"
        );
        defined.insert(name.to_owned());
    }
    assert_eq!(defined, action_names());
}

#[tokio::test]
async fn argo_cd_health_reads_real_controller_statuses() {
    use sagemaker_rollout::sim::simulate::{SimOptions, simulate};
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let md = sagemaker_rollout::api::document::load_valid("canary", &text)
        .unwrap()
        .remove(0)
        .0;
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
        let valid = sagemaker_rollout::api::ValidSpec::new(&md.spec).unwrap();
        let s = simulate(&valid, "ml-prod/churn", &options).await.unwrap();
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
