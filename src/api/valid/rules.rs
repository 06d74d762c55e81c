//! The rules a CRD schema cannot express, applied while building a [`ValidSpec`]: each
//! field is checked and converted in one go, so a value is never checked in one place and
//! parsed (differently) in another. Every problem is collected before answering.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::Duration;

use jiff::SignedDuration;
use regex::Regex;

use super::container;
use super::{
    Analysis, ArtifactPolicy, Autoscaling, BlueGreen, CandidatePolicy, CandidateSource, Compare,
    DataCapture, FieldError, Margin, OwnedAlarm, Rollout, Serving, Shadow, SmokeTest, SnsTopic,
    SpecErrors, Step, Teardown, ValidSpec,
};
use crate::api::spec::{
    AlarmMetric, AlarmRule, AnalysisSpec, ApprovalPolicy, AutoscalingSpec, BlueGreenSpec,
    CanarySpec, CandidateSpec, ModelDeploymentSpec, RolloutSpec, ShadowThen, SmokeTestSpec,
    Strategy,
};
use crate::api::units::{DurationString, S3Uri};
use crate::tags;

/// SageMaker's limit on an InvokeEndpoint payload.
const MAX_INVOKE_BYTES: usize = 6 * 1024 * 1024;
/// SageMaker's limit on blue/green wait and termination intervals.
const MAX_BLUE_GREEN_WAIT_SECS: u64 = 3600;
/// Bounds of `analysis.interval`: often enough to act within seconds, rarely enough that
/// one DescribeAlarms per interval stays cheap.
const MIN_INTERVAL: Duration = Duration::from_secs(5);
const MAX_INTERVAL: Duration = Duration::from_secs(300);
/// Longest bake or shadow period accepted: a month of one step is a stuck rollout.
const MAX_STAGE: Duration = Duration::from_secs(30 * 86_400);

const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$";
const PACKAGE_ARN: &str = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[\w/-]+$";
const S3_URI: &str = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$";
/// SageMaker's name pattern (endpoints, configs, models, package groups); length separately.
const NAME: &str = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";

/// A regex compiled once per call site: the checks run on every reconcile.
macro_rules! re {
    ($pattern:expr) => {{
        static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new($pattern).expect("static regex"));
        &*RE
    }};
}

static TAG_CHARS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("static regex"));

#[derive(Default)]
struct Collector(Vec<FieldError>);

impl Collector {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    fn pattern(&mut self, path: &str, value: &str, re: &Regex, expected: &str) -> bool {
        let ok = re.is_match(value);
        if !ok {
            self.err(path, format!("\"{value}\" is not {expected}"));
        }
        ok
    }

    /// A SageMaker resource name: 1–63 characters of the documented pattern.
    fn name(&mut self, path: &str, value: &str, expected: &str) {
        let chars = value.chars().count();
        if chars == 0 || chars > 63 || !re!(NAME).is_match(value) {
            self.err(path, format!("\"{value}\" is not {expected}"));
        }
    }

    fn range(&mut self, path: &str, value: i64, min: i64, max: i64) -> bool {
        let ok = (min..=max).contains(&value);
        if !ok {
            self.err(path, format!("{value} must be between {min} and {max}"));
        }
        ok
    }

