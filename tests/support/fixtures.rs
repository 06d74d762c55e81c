//! Fixtures: the base spec (every strategy configured), candidates, ARNs and times.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use sagemaker_rollout::api::*;
use sagemaker_rollout::plan::*;

pub const CHAMPION_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1";
pub const CANDIDATE_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/2";
pub const NEWER_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3";
pub const OWNER: &str = "ml-prod/churn";
pub const ENDPOINT: &str = "churn-prod";

pub fn t0() -> Timestamp {
    "2026-11-20T10:00:00Z".parse().expect("timestamp")
}

pub fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

const BASE: &str = r#"
endpointName: churn-prod
region: us-east-1
executionRoleArn: arn:aws:iam::123456789012:role/sagemaker-exec
candidate:
  modelPackageGroup: churn-models
  matchTags: {candidate_run_id: run-2}
serving: {instanceType: ml.m5.large, instanceCount: 2}
rollout:
  strategy: Canary
  canary:
    steps:
      - {weight: 10, bake: 10m}
      - {weight: 50, bake: 20m}
  linear: {stepWeight: 25, bake: 5m}
  blueGreen: {bake: 15m, terminationWait: 10m}
  shadow: {samplingPercent: 50, duration: 1h, then: Canary}
analysis:
  alarms:
    existing: [churn-kpi]
    create:
      - {metric: Invocation5XXErrors, statistic: Sum, threshold: "5", periods: 2}
smokeTest:
  contentType: text/csv
  body: "1,2,3"
  expect: {status: 200}
"#;

thread_local! {
    /// The last few validations: a World validates the same spec on every step, and the
    /// property tests take thousands of steps.
    static VALIDATED: std::cell::RefCell<Vec<(ModelDeploymentSpec, Result<ValidSpec, SpecErrors>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `ValidSpec::new`, remembered for the specs seen last.
pub fn validated(spec: &ModelDeploymentSpec) -> Result<ValidSpec, SpecErrors> {
    VALIDATED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, r)) = cache.iter().find(|(s, _)| s == spec) {
            return r.clone();
        }
        let r = ValidSpec::new(spec);
        cache.insert(0, (spec.clone(), r.clone()));
        cache.truncate(8);
        r
    })
}

/// The spec as the planner takes it (panics if the test built an invalid one).
pub fn valid(spec: &ModelDeploymentSpec) -> ValidSpec {
    validated(spec).unwrap_or_else(|e| panic!("test spec is invalid: {e}"))
}

/// `spec` selecting the candidate of run `run` (`candidate_run_id`).
pub fn for_run(spec: &ModelDeploymentSpec, run: &str) -> ModelDeploymentSpec {
    let mut s = spec.clone();
    s.candidate.match_tags = Some(
        [("candidate_run_id".to_owned(), run.to_owned())]
            .into_iter()
            .collect(),
    );
    s
}

/// The base spec with the given strategy.
pub fn spec(strategy: Strategy) -> ModelDeploymentSpec {
    let mut s: ModelDeploymentSpec = serde_saphyr::from_str(BASE).expect("base spec parses");
    s.rollout.strategy = strategy;
    s
}

pub fn candidate(arn: &str, run: &str) -> Candidate {
    Candidate {
        candidate_id: arn.to_owned(),
        origin: Origin::of_id(arn),
        environment: BTreeMap::new(),
        run_id: Some(run.to_owned()),
        approval: "Approved".into(),
        status: "Completed".into(),
        image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/catboost:1".into()),
        model_data_url: format!("s3://models/{run}/model.tar.gz"),
        lineage: [("data_version".to_owned(), format!("data-{run}"))]
            .into_iter()
            .collect(),
        artifact: ArtifactCheck::Valid {
            sha256: "ab".repeat(32),
        },
        comparison: Some(MetricComparison {
            candidate: Some(0.91),
            champion: Some(0.90),
        }),
    }
}
