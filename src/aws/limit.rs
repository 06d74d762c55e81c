//! Limits that protect the account. SageMaker, Application Auto Scaling and CloudWatch
//! throttle per account and region, and every other caller in the account (pipelines, the
//! console, other controllers) shares those limits. AWS publishes no per-operation rate for
//! the SageMaker control plane (docs/aws-rules.md, "request rates": the docs are silent), so
//! the rate is a flag with a conservative default.
//!
//! - [`Limiter`]: one token bucket per (account, region), shared by every reconcile of every
//!   resource that deploys there; each AWS operation the engine issues takes a token first.
//!   The account is the one of the role a resource assumes, else the controller's own.
//! - The SDK's adaptive retry mode (set in [`super::load`]) slows a client further when AWS
//!   throttles it anyway, and retries those answers with backoff.
//! - [`ThrottleCounter`]: an SDK interceptor counting every throttling answer, including the
//!   attempts the SDK retried and the caller never saw ([`throttles_seen`], exported as the
//!   `sagemaker_rollout_aws_throttles_total` metric; [`waits_seen`] counts the operations a
//!   bucket held back, `sagemaker_rollout_aws_rate_limited_total`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use aws_config::retry::RetryConfig;

use super::{Settings, THROTTLING};

/// Requests per second and burst of one (account, region) bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RequestRate {
    /// From the flags (each at least 1; the flags' parsers refuse 0 already).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self {
            per_second: n(per_second),
            burst: n(burst),
        }
    }
}

