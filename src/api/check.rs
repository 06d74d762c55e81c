//! Semantic validation of a `ModelDeploymentSpec`.
//!
//! The API server enforces the CRD schema, but the CLI has no API server and an old CRD may be
//! installed, so the controller re-checks everything here before any AWS call. Every problem
//! is reported at once, each with its field path and what was expected, in the form
//! `spec.rollout.canary.steps[1].weight: 5 must be greater than the previous step (10)`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::spec::*;
use super::units::DurationString;

/// Tag keys the controller writes itself; users may not override them through `spec.tags`.
pub const RESERVED_TAG_KEYS: &[&str] = &[
    "managed-by",
    "owner",
    "candidate_run_id",
    "data_version",
    "model_package_arn",
    "metrics_hash",
    "git_commit",
    "artifact_sha256",
];
/// Prefix of the progress-marker tags.
pub const MARKER_PREFIX: &str = "sagemaker-rollout:";
/// AWS allows 50 tags per resource; lineage and progress markers use the rest.
pub const MAX_USER_TAGS: usize = 20;
/// SageMaker's limit on an InvokeEndpoint payload.
const MAX_INVOKE_BYTES: usize = 6 * 1024 * 1024;
/// SageMaker's limit on blue/green wait and termination intervals.
const MAX_BLUE_GREEN_WAIT_SECS: u64 = 3600;

/// One problem in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path such as `spec.rollout.canary.steps[1].weight`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<FieldError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the spec:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl SpecErrors {
    /// One line, for a condition message.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A regex compiled once per call site: the checks run on every reconcile.
macro_rules! re {
    ($pattern:expr) => {{
        static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new($pattern).expect("static regex"));
        &*RE
    }};
}

#[derive(Default)]
struct Collector(Vec<FieldError>);

impl Collector {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn pattern(&mut self, path: &str, value: &str, re: &Regex, expected: &str) {
        if !re.is_match(value) {
            self.err(path, format!("\"{value}\" is not {expected}"));
        }
    }

    fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.err(path, format!("{value} must be between {min} and {max}"));
        }
    }

    /// Parses a positive duration; returns it when valid.
    fn duration(&mut self, path: &str, d: &DurationString) -> Option<std::time::Duration> {
        match d.parse() {
            Ok(v) if v.is_zero() => {
                self.err(path, format!("\"{d}\" must be longer than zero"));
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

const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$";
const PACKAGE_ARN: &str = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[\w/-]+$";
const S3_URI: &str = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$";
static TAG_CHARS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("static regex"));
static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$").expect("static regex"));

/// Checks a spec; `Ok(())` or every problem found.
pub fn check_spec(spec: &ModelDeploymentSpec) -> Result<(), SpecErrors> {
    let mut c = Collector::default();
    c.pattern(
        "spec.endpointName",
        &spec.endpoint_name,
        re!(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
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
    c.pattern(
        "spec.executionRoleArn",
        &spec.execution_role_arn,
        re!(ROLE_ARN),
        "an IAM role ARN",
    );
    check_candidate(&mut c, &spec.candidate);
    check_serving(&mut c, spec);
    match spec.artifact.max_uncompressed_bytes.parse() {
        Ok(0) => c.err(
            "spec.artifact.maxUncompressedBytes",
            "must be greater than zero",
        ),
        Ok(_) => {}
        Err(e) => c.err("spec.artifact.maxUncompressedBytes", e),
    }
    check_rollout(&mut c, &spec.rollout);
    check_analysis(&mut c, &spec.analysis);
    if let Some(dc) = &spec.data_capture {
        c.range(
            "spec.dataCapture.samplingPercent",
            dc.sampling_percent.into(),
            1,
            100,
        );
        c.pattern(
            "spec.dataCapture.destinationS3Uri",
            &dc.destination_s3_uri,
            re!(S3_URI),
            "an s3://bucket/prefix URI",
        );
    }
    if let Some(st) = &spec.smoke_test {
        check_smoke_test(&mut c, st);
    }
    check_tags(&mut c, spec);
    if let Some(audit) = &spec.audit {
        c.pattern(
            "spec.audit.s3Uri",
            &audit.s3_uri,
            re!(S3_URI),
            "an s3://bucket/prefix URI",
        );
    }
    if c.0.is_empty() {
        Ok(())
    } else {
        Err(SpecErrors(c.0))
    }
}

fn check_candidate(c: &mut Collector, cand: &CandidateSpec) {
    match (&cand.model_package_group, &cand.model_package_arn) {
        (Some(_), Some(_)) => c.err(
            "spec.candidate",
            "set exactly one of modelPackageGroup and modelPackageArn, not both",
        ),
        (None, None) => c.err(
            "spec.candidate",
            "set exactly one of modelPackageGroup (with matchTags) and modelPackageArn",
        ),
        _ => {}
    }
    if let Some(group) = &cand.model_package_group {
        c.pattern(
            "spec.candidate.modelPackageGroup",
            group,
            re!(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
            "a model package group name",
        );
    }
    if let Some(arn) = &cand.model_package_arn {
        c.pattern(
            "spec.candidate.modelPackageArn",
            arn,
            re!(PACKAGE_ARN),
            "a model package version ARN",
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
            if k.is_empty() || k.len() > 128 {
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
}

fn check_serving(c: &mut Collector, spec: &ModelDeploymentSpec) {
    let s = &spec.serving;
    c.pattern(
        "spec.serving.instanceType",
        &s.instance_type,
        re!(r"^ml\.[a-z0-9]+\.[a-z0-9]+$"),
        "a SageMaker instance type such as ml.m5.large",
    );
    c.range(
        "spec.serving.instanceCount",
        s.instance_count.into(),
        1,
        100,
    );
    if s.environment.len() > 100 {
        c.err(
            "spec.serving.environment",
            format!(
                "{} entries; SageMaker allows at most 100",
                s.environment.len()
            ),
        );
    }
    for (k, v) in &s.environment {
        if !ENV_NAME.is_match(k) {
            c.err(
                format!("spec.serving.environment[{k}]"),
                "must be a variable name (letters, digits, _; not starting with a digit)",
            );
        }
        if v.len() > 1024 {
            c.err(
                format!("spec.serving.environment[{k}]"),
                format!("value is {} characters; at most 1024", v.len()),
            );
        }
    }
    if let Some(a) = &spec.autoscaling {
        c.range("spec.autoscaling.min", a.min.into(), 1, 100);
        c.range("spec.autoscaling.max", a.max.into(), 1, 100);
        if a.min > a.max {
            c.err(
                "spec.autoscaling.min",
                format!("{} must not exceed autoscaling.max ({})", a.min, a.max),
            );
        } else if s.instance_count < a.min || s.instance_count > a.max {
            c.err(
                "spec.serving.instanceCount",
                format!(
                    "{} must lie within autoscaling min..max ({}..{})",
                    s.instance_count, a.min, a.max
                ),
            );
        }
        if !a.target.value.is_finite() || a.target.value <= 0.0 {
            c.err(
                "spec.autoscaling.target.value",
                format!("{} must be a number above zero", a.target.value),
            );
        }
        c.duration("spec.autoscaling.scaleInCooldown", &a.scale_in_cooldown);
        c.duration("spec.autoscaling.scaleOutCooldown", &a.scale_out_cooldown);
    }
}

fn check_rollout(c: &mut Collector, r: &RolloutSpec) {
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
    if let Some(canary) = &r.canary {
        if canary.steps.is_empty() || canary.steps.len() > 10 {
            c.err(
                "spec.rollout.canary.steps",
                format!("has {} steps; expected 1 to 10", canary.steps.len()),
            );
        }
        let mut previous: Option<i32> = None;
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
            c.duration(&format!("{path}.bake"), &step.bake);
        }
    }
    if let Some(linear) = &r.linear {
        c.range(
            "spec.rollout.linear.stepWeight",
            linear.step_weight.into(),
            1,
            99,
        );
        c.duration("spec.rollout.linear.bake", &linear.bake);
    }
    if let Some(bg) = &r.blue_green {
        for (field, d) in [
            ("bake", &bg.bake),
            ("terminationWait", &bg.termination_wait),
        ] {
            let path = format!("spec.rollout.blueGreen.{field}");
            if let Some(v) = c
                .duration(&path, d)
                .filter(|v| v.as_secs() > MAX_BLUE_GREEN_WAIT_SECS)
            {
                c.err(
                    path,
                    format!("\"{d}\" ({}s) exceeds SageMaker's limit of 1h", v.as_secs()),
                );
            }
        }
        if let Some(p) = bg.canary_percent {
            c.range("spec.rollout.blueGreen.canaryPercent", p.into(), 1, 99);
        }
    }
    if let Some(sh) = &r.shadow {
        c.range(
            "spec.rollout.shadow.samplingPercent",
            sh.sampling_percent.into(),
            1,
            100,
        );
        c.duration("spec.rollout.shadow.duration", &sh.duration);
    }
}

fn check_analysis(c: &mut Collector, a: &AnalysisSpec) {
    let mut seen = BTreeSet::new();
    for (i, name) in a.alarms.existing.iter().enumerate() {
        let path = format!("spec.analysis.alarms.existing[{i}]");
        if name.trim().is_empty() || name.len() > 255 {
            c.err(path, "must be a CloudWatch alarm name of 1-255 characters");
        } else if !seen.insert(name.as_str()) {
            c.err(path, format!("\"{name}\" is listed twice"));
        }
    }
    let mut created = BTreeSet::new();
    for (i, rule) in a.alarms.create.iter().enumerate() {
        let path = format!("spec.analysis.alarms.create[{i}]");
        c.pattern(
            &format!("{path}.statistic"),
            &rule.statistic,
            re!(r"^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$"),
            "Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99",
        );
        c.range(&format!("{path}.periods"), rule.periods.into(), 1, 60);
        if let Err(e) = threshold_value(rule) {
            c.err(format!("{path}.threshold"), e);
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
    }
}

/// The CloudWatch threshold of an owned alarm, converted to the metric's unit
/// (ModelLatency and OverheadLatency are reported in microseconds).
pub fn threshold_value(rule: &AlarmRule) -> Result<f64, String> {
    let t = rule.threshold.as_str();
    let split = t
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("\"{t}\" is not a number with an optional unit (us, ms, s, %)"))?;
    let latency = matches!(
        rule.metric,
        AlarmMetric::ModelLatency | AlarmMetric::OverheadLatency
    );
    let percent = matches!(
        rule.metric,
        AlarmMetric::CPUUtilization | AlarmMetric::MemoryUtilization
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

fn check_smoke_test(c: &mut Collector, st: &SmokeTestSpec) {
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
    if let Some(re) = &st.expect.body_matches
        && let Err(e) = Regex::new(re)
    {
        let detail = e.to_string();
        let detail = detail
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        c.err(
            "spec.smokeTest.expect.bodyMatches",
            format!("\"{re}\" is not a valid regular expression ({detail})"),
        );
    }
}

fn check_tags(c: &mut Collector, spec: &ModelDeploymentSpec) {
    if spec.tags.len() > MAX_USER_TAGS {
        c.err(
            "spec.tags",
            format!(
                "{} tags; at most {MAX_USER_TAGS} (AWS allows 50 and lineage uses the rest)",
                spec.tags.len()
            ),
        );
    }
    for (k, v) in &spec.tags {
        let path = format!("spec.tags[{k}]");
        if k.is_empty() || k.len() > 128 {
            c.err(&path, "keys are 1-128 characters");
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            c.err(&path, "the aws: prefix is reserved by AWS");
        }
        if RESERVED_TAG_KEYS.contains(&k.as_str()) || k.starts_with(MARKER_PREFIX) {
            c.err(
                &path,
                "is written by the controller (lineage or progress) and cannot be set here",
            );
        }
        if v.len() > 256 {
            c.err(
                &path,
                format!("value is {} characters; at most 256", v.len()),
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
