//! S3 ([`crate::aws::s3`]): the deployment record, and the artifact store's reads.

use std::future::Future;

use bytes::Bytes;

use super::Aws;
use crate::api::S3Uri;
use crate::aws::AwsError;

impl Aws<'_> {
    pub(crate) async fn put_object(&self, key: &S3Uri, body: Bytes) -> Result<(), AwsError> {
        let call = self.clients().s3.put(key, body);
        self.run("s3", "PutObject", key.to_string(), call).await
    }

    /// Reading and checking a `validation_results.json` (several S3 requests).
    pub(crate) async fn validation_results<T>(
        &self,
        uri: &str,
        read: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        self.run("s3", "GetValidationResults", uri, read).await
    }
}
