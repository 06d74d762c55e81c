//! AWS adapters: one module per service, each a narrow async trait speaking domain types,
//! with the official `aws-sdk-*` client as the production implementation.
//!
//! This module owns what they share: the SDK configuration (default credential chain, region
//! from the spec or the environment, optional assumed role, `AWS_ENDPOINT_URL`, standard retry
//! mode, explicit timeouts; [`limit`] for the request rate) and the error type every adapter
//! returns, classified so callers know whether to back off or stall.

pub mod alarms;
pub mod components;
pub mod endpoints;
pub mod limit;
pub mod notify;
pub mod registry;
pub mod runtime;
pub mod s3;
pub mod scaling;
pub mod sdk;
pub mod sdk_components;
mod sdk_configs;
pub mod sdk_endpoints;
pub mod sts;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How an AWS failure should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Rate limited: back off (jittered) and retry.
    Throttling,
    /// Network trouble, timeouts, 5xx: back off and retry.
    Transient,
    /// The resource does not exist (cleanup treats this as success).
    NotFound,
    /// Rejected request (validation, permissions, limits): retrying will not help; the
    /// controller reports Stalled until the spec changes.
    Terminal,
}

/// A failed AWS call.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct AwsError {
    pub class: ErrorClass,
    pub service: &'static str,
    pub operation: &'static str,
    /// The AWS error code, when AWS sent one.
    pub code: Option<String>,
    /// The HTTP status, when AWS answered (a HEAD error has no body, so no code: S3-10).
    pub status: Option<u16>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} failed", self.service, self.operation)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl AwsError {
    pub fn new(
        class: ErrorClass,
        service: &'static str,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            class,
            service,
            operation,
            code: None,
            status: None,
            message: message.into(),
        }
    }

    /// An error AWS answered with `code` (a 400 unless the code says otherwise), classed as
    /// [`classify`] would class it; the simulator builds its errors this way.
    pub fn answered(
        service: &'static str,
        operation: &'static str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self {
            class: class_of(Failure::Response, Some(code), Some(400), &message),
            service,
            operation,
            code: Some(code.to_owned()),
            status: None,
            message,
        }
    }

    /// A 403: the caller may not do this, or (S3 without `s3:ListBucket`, S3-2) the object
    /// it asked for does not exist.
    pub fn is_access_denied(&self) -> bool {
        self.status == Some(403)
            || matches!(
                self.code.as_deref(),
                Some("AccessDenied" | "AccessDeniedException" | "Forbidden")
            )
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self.class, ErrorClass::Throttling | ErrorClass::Transient)
    }
}

/// Error codes AWS answers when it throttles a caller.
pub(crate) const THROTTLING: &[&str] = &[
    "Throttling",
    // SNS: the model's code, and KMS throttling an encrypted topic's publish (SNS-14).
    "Throttled",
    "KMSThrottling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
];
const NOT_FOUND: &[&str] = &[
    "NotFound",
    "NoSuchKey",
    "NoSuchBucket",
    "ResourceNotFound",
    "ResourceNotFoundException",
    "ObjectNotFoundException",
];

/// Whether the request got an answer at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Timeout, connection refused or dropped, unreadable response.
    Connection,
    /// AWS (or something in between) answered with an error.
    Response,
}

/// Errors AWS answers while another operation on the same resource is in progress: the
/// resource will be free again shortly, so these are retried with backoff. SageMaker says
/// "Cannot update in-progress endpoint" (a ValidationException) or ResourceInUse;
/// Application Auto Scaling says ConcurrentUpdateException.
const BUSY: &[&str] = &["ConcurrentUpdateException", "ResourceInUse"];
const BUSY_MESSAGES: &[&str] = &["cannot update in-progress", "cannot delete in-progress"];
/// Server-side failures some services name instead of (or besides) a 5xx status.
const SERVER: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalServiceException",
    "InternalServerError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// The class of a failure from what AWS said; pure, so each rule has a table test.
