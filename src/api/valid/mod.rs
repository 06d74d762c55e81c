//! The spec, validated once into typed values: the only form the planner and the engine
//! accept. [`ValidSpec::new`] runs the CRD schema (types, enums, patterns, ranges, CEL
//! rules) and then every rule the schema cannot express, collects every problem at once,
//! and on success hands out parsed durations, the step schedule, thresholds in their
//! metric's unit, compiled regular expressions and checked names. Nothing downstream parses
//! a string of the spec again, so nothing downstream can fall back silently.
//!
//! [`Teardown`] is the smaller contract deletion needs (the endpoint and where it lives), so
//! a resource whose spec became invalid can still be deleted.

/// A regex compiled once per call site: the checks run on every reconcile.
macro_rules! re {
    ($pattern:expr) => {{
        static RE: std::sync::LazyLock<Regex> =
            std::sync::LazyLock::new(|| Regex::new($pattern).expect("static regex"));
        &*RE
    }};
}

mod analysis;
mod candidate;
mod collect;
mod component;
pub mod container;
mod guardrails;
mod identity;
mod notify;
mod rollout;
mod schedule;
mod serverless;
mod serving;
mod smoke;
mod user_tags;

use analysis::analysis;
use candidate::candidate;
use collect::{Collector, ROLE_ARN, S3_URI};
use guardrails::guardrail_limits;
use identity::identity;
use rollout::{floors_can_judge, rollout};
use serving::{autoscaling, copy_to, serving};
use smoke::smoke_test;
use user_tags::check_tags;

pub use analysis::{Analysis, Compare, Margin, OwnedAlarm};
pub use candidate::{CandidatePolicy, CandidateSource};
pub use guardrails::{BlueGreen, Capacity, Rolling};
pub use identity::Teardown;
pub use notify::SnsTopic;
pub use rollout::{Rollout, Shadow, Step};
pub use schedule::{Deadline, Windows};
pub use serving::{ArtifactPolicy, Autoscaling, DataCapture, Serving};
pub use smoke::SmokeTest;

use std::collections::BTreeMap;

use regex::Regex;

pub use super::errors::{FieldError, SpecErrors};

use super::spec::*;
use super::units::S3Uri;

/// A spec that passed every check.
#[derive(Clone, Debug)]
pub struct ValidSpec {
    raw: ModelDeploymentSpec,
    pub endpoint_name: String,
    pub region: Option<String>,
    pub assume_role_arn: Option<String>,
    pub execution_role_arn: String,
    pub candidate: CandidatePolicy,
    pub serving: Serving,
    pub artifact: ArtifactPolicy,
    pub rollout: Rollout,
    pub analysis: Analysis,
    pub autoscaling: Option<Autoscaling>,
    pub data_capture: Option<DataCapture>,
    pub smoke_test: Option<SmokeTest>,
    pub tags: BTreeMap<String, String>,
    pub audit: Option<S3Uri>,
    pub notify: Option<SnsTopic>,
    pub deletion_policy: DeletionPolicy,
    pub adopt: bool,
}

impl ValidSpec {
    /// Validates a spec: the CRD schema first, then the rules it cannot express; every
    /// problem at once.
    pub fn new(spec: &ModelDeploymentSpec) -> Result<Self, SpecErrors> {
        let value = serde_json::to_value(spec).unwrap_or_default();
        let schema = super::schema::problems(&value);
        match build(spec) {
            Ok(valid) if schema.is_empty() => Ok(valid),
            Ok(_) => Err(SpecErrors(schema.all())),
            Err(semantic) => Err(SpecErrors(merge(schema, semantic))),
        }
    }

    /// The spec as written (for content hashes, the deployment record and the CLI).
    pub fn raw(&self) -> &ModelDeploymentSpec {
        &self.raw
    }

    /// What deletion needs.
    pub fn teardown(&self) -> Teardown {
        Teardown {
            endpoint_name: self.endpoint_name.clone(),
            component: self.serving.component.as_ref().map(|ic| ic.name.clone()),
            region: self.region.clone(),
            assume_role_arn: self.assume_role_arn.clone(),
            deletion_policy: self.deletion_policy,
        }
    }
}

/// Builds the typed spec, or returns every problem found.
fn build(spec: &ModelDeploymentSpec) -> Result<ValidSpec, Vec<FieldError>> {
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
    let copy_to = spec
        .artifact
        .copy_to
        .as_deref()
        .and_then(|uri| copy_to(&mut c, uri));
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
    guardrail_limits(&mut c, spec);
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
            read_prefixes: None,
            copy_to,
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

/// Merges schema problems with semantic ones, so that one mistake is reported once: where
/// a structural problem and a semantic one name the same field, the semantic message (which
/// says what was meant) replaces the schema's (which says what was matched); a failed CEL
/// rule is dropped when the semantic rules report a problem at its path or below it (every
/// CEL rule of the CRD has a semantic twin that says which field is wrong, which a test of
/// each rule checks).
pub(crate) fn merge(schema: super::schema::Problems, semantic: Vec<FieldError>) -> Vec<FieldError> {
    let below = |path: &str| {
        semantic.iter().any(|e| {
            e.path == path
                || e.path
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    };
    let mut out: Vec<FieldError> = schema
        .structural
        .into_iter()
        .filter(|s| !semantic.iter().any(|e| e.path == s.path))
        .collect();
    out.extend(schema.cel.into_iter().filter(|c| !below(&c.path)));
    for e in semantic {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}
