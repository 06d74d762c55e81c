//! The semantic validator: every problem at once, each with its field path and what was
//! expected; and the `check` command's output and exit codes.

use std::process::Command;

use sagemaker_rollout::api::{FieldError, SpecErrors, ValidSpec};

/// The spec as a serverless variant with 4 GB, 20 at most, 2 provisioned, no autoscaling.
fn serverless(s: &mut ModelDeploymentSpec) {
    s.serving.instance_type = String::new();
    s.serving.serverless = Some(ServerlessSpec {
        memory_mb: 4096,
        max_concurrency: 20,
        provisioned_concurrency: Some(2),
    });
    s.autoscaling = None;
    s.data_capture = None;
}

/// The spec as a Direct rollout to an inference component of `copies` copies.
fn component(s: &mut ModelDeploymentSpec, copies: i32) {
    s.serving.instance_type = String::new();
    s.serving.instance_count = 1;
    s.serving.inference_component = Some(InferenceComponentSpec {
        name: "churn-ic".into(),
        variant: None,
        copies,
        compute: ComputeSpec {
            memory_mb: 4096,
            max_memory_mb: None,
            cpus: Some(1.0),
            accelerators: None,
        },
    });
    s.rollout.strategy = Strategy::Direct;
    s.autoscaling = None;
    s.data_capture = None;
    s.analysis.compare.clear();
    s.candidate.compare_with_champion = None;
    s.smoke_test = None;
    s.rollout.rollback_window = None;
}

fn rolling(batch: BatchSize) -> RollingSpec {
    RollingSpec {
        batch,
        bake: DurationString::new("10m"),
        rollback_batch: None,
        timeout: None,
    }
}

fn check_spec(spec: &ModelDeploymentSpec) -> Result<(), SpecErrors> {
    ValidSpec::new(spec).map(|_| ())
}
use sagemaker_rollout::api::document::load_valid;
use sagemaker_rollout::api::*;

fn canary() -> ModelDeploymentSpec {
    let text = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    load_valid("canary.yaml", &text).unwrap().remove(0).0.spec
}

fn errors(spec: &ModelDeploymentSpec) -> Vec<String> {
    match check_spec(spec) {
        Ok(()) => vec![],
        Err(e) => e.0.iter().map(FieldError::to_string).collect(),
    }
}