pub fn class_of(
    kind: Failure,
    code: Option<&str>,
    status: Option<u16>,
    message: &str,
) -> ErrorClass {
    let lower = message.to_ascii_lowercase();
    match (kind, code, status) {
        (Failure::Connection, _, _) => ErrorClass::Transient,
        (_, Some(c), _) if THROTTLING.contains(&c) => ErrorClass::Throttling,
        (_, _, Some(429)) => ErrorClass::Throttling,
        (_, Some(c), _) if BUSY.contains(&c) || SERVER.contains(&c) => ErrorClass::Transient,
        (_, Some("ValidationException"), _) if BUSY_MESSAGES.iter().any(|p| lower.contains(p)) => {
            ErrorClass::Transient
        }
        (_, Some("PreconditionFailed"), _) | (_, _, Some(412)) => ErrorClass::Transient, // S3-12
        (_, Some(c), _) if NOT_FOUND.contains(&c) => ErrorClass::NotFound,
        (_, _, Some(404)) => ErrorClass::NotFound,
        (_, Some("ValidationException" | "ObjectNotFoundException"), _)
            if [
                "could not find",
                "does not exist",
                "not found",
                "no scaling policy found",
                "no scalable target found",
            ]
            .iter()
            .any(|p| lower.contains(p)) =>
        {
            ErrorClass::NotFound
        }
        (_, _, Some(s)) if s >= 500 => ErrorClass::Transient,
        _ => ErrorClass::Terminal,
    }
}

/// Classifies an SDK error. SageMaker reports a missing resource as a ValidationException
/// whose message says "Could not find" / "does not exist" (moto does the same for Application
/// Auto Scaling: "No scaling policy found"), so the message is consulted too.
pub fn classify<E>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (code, message) = match &err {
        SdkError::ServiceError(se) => (
            se.err().code().map(str::to_owned),
            se.err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| se.err().to_string()),
        ),
        other => (
            None,
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    };
    let kind = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Connection
        }
        _ => Failure::Response,
    };
    let class = class_of(kind, code.as_deref(), status, &message);
    AwsError {
        class,
        service,
        operation,
        code,
        status,
        message,
    }
}

/// For a call that uses a resource created just before it (CreateEndpoint and UpdateEndpoint
/// after CreateEndpointConfig, CreateEndpointConfig after CreateModel, RegisterScalableTarget
/// after the endpoint comes up, PutScalingPolicy after RegisterScalableTarget): AWS reads
/// those dependencies eventually consistently and asks callers to retry, so "not found"
/// here is transient, not a missing resource.
pub fn dependency_pending(mut e: AwsError) -> AwsError {
    if e.class == ErrorClass::NotFound {
        e.class = ErrorClass::Transient;
        e.message
            .push_str(" (a resource created just before may not be visible yet; retrying)");
    }
    e
}

/// Connection settings shared by every adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Region; None uses the environment / profile.
    pub region: Option<String>,
    /// Role to assume (cross-account deployment).
    pub assume_role_arn: Option<String>,
    /// The role session's name ([`session_name`]): who acts, as CloudTrail and the role's
    /// trust policy (`sts:RoleSessionName`) see it. None: `sagemaker-rollout`.
    pub session: Option<String>,
    /// Multi-tenant mode: the tenant the session acts for, sent as session tags with the
    /// session name as SourceIdentity ([`sts::TenantRole`]); the role's trust policy must
    /// allow `sts:TagSession` and `sts:SetSourceIdentity`.
    pub tenant: Option<crate::tenancy::Tenant>,
}

/// The role session name of `driver` (`controller` or `cli`) acting for `owner`
/// (`namespace/name`): `sr-<driver>@<namespace>.<name>` within STS's rules (2–64 characters
/// of letters, digits and `+=,.@_-`; AssumeRole API reference, RoleSessionName), anything
/// else replaced by `-`; too long, it is cut and ends in a hash of the whole, so two
/// resources never share a name.
pub fn session_name(driver: &str, owner: &str) -> String {
    use sha2::{Digest, Sha256};
    let raw = format!("sr-{driver}@{}", owner.replacen('/', ".", 1));
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= 64 {
        return clean;
    }
    let hash = hex::encode(Sha256::digest(raw.as_bytes()));
    format!("{}-{}", &clean[..55], &hash[..8])
}

