//! How every SDK client of the crate is built, in one place: the throttle counter, a retry
//! partition per service and region, and the fenced HTTP client ([`sdk_config!`]).
//!
//! The fence is the one place a request leaves the process. Every engine call runs inside
//! [`fenced`] with its account's request bucket (and, for a mutating call, the leadership
//! gate); the HTTP connector below every SDK client takes one token per request it sends —
//! SDK retries and adapter calls that send several requests included — and, once the token
//! is had, refuses to send a mutating request if the gate has closed meanwhile. Outside
//! [`fenced`] (tests, the CLI's `register`) requests go straight through.
//!
//! The bucket and gate travel in a tokio task-local rather than in the client because one
//! set of clients may serve several buckets (a test's prebuilt clients, the controller's
//! per-account buckets), and the SDK polls the connector inside the caller's task.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::limit::Bucket;

/// Asked before a mutating request leaves: for how much longer may this process change
/// AWS? None: not at all (it no longer leads).
pub type Gate = Arc<dyn Fn() -> Option<Duration> + Send + Sync>;

/// The least validity a mutating request leaves with: it must have reached AWS (and been
/// answered) before this process's leadership lapses, so a request is sent only with at
/// least this much left and given up when it runs out.
pub const MUTATION_BUDGET: Duration = Duration::from_secs(2);

/// What a request in flight must respect.
#[derive(Clone, Default)]
pub struct Fence {
    /// One token per HTTP request.
    pub bucket: Option<Arc<Bucket>>,
    /// And one of the operation's own quota, where AWS publishes one.
    pub quota: Option<Arc<Bucket>>,
    /// Checked after the token is had, immediately before the request is sent.
    pub gate: Option<Gate>,
}

tokio::task_local! {
    static FENCE: Fence;
}

/// Runs `fut` (an engine call) with `fence` applied to every HTTP request it sends.
pub async fn fenced<F: Future>(fence: Fence, fut: F) -> F::Output {
    FENCE.scope(fence, fut).await
}

/// The message of a request the closed gate kept back.
pub const GATED: &str = "not sent: this process no longer holds the leader lease";

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the environment,
/// as aws-smithy-runtime builds it when none is configured — it does not export that
/// builder), wrapped in the fence.
pub fn fenced_http_client(config: &aws_config::SdkConfig) -> SharedHttpClient {
    let inner = config.http_client().unwrap_or_else(default_https_client);
    SharedHttpClient::new(Fenced { inner })
}

fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

#[derive(Debug)]
struct Fenced {
    inner: SharedHttpClient,
}

impl HttpClient for Fenced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FencedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct FencedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for FencedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // Read synchronously: the SDK calls the connector while polling the caller's task.
        let fence = FENCE.try_with(Clone::clone).unwrap_or_default();
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(quota) = &fence.quota {
                quota.take(1).await;
            }
            if let Some(bucket) = &fence.bucket {
                bucket.take(1).await;
            }
            let Some(gate) = &fence.gate else {
                return inner.call(request).await;
            };
            // Asked after the token is had: the wait may have outlasted the leadership.
            let Some(left) = gate().filter(|left| *left >= MUTATION_BUDGET) else {
                // A user error: the SDK does not retry it.
                return Err(ConnectorError::user(GATED.into()));
            };
            // Bounded by the leadership left: never answered after another leader may act.
            match tokio::time::timeout(left, inner.call(request)).await {
                Ok(answer) => answer,
                Err(_) => Err(ConnectorError::user(GATED.into())),
            }
        })
    }
}

/// A service's SDK configuration builder from `$config` with what every client of this
/// crate carries: the throttle counter, a retry partition of its own per service, region and
/// `scope` (the account acting: the SDK keeps its retry budget, and adaptive retry its
/// client-side rate, per partition, so one account's throttling never spends another's), and
/// the fenced HTTP client. A macro because each service crate has its own builder type.
#[macro_export]
#[doc(hidden)]
macro_rules! sdk_config {
    ($krate:ident, $config:expr, $service:expr, scope = $scope:expr) => {
        $crate::aws::sdk::sdk_config!(
            $krate,
            $config,
            $service,
            $config.region().map(|r| r.as_ref()).unwrap_or_default(),
            scope = $scope
        )
    };
    // A client for another region than the configuration's (SNS topics).
    ($krate:ident, $config:expr, $service:expr, $region:expr, scope = $scope:expr) => {
        $krate::config::Builder::from($config)
            .interceptor($crate::aws::limit::ThrottleCounter)
            .retry_partition($krate::config::retry::RetryPartition::new(
                $crate::aws::limit::partition_name($service, $region, $scope),
            ))
            .http_client($crate::aws::sdk::fenced_http_client($config))
    };
}
pub use sdk_config;
