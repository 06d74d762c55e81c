//! Seeding the simulator for a spec: a valid in-memory artifact, the candidate package, the
//! existing alarms and, optionally, a champion already serving the endpoint.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Simulator, services};
use crate::api::ModelDeploymentSpec;
use crate::plan::AlarmState;

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
pub fn seed(sim: &Simulator, spec: &ModelDeploymentSpec, owner: &str, champion: bool) -> String {
    for name in &spec.analysis.alarms.existing {
        sim.add_alarm(name, AlarmState::Ok);
    }
    let run = spec
        .candidate
        .match_tags
        .as_ref()
        .and_then(|t| t.get("candidate_run_id").cloned())
        .unwrap_or_else(|| "sim-candidate".into());
    let mut tags: BTreeMap<String, String> = spec.candidate.match_tags.clone().unwrap_or_default();
    tags.entry("candidate_run_id".into()).or_insert(run.clone());
    tags.insert("data_version".into(), format!("dv-{run}"));
    if champion {
        services::seed_champion(sim, spec, owner);
    }
    match (
        &spec.candidate.model_package_arn,
        &spec.candidate.model_package_group,
    ) {
        (Some(arn), _) => {
            sim.add_package_at(arn, tags, artifact(&run, 0.91));
            arn.clone()
        }
        (None, Some(group)) => {
            let approval = match spec.candidate.approval {
                crate::api::ApprovalPolicy::PendingManualApproval => "PendingManualApproval",
                _ => "Approved",
            };
            sim.add_package(group, tags, approval, artifact(&run, 0.91))
        }
        (None, None) => String::new(),
    }
}
