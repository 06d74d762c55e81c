//! S3: object metadata, ranged reads, uploads; and a blocking `Read` over an object that
//! keeps a bounded number of ranged GETs in flight, so a multi-GB artifact streams at the
//! speed of the decoder rather than of one connection. A failed range is retried with
//! jittered backoff; memory stays at `concurrency × chunk`.

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use futures::StreamExt;

mod copy;
mod region;

pub use copy::precondition_failed;

use super::{AwsError, ErrorClass, classify};

pub use crate::api::units::S3Uri;

/// What HeadObject says of an object: its size, and the ETag that names this version of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    pub etag: Option<String>,
}

/// The S3 operations the product uses.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Object size in bytes.
    async fn size(&self, uri: &S3Uri) -> Result<u64, AwsError>;
    /// Size and ETag (a store that knows no ETags gives none: reads are then not pinned).
    async fn head(&self, uri: &S3Uri) -> Result<ObjectHead, AwsError> {
        Ok(ObjectHead {
            size: self.size(uri).await?,
            etag: None,
        })
    }
    /// Bytes `start..=end`.
    async fn get_range(&self, uri: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError>;
    /// Bytes `start..=end` of the version named by `etag` (If-Match): an object replaced
    /// since answers 412 PreconditionFailed (S3-12) instead of another version's bytes.
    async fn get_range_of(
        &self,
        uri: &S3Uri,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, AwsError> {
        let _ = etag;
        self.get_range(uri, start, end).await
    }
    /// The object's first `max` bytes, all of it when shorter, in one GET: what is read is
    /// one version of the object, never a size from one and bytes from another.
    async fn get_prefix(&self, uri: &S3Uri, max: u64) -> Result<Bytes, AwsError>;
    async fn put(&self, uri: &S3Uri, body: Bytes) -> Result<(), AwsError>;
    /// Uploads a local file, in parts when it is large.
    async fn upload_file(&self, uri: &S3Uri, path: &Path) -> Result<(), AwsError>;
    /// Copies `from` to `to` if `from` is still the version `etag` names: an object replaced
    /// since answers 412 PreconditionFailed, and nothing is copied (S3-14). Objects over
    /// 5 GiB are copied in parts, each conditioned the same way.
    async fn copy_pinned(
        &self,
        from: &S3Uri,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        let _ = (from, etag);
        Err(AwsError::new(
            ErrorClass::Terminal,
            "s3",
            "CopyObject",
            format!("this object store cannot copy to {to}"),
        ))
    }
    /// Deletes an object; one that does not exist is success (S3-15).
    async fn delete(&self, uri: &S3Uri) -> Result<(), AwsError> {
        Err(AwsError::new(
            ErrorClass::Terminal,
            "s3",
            "DeleteObject",
            format!("this object store cannot delete {uri}"),
        ))
    }
}

/// A GetObject answer's body, read to its end; an interrupted one is transient.
async fn body_of(
    out: aws_sdk_s3::operation::get_object::GetObjectOutput,
) -> Result<Bytes, AwsError> {
    Ok(out
        .body
        .collect()
        .await
        .map_err(|e| {
            AwsError::new(
                ErrorClass::Transient,
                "s3",
                "GetObject",
                format!("body interrupted: {e}"),
            )
        })?
        .into_bytes())
}

/// What to do about a read S3 refused for a reason it names (S3-11): an archived object
/// (`InvalidObjectState`: a Glacier or Deep Archive storage class) or a KMS key the role may
/// not use. None for a bare 403, which means no permission, a missing object without
/// `s3:ListBucket` (S3-2) or a Requester Pays bucket (S3 does not say which).
pub fn refusal(e: &AwsError) -> Option<&'static str> {
    // A throttle (KMS's included) passes: it is retried, not named as a refusal.
    if e.is_retryable() {
        return None;
    }
    if e.code.as_deref() == Some("InvalidObjectState") {
        return Some(
            "is archived (a Glacier or Deep Archive storage class): restore it (RestoreObject) or copy it to a storage class that can be read",
        );
    }
    let kms = e.code.as_deref().is_some_and(|c| c.starts_with("KMS"))
        || e.message.contains("KMS")
        || e.message.contains("kms:");
    kms.then_some(
        "is encrypted with a KMS key the controller's role may not use: allow kms:Decrypt on the key, in the role's policy and the key policy",
    )
}

