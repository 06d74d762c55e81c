//! The tenant's role session: AssumeRole with the tenant as session tags and the session
//! name as SourceIdentity, so the target account's IAM policies can compare the tenant with
//! resource tags (`aws:PrincipalTag`) and CloudTrail names who acted on every call.
//!
//! aws-config's `AssumeRoleProvider` sends session tags but not a SourceIdentity, hence
//! this provider. Caching and refresh before expiry are the SDK's: the identity cache of the
//! `SdkConfig` this provider is installed in wraps it.

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError, future};
use aws_sdk_sts::types::Tag;

use crate::tenancy::Tenant;

/// Credentials of `role` assumed as `session` for `tenant`.
#[derive(Debug)]
pub struct TenantRole {
    request: aws_sdk_sts::operation::assume_role::builders::AssumeRoleFluentBuilder,
}

impl TenantRole {
    /// The provider; `base` supplies the caller's own credentials and STS's region.
    pub fn new(base: &SdkConfig, role: &str, session: &str, tenant: &Tenant) -> Self {
        let sts = aws_sdk_sts::Client::new(base);
        let tags = tenant
            .session_tags()
            .into_iter()
            .filter_map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(crate::tags::tag_safe(v))
                    .build()
                    .ok()
            })
            .collect();
        Self {
            request: sts
                .assume_role()
                .role_arn(role)
                .role_session_name(session)
                // Persists through role chaining and cannot be changed by the session: the
                // tenant stays visible in CloudTrail however far the credentials travel.
                .source_identity(session)
                .set_tags(Some(tags)),
        }
    }

    async fn credentials(&self) -> provider::Result {
        let out = self
            .request
            .clone()
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let c = out
            .credentials
            .ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        let expiry = std::time::SystemTime::try_from(c.expiration)
            .map_err(|_| CredentialsError::unhandled("unrepresentable expiry"))?;
        Ok(Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            Some(expiry),
            "sagemaker-rollout-tenant",
        ))
    }
}

impl ProvideCredentials for TenantRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