/// Per-attempt and per-operation timeouts; generous for SageMaker's slow control plane,
/// explicit so that a hung connection never stalls a reconcile forever.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// No region could be resolved: not in the spec (or flag), not in `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, not in the profile, not from IMDS. Every SDK call would fail with
/// an opaque error, so the front ends report this instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no AWS region: set spec.region (or --region), AWS_REGION, or a region in the AWS profile")]
pub struct NoRegion;

/// Loads the SDK configuration: the default credential chain (environment, profile, IRSA web
/// identity, EKS Pod Identity, IMDS), standard retry mode with 5 attempts ([`retry_config`]),
/// explicit timeouts,
/// `AWS_ENDPOINT_URL` honoured by aws-config; then, if asked, assumes a role.
pub async fn load(settings: &Settings) -> Result<SdkConfig, NoRegion> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(limit::retry_config(
            std::env::var("AWS_RETRY_MODE").ok().as_deref(),
        ))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let base = loader.load().await;
    if base.region().is_none() {
        return Err(NoRegion);
    }
    Ok(assume(base, settings).await)
}

/// `base` acting as the role `settings` names, if any: a plain session named after the
/// resource, or in multi-tenant mode the tenant's session ([`sts::TenantRole`]).
pub async fn assume(base: SdkConfig, settings: &Settings) -> SdkConfig {
    let Some(role) = &settings.assume_role_arn else {
        return base;
    };
    let session = (settings.session.clone()).unwrap_or_else(|| "sagemaker-rollout".into());
    let provider = match &settings.tenant {
        Some(tenant) => {
            SharedCredentialsProvider::new(sts::TenantRole::new(&base, role, &session, tenant))
        }
        None => SharedCredentialsProvider::new(
            aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name(session)
                .configure(&base)
                .build()
                .await,
        ),
    };
    base.into_builder().credentials_provider(provider).build()
}

/// The AWS services the engine drives, one trait object per service.
#[derive(Clone)]
pub struct Clients {
    pub endpoints: Arc<dyn endpoints::Endpoints>,
    pub components: Arc<dyn components::InferenceComponents>,
    pub registry: Arc<dyn registry::ModelRegistry>,
    pub runtime: Arc<dyn runtime::Invoker>,
    pub scaling: Arc<dyn scaling::Scaling>,
    pub alarms: Arc<dyn alarms::Alarms>,
    pub s3: Arc<dyn s3::ObjectStore>,
    pub notify: Arc<dyn notify::Notifier>,
}

/// The engine's clients on the official SDK, for `settings`.
pub async fn clients(settings: &Settings) -> Result<Clients, NoRegion> {
    let config = load(settings).await?;
    let scope = limit::key(settings, config.region().map(|r| r.as_ref()));
    Ok(clients_scoped(&config, &scope))
}

/// The engine's clients on the official SDK, for a loaded configuration.
pub fn clients_from(config: &SdkConfig) -> Clients {
    clients_scoped(config, "self")
}

