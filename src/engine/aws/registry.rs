//! The SageMaker Model Registry ([`crate::aws::registry`]).

use std::future::Future;

use super::Aws;
use crate::aws::AwsError;
use crate::aws::registry::PackageInfo;

impl Aws<'_> {
    pub(crate) async fn describe_package(&self, arn: &str) -> Result<PackageInfo, AwsError> {
        let call = self.clients().registry.describe_package(arn);
        self.run("sagemaker", "DescribeModelPackage", arn, call)
            .await
    }

    /// Finding the candidate in the registry (a listing, then descriptions and tags).
    pub(crate) async fn resolve_candidate<T>(
        &self,
        label: String,
        search: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        self.run("sagemaker", "ResolveCandidate", label, search)
            .await
    }
}
