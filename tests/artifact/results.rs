//! `validation_results.json`: what a validation stage writes and what the controller takes
//! from it. Every problem is named at once; a run that did not pass is read (to be refused
//! with its reason), a contradictory one is not.

use sagemaker_rollout::artifact::results::{ValidationResults, parse};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving:1.4";
const MODEL: &str = "s3://ml-artifacts/churn/run-7/model.tar.gz";

fn doc(passed: &str, gates: &str) -> String {
    format!(
        r#"{{"candidate_run_id": "run-7", "passed": {passed},
            "artifact": {{"s3_uri": "{MODEL}", "image": "{IMAGE}", "environment": {{"WORKERS": "2"}}}},
            "gates": {gates}, "validated_by": "pipeline-step-3"}}"#
    )
}

fn problems(text: &str) -> Vec<String> {
    match parse(text.as_bytes(), Some("us-east-1"), &Default::default()) {
        Ok(r) => panic!("accepted {r:?}"),
        Err(p) => p.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_passing_run_names_its_artifact_image_and_environment() {
    let r = parse(
        doc("true", r#"[{"name": "auc", "passed": true}]"#).as_bytes(),
        None,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        r,
        ValidationResults {
            run_id: "run-7".into(),
            failed: None,
            artifact_uri: MODEL.into(),
            image: IMAGE.into(),
            environment: [("WORKERS".to_owned(), "2".to_owned())].into(),
        }
    );
}

#[test]
fn a_run_that_did_not_pass_is_read_with_the_gates_that_failed() {
    let gates = r#"[{"name": "auc", "passed": false}, {"name": "p99", "passed": true}, {"name": "bias", "passed": false}]"#;
    let r = parse(doc("false", gates).as_bytes(), None, &Default::default()).unwrap();
    assert_eq!(r.failed.as_deref(), Some("gates auc, bias did not pass"));
    let r = parse(doc("false", "[]").as_bytes(), None, &Default::default()).unwrap();
    assert_eq!(r.failed.as_deref(), Some("passed is false"));
}

#[test]
fn a_run_that_says_it_passed_while_a_gate_failed_is_refused() {
    assert_eq!(
        problems(&doc("true", r#"[{"name": "auc", "passed": false}]"#)),
        ["passed: is true but gates auc did not pass; the file contradicts itself"]
    );
}

#[test]
fn every_problem_of_a_results_file_is_named_at_once() {
    let text = r#"{"passed": "yes",
        "artifact": {"s3_uri": "s3://ml-artifacts/churn/run-7/", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1",
                     "environment": {"1BAD": "x", "N": 3}},
        "gates": [{"passed": true}]}"#;
    assert_eq!(
        problems(text),
        [
            "candidate_run_id: is required",
            "passed: must be true or false",
            "gates[0]: must have a non-empty name and passed: true or false",
            "artifact.s3_uri: \"s3://ml-artifacts/churn/run-7/\" names a bucket or prefix, not a model.tar.gz object",
            "artifact.image: the image is in eu-west-1 but the endpoint is in us-east-1; SageMaker needs the image in the endpoint's region",
            "artifact.environment[N]: must be a string",
            "artifact.environment[1BAD]: must be a variable name (letters, digits, _; not starting with a digit)",
        ]
    );
}

#[test]
fn a_file_that_is_not_a_json_object_says_so() {
    assert_eq!(problems("[1, 2]"), ["(document): is not a JSON object"]);
    let not_json = problems("passed: true");
    assert!(
        not_json[0].starts_with("(document): is not JSON"),
        "{not_json:?}"
    );
    assert_eq!(
        problems(r#"{"candidate_run_id": "r", "passed": true}"#),
        [
            "artifact.s3_uri: is required",
            "artifact.image: is required"
        ]
    );
}

#[test]
fn a_run_id_that_cannot_be_a_tag_and_an_environment_too_large_with_the_serving_one_are_refused() {
    let serving = (0..60).map(|i| (format!("S{i}"), "x".to_owned())).collect();
    let env: String = (0..50)
        .map(|i| format!(r#""A{i}": "y""#))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        r#"{{"candidate_run_id": "run#7", "passed": true,
            "artifact": {{"s3_uri": "{MODEL}", "image": "{IMAGE}", "environment": {{{env}}}}}}}"#
    );
    let got: Vec<String> = parse(text.as_bytes(), None, &serving)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "candidate_run_id: \"run#7\" cannot be a tag value (at most 256 letters, digits, spaces and _ . : / = + - @)",
            "artifact.environment: with spec.serving.environment: 110 entries; SageMaker allows at most 100",
        ]
    );
}
