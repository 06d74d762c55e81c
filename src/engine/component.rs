//! Observation of a spec that targets an inference component: the hosting endpoint (read, as
//! any endpoint, only to know it is there and InService), the component (DescribeInference
//! Component) with its tags — the markers, read at rest and remembered while SageMaker
//! transitions it or a rollout it drives is in flight, as for an endpoint; then, at rest or
//! in flight, the candidate, the watched alarms and the component's own scalable target
//! (never the endpoint's variants': those are the platform's).

use jiff::Timestamp;

use super::{Engine, EngineError};
use crate::api::ValidSpec;
use crate::aws::scaling::COMPONENTS;
use crate::plan::desired::scaling_hash;
use crate::plan::{self, Component, Markers, Observed, Stage};

impl Engine {
    pub(super) async fn observe_component(
        &self,
        spec: &ValidSpec,
        name: &str,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let endpoint = self.read_endpoint(&spec.endpoint_name, now).await?;
        let component = self.read_component(name, now).await?;
        let mut observed = Observed {
            targets_component: true,
            component,
            ..Observed::of(endpoint)
        };
        if observed
            .component
            .as_ref()
            .is_some_and(|c| c.status.is_transitional())
        {
            return Ok(observed);
        }
        let holder = observed.holder_tags().cloned().unwrap_or_default();
        observed.candidate = self
            .lookup(spec, observed.endpoint.as_ref(), &holder, now)
            .await?;
        self.refresh_component(spec, observed, &Markers::default(), now)
            .await
    }

    /// The alarms and the scalable target the markers now ask for (after this engine's own
    /// tag writes, or on a first read).
    pub(super) async fn refresh_component(
        &self,
        spec: &ValidSpec,
        mut observed: Observed,
        before: &Markers,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let markers = observed
            .holder_tags()
            .map(Markers::from_tags)
            .unwrap_or_default();
        if markers.stage.is_some_and(Stage::in_flight) {
            (self.watched_again(spec, &mut observed, &markers, before, now)).await?;
        }
        let Some(c) = observed.component.as_ref() else {
            return Ok(observed);
        };
        let settled = markers.scaling.as_deref() == Some(scaling_hash(spec, &c.name).as_str());
        if !observed.scaling_read && c.status.is_in_service() && !settled {
            observed.scaling = self.copies_scaling(&c.name, now).await?;
            observed.scaling_read = true;
        }
        Ok(observed)
    }

    /// What deleting a component needs: the component (with its markers), its scalable
    /// target, and what this resource owns for the endpoint — alarms only with our owner tag
    /// (the endpoint is someone else's, so untagged ones are never ours).
    pub(crate) async fn observe_component_teardown(
        &self,
        endpoint: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<Observed, EngineError> {
        let component = self.read_component(name, now).await?;
        let scaling = match &component {
            Some(c) if !c.status.is_transitional() => self.copies_scaling(&c.name, now).await?,
            _ => Vec::new(),
        };
        let owned = self.owned(endpoint, false, now).await?;
        Ok(Observed {
            scaling,
            scaling_read: true,
            owned,
            targets_component: true,
            component,
            ..Observed::of(None)
        })
    }

    /// The scalable target of component `name`'s copies (`inference-component/<name>`), and
    /// nothing of the endpoint's.
    async fn copies_scaling(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Vec<plan::ScalingRegistration>, EngineError> {
        let names = [name.to_owned()];
        let aws = self.aws(now);
        Ok(aws.scaling_registrations(COMPONENTS, &names).await?)
    }

    /// DescribeInferenceComponent and its tags; None when there is none.
    pub(super) async fn read_component(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<Component>, EngineError> {
        let Some(d) = self.aws(now).describe_component(name).await? else {
            return Ok(None);
        };
        let tags = (self.marker_tags(&d.arn, d.status.is_transitional(), now)).await?;
        Ok(Some(Component {
            name: d.name,
            arn: d.arn,
            endpoint: d.endpoint,
            status: d.status,
            model_name: d.model_name,
            compute: d.compute,
            desired_copies: d.desired_copies.unwrap_or(0),
            current_copies: d.current_copies.unwrap_or(0),
            failure_reason: d.failure_reason,
            tags,
        }))
    }
}