/// Part size of multipart uploads, unless the file needs larger parts to fit S3's limit.
const PART: u64 = 16 << 20;
/// Most parts of one multipart upload (S3: part numbers 1 to 10,000).
const MAX_PARTS: u64 = 10_000;
/// Largest part S3 accepts (5 GiB).
const MAX_PART: u64 = 5 << 30;
/// Largest object S3 accepts (5 TiB).
const MAX_OBJECT: u64 = 5 << 40;

/// The part size for a file of `len` bytes: 16 MiB, or larger so that the upload needs at
/// most 10,000 parts; None for a file larger than S3's largest object.
pub fn part_size(len: u64) -> Option<u64> {
    let size = PART.max(len.div_ceil(MAX_PARTS));
    (len <= MAX_OBJECT && size <= MAX_PART).then_some(size)
}

/// The production implementation.
#[derive(Clone, Debug)]
pub struct SdkS3 {
    client: aws_sdk_s3::Client,
    /// Buckets S3 redirected to another region (S3-13).
    regions: Arc<region::Regions>,
    /// Objects larger than this are copied in parts (S3: 5 GiB; smaller in tests).
    copy_limit: u64,
}

/// Sends `$send(client)` with the bucket's client, once more to the bucket's region if S3
/// redirects it there (S3-13).
macro_rules! regional {
    ($self:ident, $bucket:expr, $send:expr) => {{
        let send = $send;
        match send($self.regions.client(&$self.client, $bucket)).await {
            Err(e) => match $self.regions.follow(&$self.client, $bucket, &e) {
                Some(client) => send(client).await,
                None => Err(e),
            },
            ok => ok,
        }
    }};
}

impl SdkS3 {
    /// Path-style addressing is used when a custom endpoint is configured (moto, MinIO):
    /// those rarely resolve virtual-hosted bucket names.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        let custom_endpoint =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let conf = crate::aws::sdk::sdk_config!(aws_sdk_s3, config, "s3", scope = scope)
            .force_path_style(custom_endpoint)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            regions: Arc::default(),
            copy_limit: MAX_PART,
        }
    }

    /// Copies objects over `bytes` in parts (at least 5 MiB, S3's smallest part), so that a
    /// test exercises the multipart copy without 5 GiB objects.
    pub fn with_copy_limit(mut self, bytes: u64) -> Self {
        self.copy_limit = bytes.clamp(5 << 20, MAX_PART);
        self
    }
}

#[async_trait]
impl ObjectStore for SdkS3 {
    async fn size(&self, uri: &S3Uri) -> Result<u64, AwsError> {
        Ok(self.head(uri).await?.size)
    }

