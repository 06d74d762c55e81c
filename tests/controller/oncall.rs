//! The on-call commands (`status`, `history`, `pause`, `resume`, `promote`, `abort`, `retry`)
//! against the in-memory API server: on their own (ownership, permission, missing resource,
//! stale reads), with the controller running a canary on the simulator, and through
//! `kubectl` as a plugin.

use std::time::Duration;

use http::Method;
use sagemaker_rollout::oncall::{Changed, FIELD_MANAGER, GateChange, Oncall, OncallError};
use serde_json::{Value, json};

use crate::fake_api::FakeApi;
use crate::reconcile::{NAME, NS, World, manifest};

/// The canary example as a cluster holds it, with `extra` merged into its metadata and a
/// status in `phase`.
fn stored(fake: &FakeApi, phase: &str, metadata: Value) -> Value {
    let mut o = manifest("canary");
    o["metadata"]["name"] = json!(NAME);
    o["metadata"]["namespace"] = json!(NS);
    json_patch::merge(&mut o["metadata"], &metadata);
    let in_flight = matches!(phase, "Deploying" | "Progressing" | "Paused");
    o["status"] = json!({"phase": phase, "observedGeneration": 1, "rolloutId": ROLLOUT,
        "rolloutInFlight": in_flight});
    fake.insert("modeldeployments", o)
}

/// The rollout the stored status shows.
const ROLLOUT: &str = "20261120-090000-abc123";

fn oncall(fake: &FakeApi) -> Oncall {
    Oncall::new(fake.client(), NS)
}

fn paused(fake: &FakeApi) -> Value {
    fake.get("modeldeployments", NS, NAME).unwrap()["spec"]["rollout"]["paused"].clone()
}

fn patches(fake: &FakeApi) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.starts_with("PATCH"))
        .count()
}

#[tokio::test]
async fn pause_sets_the_gate_under_its_own_field_manager_and_a_second_pause_sends_nothing() {
    let fake = FakeApi::new();
    stored(&fake, "Progressing", json!({}));
    let on = oncall(&fake);
    let done = on.change(NAME, GateChange::Pause, false).await.unwrap();
    assert!(
        matches!(
            done,
            Changed::Patched {
                generation: Some(2)
            }
        ),
        "{done:?}"
    );
    assert_eq!(paused(&fake), json!(true));
    let o = fake.get("modeldeployments", NS, NAME).unwrap();
    let ours = o["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == FIELD_MANAGER)
        .expect("our manager recorded");
    assert_eq!(ours["operation"], "Update");
    assert!(ours["fieldsV1"]["f:spec"]["f:rollout"]["f:paused"].is_object());

    assert_eq!(
        on.change(NAME, GateChange::Pause, false).await.unwrap(),
        Changed::Already
    );
    assert_eq!(patches(&fake), 1, "{:?}", fake.requests());
    on.change(NAME, GateChange::Resume, false).await.unwrap();
    assert_eq!(paused(&fake), json!(false));
}

#[tokio::test]
async fn a_gate_a_gitops_tool_applies_is_refused_with_its_name_unless_forced() {
    let fake = FakeApi::new();
    let flux = json!({"managedFields": [{"manager": "kustomize-controller", "operation": "Apply",
        "apiVersion": "sagemaker.mlops.dev/v1alpha1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:rollout": {"f:paused": {}, "f:strategy": {}}}}}]});
    stored(&fake, "Progressing", flux);
    let on = oncall(&fake);
    let err = on.change(NAME, GateChange::Pause, false).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, OncallError::OwnedElsewhere(_)), "{err:?}");
    for part in [
        "spec.rollout.paused",
        "kustomize-controller",
        "Apply",
        "--force",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert_eq!(patches(&fake), 0);
    // A request goes to the status, which no GitOps tool applies.
    on.change(NAME, GateChange::ABORT, false).await.unwrap();
    on.change(NAME, GateChange::Pause, true).await.unwrap();
    assert_eq!(paused(&fake), json!(true));
}

