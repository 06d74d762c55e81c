//! The SageMaker runtime ([`crate::aws::runtime`]): the smoke test's request.

use super::Aws;
use crate::aws::AwsError;
use crate::aws::runtime::Invocation;

impl Aws<'_> {
    pub(crate) async fn invoke(
        &self,
        ep: &str,
        variant: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Invocation, AwsError> {
        let call = self
            .clients()
            .runtime
            .invoke(ep, variant, content_type, body);
        let detail = format!("{ep} variant={variant}");
        self.run("sagemaker-runtime", "InvokeEndpoint", detail, call)
            .await
    }
}
