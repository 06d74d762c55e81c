//! Deletion of a ModelDeployment. `Retain` only releases the finalizer; `Delete` removes the
//! endpoint (once it is not transitioning), then the configs, models, alarms and scaling
//! targets tagged as ours, then the finalizer. Resources of other owners are never touched,
//! and a resource already gone counts as deleted.

use super::actions::Action;
use super::observed::EndpointStatus;
use super::{Health, Next, Planner};
use crate::api::{DeletionPolicy, Phase};

pub(super) fn plan(p: &mut Planner<'_>) {
    if p.spec().deletion_policy == DeletionPolicy::Retain {
        p.push(Action::RemoveFinalizer);
        p.event(
            "Retained",
            "deletionPolicy Retain: AWS resources are kept",
            false,
        );
        return p.judge(
            Phase::Succeeded,
            Health::Progressing,
            "Deleting",
            "releasing the finalizer; AWS resources are retained",
        );
    }
    let ours = p.markers.owner.as_deref() == Some(p.input.owner);
    if let Some(ep) = p.endpoint().filter(|_| ours) {
        p.next = Next::Poll;
        if ep.status.is_transitional() {
            return p.judge(
                Phase::Deploying,
                Health::Progressing,
                "Deleting",
                format!(
                    "waiting for endpoint {} ({}) before deleting it",
                    ep.name,
                    ep.status.as_str()
                ),
            );
        }
        for reg in &p.input.observed.scaling {
            p.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
        p.push(Action::DeleteEndpoint);
        p.event("Deleting", format!("deleting endpoint {}", ep.name), false);
        let status = ep.status;
        return p.judge(
            Phase::Deploying,
            Health::Progressing,
            "Deleting",
            format!(
                "deleting endpoint {} (was {})",
                ep.name,
                if status == EndpointStatus::InService {
                    "InService"
                } else {
                    status.as_str()
                }
            ),
        );
    }
    let owned = p.input.observed.owned.clone();
    for name in owned.alarms {
        p.push(Action::DeleteAlarm { name });
    }
    for name in owned.endpoint_configs {
        p.push(Action::DeleteEndpointConfig { name });
    }
    for name in owned.models {
        p.push(Action::DeleteModel { name });
    }
    p.push(Action::RemoveFinalizer);
    p.event(
        "Deleted",
        "AWS resources owned by this ModelDeployment were deleted",
        false,
    );
    p.judge(
        Phase::Succeeded,
        Health::Progressing,
        "Deleting",
        "owned AWS resources deleted; releasing the finalizer",
    );
}