/// The engine's clients for a loaded configuration, their SDK retries partitioned by `scope`
/// (the account and region acting: [`limit::key`]).
pub fn clients_scoped(config: &SdkConfig, scope: &str) -> Clients {
    Clients {
        endpoints: Arc::new(sdk_endpoints::SdkEndpoints::scoped(config, scope)),
        components: Arc::new(sdk_components::SdkComponents::scoped(config, scope)),
        registry: Arc::new(registry::SdkRegistry::scoped(config, scope)),
        runtime: Arc::new(runtime::SdkRuntime::scoped(config, scope)),
        scaling: Arc::new(scaling::SdkScaling::scoped(config, scope)),
        alarms: Arc::new(alarms::SdkAlarms::scoped(config, scope)),
        s3: Arc::new(s3::SdkS3::scoped(config, scope)),
        notify: Arc::new(notify::SdkNotifier::scoped(config, scope)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_gets_the_class_its_retry_needs() {
        use ErrorClass::*;
        use Failure::*;
        type Case<'a> = (
            &'a str,
            Failure,
            Option<&'a str>,
            Option<u16>,
            &'a str,
            ErrorClass,
        );
        let cases: &[Case<'_>] = &[
            (
                "SNS throttling (the model's code)",
                Response,
                Some("Throttled"),
                Some(429),
                "Rate exceeded",
                Throttling,
            ),
            (
                "KMS throttling an encrypted topic's publish is throttling, not a rejection",
                Response,
                Some("KMSThrottling"),
                Some(400),
                "KMS throttled",
                Throttling,
            ),
            (
                "a timeout is transient",
                Connection,
                None,
                None,
                "timed out",
                Transient,
            ),
            (
                "throttling by code",
                Response,
                Some("ThrottlingException"),
                Some(400),
                "Rate exceeded",
                Throttling,
            ),
            (
                "throttling by status",
                Response,
                None,
                Some(429),
                "",
                Throttling,
            ),
            (
                "an update of an endpoint in progress waits",
                Response,
                Some("ValidationException"),
                Some(400),
                "Cannot update in-progress endpoint \"arn:aws:sagemaker:us-east-1:1:endpoint/e\".",
                Transient,
            ),
            (
                "a delete of an endpoint in progress waits",
                Response,
                Some("ValidationException"),
                Some(400),
                "Cannot delete in-progress endpoint",
                Transient,
            ),
            (
                "autoscaling busy on the same target",
                Response,
                Some("ConcurrentUpdateException"),
                Some(400),
                "",
                Transient,
            ),
            (
                "a resource in use",
                Response,
                Some("ResourceInUse"),
                Some(400),
                "",
                Transient,
            ),
            (
                "autoscaling's internal error",
                Response,
                Some("InternalServiceException"),
                Some(400),
                "",
                Transient,
            ),
            (
                "S3's request timeout",
                Response,
                Some("RequestTimeout"),
                Some(400),
                "",
                Transient,
            ),
            ("a 503", Response, None, Some(503), "", Transient),
            (
                "SageMaker's missing resource",
                Response,
                Some("ValidationException"),
                Some(400),
                "Could not find endpoint \"e\".",
                NotFound,
            ),
            (
                "a missing S3 key",
                Response,
                Some("NoSuchKey"),
                Some(404),
                "",
                NotFound,
            ),
            (
                "a bad request stays bad",
                Response,
                Some("ValidationException"),
                Some(400),
                "1 validation error detected: Value 'x' at 'endpointName'",
                Terminal,
            ),
            (
                "a quota",
                Response,
                Some("ResourceLimitExceeded"),
                Some(400),
                "",
                Terminal,
            ),
            (
                "permissions",
                Response,
                Some("AccessDeniedException"),
                Some(400),
                "",
                Terminal,
            ),
        ];
        for (name, kind, code, status, message, want) in cases {
            assert_eq!(class_of(*kind, *code, *status, message), *want, "{name}");
        }
    }

    #[test]
    fn a_dependency_not_visible_yet_is_retried_and_other_errors_keep_their_class() {
        let missing = AwsError::answered(
            "sagemaker",
            "CreateEndpoint",
            "ValidationException",
            "Could not find endpoint configuration \"c\".",
        );
        assert_eq!(missing.class, ErrorClass::NotFound);
        assert_eq!(dependency_pending(missing).class, ErrorClass::Transient);
        let bad = AwsError::answered("sagemaker", "CreateEndpoint", "ValidationException", "bad");
        assert_eq!(dependency_pending(bad).class, ErrorClass::Terminal);
    }

    #[test]
    fn session_names_follow_sts_rules_and_stay_distinct_when_cut() {
        let ok = |s: &str| {
            (2..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        assert_eq!(
            session_name("controller", "ml-prod/churn"),
            "sr-controller@ml-prod.churn"
        );
        let long_ns = "n".repeat(63);
        let a = session_name("controller", &format!("{long_ns}/{}", "a".repeat(253)));
        let b = session_name("controller", &format!("{long_ns}/{}b", "a".repeat(252)));
        for s in [&a, &b] {
            assert!(ok(s), "{s}");
        }
        assert_ne!(a, b, "cut names keep a hash of the whole");
        assert!(ok(&session_name("cli", "ns/name with spaces")));
    }
}
