//! AWS adapters: one module per service, each a narrow async trait speaking domain types,
//! with the official `aws-sdk-*` client as the production implementation.
//!
//! This module owns what they share: the SDK configuration (default credential chain,
//! region from the spec or the environment, optional assumed role, `AWS_ENDPOINT_URL`
//! honoured by aws-config, standard retry mode, explicit timeouts) and the error type every
//! adapter returns, already classified so callers know whether to back off or stall.

pub mod alarms;
pub mod endpoints;
pub mod registry;
pub mod runtime;
pub mod s3;
pub mod scaling;
pub mod sdk_endpoints;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
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
            message: message.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self.class, ErrorClass::Throttling | ErrorClass::Transient)
    }
}

const THROTTLING: &[&str] = &[
    "Throttling",
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
    let lower = message.to_ascii_lowercase();
    let class = match (&err, code.as_deref(), status) {
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
            _,
        ) => ErrorClass::Transient,
        (_, Some(c), _) if THROTTLING.contains(&c) => ErrorClass::Throttling,
        (_, _, Some(429)) => ErrorClass::Throttling,
        (_, Some(c), _) if NOT_FOUND.contains(&c) => ErrorClass::NotFound,
        (_, _, Some(404)) => ErrorClass::NotFound,
        (_, Some("ValidationException"), _)
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
        (_, Some("InternalFailure" | "ServiceUnavailable" | "InternalError"), _) => {
            ErrorClass::Transient
        }
        _ => ErrorClass::Terminal,
    };
    AwsError {
        class,
        service,
        operation,
        code,
        message,
    }
}

/// Connection settings shared by every adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Region; None uses the environment / profile.
    pub region: Option<String>,
    /// Role to assume (cross-account deployment).
    pub assume_role_arn: Option<String>,
}

/// Per-attempt and per-operation timeouts; generous for SageMaker's slow control plane,
/// explicit so that a hung connection never stalls a reconcile forever.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Loads the SDK configuration: the default credential chain (environment, profile, IRSA web
/// identity, EKS Pod Identity, IMDS), standard retry mode with 5 attempts, explicit timeouts,
/// `AWS_ENDPOINT_URL` honoured by aws-config; then, if asked, assumes a role.
pub async fn load(settings: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
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
    let Some(role) = &settings.assume_role_arn else {
        return base;
    };
    let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
        .session_name("sagemaker-rollout")
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// The AWS services the engine drives, one trait object per service.
#[derive(Clone)]
pub struct Clients {
    pub endpoints: Arc<dyn endpoints::Endpoints>,
    pub registry: Arc<dyn registry::ModelRegistry>,
    pub runtime: Arc<dyn runtime::Invoker>,
    pub scaling: Arc<dyn scaling::Scaling>,
    pub alarms: Arc<dyn alarms::Alarms>,
    pub s3: Arc<dyn s3::ObjectStore>,
}

/// The engine's clients on the official SDK, for `settings`.
pub async fn clients(settings: &Settings) -> Clients {
    let config = load(settings).await;
    Clients {
        endpoints: Arc::new(sdk_endpoints::SdkEndpoints::new(&config)),
        registry: Arc::new(registry::SdkRegistry::new(&config)),
        runtime: Arc::new(runtime::SdkRuntime::new(&config)),
        scaling: Arc::new(scaling::SdkScaling::new(&config)),
        alarms: Arc::new(alarms::SdkAlarms::new(&config)),
        s3: Arc::new(s3::SdkS3::new(&config)),
    }
}