impl Default for RequestRate {
    /// 10 requests per second, bursts of 20: a few hundred endpoints at rest (2 requests per
    /// resync) stay well under it, and a rollout's bursts pass unhindered.
    fn default() -> Self {
        Self {
            per_second: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// One (account, region) bucket: `burst` tokens, refilled at `per_second`. Hand-written on
/// tokio's clock (a rate-limiting crate would wait on the wall clock): the controller's
/// tests run in paused virtual time, and a wait here must advance that time, not stall it.
#[derive(Debug)]
pub struct Bucket {
    rate: RequestRate,
    /// Tokens left and when they were counted; the async mutex queues waiters fairly.
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
    /// Operations that had to wait for a token.
    waited: AtomicU64,
    /// Tokens handed out: one per HTTP request sent through the fence.
    taken: AtomicU64,
}

impl Bucket {
    fn new(rate: RequestRate) -> Self {
        Self {
            rate,
            state: tokio::sync::Mutex::new((
                f64::from(rate.burst.get()),
                tokio::time::Instant::now(),
            )),
            waited: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }

    /// Waits for `n` tokens (one per AWS operation; never more than the burst).
    pub async fn take(&self, n: u32) {
        let want = f64::from(n.clamp(1, self.rate.burst.get()));
        let per_second = f64::from(self.rate.per_second.get());
        let burst = f64::from(self.rate.burst.get());
        let mut state = self.state.lock().await;
        let mut counted = false;
        loop {
            let now = tokio::time::Instant::now();
            let (tokens, at) = *state;
            let tokens = (tokens + now.duration_since(at).as_secs_f64() * per_second).min(burst);
            if tokens >= want {
                *state = (tokens - want, now);
                self.taken.fetch_add(u64::from(n), Ordering::Relaxed);
                return;
            }
            *state = (tokens, now);
            if !counted {
                counted = true;
                self.waited.fetch_add(1, Ordering::Relaxed);
                WAITED.fetch_add(1, Ordering::Relaxed);
            }
            let wait = (want - tokens) / per_second;
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
        }
    }

    pub fn waited(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }

    /// Tokens handed out so far.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }
}

/// CloudWatch's published per-operation request quotas per account and region, in
/// transactions per second (CW-35): the alarm writes at the start and end of a rollout
/// would otherwise exceed them and throttle the reads that trigger rollbacks.
const CLOUDWATCH_QUOTAS: [(&str, u32); 4] = [
    ("PutMetricAlarm", 3),
    ("DeleteAlarms", 3),
    ("DescribeAlarms", 9),
    ("GetMetricData", 50),
];

/// The alarm watch's own rate per account and region: a read per interval for all of an
/// account's baking resources needs little, and it must never queue behind a pass's writes.
const WATCH_RATE: (u32, u32) = (2, 4);

/// The per-operation buckets of one account and region ([`CLOUDWATCH_QUOTAS`]).
#[derive(Debug)]
pub struct Quotas {
    buckets: HashMap<&'static str, Arc<Bucket>>,
}

impl Quotas {
    fn new() -> Self {
        let buckets = CLOUDWATCH_QUOTAS
            .iter()
            .map(|(op, tps)| (*op, Arc::new(Bucket::new(RequestRate::new(*tps, *tps)))))
            .collect();
        Self { buckets }
    }

    /// The bucket of `operation`, if AWS publishes a quota for it.
    pub fn of(&self, operation: &str) -> Option<Arc<Bucket>> {
        self.buckets.get(operation).cloned()
    }
}

/// The buckets of one process, by (account, region).
#[derive(Debug, Default)]
pub struct Limiter {
    rate: RequestRate,
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    quotas: Mutex<HashMap<String, Arc<Quotas>>>,
    watch: Mutex<HashMap<String, Arc<Bucket>>>,
}

impl Limiter {
    pub fn new(rate: RequestRate) -> Self {
        Self {
            rate,
            ..Self::default()
        }
    }

    /// The per-operation quotas of the account and region `settings` deploy to.
    pub fn quotas(&self, settings: &Settings, default_region: Option<&str>) -> Arc<Quotas> {
        let key = key(settings, default_region);
        let mut quotas = self.quotas.lock().unwrap_or_else(|p| p.into_inner());
        quotas
            .entry(key)
            .or_insert_with(|| Arc::new(Quotas::new()))
            .clone()
    }

    /// The alarm watch's bucket for that account and region: apart from the passes' bucket,
    /// so its reads never wait behind their writes.
    pub fn watch_bucket(&self, settings: &Settings, default_region: Option<&str>) -> Arc<Bucket> {
        let key = key(settings, default_region);
        let mut watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let (per_second, burst) = WATCH_RATE;
        watch
            .entry(key)
            .or_insert_with(|| Arc::new(Bucket::new(RequestRate::new(per_second, burst))))
            .clone()
    }

    /// The bucket of the account and region `settings` deploy to (`default_region` when the
    /// settings name none).
    pub fn bucket(&self, settings: &Settings, default_region: Option<&str>) -> Arc<Bucket> {
        let key = key(settings, default_region);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .entry(key)
            .or_insert_with(|| Arc::new(Bucket::new(self.rate)))
            .clone()
    }

    /// Operations that waited for a token, over every bucket.
    pub fn waited(&self) -> u64 {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.values().map(|b| b.waited()).sum()
    }
}

/// `account/region`: the account of the assumed role (`arn:aws:iam::ACCOUNT:role/…`), else
/// `self` (the controller's own credentials).
pub fn key(settings: &Settings, default_region: Option<&str>) -> String {
    let account = settings
        .assume_role_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .unwrap_or("self");
    let region = settings
        .region
        .as_deref()
        .or(default_region)
        .unwrap_or("default");
    format!("{account}/{region}")
}

/// The name of the SDK's retry partition for `service` in `region` acting as `scope`: the
/// standard mode's retry budget and the adaptive mode's client-side rate are kept per
/// partition (by default one per service for the whole process), so that neither a region
/// nor an account AWS throttles slows the others.
pub fn partition_name(service: &str, region: &str, scope: &str) -> String {
    format!("sagemaker-rollout/{service}/{region}/{scope}")
}

/// Standard retry mode with 5 attempts (jittered exponential backoff), unless
/// `AWS_RETRY_MODE=adaptive` (the SDK's own variable). Both keep their state per retry
/// partition — the standard mode its retry budget, the adaptive mode its client-side rate —
/// and AWS does not recommend adaptive mode for multi-tenant applications "unless you take care
/// to isolate application tenants" (SM-64): every client here has a partition per service,
/// region and account ([`partition_name`]), as AWS throttles, so one account's throttling
/// never slows another's. The account is also protected by the process's own per-account
/// bucket ([`Limiter`]), and a throttled pass backs off (the engine's backoff).
pub fn retry_config(mode: Option<&str>) -> RetryConfig {
    if mode.is_some_and(|m| m.eq_ignore_ascii_case("adaptive")) {
        RetryConfig::adaptive().with_max_attempts(5)
    } else {
        RetryConfig::standard().with_max_attempts(5)
    }
}

static THROTTLES: AtomicU64 = AtomicU64::new(0);
static WAITED: AtomicU64 = AtomicU64::new(0);

/// Operations this process held back for a token, over every bucket.
pub fn waits_seen() -> u64 {
    WAITED.load(Ordering::Relaxed)
}

/// Throttling answers AWS gave this process, retried ones included.
pub fn throttles_seen() -> u64 {
    THROTTLES.load(Ordering::Relaxed)
}

/// Counts throttling answers per attempt: an error status whose error code (in the
/// `x-amzn-ErrorType` or `x-amzn-query-error` header, or the body of a JSON, CBOR or XML
/// error) is one of the codes the error classes call throttling, a 429, or a 503 without a
/// code (S3's SlowDown to a HEAD request).
#[derive(Debug, Default)]
pub struct ThrottleCounter;

impl Intercept for ThrottleCounter {
    fn name(&self) -> &'static str {
        "sagemaker-rollout throttle counter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(r) = context.response() {
            let headers = ["x-amzn-errortype", "x-amzn-query-error"]
                .iter()
                .filter_map(|h| r.headers().get(*h))
                .collect::<Vec<_>>()
                .join(" ");
            let body = r.body().bytes().unwrap_or_default();
            if is_throttle(r.status().as_u16(), &headers, body) {
                THROTTLES.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Whether an answer is a throttle (pure, for the table test).
fn is_throttle(status: u16, headers: &str, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    // `x-amzn-ErrorType: ThrottlingException:http://…`, `x-amzn-query-error: Throttling;Sender`.
    let from_header = headers
        .split(' ')
        .filter_map(|h| h.split([':', ';']).next())
        .any(|c| THROTTLING.contains(&c));
    let code = error_code(body);
    // S3 throttles with 503 SlowDown; the answer to a HEAD request has no body to say so.
    let bare_503 = status == 503 && code.is_none() && headers.trim().is_empty();
    from_header || bare_503 || code.is_some_and(|c| THROTTLING.contains(&c.as_str()))
}

/// The error code of an error body: XML `<Code>`, JSON `"__type"` (or `"code"`), or the
/// CBOR text after `__type`; a `namespace#` prefix and a `:uri` suffix are dropped.
fn error_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let raw = if let Some(i) = text.find("<Code>") {
        let rest = &text[i + 6..];
        rest[..rest.find("</Code>")?].to_owned()
    } else {
        let key = ["\"__type\"", "\"code\"", "__type"]
            .iter()
            .find_map(|k| find(body, k.as_bytes()).map(|i| (i, k.len())))?;
        let rest = &body[key.0 + key.1..];
        match rest.first()? {
            // JSON: `: "Code"`.
            b':' | b' ' => {
                let open = rest.iter().position(|b| *b == b'"')? + 1;
                let len = rest[open..].iter().position(|b| *b == b'"')?;
                String::from_utf8_lossy(&rest[open..open + len]).into_owned()
            }
            // CBOR: a text-string header (length below 24, or one length byte), then the text.
            h @ 0x60..=0x77 => {
                let len = usize::from(h - 0x60);
                String::from_utf8_lossy(rest.get(1..1 + len)?).into_owned()
            }
            0x78 => {
                let len = usize::from(*rest.get(1)?);
                String::from_utf8_lossy(rest.get(2..2 + len)?).into_owned()
            }
            _ => return None,
        }
    };
    let code = raw.rsplit('#').next().unwrap_or(&raw);
    Some(code.split(':').next().unwrap_or(code).trim().to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_retries_within_a_partition_of_its_own() {
        let acting = |role: Option<&str>| {
            let settings = Settings {
                region: Some("us-east-1".into()),
                assume_role_arn: role.map(str::to_owned),
                ..Settings::default()
            };
            partition_name("sagemaker", "us-east-1", &key(&settings, None))
        };
        let a = acting(Some(
            "arn:aws:iam::111122223333:role/sagemaker-rollout-tenant/ml-prod",
        ));
        let b = acting(Some(
            "arn:aws:iam::444455556666:role/sagemaker-rollout-tenant/ml-dev",
        ));
        assert_ne!(
            a, b,
            "one account's throttling never spends another's retries"
        );
        assert_eq!(
            a,
            "sagemaker-rollout/sagemaker/us-east-1/111122223333/us-east-1"
        );
        assert_ne!(
            acting(None),
            a,
            "the controller's own credentials apart too"
        );
    }

    #[test]
    fn the_retry_mode_is_the_sdks_own_variable() {
        use aws_config::retry::RetryMode;
        assert_eq!(retry_config(Some("adaptive")).mode(), RetryMode::Adaptive);
        assert_eq!(retry_config(None).mode(), RetryMode::Standard);
        assert_eq!(retry_config(None).max_attempts(), 5);
    }

    #[test]
    fn throttling_answers_are_recognised_in_every_protocol() {
        let cases: [(u16, &str, &[u8], bool); 12] = [
            (400, "ThrottlingException:http://internal", b"", true),
            (
                400,
                "",
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                true,
            ),
            (
                400,
                "",
                br#"{"__type": "com.amazon.coral#ThrottlingException"}"#,
                true,
            ),
            (400, "", b"<Error><Code>Throttling</Code></Error>", true),
            (400, "Throttling;Sender", b"", true),
            (400, "", b"\xa2f__typejThrottlinggmessage", true),
            (503, "", b"<Error><Code>SlowDown</Code></Error>", true),
            (429, "", b"", true),
            (503, "", b"", true),
            (
                503,
                "",
                b"<Error><Code>ServiceUnavailable</Code></Error>",
                false,
            ),
            (
                400,
                "",
                br#"{"__type":"ValidationException","message":"Throttling is off"}"#,
                false,
            ),
            (200, "", br#"{"__type":"ThrottlingException"}"#, false),
        ];
        for (status, headers, body, want) in cases {
            assert_eq!(
                is_throttle(status, headers, body),
                want,
                "{status} {headers} {}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn one_bucket_per_account_and_region() {
        let l = Limiter::default();
        let own = Settings::default();
        let role = |acct: &str| Settings {
            region: Some("eu-west-1".into()),
            assume_role_arn: Some(format!("arn:aws:iam::{acct}:role/deployer")),
            session: None,
            tenant: None,
        };
        assert!(Arc::ptr_eq(
            &l.bucket(&own, Some("us-east-1")),
            &l.bucket(&own, Some("us-east-1"))
        ));
        assert!(!Arc::ptr_eq(
            &l.bucket(&own, Some("us-east-1")),
            &l.bucket(&own, Some("eu-west-1"))
        ));
        assert!(Arc::ptr_eq(
            &l.bucket(&role("111"), None),
            &l.bucket(&role("111"), None)
        ));
        assert!(!Arc::ptr_eq(
            &l.bucket(&role("111"), None),
            &l.bucket(&role("222"), None)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_burst_a_bucket_lets_requests_through_at_its_rate() {
        let rate = RequestRate {
            per_second: NonZeroU32::new(10).unwrap(),
            burst: NonZeroU32::new(5).unwrap(),
        };
        let b = Bucket::new(rate);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            b.take(1).await;
        }
        assert_eq!(b.waited(), 0, "the burst passes at once");
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
        for _ in 0..20 {
            b.take(1).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!(
            (1.99..2.01).contains(&took),
            "20 more at 10/s take 2 s, took {took}"
        );
        b.take(50).await;
        let whole = start.elapsed().as_secs_f64() - took;
        assert!(
            (0.49..0.51).contains(&whole),
            "more than the burst waits for a whole burst: {whole}"
        );
    }

    /// CloudWatch's quotas per operation (CW-35): ten alarm writes at the start of a rollout
    /// go at 3 a second, and the reads that trigger rollbacks have their own quota.
    #[tokio::test(start_paused = true)]
    async fn cloudwatch_operations_keep_to_their_published_quotas() {
        let l = Limiter::default();
        let q = l.quotas(&Settings::default(), Some("us-east-1"));
        let start = tokio::time::Instant::now();
        let put = q.of("PutMetricAlarm").expect("a quota");
        for _ in 0..10 {
            put.take(1).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!(
            (2.3..2.4).contains(&took),
            "7 past the burst of 3 at 3/s: {took}"
        );
        let reads = q.of("DescribeAlarms").expect("a quota");
        let before = tokio::time::Instant::now();
        reads.take(1).await;
        assert_eq!(
            before.elapsed(),
            std::time::Duration::ZERO,
            "reads not behind writes"
        );
        assert!(
            q.of("DescribeEndpoint").is_none(),
            "no quota AWS does not publish"
        );
    }

    /// The alarm watch reads from its own bucket: a queue of passes waiting on the account's
    /// bucket never delays the read that triggers a rollback.
    #[tokio::test(start_paused = true)]
    async fn the_alarm_watch_never_waits_behind_the_passes() {
        let l = Arc::new(Limiter::new(RequestRate::new(1, 1)));
        let own = Settings::default();
        let account = l.bucket(&own, Some("us-east-1"));
        account.take(1).await;
        let queued: Vec<_> = (0..20)
            .map(|_| {
                let b = account.clone();
                tokio::spawn(async move { b.take(1).await })
            })
            .collect();
        tokio::task::yield_now().await;
        let start = tokio::time::Instant::now();
        l.watch_bucket(&own, Some("us-east-1")).take(1).await;
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
        assert!(!Arc::ptr_eq(
            &account,
            &l.watch_bucket(&own, Some("us-east-1"))
        ));
        for q in queued {
            q.abort();
        }
    }
}
