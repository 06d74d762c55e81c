//! Amazon SNS: publishing a rollout's milestone notices ([`Notice`]) as a narrow trait and its
//! implementation on `aws-sdk-sns`. Publish reaches only a topic in the request's own region
//! (SNS-3), so the client is built for the topic's region, whatever the spec's region; a FIFO
//! topic gets its group and deduplication ids (SNS-11, SNS-12). Whether a failed publish may
//! hold a rollout is the engine's decision (it does not).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{AwsError, ErrorClass, classify};
use crate::plan::notice::Notice;

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes one notice to its topic.
    async fn publish(&self, notice: &Notice) -> Result<(), AwsError>;
}

/// SNS clients, one per topic region, on one SDK configuration.
pub struct SdkNotifier {
    config: aws_config::SdkConfig,
    scope: String,
    clients: Mutex<BTreeMap<String, aws_sdk_sns::Client>>,
}

impl SdkNotifier {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::scoped(config, "self")
    }

    /// Clients whose SDK retries are partitioned by `scope` (the account acting, see
    /// [`crate::aws::limit::key`]).
    pub fn scoped(config: &aws_config::SdkConfig, scope: &str) -> Self {
        Self {
            config: config.clone(),
            scope: scope.to_owned(),
            clients: Mutex::default(),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_sns::Client {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                aws_sdk_sns::Client::from_conf(
                    crate::aws::sdk::sdk_config!(
                        aws_sdk_sns,
                        &self.config,
                        "sns",
                        region,
                        scope = &self.scope
                    )
                    .region(aws_sdk_sns::config::Region::new(region.to_owned()))
                    .build(),
                )
            })
            .clone()
    }
}

#[async_trait]
impl Notifier for SdkNotifier {
    async fn publish(&self, n: &Notice) -> Result<(), AwsError> {
        let client = self.client(&n.region);
        let mut req = client
            .publish()
            .topic_arn(&n.topic_arn)
            .subject(&n.subject)
            .message(&n.message);
        for (k, v) in &n.attributes {
            req = req.message_attributes(
                k,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .map_err(|e| {
                        AwsError::new(ErrorClass::Terminal, "sns", "Publish", e.to_string())
                    })?,
            );
        }
        if let Some((group, dedup)) = &n.fifo {
            req = req.message_group_id(group).message_deduplication_id(dedup);
        }
        req.send()
            .await
            .map_err(|e| classify("sns", "Publish", e))
            .map(|_| ())
    }
}
