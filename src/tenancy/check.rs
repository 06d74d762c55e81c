//! One policy against one spec: every field a tenant could use to reach beyond its grant,
//! each refusal naming the field, the value and what the policy allows.

use crate::api::policy::DeploymentPolicySpec;
use crate::api::valid::CandidateSource;
use crate::api::{FieldError, S3Uri, Teardown, ValidSpec};

/// Whether `value` matches `pattern`, where `*` matches any run of characters. Written here
/// because the patterns are ARNs and names, not paths: no crate's path globbing treats `/`
/// and `:` as ordinary characters by default, and the rule is one loop.
pub fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == value;
    };
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn any(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| glob(p, value))
}

/// Whether the S3 object or prefix `uri` lies in one of `prefixes` (`s3://bucket/dir/`),
/// both read as directories: `s3://b/ml-prod/` admits `s3://b/ml-prod` and what is under it,
/// never `s3://b/ml-prod-other/`. A key with `.`, `..` or empty segments is never inside:
/// S3 keeps them literally, but whatever fetches the object may not.
pub fn inside(uri: &str, prefixes: &[String]) -> bool {
    let Ok(u) = S3Uri::parse(uri) else {
        return false;
    };
    let key = u.key.trim_end_matches('/');
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        && !key.is_empty()
    {
        return false;
    }
    prefixes.iter().any(|p| {
        S3Uri::parse(p).is_ok_and(|p| {
            let dir = p.key.trim_end_matches('/');
            p.bucket == u.bucket
                && (dir.is_empty() || key == dir || key.starts_with(&format!("{dir}/")))
        })
    })
}

/// The account of an ARN (`arn:partition:service:region:account:...`).
fn account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

struct Judge<'a> {
    policy: &'a str,
    p: &'a DeploymentPolicySpec,
    errors: Vec<FieldError>,
}

impl<'a> Judge<'a> {
    fn new(policy: &'a str, p: &'a DeploymentPolicySpec) -> Self {
        Self {
            policy,
            p,
            errors: Vec::new(),
        }
    }

    /// The role to assume when nothing was refused, else every refusal.
    fn verdict(self, role: Option<String>) -> Result<String, Vec<FieldError>> {
        match role {
            Some(r) if self.errors.is_empty() => Ok(r),
            _ => Err(self.errors),
        }
    }

    fn refuse(&mut self, field: &str, value: &str, allowed: &str) {
        self.errors.push(FieldError::new(
            field,
            format!(
                "{value:?} is not granted by DeploymentPolicy {}: {allowed}",
                self.policy
            ),
        ));
    }

    fn accounts(&self) -> Vec<String> {
        if !self.p.accounts.is_empty() {
            return self.p.accounts.clone();
        }
        let mut a: Vec<String> = (self.p.roles.iter())
            .filter_map(|r| account(&r.role_arn).map(str::to_owned))
            .collect();
        a.dedup();
        a
    }

    fn arn_account(&mut self, field: &str, arn: &str) {
        let allowed = self.accounts();
        if let Some(acct) = account(arn)
            && !allowed.iter().any(|a| a == acct)
        {
            let msg = format!("account {acct} is not one of {}", allowed.join(", "));
            self.refuse(field, arn, &msg);
        }
    }

    fn patterns(&mut self, field: &str, value: &str, patterns: &[String], what: &str) {
        if !any(patterns, value) {
            let allowed = if patterns.is_empty() {
                format!("it grants no {what}")
            } else {
                format!("{what} allowed: {}", patterns.join(", "))
            };
            self.refuse(field, value, &allowed);
        }
    }

    fn s3(&mut self, field: &str, uri: &str, prefixes: &[String], what: &str) {
        if !inside(uri, prefixes) {
            let allowed = if prefixes.is_empty() {
                format!("it grants no S3 prefix to {what}")
            } else {
                format!("S3 prefixes to {what}: {}", prefixes.join(", "))
            };
            self.refuse(field, uri, &allowed);
        }
    }

    /// Endpoint name, region and role: the target. Returns the role to assume.
    fn target(
        &mut self,
        endpoint: &str,
        region: Option<&str>,
        role: Option<&str>,
    ) -> Option<String> {
        let p = self.p;
        // SageMaker endpoint names are case-insensitive: so is the grant.
        let names: Vec<String> = p
            .endpoint_names
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        if !any(&names, &endpoint.to_ascii_lowercase()) {
            self.patterns(
                "spec.endpointName",
                endpoint,
                &p.endpoint_names,
                "endpoint names",
            );
        }
        let Some(region) = region else {
            self.errors.push(FieldError::new(
                "spec.region",
                format!(
                    "unset, and no default region is configured (the controller's --aws-region, check's --region): DeploymentPolicy {} chooses its role by region",
                    self.policy
                ),
            ));
            return None;
        };
        if !p.regions.is_empty() && !p.regions.iter().any(|r| r == region) {
            let msg = format!("regions allowed: {}", p.regions.join(", "));
            self.refuse("spec.region", region, &msg);
        }
        let serves = |r: &&crate::api::policy::RoleGrant| {
            r.regions.is_empty() || r.regions.iter().any(|x| x == region)
        };
        let chosen = match role {
            Some(arn) => p.roles.iter().filter(serves).find(|r| r.role_arn == arn),
            None => p.roles.iter().find(serves),
        };
        match (chosen, role) {
            (Some(r), _) => {
                let arn = r.role_arn.clone();
                self.arn_account("spec.assumeRoleArn", &arn);
                Some(arn)
            }
            (None, Some(arn)) => {
                let roles: Vec<&str> = p.roles.iter().map(|r| r.role_arn.as_str()).collect();
                let msg = format!("roles for region {region}: {}", roles.join(", "));
                self.refuse("spec.assumeRoleArn", arn, &msg);
                None
            }
            (None, None) => {
                self.refuse(
                    "spec.region",
                    region,
                    "none of its roles serves this region",
                );
                None
            }
        }
    }
}

