//! Broken manifests as a new user writes them: each row is a whole file and the problems
//! `check` must report — every one, each with its field, line and column — or the documents
//! it must name as skipped. Then the rollout commands: a file with any invalid
//! ModelDeployment is refused before any AWS call, and every valid document is used.

use std::process::Command;

use sagemaker_rollout::api::document::{Outcome, load_yaml};

const HEAD: &str = "apiVersion: sagemaker.mlops.dev/v1alpha1\nkind: ModelDeployment\n";

/// A valid spec body (indented under `spec:`), for rows that break the envelope.
const SPEC: &str = "spec:
  endpointName: churn-prod
  executionRoleArn: arn:aws:iam::123456789012:role/exec
  candidate: {modelPackageGroup: churn-models, matchTags: {candidate_run_id: r1}}
  serving: {instanceType: ml.m5.large}
  rollout: {strategy: Direct}
";

/// What one document must be reported as.
enum Want {
    /// Invalid, with (at least) these problem lines, in `path (line L:C): message` form.
    Problems(&'static [&'static str]),
    /// Another kind, named and skipped.
    Skipped(&'static str),
    Valid,
}

fn table() -> Vec<(&'static str, String, Vec<Want>)> {
    vec![
        (
            "a type error does not hide an unknown enum value or a semantic problem",
            format!(
                "{HEAD}metadata: {{name: churn}}
spec:
  endpointName: churn-prod
  executionRoleArn: arn:aws:iam::123456789012:role/exec
  candidate: {{modelPackageGroup: churn-models, matchTags: {{candidate_run_id: r1}}, approval: Always}}
  serving: {{instanceType: ml.m5.large, instanceCount: two}}
  rollout:
    strategy: Canery
    canary:
      steps: [{{weight: 10, bake: 10m}}, {{weight: 5, bake: 1m}}]
"
            ),
            vec![Want::Problems(&[
                "spec.serving.instanceCount (line 8:40): \"two\" is a string; expected a whole number",
                "spec.rollout.strategy (line 10:5): \"Canery\" is not one of Direct, Canary, Linear, BlueGreen, Rolling, Shadow",
                "spec.candidate.approval (line 7:83): \"Always\" is not one of Approved, PendingManualApproval, Any",
                "spec.rollout.canary.steps[1].weight (line 12:41): 5 must be greater than the previous step (10)",
            ])],
        ),
        (
            "a list where a mapping belongs, and a mapping where a string belongs",
            format!(
                "{HEAD}metadata: {{name: churn}}
spec:
  endpointName: {{name: churn-prod}}
  executionRoleArn: arn:aws:iam::123456789012:role/exec
  candidate: {{modelPackageGroup: churn-models}}
  serving: [ml.m5.large]
  rollout: {{strategy: Direct}}
"
            ),
            vec![Want::Problems(&[
                "spec.endpointName (line 5:3): {\"name\":\"churn-prod\"} is a mapping; expected a string",
                "spec.serving (line 8:3): [\"ml.m5.large\"] is a list; expected a mapping",
            ])],
        ),
        (
            "a misspelt namespace key would change the owner identity",
            format!("{HEAD}metadata:\n  name: churn\n  namespce: ml-prod\n{SPEC}"),
            vec![Want::Problems(&[
                "metadata.namespce (line 5:3): unknown metadata field",
            ])],
        ),
        (
            "the wrong apiVersion, a missing name and an unknown top-level key",
            format!(
                "apiVersion: sagemaker.mlops.dev/v1\nkind: ModelDeployment\nmetadata: {{namespace: ml-prod}}\nspecs: {{}}\n{SPEC}"
            ),
            vec![Want::Problems(&[
                "apiVersion (line 1:1): \"sagemaker.mlops.dev/v1\" is not sagemaker.mlops.dev/v1alpha1",
                "metadata.name (line 3:1): is required",
                "specs (line 4:1): unknown top-level field",
            ])],
        ),
        (
            "names that the API server refuses",
            format!("{HEAD}metadata: {{name: Churn_Prod, namespace: ML}}\n{SPEC}"),
            vec![Want::Problems(&[
                "metadata.name (line 3:12): \"Churn_Prod\" is not a lowercase DNS subdomain name",
                "metadata.namespace (line 3:30): \"ML\" is not a lowercase DNS label",
            ])],
        ),
        (
            "a document without a spec",
            format!("{HEAD}metadata: {{name: churn}}\n"),
            vec![Want::Problems(&["spec: is required (a mapping)"])],
        ),
        (
            "every document of a file is used, rejected or named",
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ml-prod}}\n---\n{HEAD}metadata: {{name: one}}\n{SPEC}---\n{HEAD}metadata: {{name: two}}\nspec:\n  endpointName: -bad\n  executionRoleArn: arn:aws:iam::123456789012:role/exec\n  candidate: {{modelPackageGroup: churn-models}}\n  serving: {{instanceType: ml.m5.large}}\n  rollout: {{strategy: Direct}}\n"
            ),
            vec![
                Want::Skipped("Namespace"),
                Want::Valid,
                Want::Problems(&["spec.endpointName (line 19:3): \"-bad\" is not a SageMaker endpoint name"]),
            ],
        ),
        (
            "a bake longer than any stage is refused where it is written",
            format!(
                "{HEAD}metadata: {{name: churn}}
spec:
  endpointName: churn-prod
  executionRoleArn: arn:aws:iam::123456789012:role/exec
  candidate: {{modelPackageGroup: churn-models}}
  serving: {{instanceType: ml.m5.large}}
  rollout:
    strategy: Canary
    canary: {{steps: [{{weight: 10, bake: 3650000d}}]}}
"
            ),
            vec![Want::Problems(&[
                "spec.rollout.canary.steps[0].bake (line 11:35): \"3650000d\" is longer than the longest duration accepted (366 days)",
            ])],
        ),
    ]
}