#[tokio::test]
async fn a_file_applied_client_side_that_sets_the_gate_otherwise_is_a_conflict() {
    let fake = FakeApi::new();
    let file = json!({"spec": {"rollout": {"strategy": "Canary", "paused": false}}});
    let meta = json!({
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": file.to_string()},
        "managedFields": [{"manager": "argocd-controller", "operation": "Update",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {
                "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                "f:spec": {"f:rollout": {"f:paused": {}}}}}]});
    stored(&fake, "Progressing", meta);
    let err = oncall(&fake)
        .change(NAME, GateChange::Pause, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("argocd-controller") && err.contains("client-side apply"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_resource_no_permission_and_a_stale_read_are_each_named() {
    let fake = FakeApi::new();
    let on = oncall(&fake);
    let err = on.get("nope").await.unwrap_err().to_string();
    assert!(
        err.contains("\"nope\"") && err.contains("\"ml-prod\"") && err.contains("-n"),
        "{err}"
    );

    stored(&fake, "Progressing", json!({}));
    fake.fail_next(Method::PATCH, &format!("/{NAME}/status"), 403);
    let err = on.change(NAME, GateChange::ABORT, false).await.unwrap_err();
    assert!(
        matches!(err, OncallError::Forbidden { verb: "patch", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("sagemaker-rollout-oncall"),
        "{err}"
    );

    fake.fail_next(Method::GET, "/events", 403);
    let err = on.screen(NAME, jiff::Timestamp::now()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OncallError::Forbidden {
                verb: "list",
                resource: "events",
                ..
            }
        ),
        "{err:?}"
    );

    fake.fail_next(Method::PATCH, &format!("/{NAME}"), 409);
    let err = on.change(NAME, GateChange::Pause, false).await.unwrap_err();
    assert!(matches!(err, OncallError::Changed), "{err:?}");
}

/// The request `gate` recorded in the stored status.
fn requested(fake: &FakeApi, gate: &str) -> Value {
    fake.get("modeldeployments", NS, NAME).unwrap()["status"]["requests"][gate].clone()
}

#[tokio::test]
async fn a_request_names_the_rollout_in_the_status_goes_through_the_status_and_never_the_spec() {
    let fake = FakeApi::new();
    let o = stored(&fake, "Progressing", json!({}));
    let on = oncall(&fake);
    let done = on.change(NAME, GateChange::PROMOTE, false).await.unwrap();
    assert_eq!(
        done,
        Changed::Requested {
            rollout: ROLLOUT.into()
        }
    );
    assert_eq!(requested(&fake, "promote")["rollout"], ROLLOUT);
    let after = fake.get("modeldeployments", NS, NAME).unwrap();
    assert_eq!(after["spec"], o["spec"], "Git has nothing to drift from");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("PATCH") && r.contains("/status")),
        "{:?}",
        fake.requests()
    );
    let ours = after["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == FIELD_MANAGER)
        .expect("our manager recorded");
    assert_eq!(ours["subresource"], "status");
    // The same request again sends nothing; abort replaces promote.
    assert_eq!(
        on.change(NAME, GateChange::PROMOTE, false).await.unwrap(),
        Changed::Already
    );
    on.change(NAME, GateChange::ABORT, false).await.unwrap();
    assert_eq!(requested(&fake, "abort")["rollout"], ROLLOUT);
    assert_eq!(requested(&fake, "promote"), Value::Null);

    for phase in ["RolledBack", "Failed", "Succeeded", "Pending"] {
        let fake = FakeApi::new();
        stored(&fake, phase, json!({}));
        let err = oncall(&fake)
            .change(NAME, GateChange::PROMOTE, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OncallError::Nothing { .. }),
            "{phase}: {err:?}"
        );
        assert!(err.to_string().contains(phase), "{err}");
        assert_eq!(patches(&fake), 0);
    }
}

#[tokio::test]
async fn retry_is_refused_unless_rolled_back_or_failed_and_then_names_the_rollout_that_ended() {
    let fake = FakeApi::new();
    stored(&fake, "Succeeded", json!({}));
    let on = oncall(&fake);
    let err = on.change(NAME, GateChange::RETRY, false).await.unwrap_err();
    assert!(err.to_string().contains("Succeeded"), "{err}");

    let fake = FakeApi::new();
    let o = stored(&fake, "RolledBack", json!({}));
    let on = oncall(&fake);
    on.change(NAME, GateChange::RETRY, false).await.unwrap();
    assert_eq!(requested(&fake, "retry")["rollout"], ROLLOUT);
    let after = fake.get("modeldeployments", NS, NAME).unwrap();
    assert_eq!(after["spec"], o["spec"]);
}

#[tokio::test(start_paused = true)]
async fn pause_holds_a_running_canary_resume_finishes_it_and_status_shows_each_state() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until("step 1 baking", Duration::from_secs(3600), |w| {
        w.object().is_some_and(|o| {
            o["status"]["rollout"]["step"] == 1 && o["status"]["candidate"]["weight"] == 10
        })
    })
    .await;
    let on = Oncall::new(w.fake.client(), NS);
    let screen = on.screen(NAME, jiff::Timestamp::now()).await.unwrap();
    for part in [
        "ml-prod/churn  Progressing  (Canary)",
        "step        1/2",
        "candidate ",
        " 10 %",
        " 90 %",
        "gates       paused=false",
        "StepAdvanced",
        "conditions  Ready=False",
    ] {
        assert!(screen.contains(part), "{part:?} missing from:\n{screen}");
    }

    on.change(NAME, GateChange::Pause, false).await.unwrap();
    w.until_phase("Paused").await;
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(
        w.phase(),
        "Paused",
        "a paused rollout stays paused past every bake"
    );
    let screen = on.screen(NAME, jiff::Timestamp::now()).await.unwrap();
    assert!(
        screen.contains("Paused") && screen.contains("paused=true"),
        "{screen}"
    );

    on.change(NAME, GateChange::Resume, false).await.unwrap();
    w.until_phase("Succeeded").await;
    let history = sagemaker_rollout::oncall::screen::history(&on.get(NAME).await.unwrap());
    assert!(
        history.contains("Succeeded") && history.contains("2026-11-20-abc123"),
        "{history}"
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retry_rolls_a_rolled_back_candidate_out_again() {
    let m = manifest("canary");
    // The KPI alarm fires during step 1 and clears an hour later.
    let w = World::with_scenario(
        &m,
        false,
        "events:\n  - {at: 12m, alarm: churn-business-kpi, state: ALARM}\n  - {at: 1h12m, alarm: churn-business-kpi, state: OK}\n",
    );
    let c = w.start("a");
    w.apply(&m).await;
    w.until_phase("RolledBack").await;
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    assert_eq!(w.phase(), "RolledBack", "not retried by itself");

    let on = Oncall::new(w.fake.client(), NS);
    on.change(NAME, GateChange::RETRY, false).await.unwrap();
    w.until_phase("Succeeded").await;
    let o = w.object().unwrap();
    assert!(
        o["spec"]["rollout"].get("retry").is_none(),
        "the spec is Git's"
    );
    assert_eq!(o["status"]["candidate"]["weight"], 100);
    // The request outlived every status the controller applied, and names the rollout that
    // rolled back, not the one that succeeded.
    let asked = o["status"]["requests"]["retry"]["rollout"].clone();
    assert!(asked.is_string(), "{o:#}");
    assert_ne!(asked, o["status"]["rolloutId"]);
    c.shutdown().await;
}

/// The hazard one-shot requests remove: promote given for one rollout, and a new candidate
/// that arrives later, must walk its steps and bakes like any other.
#[tokio::test(start_paused = true)]
async fn a_promote_left_behind_never_fast_forwards_the_next_candidate() {
    let mut m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    w.until("step 1 baking", Duration::from_secs(3600), |w| {
        w.object()
            .is_some_and(|o| o["status"]["rollout"]["step"] == 1)
    })
    .await;
    let on = Oncall::new(w.fake.client(), NS);
    on.change(NAME, GateChange::PROMOTE, false).await.unwrap();
    w.until_phase("Succeeded").await;
    let first = w.object().unwrap();
    assert_eq!(
        first["status"]["requests"]["promote"]["rollout"],
        first["status"]["rolloutId"]
    );

    w.next_candidate(&mut m);
    w.apply(&m).await;
    w.until(
        "the second rollout at step 1",
        Duration::from_secs(3600),
        |w| {
            let o = w.object().unwrap();
            o["status"]["rolloutId"] != first["status"]["rolloutId"]
                && o["status"]["rollout"]["step"] == 1
                && o["status"]["candidate"]["weight"] == 10
        },
    )
    .await;
    // Well into its 10-minute first bake, the new candidate is still at 10 %.
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    let o = w.object().unwrap();
    assert_eq!(o["status"]["candidate"]["weight"], 10, "{:#}", o["status"]);
    let screen = on.screen(NAME, jiff::Timestamp::now()).await.unwrap();
    assert!(screen.contains("(ended; ignored)"), "{screen}");
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn status_watch_redraws_until_the_rollout_is_at_rest() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start("a");
    w.apply(&m).await;
    let on = Oncall::new(w.fake.client(), NS);
    let mut screens = Vec::new();
    let md = on
        .watch(NAME, Duration::from_secs(60), |_, s| {
            screens.push(s.to_owned())
        })
        .await
        .unwrap();
    assert!(sagemaker_rollout::oncall::at_rest(&md));
    // SHOW_SCREENS=1 prints them (the on-call page's example, docs/oncall.md).
    if std::env::var_os("SHOW_SCREENS").is_some() {
        screens.iter().for_each(|s| println!("---\n{s}"));
    }
    assert!(screens.len() > 5, "{} screens", screens.len());
    let last = screens.last().unwrap();
    assert!(last.contains("Succeeded"), "{last}");
    assert!(
        screens.iter().any(|s| s.contains("Progressing")),
        "no screen in flight"
    );
    c.shutdown().await;
}

/// A kubeconfig for the in-memory API server on `port`, namespace ml-prod.
fn kubeconfig(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: u, user: {{}}}}]\ncontexts: [{{name: c, context: {{cluster: fake, user: u, namespace: {NS}}}}}]\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    config
}

/// `status --watch --svg` on a finished rollout: one redraw, exit 0, and the picture of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_draws_what_it_watched() {
    let fake = FakeApi::new();
    let o = stored(&fake, "Succeeded", json!({}));
    let mut done = o.clone();
    done["status"]["candidate"] = json!({"weight": 100, "variant": "v-1"});
    done["status"]["observedGeneration"] = o["metadata"]["generation"].clone();
    fake.insert("modeldeployments", done);
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), port);
    let picture = dir.path().join("watched.svg");
    let out = tokio::task::spawn_blocking({
        let picture = picture.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_sagemaker-rollout"))
                .args(["status", NAME, "--watch", "--svg"])
                .arg(&picture)
                .env("KUBECONFIG", &config)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ml-prod/churn  Succeeded"), "{text}");
    let svg = std::fs::read_to_string(&picture).unwrap();
    assert!(
        svg.contains(r#"data-series="candidate" data-points="0:100""#),
        "{svg}"
    );
    assert!(svg.contains("<title>ml-prod/churn</title>"), "{svg}");
}

/// `kubectl sagemaker-rollout …` finds the binary as the plugin `kubectl-sagemaker_rollout`
/// on the PATH and runs it with the same kubeconfig.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_it_as_a_plugin() {
    let kubectl = std::path::Path::new(".tools/bin/kubectl");
    assert!(
        kubectl.exists(),
        "run `bash scripts/tools.sh` (scripts/test.sh does)"
    );
    let fake = FakeApi::new();
    stored(&fake, "Progressing", json!({}));
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), port);
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_sagemaker-rollout"),
        dir.path().join("kubectl-sagemaker_rollout"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config = config.to_owned();
    let run = move |args: &[&str]| {
        let out = std::process::Command::new(".tools/bin/kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", &config)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["sagemaker-rollout", "pause", NAME])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("rollout.paused is true"), "{out}");
    assert_eq!(paused(&fake), json!(true));
    let (code, out) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["sagemaker-rollout", "status", NAME])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ml-prod/churn  Progressing") && out.contains("paused=true"),
        "{out}"
    );
    let (code, out) =
        tokio::task::spawn_blocking(move || run(&["sagemaker-rollout", "status", "nope"]))
            .await
            .unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("no ModelDeployment \"nope\" in namespace \"ml-prod\""),
        "{out}"
    );
}