    async fn head(&self, uri: &S3Uri) -> Result<ObjectHead, AwsError> {
        let out = regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .head_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .send()
        })
        .map_err(|e| classify("s3", "HeadObject", e))?;
        let size = u64::try_from(out.content_length().unwrap_or(0)).map_err(|_| {
            AwsError::new(
                ErrorClass::Terminal,
                "s3",
                "HeadObject",
                "negative content length",
            )
        })?;
        Ok(ObjectHead {
            size,
            etag: out.e_tag().map(str::to_owned),
        })
    }

    async fn get_range(&self, uri: &S3Uri, start: u64, end: u64) -> Result<Bytes, AwsError> {
        self.get_range_of(uri, start, end, None).await
    }

    async fn get_range_of(
        &self,
        uri: &S3Uri,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, AwsError> {
        let out = regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .get_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .range(format!("bytes={start}-{end}"))
                .set_if_match(etag.map(str::to_owned))
                .send()
        })
        .map_err(|e| classify("s3", "GetObject", e))?;
        let body = body_of(out).await?;
        let want = end - start + 1;
        if body.len() as u64 != want {
            return Err(AwsError::new(
                ErrorClass::Transient,
                "s3",
                "GetObject",
                format!(
                    "range {start}-{end} returned {} bytes, expected {want}",
                    body.len()
                ),
            ));
        }
        Ok(body)
    }

    async fn get_prefix(&self, uri: &S3Uri, max: u64) -> Result<Bytes, AwsError> {
        // A range past the end is clamped to the object; one on an empty object is
        // unsatisfiable (416 InvalidRange), which here means no bytes (S3-3).
        let sent = regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .get_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .range(format!("bytes=0-{}", max.max(1) - 1))
                .send()
        });
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let e = classify("s3", "GetObject", e);
                if e.code.as_deref() == Some("InvalidRange") || e.status == Some(416) {
                    return Ok(Bytes::new());
                }
                return Err(e);
            }
        };
        let body = body_of(out).await?;
        Ok(body)
    }

    async fn put(&self, uri: &S3Uri, body: Bytes) -> Result<(), AwsError> {
        regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .put_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .body(ByteStream::from(body.clone()))
                .send()
        })
        .map_err(|e| classify("s3", "PutObject", e))?;
        Ok(())
    }

    async fn copy_pinned(
        &self,
        from: &S3Uri,
        to: &S3Uri,
        etag: Option<&str>,
    ) -> Result<(), AwsError> {
        self.copy(from, to, etag).await
    }

    async fn delete(&self, uri: &S3Uri) -> Result<(), AwsError> {
        let deleted = regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .delete_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .send()
        })
        .map_err(|e| classify("s3", "DeleteObject", e));
        match deleted {
            // No such bucket, or a store that answers 404 for a missing key: nothing to delete.
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn upload_file(&self, uri: &S3Uri, path: &Path) -> Result<(), AwsError> {
        let io_err = |op: &'static str| {
            move |e: io::Error| {
                AwsError::new(
                    ErrorClass::Terminal,
                    "s3",
                    op,
                    format!("{}: {e}", path.display()),
                )
            }
        };
        let len = tokio::fs::metadata(path)
            .await
            .map_err(io_err("PutObject"))?
            .len();
        if len <= PART {
            let body = tokio::fs::read(path).await.map_err(io_err("PutObject"))?;
            return self.put(uri, Bytes::from(body)).await;
        }
        // Refused before anything is uploaded, not at part 10,001.
        let part = part_size(len).ok_or_else(|| {
            AwsError::new(
                ErrorClass::Terminal,
                "s3",
                "CreateMultipartUpload",
                format!(
                    "{}: {len} bytes is more than S3 takes in one object (5 TiB)",
                    path.display()
                ),
            )
        })?;
        let upload = regional!(self, &uri.bucket, |client: aws_sdk_s3::Client| {
            client
                .create_multipart_upload()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .send()
        })
        .map_err(|e| classify("s3", "CreateMultipartUpload", e))?;
        // The bucket's client, in its region once S3 has said which.
        let client = self.regions.client(&self.client, &uri.bucket);
        let id = upload.upload_id().unwrap_or_default().to_owned();
        let parts = async {
            let mut parts = Vec::new();
            let mut file = tokio::fs::File::open(path)
                .await
                .map_err(io_err("UploadPart"))?;
            for number in 1..=len.div_ceil(part) as i32 {
                let mut buf = vec![0u8; part as usize];
                let n = read_full_async(&mut file, &mut buf)
                    .await
                    .map_err(io_err("UploadPart"))?;
                buf.truncate(n);
                let out = client
                    .upload_part()
                    .bucket(&uri.bucket)
                    .key(&uri.key)
                    .upload_id(&id)
                    .part_number(number)
                    .body(ByteStream::from(buf))
                    .send()
                    .await
                    .map_err(|e| classify("s3", "UploadPart", e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_owned))
                        .build(),
                );
            }
            Ok(parts)
        };
        complete_or_abort(&client, uri, &id, parts).await
    }
}

/// Completes multipart upload `id` of `uri` with the parts `parts` makes; aborts it when
/// anything fails, so that no billable parts are left behind (the first error is what is
/// returned).
pub(super) async fn complete_or_abort(
    client: &aws_sdk_s3::Client,
    uri: &S3Uri,
    id: &str,
    parts: impl Future<Output = Result<Vec<CompletedPart>, AwsError>>,
) -> Result<(), AwsError> {
    let result = async {
        let parts = parts.await?;
        client
            .complete_multipart_upload()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("s3", "CompleteMultipartUpload", e))?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = client
            .abort_multipart_upload()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .upload_id(id)
            .send()
            .await;
    }
    result
}

