//! SNS ([`crate::aws::notify`]): a rollout's milestones.

use super::Aws;
use crate::aws::AwsError;
use crate::plan::notice::Notice;

impl Aws<'_> {
    pub(crate) async fn publish(&self, n: &Notice, milestone: &str) -> Result<(), AwsError> {
        let call = self.clients().notify.publish(n);
        let detail = format!("{} {milestone}", n.topic_arn);
        self.run("sns", "Publish", detail, call).await
    }
}
