//! SageMaker runtime: InvokeEndpoint aimed at one variant, for the smoke test.

use std::time::Duration;

use async_trait::async_trait;

use super::AwsError;

/// The answer to an invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// HTTP status (a model error surfaces as its status, not as an AwsError).
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