/// Runs the binary with `args` and, when given, `KUBECONFIG`; its exit code and output.
async fn run_cli(args: Vec<String>, kubeconfig: Option<std::path::PathBuf>) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sagemaker-rollout"));
        cmd.args(&args).env_remove("KUBECONFIG");
        if let Some(k) = kubeconfig {
            cmd.env("KUBECONFIG", k);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `status` tells a script how the rollout ended: 0 while it serves or progresses, 3 rolled
/// back, 4 failed; `--watch --timeout` gives up with 5 on a rollout that never comes to rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_with_how_the_rollout_ended_and_a_watch_can_time_out() {
    for (phase, code) in [
        ("Succeeded", 0),
        ("Progressing", 0),
        ("RolledBack", 3),
        ("Failed", 4),
    ] {
        let fake = FakeApi::new();
        stored(&fake, phase, json!({}));
        let port = fake.serve().await;
        let dir = tempfile::tempdir().unwrap();
        let config = kubeconfig(dir.path(), port);
        let (got, text) = run_cli(args(&["status", NAME]), Some(config)).await;
        assert_eq!(got, code, "{phase}: {text}");
    }
    let fake = FakeApi::new();
    stored(&fake, "Progressing", json!({}));
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), port);
    let started = std::time::Instant::now();
    let (got, text) = run_cli(
        args(&["status", NAME, "--watch", "--timeout", "1s"]),
        Some(config),
    )
    .await;
    assert_eq!(got, 5, "{text}");
    assert!(text.contains("still not at rest after 1s"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// kubectl does not hand its `--context` to a plugin: the commands take `--context` and
/// `--kubeconfig` themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_and_kubeconfig_flags_choose_the_cluster() {
    let fake = FakeApi::new();
    stored(&fake, "Succeeded", json!({}));
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two-clusters");
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: gone, cluster: {{server: \"http://127.0.0.1:9\"}}}}, {{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: u, user: {{}}}}]\ncontexts: [{{name: old, context: {{cluster: gone, user: u, namespace: {NS}}}}}, {{name: staging, context: {{cluster: fake, user: u, namespace: {NS}}}}}]\ncurrent-context: old\n"
        ),
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let (got, text) = run_cli(
        args(&[
            "status",
            NAME,
            "--kubeconfig",
            &path,
            "--context",
            "staging",
        ]),
        None,
    )
    .await;
    assert_eq!(got, 0, "{text}");
    assert!(text.contains("ml-prod/churn  Succeeded"), "{text}");
    let (got, _) = run_cli(args(&["status", NAME, "--kubeconfig", &path]), None).await;
    assert_ne!(got, 0, "the current context's cluster is gone");
    let (got, text) = run_cli(
        args(&["status", NAME, "--kubeconfig", &path, "--context", "nope"]),
        None,
    )
    .await;
    assert_ne!(got, 0);
    assert!(text.contains("context nope"), "{text}");
}

/// `-o json|yaml` gives scripts the resource's status (`status`) or its records (`history`)
/// as data, named by the resource; the exit code is the same as the screen's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_history_print_json_and_yaml_for_scripts() {
    let fake = FakeApi::new();
    let mut o = stored(&fake, "RolledBack", json!({}));
    o["status"]["history"] = json!([{"outcome": "RolledBack", "finishedAt": "2026-12-07T01:00:00Z",
        "reason": "alarm churn-5xx fired", "candidateRunId": "run-2"}]);
    fake.insert("modeldeployments", o);
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), port);
    let (code, text) = run_cli(args(&["status", NAME, "-o", "json"]), Some(config.clone())).await;
    assert_eq!(code, 3, "{text}");
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["name"], NAME);
    assert_eq!(doc["namespace"], NS);
    assert_eq!(doc["status"]["phase"], "RolledBack");
    let (code, text) = run_cli(args(&["history", NAME, "-o", "yaml"]), Some(config)).await;
    assert_eq!(code, 0, "{text}");
    let doc: Value = serde_saphyr::from_str(&text).expect("yaml");
    assert_eq!(doc["status"][0]["reason"], "alarm churn-5xx fired");
}

