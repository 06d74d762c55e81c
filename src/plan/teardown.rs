//! Deletion of a ModelDeployment. `Retain` removes only the rollout's own alarms and releases
//! the finalizer; `Delete` removes the
//! endpoint (once it is not transitioning), then the configs, models, alarms and scaling
//! targets tagged as ours, then the finalizer. Resources of other owners are never touched,
//! and a resource already gone counts as deleted. Deletion needs only the [`Teardown`] part
//! of a spec, so a spec that became invalid can still be deleted.
//!
//! [`Teardown`]: crate::api::Teardown

use super::actions::Action;
use super::claim::Claim;
use super::markers::Markers;
use super::observed::EndpointStatus;
use super::{Event, Next, Plan, TeardownInput, status};
use crate::api::conditions::{self, Health};
use crate::api::{DeletionPolicy, Phase};

struct Step {
    actions: Vec<Action>,
    events: Vec<Event>,
    next: Next,
}

impl Step {
    fn event(&mut self, reason: &str, message: impl Into<String>) {
        self.events.push(Event {
            reason: reason.to_owned(),
            message: message.into(),
            warning: false,
        });
    }
}

pub(super) fn plan(input: &TeardownInput<'_>) -> Plan {
    let mut s = Step {
        actions: Vec::new(),
        events: Vec::new(),
        next: Next::Idle,
    };
    let (phase, message) = decide(input, &mut s);
    let mut status = input.previous.cloned().unwrap_or_default();
    status.observed_generation = input.generation;
    status.phase = Some(phase);
    status.conditions = conditions::for_health(
        input
            .previous
            .map(|p| p.conditions.as_slice())
            .unwrap_or_default(),
        Health::Progressing,
        "Deleting",
        &message,
        input.generation,
        input.now,
    );
    match &input.teardown.component {
        // Only the component is ours: the endpoint is not read, its last view stays.
        Some(name) => {
            status.inference_component = Some(status::component_status(
                name,
                input.observed.component.as_ref(),
            ))
        }
        None => {
            status.endpoint = Some(status::endpoint_view(
                input.observed.endpoint.as_ref(),
                &input.teardown.endpoint_name,
            ))
        }
    }
    Plan {
        actions: s.actions,
        status,
        next: s.next,
        events: s.events,
        watch: None,
    }
}

/// What holds the markers, in words.
fn holder(input: &TeardownInput<'_>) -> String {
    match &input.teardown.component {
        Some(c) => format!("inference component {c}"),
        None => format!("endpoint {}", input.teardown.endpoint_name),
    }
}

fn decide(input: &TeardownInput<'_>, s: &mut Step) -> (Phase, String) {
    let markers = input
        .observed
        .holder_tags()
        .map(Markers::from_tags)
        .unwrap_or_default();
    let claim = super::claim::claim_of(&markers, input.owner, input.driver);
    let ours = claim.is_ours()
        || (input.driver.take_over && !matches!(claim, Claim::Other { .. } | Claim::Unowned));
    // Held by another driver of this owner (another cluster, the CLI, an earlier resource of
    // the same name): its configs, models and alarms carry this owner's tags too, and are
    // in use — whatever the deletion policy, nothing is deleted; the finalizer goes.
    if input.observed.holder_tags().is_some()
        && !ours
        && !matches!(claim, Claim::Other { .. } | Claim::Unowned)
    {
        s.event(
            "Released",
            format!("{} is driven by another driver of this ModelDeployment ({claim:?}); nothing on AWS was deleted", holder(input)),
        );
        s.actions.push(Action::RemoveFinalizer);
        return (Phase::Succeeded, "releasing the finalizer; the endpoint is driven elsewhere, AWS resources are left as they are".into());
    }
    if input.teardown.deletion_policy == DeletionPolicy::Retain {
        // The endpoint, its configs and models stay as they are (mid-rollout: at the
        // weights in effect). The rollout's own alarms go: nothing would watch or remove
        // them once the resource is gone.
        let alarms = &input.observed.owned.alarms;
        for name in alarms {
            s.actions.push(Action::DeleteAlarm { name: name.clone() });
        }
        s.actions.push(Action::RemoveFinalizer);
        let removed = match alarms.len() {
            0 => String::new(),
            n => format!("; {n} rollout alarm(s) removed"),
        };
        s.event(
            "Retained",
            format!("deletionPolicy Retain: the endpoint, configs and models are kept{removed}"),
        );
        return (
            Phase::Succeeded,
            format!("releasing the finalizer; AWS resources are retained{removed}"),
        );
    }
    if let Some(c) = input.observed.component.as_ref().filter(|_| ours) {
        // The component goes; the endpoint hosting it is never touched.
        s.next = Next::Poll;
        if c.status.is_transitional() {
            let status = c.status.as_str();
            return (
                Phase::Deploying,
                format!(
                    "waiting for inference component {} ({status}) before deleting it",
                    c.name
                ),
            );
        }
        for reg in &input.observed.scaling {
            s.actions.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
        s.actions.push(Action::DeleteInferenceComponent {
            name: c.name.clone(),
        });
        s.event(
            "Deleting",
            format!("deleting inference component {}", c.name),
        );
        return (
            Phase::Deploying,
            format!("deleting inference component {}", c.name),
        );
    }
    if let Some(ep) = input.observed.endpoint.as_ref().filter(|_| ours) {
        s.next = Next::Poll;
        if ep.status.is_transitional() {
            return (
                Phase::Deploying,
                format!(
                    "waiting for endpoint {} ({}) before deleting it",
                    ep.name,
                    ep.status.as_str()
                ),
            );
        }
        for reg in &input.observed.scaling {
            s.actions.push(Action::DeregisterScaling {
                variant: reg.variant.clone(),
            });
        }
        s.actions.push(Action::DeleteEndpoint);
        s.event("Deleting", format!("deleting endpoint {}", ep.name));
        let was = if ep.status == EndpointStatus::InService {
            "InService"
        } else {
            ep.status.as_str()
        };
        return (
            Phase::Deploying,
            format!("deleting endpoint {} (was {was})", ep.name),
        );
    }
    let owned = &input.observed.owned;
    for name in &owned.alarms {
        s.actions.push(Action::DeleteAlarm { name: name.clone() });
    }
    for name in &owned.endpoint_configs {
        s.actions
            .push(Action::DeleteEndpointConfig { name: name.clone() });
    }
    for name in &owned.models {
        s.actions.push(Action::DeleteModel { name: name.clone() });
    }
    s.actions.push(Action::RemoveFinalizer);
    s.event(
        "Deleted",
        "AWS resources owned by this ModelDeployment were deleted",
    );
    (
        Phase::Succeeded,
        "owned AWS resources deleted; releasing the finalizer".into(),
    )
}