    /// A duration above zero and at most `max`.
    fn duration(&mut self, path: &str, d: &DurationString, max: Duration) -> Option<Duration> {
        match d.parse() {
            Ok(v) if v.is_zero() => {
                self.err(path, format!("\"{d}\" must be longer than zero"));
                None
            }
            Ok(v) if v > max => {
                self.err(
                    path,
                    format!("\"{d}\" is longer than the {} allowed", humanize(max)),
                );
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

fn signed(d: Duration) -> SignedDuration {
    // Bounded by MAX_DURATION where parsed, so this cannot saturate in practice.
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// Builds the typed spec, or returns every problem found.
pub(super) fn build(spec: &ModelDeploymentSpec) -> Result<ValidSpec, Vec<FieldError>> {
    let mut c = Collector::default();
    identity(&mut c, spec);
    c.pattern(
        "spec.executionRoleArn",
        &spec.execution_role_arn,
        re!(ROLE_ARN),
        "an IAM role ARN",
    );
    let candidate = candidate(&mut c, &spec.candidate, spec);
    let serving = serving(&mut c, spec);
    let autoscaling = spec
        .autoscaling
        .as_ref()
        .and_then(|a| autoscaling(&mut c, a));
    let max_uncompressed_bytes = match spec.artifact.max_uncompressed_bytes.parse() {
        Ok(0) => {
            c.err(
                "spec.artifact.maxUncompressedBytes",
                "must be greater than zero",
            );
            0
        }
        Ok(n) => n,
        Err(e) => {
            c.err("spec.artifact.maxUncompressedBytes", e);
            0
        }
    };
    let rollout = rollout(&mut c, &spec.rollout);
    let analysis = analysis(&mut c, &spec.analysis);
    if let Some(r) = &rollout {
        floors_can_judge(&mut c, spec, r);
        if r.steps.is_empty() && !spec.analysis.compare.is_empty() {
            c.err(
                "spec.analysis.compare",
                "compares candidate and champion while both serve a step: needs Canary, Linear or Shadow then Canary",
            );
        }
    }
    if spec.rollout.strategy == Strategy::BlueGreen {
        blue_green_limits(&mut c, spec);
        // SageMaker rolls a blue/green deployment back on any of its alarms in ALARM, and a
        // floor is in ALARM until the new fleet has traffic.
        for (i, rule) in spec.analysis.alarms.create.iter().enumerate() {
            if rule.metric == AlarmMetric::Invocations {
                c.err(
                    format!("spec.analysis.alarms.create[{i}].metric"),
                    "Invocations (a floor, in ALARM until traffic arrives) cannot guard a BlueGreen rollout: SageMaker would roll back at once; use Canary or Linear",
                );
            }
        }
    }
    let data_capture = spec.data_capture.as_ref().map(|dc| {
        c.range(
            "spec.dataCapture.samplingPercent",
            dc.sampling_percent.into(),
            1,
            100,
        );
        if c.pattern(
            "spec.dataCapture.destinationS3Uri",
            &dc.destination_s3_uri,
            re!(S3_URI),
            "an s3://bucket/prefix URI",
        ) && dc.destination_s3_uri.len() > 512
        {
            c.err(
                "spec.dataCapture.destinationS3Uri",
                format!(
                    "is {} characters; SageMaker allows at most 512",
                    dc.destination_s3_uri.len()
                ),
            );
        }
        DataCapture {
            sampling_percent: dc.sampling_percent,
            destination_s3_uri: dc.destination_s3_uri.clone(),
        }
    });
    let smoke_test = spec.smoke_test.as_ref().map(|st| smoke_test(&mut c, st));
    check_tags(&mut c, &spec.tags);
    let audit = spec.audit.as_ref().and_then(|a| {
        c.pattern(
            "spec.audit.s3Uri",
            &a.s3_uri,
            re!(S3_URI),
            "an s3://bucket/prefix URI",
        )
        .then(|| S3Uri::parse(&a.s3_uri).ok())
        .flatten()
    });
    let notify = spec.notify.as_ref().and_then(|n| {
        SnsTopic::parse(&n.sns_topic_arn)
            .map_err(|e| c.err("spec.notify.snsTopicArn", e))
            .ok()
    });
    if !c.0.is_empty() {
        return Err(c.0);
    }
    Ok(ValidSpec {
        raw: spec.clone(),
        endpoint_name: spec.endpoint_name.clone(),
        region: spec.region.clone(),
        assume_role_arn: spec.assume_role_arn.clone(),
        execution_role_arn: spec.execution_role_arn.clone(),
        candidate: candidate.ok_or_else(Vec::new)?,
        serving,
        artifact: ArtifactPolicy {
            validate: spec.artifact.validate,
            max_uncompressed_bytes,
        },
        rollout: rollout.ok_or_else(Vec::new)?,
        analysis,
        autoscaling,
        data_capture,
        smoke_test: smoke_test.flatten(),
        tags: spec.tags.clone(),
        audit,
        notify,
        deletion_policy: spec.deletion_policy,
        adopt: spec.adopt,
    })
}

/// The deletion contract: the endpoint's name and location, nothing else.
pub(super) fn teardown(spec: &ModelDeploymentSpec) -> Result<Teardown, SpecErrors> {
    let mut c = Collector::default();
    identity(&mut c, spec);
    if !c.0.is_empty() {
        return Err(SpecErrors(c.0));
    }
    Ok(Teardown {
        endpoint_name: spec.endpoint_name.clone(),
        region: spec.region.clone(),
        assume_role_arn: spec.assume_role_arn.clone(),
        deletion_policy: spec.deletion_policy,
    })
}

/// Which endpoint, in which region, through which role: all deletion needs.
fn identity(c: &mut Collector, spec: &ModelDeploymentSpec) {
    c.name(
        "spec.endpointName",
        &spec.endpoint_name,
        "a SageMaker endpoint name (1-63 letters, digits and hyphens, not starting or ending with a hyphen)",
    );
    if let Some(region) = &spec.region {
        c.pattern(
            "spec.region",
            region,
            re!(r"^[a-z]{2}(-[a-z]+)+-[0-9]$"),
            "an AWS region such as us-east-1",
        );
    }
    if let Some(arn) = &spec.assume_role_arn {
        c.pattern("spec.assumeRoleArn", arn, re!(ROLE_ARN), "an IAM role ARN");
    }
}

fn candidate(
    c: &mut Collector,
    cand: &CandidateSpec,
    spec: &ModelDeploymentSpec,
) -> Option<CandidatePolicy> {
    let set = [
        cand.model_package_group.is_some(),
        cand.model_package_arn.is_some(),
        cand.artifact.is_some(),
        cand.validation_results.is_some(),
    ];
    let source = if set.iter().filter(|s| **s).count() != 1 {
        c.err(
            "spec.candidate",
            "set exactly one of modelPackageGroup (with matchTags), modelPackageArn, artifact and validationResults",
        );
        None
    } else if let Some(group) = &cand.model_package_group {
        c.name(
            "spec.candidate.modelPackageGroup",
            group,
            "a model package group name",
        );
        Some(CandidateSource::Group {
            group: group.clone(),
            match_tags: cand.match_tags.clone().unwrap_or_default(),
        })
    } else if let Some(arn) = &cand.model_package_arn {
        c.pattern(
            "spec.candidate.modelPackageArn",
            arn,
            re!(PACKAGE_ARN),
            "a model package version ARN",
        );
        Some(CandidateSource::Pinned { arn: arn.clone() })
    } else if let Some(a) = &cand.artifact {
        let environment = a.environment.clone().unwrap_or_default();
        c.0.extend(container::artifact_uri(
            "spec.candidate.artifact.s3Uri",
            &a.s3_uri,
        ));
        c.0.extend(container::image(
            "spec.candidate.artifact.image",
            &a.image,
            spec.region.as_deref(),
        ));
        let path = "spec.candidate.artifact.environment";
        c.0.extend(container::environment_entries(path, &environment));
        c.0.extend(container::merged_size(
            path,
            &environment,
            &spec.serving.environment,
        ));
        Some(CandidateSource::Artifact {
            uri: a.s3_uri.clone(),
            image: a.image.clone(),
            environment,
        })
    } else {
        let uri = cand.validation_results.clone().unwrap_or_default();
        match S3Uri::parse(&uri) {
            Ok(u) if !u.key.is_empty() && !u.key.ends_with('/') => {}
            Ok(_) => c.err(
                "spec.candidate.validationResults",
                format!("\"{uri}\" names a bucket or prefix, not a validation_results.json object"),
            ),
            Err(e) => c.err("spec.candidate.validationResults", e),
        }
        Some(CandidateSource::Results { uri })
    };
    if cand.approval != ApprovalPolicy::default()
        && (cand.artifact.is_some() || cand.validation_results.is_some())
    {
        c.err(
            "spec.candidate.approval",
            "applies to Model Registry packages only; an artifact-store candidate is gated by its artifact check and validation results",
        );
    }
    if let Some(tags) = &cand.match_tags {
        if cand.model_package_group.is_none() {
            c.err(
                "spec.candidate.matchTags",
                "needs spec.candidate.modelPackageGroup to search in",
            );
        }
        for k in tags.keys() {
            if k.is_empty() || k.chars().count() > tags::MAX_KEY_CHARS {
                c.err(
                    format!("spec.candidate.matchTags[{k}]"),
                    "tag keys are 1-128 characters",
                );
            }
        }
    }
    if let Some(cmp) = &cand.compare_with_champion {
        if cmp.metric.trim().is_empty() {
            c.err(
                "spec.candidate.compareWithChampion.metric",
                "must name a key of artifacts/metrics.json",
            );
        }
        if !cmp.min_delta.is_finite() || cmp.min_delta < 0.0 {
            c.err(
                "spec.candidate.compareWithChampion.minDelta",
                format!("{} must be a finite number >= 0", cmp.min_delta),
            );
        }
    }
    Some(CandidatePolicy {
        source: source?,
        approval: cand.approval,
        compare_with_champion: cand.compare_with_champion.clone(),
    })
}

fn serving(c: &mut Collector, spec: &ModelDeploymentSpec) -> Serving {
    let s = &spec.serving;
    c.pattern(
        "spec.serving.instanceType",
        &s.instance_type,
        re!(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"),
        "a SageMaker instance type such as ml.m5.large",
    );
    c.range(
        "spec.serving.instanceCount",
        s.instance_count.into(),
        1,
        100,
    );
    c.0.extend(container::environment(
        "spec.serving.environment",
        &s.environment,
    ));
    if let Some(a) = &spec.autoscaling
        && a.min <= a.max
        && (s.instance_count < a.min || s.instance_count > a.max)
    {
        c.err(
            "spec.serving.instanceCount",
            format!(
                "{} must lie within autoscaling min..max ({}..{})",
                s.instance_count, a.min, a.max
            ),
        );
    }
    Serving {
        instance_type: s.instance_type.clone(),
        instance_count: s.instance_count,
        environment: s.environment.clone(),
    }
}

fn autoscaling(c: &mut Collector, a: &AutoscalingSpec) -> Option<Autoscaling> {
    c.range("spec.autoscaling.min", a.min.into(), 1, 100);
    c.range("spec.autoscaling.max", a.max.into(), 1, 100);
    if a.min > a.max {
        c.err(
            "spec.autoscaling.min",
            format!("{} must not exceed autoscaling.max ({})", a.min, a.max),
        );
    }
    if !a.target.value.is_finite() || a.target.value <= 0.0 {
        c.err(
            "spec.autoscaling.target.value",
            format!("{} must be a number above zero", a.target.value),
        );
    }
    let day = Duration::from_secs(86_400);
    let scale_in = c.duration(
        "spec.autoscaling.scaleInCooldown",
        &a.scale_in_cooldown,
        day,
    );
    let scale_out = c.duration(
        "spec.autoscaling.scaleOutCooldown",
        &a.scale_out_cooldown,
        day,
    );
    Some(Autoscaling {
        min: a.min,
        max: a.max,
        metric: a.target.metric,
        target_value: a.target.value,
        scale_in_cooldown: scale_in?,
        scale_out_cooldown: scale_out?,
    })
}

fn rollout(c: &mut Collector, r: &RolloutSpec) -> Option<Rollout> {
    let needs = |c: &mut Collector, present: bool, field: &str, why: &str| {
        if !present {
            c.err(
                format!("spec.rollout.{field}"),
                format!("is required {why}"),
            );
        }
    };
    match r.strategy {
        Strategy::Canary => needs(c, r.canary.is_some(), "canary", "by strategy Canary"),
        Strategy::Linear => needs(c, r.linear.is_some(), "linear", "by strategy Linear"),
        Strategy::BlueGreen => needs(
            c,
            r.blue_green.is_some(),
            "blueGreen",
            "by strategy BlueGreen",
        ),
        Strategy::Shadow => {
            needs(c, r.shadow.is_some(), "shadow", "by strategy Shadow");
            if r.shadow
                .as_ref()
                .is_some_and(|s| s.then == ShadowThen::Canary)
            {
                needs(c, r.canary.is_some(), "canary", "by shadow.then: Canary");
            }
        }
        Strategy::Direct => {}
    }
    if r.promote && r.abort {
        c.err("spec.rollout", "promote and abort cannot both be true");
    }
    let canary = r.canary.as_ref().map(|canary| canary_steps(c, canary));
    let linear = r.linear.as_ref().map(|linear| {
        let ok = c.range(
            "spec.rollout.linear.stepWeight",
            linear.step_weight.into(),
            1,
            99,
        );
        let bake = c.duration("spec.rollout.linear.bake", &linear.bake, MAX_STAGE);
        match (ok, bake) {
            (true, Some(bake)) => (1..)
                .map(|k| k * linear.step_weight)
                .take_while(|w| *w < 100)
                .map(|weight| Step {
                    weight,
                    bake: signed(bake),
                })
                .collect(),
            _ => Vec::new(),
        }
    });
    let blue_green = r.blue_green.as_ref().map(|bg| blue_green(c, bg));
    let shadow = r.shadow.as_ref().map(|sh| {
        c.range(
            "spec.rollout.shadow.samplingPercent",
            sh.sampling_percent.into(),
            1,
            100,
        );
        let duration = c.duration("spec.rollout.shadow.duration", &sh.duration, MAX_STAGE);
        Shadow {
            sampling_percent: sh.sampling_percent,
            duration: duration.map(signed).unwrap_or_default(),
            then: sh.then,
        }
    });
    let steps = match r.strategy {
        Strategy::Canary => canary.clone().unwrap_or_default(),
        Strategy::Linear => linear.unwrap_or_default(),
        Strategy::Shadow
            if shadow
                .as_ref()
                .is_some_and(|s| s.then == ShadowThen::Canary) =>
        {
            canary.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Some(Rollout {
        strategy: r.strategy,
        steps,
        blue_green: blue_green.flatten(),
        shadow,
        paused: r.paused,
        promote: r.promote,
        abort: r.abort,
    })
}

fn canary_steps(c: &mut Collector, canary: &CanarySpec) -> Vec<Step> {
    if canary.steps.is_empty() || canary.steps.len() > 10 {
        c.err(
            "spec.rollout.canary.steps",
            format!("has {} steps; expected 1 to 10", canary.steps.len()),
        );
    }
    let mut previous: Option<i32> = None;
    let mut steps = Vec::new();
    for (i, step) in canary.steps.iter().enumerate() {
        let path = format!("spec.rollout.canary.steps[{i}]");
        if step.weight < 1 || step.weight > 99 {
            c.err(
                format!("{path}.weight"),
                format!(
                    "{} must be between 1 and 99 (100 % is the final promotion)",
                    step.weight
                ),
            );
        }
        if let Some(p) = previous.filter(|p| step.weight <= *p) {
            c.err(
                format!("{path}.weight"),
                format!(
                    "{} must be greater than the previous step ({p})",
                    step.weight
                ),
            );
        }
        previous = Some(step.weight);
        if let Some(bake) = c.duration(&format!("{path}.bake"), &step.bake, MAX_STAGE) {
            steps.push(Step {
                weight: step.weight,
                bake: signed(bake),
            });
        }
    }
    steps
}

fn blue_green(c: &mut Collector, bg: &BlueGreenSpec) -> Option<BlueGreen> {
    let limit = Duration::from_secs(MAX_BLUE_GREEN_WAIT_SECS);
    let mut wait = |field: &str, d: &DurationString| {
        let path = format!("spec.rollout.blueGreen.{field}");
        match d.parse() {
            Ok(v) if v.is_zero() => {
                c.err(&path, format!("\"{d}\" must be longer than zero"));
                None
            }
            Ok(v) if v > limit => {
                c.err(
                    &path,
                    format!("\"{d}\" ({}s) exceeds SageMaker's limit of 1h", v.as_secs()),
                );
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                c.err(&path, e);
                None
            }
        }
    };
    let bake = wait("bake", &bg.bake);
    let termination_wait = wait("terminationWait", &bg.termination_wait);
    if let Some(p) = bg.canary_percent {
        // CanarySize: at most half of the variant's instances (TrafficRoutingConfig).
        c.range("spec.rollout.blueGreen.canaryPercent", p.into(), 1, 50);
    }
    Some(BlueGreen {
        bake: bake?,
        termination_wait: termination_wait?,
        canary_percent: bg.canary_percent,
    })
}

/// What SageMaker checks across fields of a blue/green deployment: AutoRollbackConfig
/// holds at most 10 alarms (all watched alarms go there), and a canary of at least one
/// instance must be at most half of the fleet, so it needs two instances or more.
fn blue_green_limits(c: &mut Collector, spec: &ModelDeploymentSpec) {
    let alarms = &spec.analysis.alarms;
    let watched = alarms.existing.len() + alarms.create.len();
    if watched > 10 {
        c.err(
            "spec.analysis.alarms",
            format!(
                "{watched} alarms are watched ({} existing, {} created); a blue/green deployment hands them to SageMaker's AutoRollbackConfiguration, which takes at most 10",
                alarms.existing.len(),
                alarms.create.len()
            ),
        );
    }
    let canary = spec
        .rollout
        .blue_green
        .as_ref()
        .and_then(|bg| bg.canary_percent);
    if let Some(p) = canary
        && spec.serving.instance_count < 2
    {
        c.err(
            "spec.rollout.blueGreen.canaryPercent",
            format!(
                "a canary of {p} % needs serving.instanceCount of 2 or more: SageMaker's canary is at least one instance and at most half of {}",
                spec.serving.instance_count
            ),
        );
    }
}

/// One comparison: a margin that parses in the metric's unit, exactly one of them.
fn compare_rule(c: &mut Collector, path: &str, rule: &crate::api::CompareRule) -> Compare {
    use crate::api::CompareMetric::*;
    let latency = matches!(rule.metric, ModelLatency | OverheadLatency);
    if latency {
        c.pattern(
            &format!("{path}.statistic"),
            &rule.statistic,
            re!(r"^(Average|p[0-9]{1,2}(\.[0-9]+)?)$"),
            "Average or a percentile such as p99",
        );
    }
    c.range(
        &format!("{path}.minInvocations"),
        rule.min_invocations,
        1,
        1_000_000_000,
    );
    let margin = match (rule.max_ratio, &rule.max_increase) {
        (Some(r), None) if r.is_finite() && r >= 1.0 => Margin::Ratio(r),
        (Some(r), None) => {
            c.err(
                format!("{path}.maxRatio"),
                format!("must be a number of at least 1, not {r}"),
            );
            Margin::Ratio(1.0)
        }
        (None, Some(t)) => {
            let split = t
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                .unwrap_or(t.len());
            let (num, unit) = t.split_at(split);
            let n: Option<f64> = num.parse().ok().filter(|n: &f64| n.is_finite());
            let scaled = match (n, unit, latency) {
                (Some(n), "" | "us", true) => Some(n),
                (Some(n), "ms", true) => Some(n * 1_000.0),
                (Some(n), "s", true) => Some(n * 1_000_000.0),
                (Some(n), "" | "%", false) => Some(n),
                _ => None,
            };
            match scaled {
                Some(v) => Margin::Increase(v),
                None => {
                    c.err(
                        format!("{path}.maxIncrease"),
                        format!(
                            "\"{t}\" is not {} for metric {:?}",
                            if latency {
                                "a latency such as 50ms"
                            } else {
                                "percentage points such as 1%"
                            },
                            rule.metric
                        ),
                    );
                    Margin::Increase(0.0)
                }
            }
        }
        _ => {
            c.err(path, "needs exactly one of maxRatio and maxIncrease");
            Margin::Ratio(1.0)
        }
    };
    Compare {
        metric: rule.metric,
        statistic: if latency {
            rule.statistic.clone()
        } else {
            "Sum".into()
        },
        margin,
        min_invocations: rule.min_invocations as f64,
    }
}

/// An Invocations floor judges `periods + 1` minutes after a step's traffic starts: every
/// bake (and the shadow period) must last longer, or the floor would never say anything.
fn floors_can_judge(c: &mut Collector, spec: &ModelDeploymentSpec, r: &Rollout) {
    let shortest = r
        .steps
        .iter()
        .map(|s| s.bake)
        .chain(r.shadow.as_ref().map(|s| s.duration))
        .min();
    for (i, rule) in spec.analysis.alarms.create.iter().enumerate() {
        let needs = SignedDuration::from_mins(i64::from(rule.periods) + 1);
        if rule.metric == AlarmMetric::Invocations
            && let Some(bake) = shortest.filter(|b| *b <= needs)
        {
            c.err(
                format!("spec.analysis.alarms.create[{i}].periods"),
                format!(
                    "an Invocations floor judges {} min after a step's traffic starts (periods + 1), but the shortest bake is {bake:#}: lower periods or bake longer",
                    rule.periods + 1
                ),
            );
        }
    }
}

fn analysis(c: &mut Collector, a: &AnalysisSpec) -> Analysis {
    let mut seen = BTreeSet::new();
    for (i, name) in a.alarms.existing.iter().enumerate() {
        let path = format!("spec.analysis.alarms.existing[{i}]");
        if name.trim().is_empty() || name.chars().count() > 255 {
            c.err(path, "must be a CloudWatch alarm name of 1-255 characters");
        } else if !seen.insert(name.as_str()) {
            c.err(path, format!("\"{name}\" is listed twice"));
        }
    }
    let mut created = BTreeSet::new();
    let mut owned = Vec::new();
    for (i, rule) in a.alarms.create.iter().enumerate() {
        let path = format!("spec.analysis.alarms.create[{i}]");
        c.pattern(
            &format!("{path}.statistic"),
            &rule.statistic,
            re!(r"^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$"),
            "Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99",
        );
        c.range(&format!("{path}.periods"), rule.periods.into(), 1, 60);
        let threshold = match threshold_value(rule) {
            Ok(t) => t,
            Err(e) => {
                c.err(format!("{path}.threshold"), e);
                f64::NAN
            }
        };
        if matches!(
            rule.metric,
            AlarmMetric::Invocation5XXErrorRate
                | AlarmMetric::Invocation4XXErrorRate
                | AlarmMetric::Invocations
        ) && rule.statistic != "Sum"
        {
            c.err(
                format!("{path}.statistic"),
                format!(
                    "metric {:?} is computed from per-minute sums: statistic must be Sum (or left out), not {}",
                    rule.metric, rule.statistic
                ),
            );
        }
        let rate = matches!(
            rule.metric,
            AlarmMetric::Invocation5XXErrorRate | AlarmMetric::Invocation4XXErrorRate
        );
        if rate && !(threshold.is_nan() || (threshold > 0.0 && threshold < 100.0)) {
            c.err(
                format!("{path}.threshold"),
                format!(
                    "an error rate in percent between 0 and 100 (exclusive), not {}",
                    rule.threshold
                ),
            );
        }
        if rule.metric == AlarmMetric::Invocations && !(threshold.is_nan() || threshold >= 1.0) {
            c.err(
                format!("{path}.threshold"),
                format!(
                    "a floor of at least 1 request per minute, not {}",
                    rule.threshold
                ),
            );
        }
        match (rule.metric, &rule.custom) {
            (AlarmMetric::Custom, None) => {
                c.err(format!("{path}.custom"), "is required by metric Custom")
            }
            (AlarmMetric::Custom, Some(m)) => {
                if m.namespace.is_empty() || m.metric_name.is_empty() {
                    c.err(format!("{path}.custom"), "needs namespace and metricName");
                }
            }
            (other, Some(_)) => c.err(
                format!("{path}.custom"),
                format!("is only used with metric Custom, not {other:?}"),
            ),
            (_, None) => {}
        }
        let key = (
            format!("{:?}", rule.metric),
            rule.custom.as_ref().map(|m| m.metric_name.clone()),
            rule.statistic.clone(),
        );
        if !created.insert(key) {
            c.err(
                path,
                "duplicates an earlier alarm with the same metric and statistic",
            );
        }
        owned.push(OwnedAlarm {
            metric: rule.metric,
            statistic: rule.statistic.clone(),
            threshold,
            periods: rule.periods,
            custom: rule.custom.clone(),
        });
    }
    let compare = a
        .compare
        .iter()
        .enumerate()
        .map(|(i, rule)| compare_rule(c, &format!("spec.analysis.compare[{i}]"), rule))
        .collect();
    let interval = match a.interval.parse() {
        Ok(d) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) => d,
        Ok(_) => {
            c.err(
                "spec.analysis.interval",
                format!("\"{}\" must be between 5s and 5m", a.interval),
            );
            MIN_INTERVAL
        }
        Err(e) => {
            c.err("spec.analysis.interval", e);
            MIN_INTERVAL
        }
    };
    Analysis {
        rollback_on: a.rollback_on,
        interval,
        existing: a.alarms.existing.clone(),
        owned,
        compare,
    }
}

/// The CloudWatch threshold of an owned alarm, converted to the metric's unit
/// (ModelLatency and OverheadLatency are reported in microseconds).
fn threshold_value(rule: &AlarmRule) -> Result<f64, String> {
    let t = rule.threshold.as_str();
    let split = t
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| format!("\"{t}\" is not a number with an optional unit (us, ms, s, %)"))?;
    let latency = matches!(
        rule.metric,
        AlarmMetric::ModelLatency | AlarmMetric::OverheadLatency
    );
    let percent = matches!(
        rule.metric,
        AlarmMetric::CPUUtilization
            | AlarmMetric::MemoryUtilization
            | AlarmMetric::Invocation5XXErrorRate
            | AlarmMetric::Invocation4XXErrorRate
    );
    match unit {
        "" => Ok(n),
        "us" | "ms" | "s" if latency => Ok(n * match unit {
            "us" => 1.0,
            "ms" => 1_000.0,
            _ => 1_000_000.0,
        }),
        "%" if percent => Ok(n),
        "us" | "ms" | "s" | "%" => Err(format!(
            "\"{t}\": unit {unit} does not apply to metric {:?}",
            rule.metric
        )),
        _ => Err(format!(
            "\"{t}\" has an unknown unit (expected us, ms, s or %)"
        )),
    }
}

fn smoke_test(c: &mut Collector, st: &SmokeTestSpec) -> Option<SmokeTest> {
    if st.content_type.trim().is_empty() {
        c.err(
            "spec.smokeTest.contentType",
            "must be a MIME type such as text/csv",
        );
    }
    if st.body.len() > MAX_INVOKE_BYTES {
        c.err(
            "spec.smokeTest.body",
            format!(
                "is {} bytes; InvokeEndpoint accepts at most 6 MiB",
                st.body.len()
            ),
        );
    }
    c.range(
        "spec.smokeTest.expect.status",
        st.expect.status.into(),
        100,
        599,
    );
    let body_matches = match &st.expect.body_matches {
        None => None,
        Some(pattern) => match Regex::new(pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                let detail = e.to_string();
                let detail = detail
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                c.err(
                    "spec.smokeTest.expect.bodyMatches",
                    format!("\"{pattern}\" is not a valid regular expression ({detail})"),
                );
                return None;
            }
        },
    };
    Some(SmokeTest {
        content_type: st.content_type.clone(),
        body: st.body.clone(),
        expect_status: st.expect.status,
        body_matches,
    })
}

fn check_tags(c: &mut Collector, user_tags: &BTreeMap<String, String>) {
    if user_tags.len() > tags::MAX_USER_TAGS {
        c.err(
            "spec.tags",
            format!(
                "{} tags; at most {} (AWS allows 50 and lineage uses the rest)",
                user_tags.len(),
                tags::MAX_USER_TAGS
            ),
        );
    }
    for (k, v) in user_tags {
        let path = format!("spec.tags[{k}]");
        if k.is_empty() || k.chars().count() > tags::MAX_KEY_CHARS {
            c.err(&path, "keys are 1-128 characters");
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            c.err(&path, "the aws: prefix is reserved by AWS");
        }
        if tags::is_reserved(k) {
            c.err(
                &path,
                "is written by the controller (lineage or progress) and cannot be set here",
            );
        }
        if v.chars().count() > tags::MAX_VALUE_CHARS {
            c.err(
                &path,
                format!("value is {} characters; at most 256", v.chars().count()),
            );
        }
        if !(TAG_CHARS.is_match(k) && TAG_CHARS.is_match(v)) {
            c.err(
                &path,
                "may only use letters, digits, spaces and _ . : / = + - @",
            );
        }
    }
}
