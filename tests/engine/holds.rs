//! Holds, deadlines and windows on the simulator, through `simulate` as a person runs it: a
//! pause step waits for on-call's promote (a scenario request), a window closes a step until
//! the next day, and a rollout whose analysis never settles misses its progress deadline.
//! Each shows in the timeline.

use super::example;
use sagemaker_rollout::api::{ModelDeploymentSpec, Phase, ValidSpec};
use sagemaker_rollout::sim::Scenario;
use sagemaker_rollout::sim::simulate::{SimOptions, Simulation, simulate};

async fn run(spec: &ModelDeploymentSpec, scenario: &str) -> Simulation {
    let options = SimOptions {
        empty: false,
        scenario: Scenario::parse(scenario).unwrap(),
        verbose: false,
    };
    let valid = ValidSpec::new(spec).expect("valid spec");
    simulate(&valid, "ml-prod/churn", &options).await.unwrap()
}

fn phase(s: &Simulation) -> Option<Phase> {
    s.rest.status.as_ref().and_then(|st| st.phase)
}

fn line<'a>(s: &'a Simulation, part: &str) -> &'a str {
    &s.timeline[at(s, part)]
}

/// Where the first line with `part` is in the timeline.
fn at(s: &Simulation, part: &str) -> usize {
    s.timeline
        .iter()
        .position(|l| l.contains(part))
        .unwrap_or_else(|| panic!("no {part:?} in:\n{}", s.timeline.join("\n")))
}

#[tokio::test]
async fn a_pause_step_holds_until_on_call_promotes_and_without_it_stays_held() {
    let spec = example("canary-approval");
    let approval = std::fs::read_to_string("deploy/scenarios/approval.yaml").unwrap();
    let approved = run(&spec, &approval).await;
    assert_eq!(phase(&approved), Some(Phase::Succeeded));
    let waiting = at(&approved, "waiting for approval");
    let asked = at(&approved, "on-call requests promote for rollout");
    assert!(waiting < asked, "{}", approved.timeline.join("\n"));

    let unattended = run(&spec, "").await;
    assert_eq!(phase(&unattended), Some(Phase::Paused), "held for a human");
    let status = unattended.rest.status.unwrap();
    assert_eq!(status.candidate.and_then(|c| c.weight), Some(50));
}

#[tokio::test]
async fn a_promote_asked_before_any_rollout_names_none_and_does_nothing() {
    let spec = example("canary-approval");
    let early = run(&spec, "requests: [{at: 0s, request: promote}]").await;
    line(
        &early,
        "on-call requests promote for rollout (none yet: ignored)",
    );
    assert_eq!(phase(&early), Some(Phase::Paused));
}

#[tokio::test]
async fn a_step_waits_overnight_for_the_window_and_bakes_again_in_the_morning() {
    let mut spec = example("canary");
    // The simulation starts Monday 2026-01-05 09:00 UTC; steps may start until 09:15 only.
    spec.rollout.windows =
        Some(serde_saphyr::from_str("allow:\n  - {start: \"08:00\", end: \"09:15\"}\n").unwrap());
    let s = run(&spec, "").await;
    assert_eq!(
        phase(&s),
        Some(Phase::Succeeded),
        "{}",
        s.timeline.join("\n")
    );
    let held = line(&s, "outside the deployment windows (UTC)");
    assert!(held.contains("2026-01-06T08:00:00Z"), "{held}");
    let next_day = line(&s, "+23:");
    assert!(!next_day.is_empty());
}

#[tokio::test]
async fn analysis_that_never_settles_misses_the_deadline_and_rolls_back() {
    let mut spec = example("canary");
    spec.analysis.compare = vec![sagemaker_rollout::api::CompareRule {
        metric: sagemaker_rollout::api::CompareMetric::Invocation5XXErrorRate,
        statistic: "Average".into(),
        max_ratio: None,
        max_increase: Some("1%".into()),
        min_invocations: 100,
    }];
    spec.analysis.on_inconclusive = sagemaker_rollout::api::OnInconclusive::Hold;
    spec.analysis.alarms.create.clear();
    spec.rollout.progress_deadline = Some(sagemaker_rollout::api::ProgressDeadline {
        after: sagemaker_rollout::api::DurationString::new("30m"),
        action: sagemaker_rollout::api::DeadlineAction::RollBack,
    });
    let s = run(&spec, "noTraffic: true\n").await;
    assert_eq!(
        phase(&s),
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    let status = s.rest.status.unwrap();
    assert!(
        status.history[0]
            .reason
            .contains("progress deadline missed"),
        "{:?}",
        status.history[0]
    );
}

#[tokio::test]
async fn undo_within_the_window_returns_the_champion_in_one_update_and_the_timeline_says_so() {
    let mut spec = example("canary");
    spec.rollout.rollback_window = Some(sagemaker_rollout::api::DurationString::new("2h"));
    let s = run(&spec, "requests: [{at: 90m, request: undo}]").await;
    assert_eq!(
        phase(&s),
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    let asked = at(&s, "on-call requests undo for rollout");
    let undoing = at(&s, "restoring the previous champion's config");
    assert!(asked < undoing, "{}", s.timeline.join("\n"));
    let after: Vec<&String> = s
        .timeline
        .iter()
        .skip_while(|l| !l.contains("on-call requests undo"))
        .collect();
    let calls = |op: &str| after.iter().filter(|l| l.contains(op)).count();
    assert_eq!(
        calls("sagemaker:UpdateEndpoint "),
        1,
        "{}",
        s.timeline.join("\n")
    );
    assert_eq!(
        calls("sagemaker:CreateModel") + calls("sagemaker:CreateEndpointConfig"),
        0
    );
    assert_eq!(s.simulator.serving_models(&spec.endpoint_name).len(), 1);
    let status = s.rest.status.unwrap();
    assert!(
        status.history[0].reason.contains("undone"),
        "{:?}",
        status.history[0]
    );
    assert_eq!(
        status.champion.and_then(|c| c.weight),
        Some(100),
        "the champion serves"
    );
}
