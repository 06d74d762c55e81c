//! The simulator's S3: objects in memory, ranged reads with S3's InvalidRange, NotFound for
//! a missing key, an ETag per content and If-Match's 412 (S3-12), conditioned copies (S3-14)
//! and deletes (S3-15); every call counts toward
//! throttling like any other AWS call.

use async_trait::async_trait;
use bytes::Bytes;

use super::Simulator;
use super::tenancy::Write;
use crate::aws::{AwsError, ErrorClass};

/// An object's ETag: a digest of its bytes, quoted as S3 quotes it.
fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

#[async_trait]
impl crate::aws::s3::ObjectStore for Simulator {
    async fn head(
        &self,
        uri: &crate::aws::s3::S3Uri,
    ) -> Result<crate::aws::s3::ObjectHead, AwsError> {
        let size = self.size(uri).await?;
        let etag = self
            .lock()
            .objects
            .get(&uri.to_string())
            .map(|b| etag_of(b));
        Ok(crate::aws::s3::ObjectHead { size, etag })
    }
    async fn get_range_of(
        &self,
        uri: &crate::aws::s3::S3Uri,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, AwsError> {
        let obj = self.object(uri)?;
        if let Some(want) = etag
            && etag_of(&obj) != want
        {
            let mut e = AwsError::new(
                ErrorClass::Transient,
                "s3",
                "GetObject",
                "At least one of the pre-conditions you specified did not hold",
            );
            e.code = Some("PreconditionFailed".into());
            e.status = Some(412);
            return Err(e);
        }
        self.get_range(uri, start, end).await
    }
    async fn size(&self, uri: &crate::aws::s3::S3Uri) -> Result<u64, AwsError> {
        let st = self.enter("s3", "HeadObject", false)?;
        self.tenant_allows("s3", "GetObject", &uri.to_string(), Write::Object(&uri.key))?;
        st.objects
            .get(&uri.to_string())
            .map(|b| b.len() as u64)
            .ok_or_else(|| {
                AwsError::new(
                    ErrorClass::NotFound,
                    "s3",
                    "HeadObject",
                    format!("{uri} does not exist"),
                )
            })
    }
    async fn get_range(
        &self,
        uri: &crate::aws::s3::S3Uri,
        start: u64,
        end: u64,
    ) -> Result<Bytes, AwsError> {
        let obj = self.object(uri)?;
        if start > end || end as usize >= obj.len() {
            return Err(AwsError::new(
                ErrorClass::Terminal,
                "s3",
                "GetObject",
                "InvalidRange",
            ));
        }
        Ok(obj.slice(start as usize..=end as usize))
    }
    async fn get_prefix(&self, uri: &crate::aws::s3::S3Uri, max: u64) -> Result<Bytes, AwsError> {
        let obj = self.object(uri)?;
        // A range past the end is clamped to the object (S3-3).
        Ok(obj.slice(..obj.len().min(usize::try_from(max).unwrap_or(usize::MAX))))
    }

    async fn put(&self, uri: &crate::aws::s3::S3Uri, body: Bytes) -> Result<(), AwsError> {
        let mut st = self.enter("s3", "PutObject", true)?;
        self.tenant_allows("s3", "PutObject", &uri.to_string(), Write::Object(&uri.key))?;
        st.objects.insert(uri.to_string(), body);
        Ok(())
    }
    async fn copy_pinned(
        &self,
        from: &crate::aws::s3::S3Uri,
        to: &crate::aws::s3::S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        let body = self.object(from)?;
        if let Some(want) = etag
            && etag_of(&body) != want
        {
            return Err(crate::aws::s3::precondition_failed(
                from,
                want,
                &etag_of(&body),
            ));
        }
        let mut st = self.enter("s3", "CopyObject", true)?;
        self.tenant_allows("s3", "PutObject", &to.to_string(), Write::Object(&to.key))?;
        st.objects.insert(to.to_string(), body);
        Ok(())
    }
    async fn delete(&self, uri: &crate::aws::s3::S3Uri) -> Result<(), AwsError> {
        let mut st = self.enter("s3", "DeleteObject", true)?;
        self.tenant_allows(
            "s3",
            "DeleteObject",
            &uri.to_string(),
            Write::Object(&uri.key),
        )?;
        // A missing key is success (S3-15).
        st.objects.remove(&uri.to_string());
        Ok(())
    }
    async fn upload_file(
        &self,
        uri: &crate::aws::s3::S3Uri,
        path: &std::path::Path,
    ) -> Result<(), AwsError> {
        let body = tokio::fs::read(path)
            .await
            .map_err(|e| AwsError::new(ErrorClass::Terminal, "s3", "PutObject", e.to_string()))?;
        self.put(uri, Bytes::from(body)).await
    }
}

impl Simulator {
    /// GetObject's lookup: the object's bytes, or S3's NotFound for a missing key.
    fn object(&self, uri: &crate::aws::s3::S3Uri) -> Result<Bytes, AwsError> {
        let st = self.enter("s3", "GetObject", false)?;
        self.tenant_allows("s3", "GetObject", &uri.to_string(), Write::Object(&uri.key))?;
        st.objects.get(&uri.to_string()).cloned().ok_or_else(|| {
            AwsError::new(
                ErrorClass::NotFound,
                "s3",
                "GetObject",
                format!("{uri} does not exist"),
            )
        })
    }
}
