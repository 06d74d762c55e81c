//! The simulator's sagemaker-runtime: InvokeEndpoint on a variant, answered as the scenario
//! says (the smoke test's request).

use async_trait::async_trait;

use super::Simulator;
use super::rules::invalid;
use crate::aws::AwsError;
use crate::aws::runtime::{Invocation, Invoker};
#[async_trait]
impl Invoker for Simulator {
    async fn invoke(
        &self,
        endpoint: &str,
        variant: &str,
        _content_type: &str,
        _body: &str,
    ) -> Result<Invocation, AwsError> {
        let st = self.enter("sagemaker-runtime", "InvokeEndpoint", false)?;
        let ep = st
            .endpoints
            .get(endpoint)
            .ok_or_else(|| invalid("InvokeEndpoint", format!("Endpoint {endpoint} not found")))?;
        if !ep.desc.variants.iter().any(|v| v.name == variant) {
            return Err(invalid(
                "InvokeEndpoint",
                format!("Variant {variant} not found on endpoint {endpoint}"),
            ));
        }
        Ok(Invocation {
            status: st.smoke.status,
            body: st.smoke.body.clone(),
            latency: std::time::Duration::from_millis(38),
        })
    }
}
