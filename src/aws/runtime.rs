//! SageMaker runtime: InvokeEndpoint aimed at one variant, for the smoke test, as a narrow
//! trait and its implementation on `aws-sdk-sagemakerruntime`.
//!
//! The client has its own limits: a model may take up to 60 s to answer (InvokeEndpoint), so
//! an attempt may last 75 s, and an invocation is tried at most twice — a smoke test that
//! failed twice has failed. A container's error (ModelError) is a response to judge, with the
//! container's own status code.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_smithy_types::Blob;

use super::{AwsError, classify};

/// The answer to an invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// HTTP status (a model error surfaces as the container's status, not as an AwsError).
    pub status: i32,
    pub body: String,
    pub latency: Duration,
}

#[async_trait]
pub trait Invoker: Send + Sync {
    async fn invoke(
        &self,
        endpoint: &str,
        variant: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Invocation, AwsError>;
}

/// Longest wait for one invocation: SageMaker gives a model 60 s to answer.
pub const INVOKE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(75);
/// At most two attempts.
pub const INVOKE_ATTEMPTS: u32 = 2;

/// SageMaker runtime.
#[derive(Clone, Debug)]
pub struct SdkRuntime {
    client: aws_sdk_sagemakerruntime::Client,
}

impl SdkRuntime {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        let conf = crate::aws::sdk::sdk_config!(
            aws_sdk_sagemakerruntime,
            config,
            "sagemaker-runtime",
            scope = scope
        )
        .retry_config(RetryConfig::standard().with_max_attempts(INVOKE_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(INVOKE_ATTEMPT_TIMEOUT)
                .operation_timeout(
                    INVOKE_ATTEMPT_TIMEOUT * INVOKE_ATTEMPTS + Duration::from_secs(10),
                )
                .build(),
        )
        .build();
        Self {
            client: aws_sdk_sagemakerruntime::Client::from_conf(conf),
        }
    }
}

#[async_trait]
impl Invoker for SdkRuntime {
    async fn invoke(
        &self,
        endpoint: &str,
        variant: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Invocation, AwsError> {
        let started = Instant::now();
        let result = self
            .client
            .invoke_endpoint()
            .endpoint_name(endpoint)
            .target_variant(variant)
            .content_type(content_type)
            .body(Blob::new(body.as_bytes().to_vec()))
            .send()
            .await;
        let latency = started.elapsed();
        match result {
            Ok(out) => Ok(Invocation {
                status: 200,
                body: out
                    .body()
                    .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                    .unwrap_or_default(),
                latency,
            }),
            Err(e) => {
                // A model error (the container answered 4xx/5xx) is a response to judge, with
                // the container's status, not a failed call.
                if let Some(InvokeEndpointError::ModelError(m)) = e.as_service_error() {
                    return Ok(Invocation {
                        status: m.original_status_code().unwrap_or(500),
                        body: m
                            .original_message()
                            .or(m.message())
                            .unwrap_or_default()
                            .to_owned(),
                        latency,
                    });
                }
                Err(classify("sagemaker-runtime", "InvokeEndpoint", e))
            }
        }
    }
}
