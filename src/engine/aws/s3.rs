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

    /// The validated version of `from` copied to `to` (S3-14).
    pub(crate) async fn copy_object(
        &self,
        from: &S3Uri,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        let call = self.clients().s3.copy_pinned(from, to, etag);
        self.run("s3", "CopyObject", format!("{from} -> {to}"), call)
            .await
    }

    /// DeleteObject; a missing object is success (S3-15).
    pub(crate) async fn delete_object(&self, uri: &S3Uri) -> Result<(), AwsError> {
        let call = self.clients().s3.delete(uri);
        self.run("s3", "DeleteObject", uri.to_string(), call).await
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