/// Each row: a mutation of a valid spec and the one error it must produce.
#[test]
fn each_mistake_is_reported_with_its_path_and_expectation() {
    type Mutation = fn(&mut ModelDeploymentSpec);
    let table: Vec<(&str, Mutation, &str)> = vec![
        (
            "canary weights go down",
            |s| s.rollout.canary.as_mut().unwrap().steps[1].weight = 5,
            "spec.rollout.canary.steps[1].weight: 5 must be greater than the previous step (10)",
        ),
        (
            "canary weight of 100",
            |s| s.rollout.canary.as_mut().unwrap().steps[1].weight = 100,
            "spec.rollout.canary.steps[1].weight: 100 must be between 1 and 99 (100 % is the final promotion)",
        ),
        (
            "bake is not a duration",
            |s| {
                s.rollout.canary.as_mut().unwrap().steps[0].bake = Some(DurationString::new("soon"))
            },
            "spec.rollout.canary.steps[0].bake: \"soon\" is not a duration (expected e.g. 90s, 10m, 1h30m, 500ms)",
        ),
        (
            "a step without a bake that does not pause",
            |s| s.rollout.canary.as_mut().unwrap().steps[0].bake = None,
            "spec.rollout.canary.steps[0].bake: is required (or pause: true)",
        ),
        (
            "zero bake",
            |s| s.rollout.canary.as_mut().unwrap().steps[0].bake = Some(DurationString::new("0s")),
            "spec.rollout.canary.steps[0].bake: \"0s\" must be longer than zero",
        ),
        (
            "canary strategy without canary",
            |s| s.rollout.canary = None,
            "spec.rollout.canary: is required by strategy Canary",
        ),
        (
            "both candidate sources",
            |s| {
                s.candidate.model_package_arn =
                    Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1".into())
            },
            "spec.candidate: set exactly one of modelPackageGroup (with matchTags), modelPackageArn, artifact and validationResults",
        ),
        (
            "an artifact beside a package group",
            |s| s.candidate.artifact = Some(artifact_source()),
            "spec.candidate: set exactly one of modelPackageGroup (with matchTags), modelPackageArn, artifact and validationResults",
        ),
        (
            "an artifact that is not a .tar.gz",
            |s| {
                let mut a = artifact_source();
                a.s3_uri = "s3://ml-artifacts/fraud/run-7/model.zip".into();
                only_source(s).artifact = Some(a);
            },
            "spec.candidate.artifact.s3Uri: \"s3://ml-artifacts/fraud/run-7/model.zip\" does not end in .tar.gz; SageMaker needs a gzip-compressed tar archive",
        ),
        (
            "an artifact URI a tag cannot hold",
            |s| {
                let mut a = artifact_source();
                a.s3_uri = "s3://ml-artifacts/fraud/run (7)/model.tar.gz".into();
                only_source(s).artifact = Some(a);
            },
            "spec.candidate.artifact.s3Uri: \"s3://ml-artifacts/fraud/run (7)/model.tar.gz\" has characters a tag cannot hold; use letters, digits and _ . : / = + - @",
        ),
        (
            "an image in another region",
            |s| {
                let mut a = artifact_source();
                a.image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:2".into();
                only_source(s).artifact = Some(a);
            },
            "spec.candidate.artifact.image: the image is in eu-west-1 but the endpoint is in us-east-1; SageMaker needs the image in the endpoint's region",
        ),
        (
            "an ECR image without a repository",
            |s| {
                let mut a = artifact_source();
                a.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com".into();
                only_source(s).artifact = Some(a);
            },
            "spec.candidate.artifact.image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com\" is not an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:<digest>])",
        ),
        (
            "an artifact environment variable with a bad name",
            |s| {
                let mut a = artifact_source();
                a.environment = Some([("1WORKERS".to_owned(), "2".to_owned())].into());
                only_source(s).artifact = Some(a);
            },
            "spec.candidate.artifact.environment[1WORKERS]: must be a variable name (letters, digits, _; not starting with a digit)",
        ),
        (
            "an approval policy for an artifact",
            |s| {
                only_source(s).artifact = Some(artifact_source());
                s.candidate.approval = ApprovalPolicy::Any;
            },
            "spec.candidate.approval: applies to Model Registry packages only; an artifact-store candidate is gated by its artifact check and validation results",
        ),
        (
            "validation results that name a prefix",
            |s| only_source(s).validation_results = Some("s3://ml-artifacts/churn/run-7/".into()),
            "spec.candidate.validationResults: \"s3://ml-artifacts/churn/run-7/\" names a bucket or prefix, not a validation_results.json object",
        ),
        (
            "no candidate source",
            |s| {
                s.candidate.model_package_group = None;
                s.candidate.match_tags = None;
            },
            "spec.candidate: set exactly one of modelPackageGroup (with matchTags), modelPackageArn, artifact and validationResults",
        ),
        (
            "blue/green bake over SageMaker's limit",
            |s| {
                s.rollout.strategy = Strategy::BlueGreen;
                s.rollout.blue_green = Some(BlueGreenSpec {
                    bake: DurationString::new("2h"),
                    termination_wait: DurationString::new("5m"),
                    canary_percent: None,
                });
            },
            "spec.rollout.blueGreen.bake: \"2h\" (7200s) exceeds SageMaker's limit of 1h",
        ),
        (
            "blue/green canary over half the fleet",
            |s| {
                s.rollout.strategy = Strategy::BlueGreen;
                s.rollout.blue_green = Some(BlueGreenSpec {
                    bake: DurationString::new("10m"),
                    termination_wait: DurationString::new("5m"),
                    canary_percent: Some(60),
                });
            },
            "spec.rollout.blueGreen.canaryPercent: 60 must be between 1 and 50",
        ),
        (
            "blue/green canary on a single instance",
            |s| {
                s.serving.instance_count = 1;
                s.autoscaling = None;
                s.rollout.strategy = Strategy::BlueGreen;
                s.rollout.blue_green = Some(BlueGreenSpec {
                    bake: DurationString::new("10m"),
                    termination_wait: DurationString::new("5m"),
                    canary_percent: Some(25),
                });
            },
            "spec.rollout.blueGreen.canaryPercent: a canary of 25 % needs serving.instanceCount of 2 or more: SageMaker's canary is at least one instance and at most half of 1",
        ),
        (
            "blue/green watching more alarms than SageMaker takes",
            |s| {
                s.rollout.strategy = Strategy::BlueGreen;
                s.rollout.blue_green = Some(BlueGreenSpec {
                    bake: DurationString::new("10m"),
                    termination_wait: DurationString::new("5m"),
                    canary_percent: None,
                });
                s.analysis.alarms.existing = (0..10).map(|i| format!("kpi-{i}")).collect();
            },
            "spec.analysis.alarms: 12 alarms are watched (10 existing, 2 created); a blue/green deployment hands them to SageMaker's AutoRollbackConfiguration, which takes at most 10",
        ),
        (
            "a rolling batch of the whole fleet",
            |s| {
                s.serving.instance_count = 2;
                s.rollout.strategy = Strategy::Rolling;
                s.rollout.rolling = Some(rolling(BatchSize {
                    instances: Some(2),
                    percent: None,
                }));
            },
            "spec.rollout.rolling.batch: is 100 % of serving.instanceCount (2); SageMaker replaces 5-50 % of the variant's instances per batch (RollingUpdatePolicy.MaximumBatchSize), so a rolling deployment needs 2 instances or more",
        ),
        (
            "a rolling deployment with no alarm to bake against",
            |s| {
                s.rollout.strategy = Strategy::Rolling;
                s.rollout.rolling = Some(rolling(BatchSize {
                    instances: None,
                    percent: Some(50),
                }));
                s.analysis.alarms = AlarmsSpec::default();
            },
            "spec.analysis.alarms: a rolling deployment bakes each batch against CloudWatch alarms and rolls back on one: watch at least one (alarms.existing or alarms.create)",
        ),
        (
            "a rolling deployment of one instance",
            |s| {
                s.serving.instance_count = 1;
                s.autoscaling = None;
                s.rollout.strategy = Strategy::Rolling;
                s.rollout.rolling = Some(rolling(BatchSize {
                    instances: None,
                    percent: Some(50),
                }));
            },
            "spec.serving.instanceCount: 1: a rolling deployment replaces 5-50 % of the instances per batch, so it needs 2 or more",
        ),
        (
            "rolling bakes longer than SageMaker's longest execution timeout",
            |s| {
                s.rollout.strategy = Strategy::Rolling;
                let mut r = rolling(BatchSize {
                    instances: None,
                    percent: Some(5),
                });
                r.bake = DurationString::new("30m");
                s.rollout.rolling = Some(r);
            },
            "spec.rollout.rolling.bake: 20 batches of 1800s bake for 36000s, and SageMaker's execution timeout is at most 28800s (8h): bake shorter or use larger batches",
        ),
        (
            "a rolling timeout shorter than its bakes",
            |s| {
                s.rollout.strategy = Strategy::Rolling;
                let mut r = rolling(BatchSize {
                    instances: Some(1),
                    percent: None,
                });
                r.bake = DurationString::new("1h");
                r.timeout = Some(DurationString::new("90m"));
                s.rollout.rolling = Some(r);
            },
            "spec.rollout.rolling.timeout: 5400s is not longer than the bakes of 2 batches (7200s): SageMaker requires MaximumExecutionTimeoutInSeconds to exceed the waits",
        ),
        (
            "a rolling batch given as both a count and a percentage",
            |s| {
                s.rollout.strategy = Strategy::Rolling;
                s.rollout.rolling = Some(rolling(BatchSize {
                    instances: Some(1),
                    percent: Some(50),
                }));
            },
            "spec.rollout.rolling.batch: give instances or percent, not both",
        ),
        (
            "a serverless canary",
            |s| {
                serverless(s);
            },
            "spec.rollout.strategy: Canary serves the candidate beside the champion, and a serverless endpoint has one production variant (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html#serverless-endpoints-how-it-works-exclusions): use Direct, or BlueGreen to have SageMaker roll back on an alarm",
        ),
        (
            "data capture on a serverless endpoint",
            |s| {
                let capture = s.data_capture.clone();
                serverless(s);
                s.rollout.strategy = Strategy::Direct;
                s.data_capture = capture;
            },
            "spec.dataCapture: serverless endpoints do not support data capture (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html#serverless-endpoints-how-it-works-exclusions)",
        ),
        (
            "serverless memory off SageMaker's 1 GB steps",
            |s| {
                serverless(s);
                s.rollout.strategy = Strategy::Direct;
                s.serving.serverless.as_mut().unwrap().memory_mb = 3000;
            },
            "spec.serving.serverless.memoryMB: 3000 is not one of 1024, 2048, 3072, 4096, 5120 or 6144 (SageMaker's MemorySizeInMB, in 1 GB steps)",
        ),
        (
            "more provisioned concurrency than the maximum",
            |s| {
                serverless(s);
                s.rollout.strategy = Strategy::Direct;
                s.serving
                    .serverless
                    .as_mut()
                    .unwrap()
                    .provisioned_concurrency = Some(30);
            },
            "spec.serving.serverless.provisionedConcurrency: 30 exceeds maxConcurrency (20): SageMaker keeps provisioned concurrency at most the maximum",
        ),
        (
            "a variant both instance-backed and serverless",
            |s| {
                serverless(s);
                s.rollout.strategy = Strategy::Direct;
                s.serving.instance_type = "ml.m5.large".into();
            },
            "spec.serving: set only one of instanceType, serverless and inferenceComponent: the candidate is served one way",
        ),
        (
            "an inference component that also names an instance type",
            |s| {
                component(s, 2);
                s.serving.instance_type = "ml.m5.large".into();
            },
            "spec.serving: set only one of instanceType, serverless and inferenceComponent: the candidate is served one way",
        ),
        (
            "a canary across inference components",
            |s| {
                let canary = s.rollout.canary.clone();
                component(s, 2);
                s.rollout.strategy = Strategy::Canary;
                s.rollout.canary = canary;
            },
            "spec.rollout.strategy: Canary needs SageMaker to divide traffic between two models, and it never does between inference components: a request names the component it is for (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html). Use Direct, or Rolling to have SageMaker replace the copies in batches and roll back on an alarm",
        ),
        (
            "an inference component whose candidate is compared with its champion offline",
            |s| {
                let cmp = s.candidate.compare_with_champion.clone();
                component(s, 2);
                s.candidate.compare_with_champion = cmp.or(Some(ChampionComparison {
                    metric: "auc".into(),
                    higher_is_better: true,
                    min_delta: 0.0,
                }));
            },
            "spec.candidate.compareWithChampion: is not available for an inference component yet: the champion's metrics are read from the endpoint's serving variant, and a component's model is not one",
        ),
        (
            "a smoke test of an inference component",
            |s| {
                let smoke = s.smoke_test.clone();
                component(s, 2);
                s.smoke_test = smoke.or(Some(SmokeTestSpec {
                    content_type: "text/csv".into(),
                    body: "1,2,3".into(),
                    expect: SmokeExpect {
                        status: 200,
                        body_matches: None,
                    },
                }));
            },
            "spec.smokeTest: is not run for an inference component yet: the candidate takes traffic as soon as its first copies are placed, so a smoke test could not gate it; judge it with alarms",
        ),
        (
            "an undo window on an inference component",
            |s| {
                component(s, 2);
                s.rollout.rollback_window = Some(DurationString::new("1h"));
            },
            "spec.rollout.rollbackWindow: undo is not available for an inference component yet: its previous model is not kept to switch back to; roll back by rolling out the previous candidate",
        ),
        (
            "a rolling batch of every copy",
            |s| {
                component(s, 4);
                s.rollout.strategy = Strategy::Rolling;
                s.rollout.rolling = Some(rolling(BatchSize {
                    instances: Some(4),
                    percent: None,
                }));
            },
            "spec.rollout.rolling.batch: is 100 % of serving.inferenceComponent.copies (4); SageMaker replaces 5-50 % of the component's copies per batch (RollingUpdatePolicy.MaximumBatchSize), so a rolling deployment needs 2 copies or more",
        ),
        (
            "an inference component scaled on instances",
            |s| {
                component(s, 2);
                s.autoscaling = Some(AutoscalingSpec {
                    min: 1,
                    max: 4,
                    target: ScalingTarget {
                        metric: ScalingMetric::InvocationsPerInstance,
                        value: 100.0,
                    },
                    scale_in_cooldown: DurationString::new("5m"),
                    scale_out_cooldown: DurationString::new("1m"),
                });
            },
            "spec.autoscaling.target.metric: InvocationsPerInstance does not scale an inference component: Application Auto Scaling scales its copy count on InvocationsPerCopy",
        ),
        (
            "instances scaled on copies",
            |s| {
                s.autoscaling = Some(AutoscalingSpec {
                    min: 1,
                    max: 4,
                    target: ScalingTarget {
                        metric: ScalingMetric::InvocationsPerCopy,
                        value: 100.0,
                    },
                    scale_in_cooldown: DurationString::new("5m"),
                    scale_out_cooldown: DurationString::new("1m"),
                });
                s.serving.instance_count = 2;
            },
            "spec.autoscaling.target.metric: InvocationsPerCopy scales an inference component's copies: use InvocationsPerInstance or ModelLatency for instances",
        ),
        (
            "a copy reserving less memory than it may use at most",
            |s| {
                component(s, 2);
                let c = &mut s.serving.inference_component.as_mut().unwrap().compute;
                c.max_memory_mb = Some(1024);
            },
            "spec.serving.inferenceComponent.compute.maxMemoryMB: 1024 is less than memoryMB (4096)",
        ),
        (
            "serverless autoscaling on instances",
            |s| {
                serverless(s);
                s.rollout.strategy = Strategy::Direct;
                s.autoscaling = Some(AutoscalingSpec {
                    min: 1,
                    max: 4,
                    target: ScalingTarget {
                        metric: ScalingMetric::InvocationsPerInstance,
                        value: 70.0,
                    },
                    scale_in_cooldown: DurationString::new("5m"),
                    scale_out_cooldown: DurationString::new("1m"),
                });
            },
            "spec.autoscaling.target.metric: InvocationsPerInstance scales instances, and a serverless variant has none: SageMaker scales it on demand, and Application Auto Scaling scales its provisioned concurrency (ProvisionedConcurrencyUtilization)",
        ),
        (
            "environment over SageMaker's 32 KB",
            |s| {
                for i in 0..40 {
                    s.serving
                        .environment
                        .insert(format!("VAR_{i}"), "x".repeat(1000));
                }
            },
            "spec.serving.environment: keys and values total 40230 bytes; SageMaker allows at most 32768",
        ),
        (
            "data capture URI over 512 characters",
            |s| {
                s.data_capture.as_mut().unwrap().destination_s3_uri =
                    format!("s3://bucket/{}", "p".repeat(520))
            },
            "spec.dataCapture.destinationS3Uri: is 532 characters; SageMaker allows at most 512",
        ),
        (
            "instance type outside the pattern",
            |s| s.serving.instance_type = "m5.large".into(),
            "spec.serving.instanceType: \"m5.large\" is not a SageMaker instance type such as ml.m5.large",
        ),
        (
            "alarm interval below 5 s",
            |s| s.analysis.interval = DurationString::new("1s"),
            "spec.analysis.interval: \"1s\" must be between 5s and 5m",
        ),
        (
            "shadow then canary without canary steps",
            |s| {
                s.rollout.strategy = Strategy::Shadow;
                s.rollout.canary = None;
                s.rollout.shadow = Some(ShadowSpec {
                    sampling_percent: 10,
                    duration: DurationString::new("1h"),
                    then: ShadowThen::Canary,
                });
            },
            "spec.rollout.canary: is required by shadow.then: Canary",
        ),
        (
            "latency unit on an error count",
            |s| s.analysis.alarms.create[0].threshold = "5ms".into(),
            "spec.analysis.alarms.create[0].threshold: \"5ms\": unit ms does not apply to metric Invocation5XXErrors",
        ),
        (
            "a notify topic that is not an SNS topic ARN",
            |s| {
                s.notify = Some(NotifySpec {
                    sns_topic_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                })
            },
            "spec.notify.snsTopicArn: \"arn:aws:sqs:us-east-1:123456789012:q\" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name of letters, digits, _ and -, optionally ending .fifo>)",
        ),
        (
            "an Invocations floor slower than the shortest bake",
            |s| {
                s.analysis.alarms.create[0].metric = AlarmMetric::Invocations;
                s.analysis.alarms.create[0].threshold = "5".into();
                s.analysis.alarms.create[0].periods = 30;
            },
            "spec.analysis.alarms.create[0].periods: an Invocations floor judges up to 33 min after a step's traffic starts (periods + 3: the first whole minute, the periods, 2 for CloudWatch to publish a new metric), but the shortest bake is 10m: lower periods or bake longer",
        ),
        (
            "a comparison with both margins",
            |s| {
                s.analysis.compare = vec![CompareRule {
                    metric: CompareMetric::ModelLatency,
                    statistic: "p99".into(),
                    max_ratio: Some(1.2),
                    max_increase: Some("50ms".into()),
                    min_invocations: 100,
                }]
            },
            "spec.analysis.compare[0]: needs exactly one of maxRatio and maxIncrease",
        ),
        (
            "a latency increase given in percent",
            |s| {
                s.analysis.compare = vec![CompareRule {
                    metric: CompareMetric::ModelLatency,
                    statistic: "p99".into(),
                    max_ratio: None,
                    max_increase: Some("5%".into()),
                    min_invocations: 100,
                }]
            },
            "spec.analysis.compare[0].maxIncrease: \"5%\" is not a latency such as 50ms for metric ModelLatency",
        ),
        (
            "an error rate compared by a ratio",
            |s| {
                s.analysis.compare = vec![CompareRule {
                    metric: CompareMetric::Invocation5XXErrorRate,
                    statistic: "p99".into(),
                    max_ratio: Some(2.0),
                    max_increase: None,
                    min_invocations: 100,
                }]
            },
            "spec.analysis.compare[0].maxRatio: an error rate takes maxIncrease (percentage points such as 1%): a ratio of a champion at 0 errors allows none, and no candidate could ever be shown within it",
        ),
        (
            "a percentile of OverheadLatency, which AWS lists no percentiles for",
            |s| {
                s.analysis.compare = vec![CompareRule {
                    metric: CompareMetric::OverheadLatency,
                    statistic: "p99".into(),
                    max_ratio: Some(1.2),
                    max_increase: None,
                    min_invocations: 100,
                }]
            },
            "spec.analysis.compare[0].statistic: OverheadLatency has no documented percentiles (the SageMaker metrics page lists Average, Sum, Min, Max and SampleCount for it), not p99: use Average, or a percentile of ModelLatency",
        ),
        (
            "an owned alarm on a percentile of OverheadLatency",
            |s| {
                s.analysis.alarms.create = vec![AlarmRule {
                    metric: AlarmMetric::OverheadLatency,
                    statistic: "p90".into(),
                    threshold: "20ms".into(),
                    periods: 3,
                    datapoints: None,
                    custom: None,
                }]
            },
            "spec.analysis.alarms.create[0].statistic: OverheadLatency has no documented percentiles (the SageMaker metrics page lists Average, Sum, Min, Max and SampleCount for it), not p90: use Average, or a percentile of ModelLatency",
        ),
        (
            "an alarm asked to breach on more minutes than it judges",
            |s| {
                s.analysis.alarms.create = vec![AlarmRule {
                    metric: AlarmMetric::Invocation5XXErrorRate,
                    statistic: "Sum".into(),
                    threshold: "5%".into(),
                    periods: 3,
                    datapoints: Some(4),
                    custom: None,
                }]
            },
            "spec.analysis.alarms.create[0].datapoints: must be between 1 and periods (3), not 4: CloudWatch alarms on M of the last N periods (CW-32)",
        ),
        (
            "an analysis confidence out of range",
            |s| s.analysis.confidence = 0.5,
            "spec.analysis.confidence: 0.5 must be between 0.8 and 0.9999",
        ),
        (
            "a comparison without traffic steps",
            |s| {
                s.rollout.strategy = Strategy::Direct;
                s.analysis.compare = vec![CompareRule {
                    metric: CompareMetric::Invocation5XXErrorRate,
                    statistic: "p99".into(),
                    max_ratio: None,
                    max_increase: Some("1%".into()),
                    min_invocations: 100,
                }]
            },
            "spec.analysis.compare: compares candidate and champion while both serve a step: needs Canary, Linear or Shadow then Canary",
        ),
        (
            "an error rate with a statistic other than Sum",
            |s| {
                s.analysis.alarms.create[0].metric = AlarmMetric::Invocation5XXErrorRate;
                s.analysis.alarms.create[0].statistic = "Average".into();
            },
            "spec.analysis.alarms.create[0].statistic: metric Invocation5XXErrorRate is computed from per-minute sums: statistic must be Sum (or left out), not Average",
        ),
        (
            "an error rate of 150 %",
            |s| {
                s.analysis.alarms.create[0].metric = AlarmMetric::Invocation4XXErrorRate;
                s.analysis.alarms.create[0].threshold = "150%".into();
            },
            "spec.analysis.alarms.create[0].threshold: an error rate in percent between 0 and 100 (exclusive), not 150%",
        ),
        (
            "an Invocations floor of zero",
            |s| {
                s.analysis.alarms.create[0].metric = AlarmMetric::Invocations;
                s.analysis.alarms.create[0].threshold = "0".into();
            },
            "spec.analysis.alarms.create[0].threshold: a floor of at least 1 request per minute, not 0",
        ),
        (
            "an Invocations floor guarding a blue/green rollout",
            |s| {
                s.rollout.strategy = Strategy::BlueGreen;
                s.rollout.blue_green = Some(BlueGreenSpec {
                    bake: DurationString::new("10m"),
                    termination_wait: DurationString::new("5m"),
                    canary_percent: None,
                });
                s.analysis.alarms.create[0].metric = AlarmMetric::Invocations;
                s.analysis.alarms.create[0].threshold = "5".into();
            },
            "spec.analysis.alarms.create[0].metric: Invocations (a floor, in ALARM until traffic arrives) cannot guard a BlueGreen rollout: SageMaker would roll back at once; use Canary or Linear",
        ),
        (
            "instance count outside autoscaling bounds",
            |s| s.serving.instance_count = 9,
            "spec.serving.instanceCount: 9 must lie within autoscaling min..max (2..8)",
        ),
        (
            "data capture to a non-S3 URI",
            |s| s.data_capture.as_mut().unwrap().destination_s3_uri = "https://bucket/x".into(),
            "spec.dataCapture.destinationS3Uri: \"https://bucket/x\" is not an s3://bucket/prefix URI",
        ),
        (
            "reserved lineage tag",
            |s| {
                s.tags.insert("candidate_run_id".into(), "x".into());
            },
            "spec.tags[candidate_run_id]: is written by the controller (lineage or progress) and cannot be set here",
        ),
        (
            "bad byte size",
            |s| s.artifact.max_uncompressed_bytes = ByteSize::new("lots"),
            "spec.artifact.maxUncompressedBytes: \"lots\" is not a byte size (expected digits with an optional k, M, G, T, Ki, Mi, Gi or Ti suffix)",
        ),
        (
            "a copy prefix that is not a prefix",
            |s| s.artifact.copy_to = Some("s3://ml-artifacts/deployed".into()),
            "spec.artifact.copyTo: \"s3://ml-artifacts/deployed\" is not an s3://bucket/prefix/ URI ending in / (letters, digits and _ . : / = + - @: it is recorded in a tag)",
        ),
        (
            "a copy prefix too long for the tag that records the copy",
            |s| s.artifact.copy_to = Some(format!("s3://ml-artifacts/{}/", "p".repeat(170))),
            "spec.artifact.copyTo: is 189 characters; at most 180, so that the copy's URI fits in a tag (256)",
        ),
        (
            "the tag that names an artifact copy",
            |s| {
                s.tags
                    .insert("model_artifact_copy".into(), "s3://x/y/model.tar.gz".into());
            },
            "spec.tags[model_artifact_copy]: is written by the controller (lineage or progress) and cannot be set here",
        ),
        (
            "region typo",
            |s| s.region = Some("us-east".into()),
            "spec.region: \"us-east\" is not an AWS region such as us-east-1",
        ),
        (
            "negative min delta",
            |s| {
                s.candidate
                    .compare_with_champion
                    .as_mut()
                    .unwrap()
                    .min_delta = -1.0
            },
            "spec.candidate.compareWithChampion.minDelta: -1 must be a finite number >= 0",
        ),
    ];
    assert!(
        errors(&canary()).is_empty(),
        "the base example is valid: {:?}",
        errors(&canary())
    );
    for (what, mutate, expected) in table {
        let mut spec = canary();
        mutate(&mut spec);
        assert_eq!(errors(&spec), vec![expected.to_owned()], "{what}");
    }
    // Instance types with a hyphenated family are SageMaker's too.
    for t in [
        "ml.p6-b200.48xlarge",
        "ml.p6e-gb200.36xlarge",
        "ml.g5.xlarge",
    ] {
        let mut spec = canary();
        spec.serving.instance_type = t.into();
        assert!(errors(&spec).is_empty(), "{t}: {:?}", errors(&spec));
    }
}

