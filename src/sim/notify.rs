//! The simulator's SNS: topics seeded for a spec's `notify`, Publish checked against the rules
//! the product relies on and recorded, so tests read the milestones a rollout published.

use async_trait::async_trait;

use super::Simulator;
use crate::aws::AwsError;
use crate::aws::notify::Notifier;
use crate::plan::notice::{MAX_BYTES, Notice};

impl Simulator {
    /// Creates an SNS topic (its ARN names region and FIFO-ness).
    pub fn add_topic(&self, arn: &str) {
        self.lock().topics.insert(arn.to_owned());
    }

    /// Every notice published, in order.
    pub fn published(&self) -> Vec<Notice> {
        self.lock().published.clone()
    }
}

/// SNS-4, SNS-5, SNS-7, SNS-11, SNS-13: the topic exists; body and attributes fit in 256 KiB;
/// the subject is under 100 printable characters; group and deduplication ids go with FIFO
/// topics only.
fn publish_rules(exists: bool, n: &Notice) -> Result<(), AwsError> {
    let bad = |code: &str, m: String| AwsError::answered("sns", "Publish", code, m);
    if !exists {
        return Err(bad(
            "NotFound",
            format!("Topic does not exist: {}", n.topic_arn),
        ));
    }
    let size = n.message.len()
        + n.attributes
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum::<usize>();
    if size > MAX_BYTES {
        return Err(bad(
            "InvalidParameter",
            format!("message of {size} bytes; at most {MAX_BYTES}"),
        ));
    }
    if n.subject.chars().count() >= 100 || n.subject.chars().any(|c| !(' '..='~').contains(&c)) {
        return Err(bad("InvalidParameter", "Invalid parameter: Subject".into()));
    }
    if n.fifo.is_some() != n.topic_arn.ends_with(".fifo") {
        return Err(bad(
            "InvalidParameter",
            "MessageGroupId and MessageDeduplicationId go with FIFO topics only, and FIFO topics need them".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Notifier for Simulator {
    async fn publish(&self, n: &Notice) -> Result<(), AwsError> {
        let mut st = self.enter("sns", "Publish", true)?;
        publish_rules(st.topics.contains(&n.topic_arn), n)?;
        st.published.push(n.clone());
        Ok(())
    }
}
