//! Copies of a validated artifact (`spec.artifact.copyTo`): the version validated, or nothing.
//! Every request that reads the source names its ETag in `x-amz-copy-source-if-match`, so an
//! object replaced since its validation answers 412 PreconditionFailed (Transient: it is
//! validated again) instead of being copied (S3-14). CopyObject copies at most 5 GiB in one
//! request; a larger object is copied in parts (UploadPartCopy, each part conditioned the same
//! way), and an upload that fails is aborted so that no parts are left to be billed.

use aws_sdk_s3::types::CompletedPart;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{MAX_OBJECT, MAX_PART, MAX_PARTS, S3Uri, SdkS3};
use crate::aws::{AwsError, ErrorClass, classify};

/// Characters CopyObject's `x-amz-copy-source` keeps as they are: the key is URL-encoded,
/// its `/` separators left alone.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `bucket/key`, URL-encoded as `x-amz-copy-source` wants it.
pub(super) fn copy_source(uri: &S3Uri) -> String {
    format!("{}/{}", uri.bucket, utf8_percent_encode(&uri.key, KEPT))
}

impl SdkS3 {
    pub(super) async fn copy(
        &self,
        from: &S3Uri,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        use super::ObjectStore;
        // The size decides how to copy; if it is another version's, the condition on every
        // request below still refuses it.
        let head = self.head(from).await?;
        let source = copy_source(from);
        if head.size <= self.copy_limit {
            let client = self.regions.client(&self.client, &to.bucket);
            client
                .copy_object()
                .bucket(&to.bucket)
                .key(&to.key)
                .copy_source(&source)
                .set_copy_source_if_match(etag.map(str::to_owned))
                .send()
                .await
                .map_err(|e| {
                    elsewhere(to, &e).unwrap_or_else(|| classify("s3", "CopyObject", e))
                })?;
            return Ok(());
        }
        self.copy_in_parts(&source, head.size, to, etag).await
    }

    async fn copy_in_parts(
        &self,
        source: &str,
        len: u64,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        // Parts as large as one copy may be: the fewest requests, and under 10,000 parts.
        let part = Some(self.copy_limit.max(len.div_ceil(MAX_PARTS)))
            .filter(|p| *p <= MAX_PART && len <= MAX_OBJECT)
            .ok_or_else(|| {
                AwsError::new(
                    ErrorClass::Terminal,
                    "s3",
                    "CreateMultipartUpload",
                    format!("{len} bytes is more than S3 takes in one object (5 TiB)"),
                )
            })?;
        let client = self.regions.client(&self.client, &to.bucket);
        let upload = client
            .create_multipart_upload()
            .bucket(&to.bucket)
            .key(&to.key)
            .send()
            .await
            .map_err(|e| {
                elsewhere(to, &e).unwrap_or_else(|| classify("s3", "CreateMultipartUpload", e))
            })?;
        let Some(id) = upload.upload_id().map(str::to_owned) else {
            return Err(AwsError::new(
                ErrorClass::Transient,
                "s3",
                "CreateMultipartUpload",
                "the answer named no upload id",
            ));
        };
        let parts = async {
            let mut parts = Vec::new();
            for number in 1..=len.div_ceil(part) as i32 {
                let start = (number as u64 - 1) * part;
                let end = (start + part).min(len) - 1;
                let out = client
                    .upload_part_copy()
                    .bucket(&to.bucket)
                    .key(&to.key)
                    .upload_id(&id)
                    .part_number(number)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .set_copy_source_if_match(etag.map(str::to_owned))
                    .send()
                    .await
                    .map_err(|e| classify("s3", "UploadPartCopy", e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(
                            out.copy_part_result()
                                .and_then(|r| r.e_tag())
                                .map(str::to_owned),
                        )
                        .build(),
                );
            }
            Ok(parts)
        };
        super::complete_or_abort(&client, to, &id, parts).await
    }
}

/// A copy's destination in another region than the endpoint's (S3 answers 301 with the
/// bucket's region, S3-13) is refused, not followed: SageMaker loads a model's data only from
/// its own region (ContainerDefinition), so a copy there could never be deployed.
fn elsewhere<E>(
    to: &S3Uri,
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Option<AwsError> {
    let region = super::region::redirected_to(e)?;
    Some(AwsError::new(
        ErrorClass::Terminal,
        "s3",
        "CopyObject",
        format!(
            "spec.artifact.copyTo's bucket {} is in {region}, not the endpoint's region: SageMaker reads a model's data only from its own region",
            to.bucket
        ),
    ))
}

/// What S3 answers a copy conditioned on a version the object no longer is (the simulator's
/// answer, as the emulator and S3 give it).
pub fn precondition_failed(from: &S3Uri, want: &str, now: &str) -> AwsError {
    let mut e = AwsError::new(
        ErrorClass::Transient,
        "s3",
        "CopyObject",
        format!(
            "{from} changed since it was validated (ETag {want}, now {now}): it is validated again"
        ),
    );
    e.code = Some("PreconditionFailed".into());
    e.status = Some(412);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_source_is_the_bucket_and_the_url_encoded_key() {
        let uri = S3Uri::parse("s3://ml-models/churn/run 7/model+v2.tar.gz").unwrap();
        assert_eq!(
            copy_source(&uri),
            "ml-models/churn/run%207/model%2Bv2.tar.gz"
        );
    }
}