async fn read_full_async(file: &mut tokio::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    use tokio::io::AsyncReadExt;
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Tuning of [`range_reader`].
#[derive(Clone, Copy, Debug)]
pub struct RangeTuning {
    pub chunk: u64,
    pub concurrency: usize,
    pub attempts: usize,
}

impl Default for RangeTuning {
    fn default() -> Self {
        Self {
            chunk: 2 << 20,
            concurrency: 4,
            attempts: 4,
        }
    }
}

/// A blocking reader over `uri` (its size and ETag in `head`) fed by up to `concurrency`
/// ranged GETs on `runtime`, each pinned to that ETag. Must be read from a thread that is not
/// a runtime worker.
pub fn range_reader(
    store: Arc<dyn ObjectStore>,
    uri: S3Uri,
    head: ObjectHead,
    tuning: RangeTuning,
    runtime: &tokio::runtime::Handle,
) -> impl Read + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, AwsError>>(tuning.concurrency.max(1));
    let (len, chunk) = (head.size, tuning.chunk.max(1));
    // Made as they are fetched: an object of any size costs no memory up front.
    let ranges = (0..len.div_ceil(chunk)).map(move |i| (i * chunk, ((i + 1) * chunk).min(len) - 1));
    let etag = head.etag;
    runtime.spawn(async move {
        let fetches = futures::stream::iter(ranges).map(|(start, end)| {
            let store = Arc::clone(&store);
            let uri = uri.clone();
            let etag = etag.clone();
            async move {
                (|| async { store.get_range_of(&uri, start, end, etag.as_deref()).await })
                    .retry(
                        ExponentialBuilder::default()
                            .with_min_delay(Duration::from_millis(100))
                            .with_max_delay(Duration::from_secs(5))
                            .with_max_times(tuning.attempts.saturating_sub(1))
                            .with_jitter(),
                    )
                    .when(AwsError::is_retryable)
                    .await
            }
        });
        let mut ordered = fetches.buffered(tuning.concurrency.max(1));
        while let Some(chunk) = ordered.next().await {
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return; // reader gone, or the error has been delivered
            }
        }
    });
    ChannelReader {
        rx,
        current: Bytes::new(),
    }
}

struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, AwsError>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_so_that_an_upload_never_needs_more_than_ten_thousand() {
        assert_eq!(part_size(1 << 30), Some(PART));
        let big = 200u64 << 30; // 200 GiB: 16 MiB parts would need 12,800
        let p = part_size(big).unwrap();
        assert!(big.div_ceil(p) <= MAX_PARTS && p > PART);
        assert_eq!(part_size(MAX_OBJECT + 1), None);
        assert!(part_size(MAX_OBJECT).is_some_and(|p| p <= MAX_PART));
    }

    #[test]
    fn a_refused_read_is_named_when_s3_says_why() {
        let err = |code: &str, message: &str| {
            let mut e = AwsError::new(ErrorClass::Terminal, "s3", "GetObject", message);
            e.code = Some(code.to_owned());
            e.status = Some(403);
            e
        };
        let archived = refusal(&err(
            "InvalidObjectState",
            "The operation is not valid for the object's storage class",
        ));
        assert!(archived.is_some_and(|w| w.contains("archived")));
        let kms = refusal(&err(
            "AccessDenied",
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: kms:Decrypt",
        ));
        assert!(kms.is_some_and(|w| w.contains("kms:Decrypt")));
        assert!(refusal(&err("KMS.DisabledException", "key disabled")).is_some());
        assert_eq!(
            refusal(&err("AccessDenied", "Access Denied")),
            None,
            "a bare 403 says nothing more"
        );
        let mut throttled = err(
            "ThrottlingException",
            "You have exceeded the rate at which you may call KMS",
        );
        throttled.class = ErrorClass::Throttling;
        assert_eq!(
            refusal(&throttled),
            None,
            "a KMS throttle is retried, not a refusal"
        );
    }
}
