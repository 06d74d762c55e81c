//! Seeding the simulator for a spec: a valid in-memory artifact, the candidate package, the
//! existing alarms and, optionally, a champion already serving the endpoint.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{ACCOUNT, REGION, SimEndpoint, Simulator};
use crate::api::ValidSpec;
use crate::api::valid::CandidateSource;
use crate::plan::AlarmState;
use crate::plan::{Candidate, Markers, Stage};

/// Builds a valid model artifact in memory (block gzip format, like `package`).
pub fn artifact(run_id: &str, auc: f64) -> Bytes {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("artifacts/feature_schema.json", br#"{"features": ["tenure", "plan", "spend"]}"#.to_vec()),
        ("artifacts/metrics.json", format!(r#"{{"auc": {auc}}}"#).into_bytes()),
        ("artifacts/splits.json", br#"{"train": 0.8, "test": 0.2}"#.to_vec()),
        ("inference.py", b"def model_fn(model_dir):\n    return None\n".to_vec()),
        (
            "model-info.json",
            format!(r#"{{"candidate_run_id": "{run_id}", "data_version": "dv-{run_id}", "git_commit": "0123abcd"}}"#).into_bytes(),
        ),
        ("model/model.cbm", (0..4096u32).map(|i| (i * 31 % 251) as u8).collect()),
        ("requirements.txt", b"catboost==1.2.5\n".to_vec()),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        // Writing into a Vec cannot fail; an error here would be a bug in tar itself.
        let _ = tar.append_data(&mut h, name, data.as_slice());
    }
    let raw = tar.into_inner().unwrap_or_default();
    let mut out = Vec::new();
    for block in raw.chunks(crate::artifact::gzip::BLOCK) {
        out.extend(crate::artifact::gzip::encode_member(block, 6).unwrap_or_default());
    }
    Bytes::from(out)
}

/// Seeds the registry (and alarms) for `spec`: a candidate package matching it and, with
/// `champion`, an older package already serving the endpoint as if a previous rollout by
/// `owner` had finished. Returns the candidate ARN.
pub fn seed(sim: &Simulator, spec: &ValidSpec, owner: &str, champion: bool) -> String {
    for name in &spec.analysis.existing {
        sim.add_alarm(name, AlarmState::Ok);
    }
    if let Some(topic) = &spec.notify {
        sim.add_topic(&topic.arn);
    }
    let wanted = match &spec.candidate.source {
        CandidateSource::Group { match_tags, .. } => match_tags.clone(),
        _ => BTreeMap::new(),
    };
    let run = wanted
        .get(crate::tags::RUN_ID)
        .cloned()
        .unwrap_or_else(|| "sim-candidate".into());
    let mut tags = wanted;
    tags.entry(crate::tags::RUN_ID.into())
        .or_insert(run.clone());
    tags.insert(crate::tags::DATA_VERSION.into(), format!("dv-{run}"));
    match (&spec.serving.component, champion) {
        (Some(_), _) => {
            let champion = champion.then(|| champion_candidate(sim, spec));
            super::components::seed_host(sim, spec, owner, champion)
        }
        (None, true) => seed_champion(sim, spec, owner),
        (None, false) => {}
    }
    sim.mark_champions();
    match &spec.candidate.source {
        CandidateSource::Pinned { arn } => {
            sim.add_package_at(arn, tags, artifact(&run, 0.91));
            arn.clone()
        }
        CandidateSource::Group { group, .. } => {
            let approval = match spec.candidate.approval {
                crate::api::ApprovalPolicy::PendingManualApproval => "PendingManualApproval",
                _ => "Approved",
            };
            sim.add_package(group, tags, approval, artifact(&run, 0.91))
        }
        CandidateSource::Artifact { uri, .. } => {
            sim.put_object(uri, artifact(&run, 0.91));
            uri.clone()
        }
        CandidateSource::Results { uri } => {
            // The run's artifact beside its results, as a pipeline step writes them.
            let dir = uri.rsplit_once('/').map_or(uri.as_str(), |(d, _)| d);
            let model = format!("{dir}/model.tar.gz");
            sim.put_object(&model, artifact(&run, 0.91));
            let region = spec.region.as_deref().unwrap_or(REGION);
            let passed = !sim.validation_failed();
            let results = serde_json::json!({
                "candidate_run_id": run,
                "passed": passed,
                "artifact": {
                    "s3_uri": model,
                    "image": format!("{}.dkr.ecr.{region}.amazonaws.com/inference:1", ACCOUNT),
                },
                "gates": [{"name": "auc", "passed": passed, "value": 0.91, "threshold": 0.85}],
            });
            sim.put_object(uri, Bytes::from(results.to_string()));
            model
        }
    }
}

/// An older package in the registry, as the champion a previous rollout by `owner` left.
pub(super) fn champion_candidate(sim: &Simulator, spec: &ValidSpec) -> Candidate {
    let group = match &spec.candidate.source {
        CandidateSource::Group { group, .. } => group.clone(),
        _ => "champion-models".into(),
    };
    let tags: BTreeMap<String, String> = [("candidate_run_id".to_owned(), "champion".to_owned())]
        .into_iter()
        .collect();
    let arn = sim.add_package(&group, tags, "Approved", artifact("champion", 0.90));
    Candidate {
        candidate_id: arn.clone(),
        origin: crate::plan::Origin::Registry,
        environment: BTreeMap::new(),
        run_id: Some("champion".into()),
        approval: "Approved".into(),
        status: "Completed".into(),
        image: None,
        model_data_url: String::new(),
        lineage: BTreeMap::new(),
        artifact: crate::plan::ArtifactCheck::Unchecked,
        comparison: None,
    }
}

/// An InService endpoint serving an older package, as a finished rollout by `owner` leaves it.
pub(super) fn seed_champion(sim: &Simulator, spec: &ValidSpec, owner: &str) {
    let cand = champion_candidate(sim, spec);
    let arn = cand.candidate_id.clone();
    let lineage = crate::plan::desired::lineage_tags(spec, owner, &cand);
    let model = crate::plan::desired::model_plan(spec, &cand, &lineage);
    let variant = crate::plan::desired::candidate_variant(spec, &cand, &model, 1.0);
    let config =
        crate::plan::desired::config_plan(spec, vec![variant.clone()], vec![], &lineage, None);
    let markers = Markers {
        owner: Some(owner.to_owned()),
        stage: Some(Stage::Done),
        candidate: Some(arn),
        run_id: Some("champion".into()),
        variant: Some(variant.name.clone()),
        target_config: Some(config.name.clone()),
        ..Markers::default()
    };
    let mut ep_tags = lineage;
    ep_tags.extend(markers.to_tags().into_iter().filter(|(_, v)| !v.is_empty()));
    let now = sim.clock.now();
    let mut st = sim.lock();
    let since = now - jiff::SignedDuration::from_hours(24);
    let desc = super::endpoints::in_service(&spec.endpoint_name, since, &config);
    st.models.insert(model.name.clone(), model);
    st.configs.insert(config.name.clone(), config);
    st.endpoints.insert(
        spec.endpoint_name.clone(),
        SimEndpoint {
            desc,
            tags: ep_tags,
            pending: None,
        },
    );
}