#[test]
fn every_problem_of_every_document_is_reported_with_its_place() {
    let rows = table();
    let mut failures = Vec::new();
    let mut lines = 0;
    for (name, text, wants) in &rows {
        let docs = load_yaml(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if docs.len() != wants.len() {
            failures.push(format!(
                "{name}: {} documents, expected {}",
                docs.len(),
                wants.len()
            ));
            continue;
        }
        for (doc, want) in docs.iter().zip(wants) {
            match (&doc.outcome, want) {
                (Outcome::Invalid { problems, .. }, Want::Problems(expected)) => {
                    let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    for e in *expected {
                        lines += 1;
                        if !got.iter().any(|g| g.starts_with(e)) {
                            failures.push(format!("{name}: missing {e:?} in {got:#?}"));
                        }
                    }
                }
                (Outcome::Skipped { kind, .. }, Want::Skipped(k)) if kind == k => {}
                (Outcome::Valid(_), Want::Valid) => {}
                (other, _) => failures.push(format!("{name}: unexpected {other:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    println!("{} manifests, {lines} expected problems", rows.len());
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sagemaker-rollout"));
    // Nothing listens here: a command that called AWS would fail differently.
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x");
    c
}

#[test]
fn rollout_commands_refuse_a_file_with_any_invalid_document_before_calling_aws() {
    let (_, text, _) = table().remove(6);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.yaml");
    std::fs::write(&file, text).unwrap();
    for cmd in [
        &["simulate", "-f"][..],
        &["plan", "-f"],
        &["apply", "-f"],
        &["delete", "-f"],
    ] {
        let out = bin().args(cmd).arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(
            err.contains("ModelDeployment default/two has 1 problem")
                && err.contains("spec.endpointName (line 19:3)"),
            "{cmd:?} must name the invalid document: {err}"
        );
        assert!(
            err.contains("document 1 is a Namespace (ml-prod), not a ModelDeployment; skipped"),
            "{cmd:?} must name the skipped document: {err}"
        );
        assert!(
            !err.contains("dispatch failure"),
            "{cmd:?} called AWS: {err}"
        );
    }
}

#[test]
fn simulate_runs_every_modeldeployment_of_a_file() {
    let canary = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let linear = std::fs::read_to_string("deploy/examples/linear.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.yaml");
    std::fs::write(&file, format!("{canary}\n---\n{linear}")).unwrap();
    let out = bin().args(["simulate", "-f"]).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = stdout.matches("Simulating ").count();
    assert_eq!(runs, 2, "{stdout}");
    assert_eq!(stdout.matches("Succeeded after").count(), 2, "{stdout}");
}
