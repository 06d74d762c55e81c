//! The Argo CD health check (Lua, run through mlua in Argo CD's resource_customizations test
//! layout and on real controller statuses) and the Dockerfile's structure.

use serde_json::{Value, json};

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
