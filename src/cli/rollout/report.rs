//! What the rollout commands print: an action in words (`plan`), and the summary after a
//! drive (which package serves, console links, data capture).

use sagemaker_rollout::api::{ModelDeployment, ModelDeploymentStatus, Phase};

pub(super) fn describe(a: &sagemaker_rollout::plan::Action) -> String {
    use sagemaker_rollout::plan::Action::*;
    match a {
        ValidateArtifact { model_data_url, .. } => {
            format!("validate the artifact {model_data_url}")
        }
        CreateModel(m) => match &m.copy {
            None => format!("create model {} from {}", m.name, m.candidate_id),
            Some(c) => format!(
                "copy {} (the version validated) to {}, and create model {} from the copy",
                c.from, c.to, m.name
            ),
        },
        CreateEndpointConfig(c) => format!(
            "create endpoint config {} ({})",
            c.name,
            c.production
                .iter()
                .map(|v| format!("{} weight {}", v.name, v.weight))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CreateEndpoint { config_name, .. } => {
            format!("create the endpoint with config {config_name}")
        }
        UpdateEndpoint {
            config_name,
            deployment,
        } => format!(
            "update the endpoint to config {config_name}{}",
            deployment
                .as_ref()
                .map(|d| format!(" (SageMaker {})", d.name()))
                .unwrap_or_default()
        ),
        UpdateWeights { weights } => format!(
            "set weights {}",
            weights
                .iter()
                .map(|(k, v)| format!("{k}={v:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        RunSmokeTest { variant } => format!("smoke-test variant {variant}"),
        TagEndpoint { .. } => "record rollout progress in tags".into(),
        EnsureAlarm(al) => format!("create alarm {}", al.name),
        DeleteAlarm { name } => format!("delete alarm {name}"),
        RegisterScaling(s) => format!(
            "register autoscaling on {} ({}..{})",
            s.variant, s.min, s.max
        ),
        DeregisterScaling { variant } => format!("deregister autoscaling on {variant}"),
        DeleteEndpoint => "delete the endpoint".into(),
        DeleteEndpointConfig { name } => format!("delete endpoint config {name}"),
        DeleteModel { name } => format!("delete model {name}"),
        CreateInferenceComponent { component: c, .. } => format!(
            "create inference component {} on {} with model {} ({} copies)",
            c.name, c.endpoint, c.model_name, c.copies
        ),
        UpdateInferenceComponent {
            component: c,
            deployment,
        } => format!(
            "update inference component {} to model {}{}",
            c.name,
            c.model_name,
            if deployment.is_some() {
                " (SageMaker rolling update of the copies)"
            } else {
                " (all at once)"
            }
        ),
        SetComponentCopies { name, copies } => {
            format!("set inference component {name} to {copies} copies")
        }
        DeleteInferenceComponent { name } => format!("delete inference component {name}"),
        CollectGarbage {
            keep_configs,
            keep_models,
        } => format!(
            "delete this rollout's alarms and the owned configs and models other than {}",
            keep_configs
                .iter()
                .chain(keep_models)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RecordHistory(h) => format!("record the deployment ({}: {})", h.outcome, h.reason),
        RemoveFinalizer => "release the resource".into(),
    }
}

pub(super) fn summary(md: &ModelDeployment, st: &ModelDeploymentStatus, calls: usize) {
    println!("{}: {:?}", md.owner(), st.phase.unwrap_or(Phase::Pending));
    if let Some(c) = st.conditions.first() {
        println!("  {}", c.message);
    }
    if let Some(e) = &st.endpoint {
        println!("  endpoint      {} ({})", e.name, e.status);
    }
    // What takes traffic now (after a rollback: the champion), then a candidate that does not.
    let views = [("champion", &st.champion), ("candidate", &st.candidate)];
    for (role, v) in views.iter().filter_map(|(r, v)| v.as_ref().map(|v| (r, v))) {
        let weight = v.weight.unwrap_or(0);
        let what = if weight > 0 {
            "serving  "
        } else {
            "not serving"
        };
        println!(
            "  {what}   {} run {} ({role}) at {weight}%",
            v.candidate_id().unwrap_or("-"),
            v.candidate_run_id.as_deref().unwrap_or("-"),
        );
    }
    if !md.spec.tags.is_empty() {
        println!(
            "  extra tags    {}",
            md.spec
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(dc) = &md.spec.data_capture {
        println!(
            "  data capture  {} ({}%)",
            dc.destination_s3_uri, dc.sampling_percent
        );
    }
    if let Some(l) = &st.links {
        println!("  console       {}", l.endpoint);
        println!("  alarms        {}", l.alarms);
    }
    println!("  AWS calls     {calls}");
}