/// Checks a whole spec; Ok is the role to assume.
pub(super) fn spec(
    policy: &str,
    p: &DeploymentPolicySpec,
    s: &ValidSpec,
    default_region: Option<&str>,
) -> Result<String, Vec<FieldError>> {
    let mut j = Judge::new(policy, p);
    let region = s.region.as_deref().or(default_region);
    let role = j.target(&s.endpoint_name, region, s.assume_role_arn.as_deref());
    j.patterns(
        "spec.executionRoleArn",
        &s.execution_role_arn,
        &p.execution_roles,
        "execution roles",
    );
    j.arn_account("spec.executionRoleArn", &s.execution_role_arn);
    candidate(&mut j, &s.candidate.source);
    if let Some(audit) = &s.audit {
        let uri = format!("s3://{}/{}", audit.bucket, audit.key);
        j.s3("spec.audit.s3Uri", &uri, &p.s3.write, "write");
    }
    if let Some(copy) = &s.artifact.copy_to {
        j.s3(
            "spec.artifact.copyTo",
            &copy.to_string(),
            &p.s3.write,
            "write",
        );
    }
    if let Some(dc) = &s.data_capture {
        j.s3(
            "spec.dataCapture.destinationS3Uri",
            &dc.destination_s3_uri,
            &p.s3.write,
            "write",
        );
    }
    if let Some(topic) = &s.notify {
        j.patterns(
            "spec.notify.snsTopicArn",
            &topic.arn,
            &p.sns_topics,
            "SNS topics",
        );
        j.arn_account("spec.notify.snsTopicArn", &topic.arn);
    }
    if s.adopt {
        let names = p.adopt.as_ref().map(|a| a.endpoint_names.clone());
        // What is taken over: the endpoint, or the inference component on it.
        let adopted = s.serving.component.as_ref().map(|c| &c.name);
        j.patterns(
            "spec.adopt",
            adopted.unwrap_or(&s.endpoint_name),
            &names.unwrap_or_default(),
            "endpoint names to adopt",
        );
    }
    if let Some(ceiling) = &p.max_uncompressed_bytes
        && let Err(e) = ceiling.parse()
    {
        // An unparsable ceiling refuses everything (fail closed), naming it.
        j.refuse(
            "spec.artifact.maxUncompressedBytes",
            &ceiling.0,
            &format!("the policy's maxUncompressedBytes is unreadable ({e})"),
        );
    }
    if !s.artifact.validate && !p.allow_skip_validation {
        j.refuse(
            "spec.artifact.validate",
            "false",
            "skipping the artifact check is not allowed (allowSkipValidation)",
        );
    }
    j.verdict(role)
}

fn candidate(j: &mut Judge<'_>, source: &CandidateSource) {
    let groups = j.p.model_package_groups.clone();
    match source {
        CandidateSource::Group { group, .. } => {
            let field = "spec.candidate.modelPackageGroup";
            let name = group.rsplit('/').next().unwrap_or(group);
            if !any(&groups, group) && !any(&groups, name) {
                j.patterns(field, group, &groups, "model package groups");
            }
            if group.starts_with("arn:") {
                j.arn_account(field, group);
            }
        }
        CandidateSource::Pinned { arn } => {
            // arn:…:model-package/<group>/<version>
            let group = arn.split('/').nth(1).unwrap_or_default();
            let field = "spec.candidate.modelPackageArn";
            if !any(&groups, group) && !any(&groups, arn) {
                j.patterns(field, arn, &groups, "model package groups");
            }
            j.arn_account(field, arn);
        }
        CandidateSource::Artifact { uri, .. } => {
            j.s3(
                "spec.candidate.artifact.s3Uri",
                uri,
                &j.p.s3.read.clone(),
                "read",
            );
        }
        CandidateSource::Results { uri } => {
            j.s3(
                "spec.candidate.validationResults",
                uri,
                &j.p.s3.read.clone(),
                "read",
            );
        }
    }
}

/// Checks only a deletion's target; Ok is the role to assume.
pub(super) fn target(
    policy: &str,
    p: &DeploymentPolicySpec,
    t: &Teardown,
    default_region: Option<&str>,
) -> Result<String, Vec<FieldError>> {
    let mut j = Judge::new(policy, p);
    let region = t.region.as_deref().or(default_region);
    let role = j.target(&t.endpoint_name, region, t.assume_role_arn.as_deref());
    j.verdict(role)
}
