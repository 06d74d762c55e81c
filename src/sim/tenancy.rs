//! The simulator as a tenant's session sees AWS: with a namespace set
//! ([`Simulator::as_tenant`]), writes are refused as the tenant role's IAM policy
//! (`deploy/iam/tenant-role.json`) refuses them — creates must carry the session's namespace
//! tag, changes need the resource to carry it, adoption needs an administrator's
//! `adopt-by` tag for the namespace, an inference component is placed only on an endpoint
//! of the namespace or one whose `hosts` tag lists it (a tag tenants never write), and S3
//! keys must lie under `<namespace>/`. The same
//! table the emulator enforces (`tests/emulator/tenancy.py`); without a namespace (single
//! tenant), nothing is refused.

use std::collections::BTreeMap;

use super::Simulator;
use crate::aws::AwsError;
use crate::tags::{ADOPT_BY_KEY, HOSTS_KEY, MANAGED_BY, MANAGED_BY_KEY, NAMESPACE_KEY};

/// What a write asks of a resource's tags.
pub(super) enum Write<'a> {
    /// A create carrying these tags.
    Create(&'a BTreeMap<String, String>),
    /// A change of a resource carrying these tags (None: it does not exist).
    Change(Option<&'a BTreeMap<String, String>>),
    /// AddTags on a resource carrying `current`, adding `added`.
    Tag {
        current: &'a BTreeMap<String, String>,
        added: &'a BTreeMap<String, String>,
    },
    /// An S3 object key.
    Object(&'a str),
    /// CreateInferenceComponent on an endpoint carrying these tags (None: it does not exist):
    /// the endpoint must list the session's namespace among the ones it hosts.
    Host(Option<&'a BTreeMap<String, String>>),
}

impl Simulator {
    /// The same account, seen through the session of the tenant `namespace`.
    pub fn as_tenant(&self, namespace: &str) -> Self {
        Self {
            tenant: Some(namespace.to_owned()),
            ..self.clone()
        }
    }

    /// Refuses `write` as the tenant role's policy would; Ok without a tenant.
    pub(super) fn tenant_allows(
        &self,
        service: &'static str,
        operation: &'static str,
        resource: &str,
        write: Write<'_>,
    ) -> Result<(), AwsError> {
        let Some(ns) = self.tenant.as_deref() else {
            return Ok(());
        };
        let is_ns =
            |t: &BTreeMap<String, String>| t.get(NAMESPACE_KEY).map(String::as_str) == Some(ns);
        let managed = |t: &BTreeMap<String, String>| {
            t.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY)
        };
        // An offer (adoption, sharing an endpoint) is an administrator's alone.
        let offers = |t: &BTreeMap<String, String>| {
            t.contains_key(ADOPT_BY_KEY) || t.contains_key(HOSTS_KEY)
        };
        let allowed = match write {
            Write::Create(tags) => is_ns(tags) && managed(tags) && !offers(tags),
            // The tenant's resource: its namespace and managed-by, as the change statements say.
            Write::Change(tags) => tags.is_some_and(|t| is_ns(t) && managed(t)),
            Write::Tag { current, added } => {
                // Never another namespace's tag, never an adopt-by offer.
                let sets_other = added.get(NAMESPACE_KEY).is_some_and(|v| v != ns) || offers(added);
                let adoption = !current.contains_key(NAMESPACE_KEY)
                    && current.get(ADOPT_BY_KEY).map(String::as_str) == Some(ns)
                    && is_ns(added)
                    && managed(added);
                !sets_other && ((is_ns(current) && managed(current)) || adoption)
            }
            Write::Object(key) => key.starts_with(&format!("{ns}/")),
            Write::Host(tags) => tags.is_some_and(|t| crate::tags::hosts(t, ns)),
        };
        if allowed {
            return Ok(());
        }
        let (code, action) = match service {
            "s3" => ("AccessDenied", operation.to_owned()),
            _ => ("AccessDeniedException", operation.to_owned()),
        };
        let mut e = AwsError::answered(
            service,
            operation,
            code,
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/tenant/{ns} is not authorized to perform: {service}:{action} on resource: {resource} because no identity-based policy allows the {service}:{action} action"
            ),
        );
        if service == "s3" {
            e.status = Some(403);
        }
        Err(e)
    }
}
