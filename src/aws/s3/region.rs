//! A bucket lives in one region, and S3 answers a request sent to another region's endpoint
//! with 301 `PermanentRedirect` and the bucket's region in `x-amz-bucket-region` (S3-13); the
//! SDK does not follow it. The S3 client follows it once per bucket: the region named is
//! remembered, and the request is sent again to it. A validation_results.json or an artifact
//! in another region's bucket is then read as any other.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::memo::Memo;

/// The region a 301 answer names, if that is what `err` is.
pub(super) fn redirected_to<E>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    let raw = err.raw_response()?;
    if raw.status().as_u16() != 301 {
        return None;
    }
    raw.headers().get("x-amz-bucket-region").map(str::to_owned)
}

/// The client of each bucket found in another region than the default client's.
#[derive(Debug, Default)]
pub(super) struct Regions(Memo<Client>);

impl Regions {
    /// The client to send a request about `bucket` with.
    pub(super) fn client(&self, default: &Client, bucket: &str) -> Client {
        self.0.get(bucket).unwrap_or_else(|| default.clone())
    }

    /// After `err`: the client of the region S3 redirected `bucket` to (remembered), or None
    /// when it was no redirect.
    pub(super) fn follow<E>(
        &self,
        default: &Client,
        bucket: &str,
        err: &SdkError<E, HttpResponse>,
    ) -> Option<Client> {
        let region = redirected_to(err)?;
        let conf = default
            .config()
            .to_builder()
            .region(Region::new(region))
            .build();
        let client = Client::from_conf(conf);
        self.0.put(bucket, client.clone());
        Some(client)
    }
}