#[test]
fn a_manifest_full_of_mistakes_reports_every_one_at_once() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let out = Command::new(bin)
        .args(["check", "-f", "tests/fixtures/invalid.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "invalid spec exits 1");
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "has 21 problems:",
        "spec.rollout.strategey (line 18:5): unknown field (it would be dropped by the API server)",
        "spec.endpointName (line 8:3): \"-churn_prod\" is not a SageMaker endpoint name",
        "spec.rollout.canary.steps[1].weight (line 22:12): 5 must be greater than the previous step (10)",
        "spec.rollout.canary.steps[1].bake (line 22:23): \"10 minutes\" is not a duration",
        "spec.rollout.promote (line 24:5): unknown field: promote is a one-shot request for the rollout in flight now, made with `sagemaker-rollout promote`",
        "spec.analysis.alarms.existing[1] (line 27:23): \"kpi\" is listed twice",
        "spec.smokeTest.expect.bodyMatches (line 38:27): \"(unclosed\" is not a valid regular expression (unclosed group)",
        "spec.tags[aws:cost] (line 39:26): the aws: prefix is reserved by AWS",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn check_accepts_every_example_and_exits_2_on_unreadable_input() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let mut args = vec!["check".to_owned(), "-f".to_owned()];
    for e in std::fs::read_dir("deploy/examples").unwrap() {
        args.push(e.unwrap().path().display().to_string());
    }
    let ok = Command::new(bin).args(&args).output().unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let missing = Command::new(bin)
        .args(["check", "-f", "does/not/exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: ModelDeployment\nspec: [unclosed").unwrap();
    let out = Command::new(bin)
        .args(["check", "-f"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid YAML"));
}

#[test]
fn crd_command_prints_the_committed_crd() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let out = Command::new(bin).arg("crd").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(crd::CRD_PATH).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

fn artifact_source() -> ArtifactSource {
    ArtifactSource {
        s3_uri: "s3://ml-artifacts/fraud/run-7/model.tar.gz".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:2".into(),
        environment: None,
    }
}

/// The candidate with no source left, to set one.
fn only_source(s: &mut ModelDeploymentSpec) -> &mut CandidateSpec {
    s.candidate.model_package_group = None;
    s.candidate.match_tags = None;
    s.candidate.compare_with_champion = None;
    &mut s.candidate
}

/// Shell completion for every command, from the one command definition.
#[test]
fn completion_scripts_name_every_command() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    for (shell, marker) in [
        ("bash", "_sagemaker__rollout()"),
        ("zsh", "#compdef sagemaker-rollout"),
        ("fish", "complete -c sagemaker-rollout"),
    ] {
        let out = Command::new(bin)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {marker}");
        for command in [
            "simulate",
            "apply",
            "check",
            "status",
            "promote",
            "abort",
            "completion",
        ] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let bad = Command::new(bin)
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "an unknown shell is refused");
}

/// `check --policy`: the examples are admitted under the example DeploymentPolicies; a
/// resource asking for another team's endpoint and role is refused with every violation,
/// each naming its field and the policy.
#[test]
fn check_judges_manifests_against_deployment_policies_as_the_controller_does() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let mut args: Vec<String> = ["check", "--region", "us-east-1", "--policy"]
        .map(String::from)
        .to_vec();
    for e in std::fs::read_dir("deploy/policies").unwrap() {
        args.push(e.unwrap().path().display().to_string());
    }
    args.push("-f".into());
    for e in std::fs::read_dir("deploy/examples").unwrap() {
        args.push(e.unwrap().path().display().to_string());
    }
    let ok = Command::new(bin).args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    let examples = std::fs::read_dir("deploy/examples").unwrap().count();
    assert_eq!(
        text.matches("admitted by DeploymentPolicy").count(),
        examples,
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let greedy = dir.path().join("greedy.yaml");
    let canary = std::fs::read_to_string("deploy/examples/canary.yaml").unwrap();
    let greedy_text = canary
        .replace("endpointName: churn-prod", "endpointName: fraud-prod")
        .replace("role/sagemaker-exec", "role/fraud-exec");
    std::fs::write(&greedy, greedy_text).unwrap();
    let out = Command::new(bin)
        .args([
            "check",
            "--region",
            "us-east-1",
            "--policy",
            "deploy/policies/ml-prod.yaml",
            "-f",
        ])
        .arg(&greedy)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for line in [
        "ModelDeployment ml-prod/churn has 2 PolicyViolation problems:",
        "spec.endpointName: \"fraud-prod\" is not granted by DeploymentPolicy ml-prod",
        "spec.executionRoleArn: \"arn:aws:iam::123456789012:role/fraud-exec\" is not granted by DeploymentPolicy ml-prod",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // A namespace no policy selects.
    let out = Command::new(bin)
        .args([
            "check",
            "--policy",
            "deploy/policies/ml-staging.yaml",
            "-f",
            "deploy/examples/canary.yaml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no DeploymentPolicy selects namespace \"ml-prod\""),
        "{text}"
    );
}

/// The allocator's low-memory settings apply to every front end, not only the image: the
/// binary starts itself again with them when the environment lacks them, and keeps one the
/// environment sets (mimalloc prints its options with `MIMALLOC_VERBOSE=1`).
#[test]
fn the_binary_runs_with_the_allocators_low_memory_settings() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let options = |env: &[(&str, &str)]| {
        let out = Command::new(bin)
            .arg("--version")
            .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
            .env_remove("MIMALLOC_PURGE_DELAY")
            .env("MIMALLOC_VERBOSE", "1")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // The options of the process that ran (after the restart, if any): the last ones.
        let last = |name: &str| {
            err.lines()
                .rfind(|l| l.contains(&format!("option '{name}':")))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        };
        (last("arena_eager_commit"), last("purge_delay"))
    };
    assert_eq!(options(&[]), (Some("0".into()), Some("0".into())));
    assert_eq!(
        options(&[("MIMALLOC_PURGE_DELAY", "50")]),
        (Some("0".into()), Some("50".into())),
        "an explicit setting is kept"
    );
}

/// The help a person reads: commands in four groups, each listed once with a one-line
/// summary; every command's own help has its long description, examples and a line of help
/// under every flag.
#[test]
fn help_groups_every_command_and_each_has_a_summary_examples_and_help_on_every_flag() {
    let bin = env!("CARGO_BIN_EXE_sagemaker-rollout");
    let help = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    for group in ["Rollout", "On call", "Artifact", "Cluster"] {
        assert!(top.contains(&format!("\n{group}")), "group {group}:\n{top}");
    }
    // The grouped listing: "  <name>  <summary>" lines between the usage and the options.
    let listing = &top[top.find("Rollout").unwrap()..top.find("Options:").unwrap()];
    let commands: Vec<(&str, &str)> = listing
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim().is_empty())
        .map(|l| {
            let t = l.trim_start();
            let (name, summary) = t.split_once(' ').unwrap();
            (name, summary.trim())
        })
        .collect();
    let mut names: Vec<&str> = commands.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "each command in one group");
    for cmd in [
        "status",
        "list",
        "undo",
        "simulate",
        "completion",
        "controller",
    ] {
        assert!(names.contains(&cmd), "{cmd} listed");
    }
    let mut silent = Vec::new();
    for (name, summary) in &commands {
        assert!(
            !summary.is_empty() && !summary.contains(". "),
            "{name}: a one-line summary, not {summary:?}"
        );
        let text = help(&[name, "--help"]);
        assert!(text.contains("Examples:\n  $ "), "{name}: examples\n{text}");
        let lines: Vec<&str> = text.lines().collect();
        let first = (lines.iter())
            .position(|l| *l == "Arguments:" || *l == "Options:")
            .unwrap();
        for (i, l) in lines.iter().enumerate().skip(first + 1) {
            let flag = ["  -", "      --", "  <", "  ["]
                .iter()
                .any(|p| l.starts_with(p));
            // Its help is the next line, indented (not clap's own "[default: …]").
            let said = |n: &&str| n.starts_with("          ") && !n.trim_start().starts_with('[');
            if flag && !lines.get(i + 1).is_some_and(said) {
                silent.push(format!("{name}: {}", l.trim()));
            }
        }
    }
    assert!(silent.is_empty(), "flags without help: {silent:?}");
}