/// `list` shows the namespace's resources, `-A` every namespace's with a NAMESPACE column,
/// `-o json` the rows as data; on a terminal (forced here with CLICOLOR_FORCE) the phases
/// and the status screen take colour and symbols, and `NO_COLOR` turns them off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_every_namespace_with_a_and_colour_follows_the_terminal_conventions() {
    let fake = FakeApi::new();
    let mut o = stored(&fake, "Progressing", json!({}));
    o["status"]["rollout"] =
        json!({"step": 1, "totalSteps": 2, "stepLabel": "1/2", "weight": 10, "message": "baking"});
    o["status"]["candidate"] = json!({"candidateRunId": "2026-11-20-abc123", "weight": 10});
    fake.insert("modeldeployments", o.clone());
    let mut other = o.clone();
    other["metadata"]["namespace"] = json!("ml-staging");
    other["metadata"]["name"] = json!("fraud");
    other["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    other["metadata"].as_object_mut().unwrap().remove("uid");
    other["status"]["phase"] = json!("RolledBack");
    fake.insert("modeldeployments", other);
    let port = fake.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), port);

    let (code, text) = run_cli(args(&["list"]), Some(config.clone())).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("churn") && !text.contains("fraud"), "{text}");
    assert!(!text.contains('\u{1b}'), "plain when piped: {text}");

    let (code, text) = run_cli(args(&["list", "-A", "-o", "json"]), Some(config.clone())).await;
    assert_eq!(code, 0, "{text}");
    let rows: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<(&str, &str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["namespace"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["phase"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ml-prod", "churn", "Progressing"),
            ("ml-staging", "fraud", "RolledBack")
        ]
    );

    let coloured = |list: &[&str], no_color: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sagemaker-rollout"));
        cmd.args(list)
            .env("KUBECONFIG", &config)
            .env("CLICOLOR_FORCE", "1");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let table = coloured(&["list", "-A"], false);
    assert!(table.contains("\u{1b}["), "{table}");
    let plain = anstream::adapter::strip_str(&table).to_string();
    assert!(plain.starts_with("NAMESPACE"), "{plain}");
    assert!(
        plain.contains("● Progressing") && plain.contains("✗ RolledBack"),
        "{plain}"
    );
    let screen = coloured(&["status", NAME], false);
    assert!(screen.contains("\u{1b}["), "{screen}");
    println!(
        "list -A:\n{plain}\nstatus:\n{}",
        anstream::adapter::strip_str(&screen)
    );
    let off = coloured(&["list", "-A"], true);
    assert!(
        !off.contains('\u{1b}') && !off.contains('●'),
        "NO_COLOR: {off}"
    );
}
