//! The engine end to end on the SageMaker simulator in virtual time: every strategy from an
//! empty account and from a serving champion, rollback on alarm at each step, silent
//! rollback, a throttling storm, and a restart after every mutating call.

use super::example;
use sagemaker_rollout::api::{ModelDeploymentSpec, Phase};
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, drive};
use sagemaker_rollout::engine::timeline::is_read;
use sagemaker_rollout::sim::simulate::{SimOptions, Simulation, simulate, start_time};
use sagemaker_rollout::sim::{Scenario, Simulator, seed};

const OWNER: &str = "ml-prod/churn";

const EXAMPLES: [&str; 7] = [
    "direct",
    "canary",
    "linear",
    "blue-green",
    "rolling",
    "serverless",
    "shadow",
];

fn phase(s: &Simulation) -> Option<Phase> {
    s.rest.status.as_ref().and_then(|st| st.phase)
}

async fn run(spec: &ModelDeploymentSpec, empty: bool, scenario: &str) -> Simulation {
    let options = SimOptions {
        empty,
        scenario: Scenario::parse(scenario).unwrap(),
        verbose: false,
    };
    let valid = sagemaker_rollout::api::ValidSpec::new(spec).expect("valid spec");
    simulate(&valid, OWNER, &options).await.unwrap()
}

fn serving_candidate(s: &Simulation, spec: &ModelDeploymentSpec) -> bool {
    let st = s.rest.status.as_ref().unwrap();
    let cand = st.candidate.as_ref().unwrap();
    cand.weight == Some(100) && s.simulator.serving_models(&spec.endpoint_name).len() == 1
}

#[tokio::test]
async fn every_strategy_succeeds_from_an_empty_account_and_from_a_champion() {
    for name in EXAMPLES {
        let spec = example(name);
        for empty in [true, false] {
            let s = run(&spec, empty, "").await;
            assert_eq!(
                phase(&s),
                Some(Phase::Succeeded),
                "{name} empty={empty}:\n{}",
                s.timeline.join("\n")
            );
            assert!(serving_candidate(&s, &spec), "{name} empty={empty}");
            let (endpoints, _, _, owned_alarms, _) = s.simulator.inventory();
            assert_eq!(
                (endpoints, owned_alarms),
                (1, 0),
                "{name}: rollout alarms removed at the end"
            );
            let history = &s.rest.status.as_ref().unwrap().history;
            assert_eq!(history[0].outcome, "Succeeded", "{name}");
        }
    }
}

/// Every hosting shape — the rolling and serverless examples, and the inference component —
/// rolled out, then deleted with `deletionPolicy: Delete`: nothing of the resource is left (the
/// platform's endpoint hosting a component stays, and only it).
#[tokio::test]
async fn each_hosting_shape_is_deleted_cleanly() {
    for (name, endpoints_left) in [
        ("rolling", 0),
        ("serverless", 0),
        ("inference-component", 1),
    ] {
        let mut spec = example(name);
        spec.deletion_policy = sagemaker_rollout::api::DeletionPolicy::Delete;
        let s = run(&spec, false, "").await;
        assert_eq!(phase(&s), Some(Phase::Succeeded), "{name}");
        let sim = &s.simulator;
        let teardown = sagemaker_rollout::api::ValidSpec::new(&spec)
            .unwrap()
            .teardown();
        let engine = Engine::new(sim.clients(), OWNER);
        let goal = Goal::Delete(&teardown);
        drive(&engine, goal, &sim.clock, DriveOptions::default(), |_| {})
            .await
            .unwrap();
        let (endpoints, _configs, models, alarms, scaling) = sim.inventory();
        assert_eq!(
            (endpoints, models, alarms, scaling),
            (endpoints_left, 0, 0, 0),
            "{name}"
        );
    }
}

#[tokio::test]
async fn each_rollout_writes_a_deployment_record_with_the_smoke_test_to_s3() {
    let spec = example("canary");
    let s = run(&spec, false, "").await;
    let records = s.simulator.objects("s3://ml-audit/deployments/churn-prod/");
    assert_eq!(records.len(), 1, "one record per rollout");
    let record: serde_json::Value = serde_json::from_slice(&records[0].1).unwrap();
    assert_eq!(record["entry"]["outcome"], "Succeeded");
    assert_eq!(record["entry"]["candidateRunId"], "2026-11-20-abc123");
    assert_eq!(record["smokeTest"]["request"]["body"], "34,1,0,99.5");
    assert_eq!(record["smokeTest"]["result"]["result"], "Passed");
    assert!(
        record["status"]["endpoint"]["configName"].is_string(),
        "the config snapshot is recorded"
    );
}

#[tokio::test]
async fn alarm_at_each_canary_step_rolls_back_to_the_champion() {
    let spec = example("canary");
    // Step 1 (10 %) starts after the variant is added and smoke-tested (~10 min), step 2
    // (50 %) ten minutes later.
    for at in ["12m", "25m", "40m"] {
        let scenario = format!("events: [{{at: {at}, alarm: churn-business-kpi, state: ALARM}}]");
        let s = run(&spec, false, &scenario).await;
        assert_eq!(
            phase(&s),
            Some(Phase::RolledBack),
            "alarm at {at}:\n{}",
            s.timeline.join("\n")
        );
        let st = s.rest.status.as_ref().unwrap();
        assert_eq!(
            st.champion.as_ref().and_then(|c| c.weight),
            Some(100),
            "alarm at {at}"
        );
        assert!(
            st.history[0].reason.contains("churn-business-kpi"),
            "{}",
            st.history[0].reason
        );
        let calls = s.engine.calls();
        let last_weights = calls
            .iter()
            .rev()
            .find(|c| c.operation == "UpdateEndpointWeightsAndCapacities");
        assert!(
            last_weights.is_some(),
            "alarm at {at}: champion back to 100 % in place first"
        );
    }
}

#[tokio::test]
async fn blue_green_alarm_is_rolled_back_by_sagemaker_and_reported() {
    let spec = example("blue-green");
    let s = run(
        &spec,
        false,
        "events: [{at: 10m, alarm: pricing-error-budget, state: ALARM}]",
    )
    .await;
    assert_eq!(
        phase(&s),
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    assert!(
        s.rest.status.as_ref().unwrap().history[0]
            .reason
            .contains("pricing-error-budget")
    );
}

/// A rolling deployment is one UpdateEndpoint with SageMaker's RollingUpdatePolicy under the
/// champion's variant name; an alarm during a batch's bake rolls it back (SageMaker does),
/// reported as RolledBack with the alarm named.
#[tokio::test]
async fn rolling_alarm_is_rolled_back_by_sagemaker_and_reported() {
    let spec = example("rolling");
    let s = run(&spec, false, "").await;
    let updates: Vec<&String> = s
        .timeline
        .iter()
        .filter(|l| l.contains("UpdateEndpoint"))
        .collect();
    assert_eq!(updates.len(), 1, "{}", s.timeline.join("\n"));
    assert!(updates[0].contains("(rolling)"), "{}", updates[0]);
    let s = run(
        &spec,
        false,
        "events: [{at: 20m, alarm: recsys-gpu-error-budget, state: ALARM}]",
    )
    .await;
    assert_eq!(
        phase(&s),
        Some(Phase::RolledBack),
        "{}",
        s.timeline.join("\n")
    );
    let entry = &s.rest.status.as_ref().unwrap().history[0];
    assert!(
        entry.reason.contains("rolling deployment")
            && entry.reason.contains("recsys-gpu-error-budget"),
        "{}",
        entry.reason
    );
}

#[tokio::test]
async fn silent_rollback_is_a_failed_rollout_with_a_hint() {
    let spec = example("canary");
    let s = run(&spec, false, "events: [{at: 0s, failNextUpdate: \"The primary container for production variant v-1 did not pass the ping health check\"}]").await;
    assert_eq!(phase(&s), Some(Phase::Failed), "{}", s.timeline.join("\n"));
    let st = s.rest.status.as_ref().unwrap();
    let stalled = st.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert!(
        stalled.message.contains("inference.py"),
        "{}",
        stalled.message
    );
    assert_eq!(st.champion.as_ref().and_then(|c| c.weight), Some(100));
}

#[tokio::test]
async fn a_throttling_storm_only_slows_the_rollout_down() {
    let spec = example("canary");
    let s = run(
        &spec,
        false,
        "seed: 3\nthrottlePercent: 60\nevents: [{at: 2h, throttlePercent: 0}]",
    )
    .await;
    assert_eq!(
        phase(&s),
        Some(Phase::Succeeded),
        "{}",
        s.timeline.join("\n")
    );
    assert!(
        s.timeline.iter().any(|l| l.contains("retrying")),
        "throttling was exercised"
    );
    assert!(serving_candidate(&s, &spec));
}

#[tokio::test]
async fn restart_after_every_mutating_call_reaches_the_same_end_state() {
    for name in [
        "canary",
        "shadow",
        "blue-green",
        "rolling",
        "from-validation",
        "artifact",
    ] {
        let spec = example(name);
        let clean = run(&spec, false, "").await;
        let clean_models = clean.simulator.serving_models(&spec.endpoint_name);
        let clean_inventory = clean.simulator.inventory();
        let records = format!("s3://ml-audit/deployments/{}/", spec.endpoint_name);
        let clean_records = clean.simulator.objects(&records).len();
        let mutations = clean.simulator.mutations();
        assert!(mutations > 5, "{name}: {mutations}");
        for n in 0..mutations {
            let sim = Simulator::new(start_time(), &Scenario::default());
            let valid = sagemaker_rollout::api::ValidSpec::new(&spec).unwrap();
            seed(&sim, &valid, OWNER, true);
            sim.crash_after(Some(n));
            let first = Engine::new(sim.clients(), OWNER);
            let crashed = drive(
                &first,
                Goal::Apply(&valid),
                &sim.clock,
                DriveOptions::default(),
                |_| {},
            )
            .await
            .unwrap();
            let stop = crashed.rejected.expect("the crash stops the first process");
            assert!(
                stop.message.contains("simulated process crash"),
                "{name}: {stop}"
            );
            let stalled = crashed.status.unwrap();
            assert_eq!(
                stalled.phase,
                Some(Phase::Failed),
                "a rejected call is surfaced as Stalled"
            );
            assert!(stalled.conditions.iter().any(|c| {
                c.type_ == "Stalled"
                    && c.status == "True"
                    && c.message.contains("simulated process crash")
            }));
            sim.crash_after(None);
            let second = Engine::new(sim.clients(), OWNER);
            let rest = drive(
                &second,
                Goal::Apply(&valid),
                &sim.clock,
                DriveOptions::default(),
                |_| {},
            )
            .await
            .unwrap();
            let st = rest.status.unwrap();
            assert_eq!(
                st.phase,
                Some(Phase::Succeeded),
                "{name}: crash before mutation {n}"
            );
            assert_eq!(
                sim.serving_models(&spec.endpoint_name),
                clean_models,
                "{name}: crash {n}"
            );
            assert_eq!(
                sim.inventory(),
                clean_inventory,
                "{name}: crash {n} left duplicates or orphans"
            );
            // No record lost, none written twice: the deployment record goes before the
            // marker that ends the rollout, under a key per rollout and outcome; and the
            // history entry a fresh process did not see written is there too.
            assert_eq!(
                sim.objects(&records).len(),
                clean_records,
                "{name}: crash {n}: deployment records"
            );
            assert_eq!(
                st.history.first().map(|h| h.outcome.as_str()),
                Some("Succeeded"),
                "{name}: crash {n}: history"
            );
        }
    }
}

#[tokio::test]
async fn calls_per_strategy_are_counted_for_the_record() {
    for name in EXAMPLES {
        let spec = example(name);
        let s = run(&spec, false, "").await;
        let calls = s.engine.calls();
        let reads = calls.iter().filter(|c| is_read(&c.operation)).count();
        let writes = calls.len() - reads;
        println!(
            "{name}: {writes} mutating calls, {reads} reads, {} reconciles",
            s.rest.passes
        );
        assert!(writes > 0 && reads > writes);
    }
}

/// A candidate whose artifact can never be read (a ModelDataUrl that is not an S3 object, or
/// an object that does not exist) is refused at once with the reason; it is a verdict on the
/// candidate, never an error retried forever.
#[tokio::test]
async fn an_unreadable_artifact_is_refused_not_retried() {
    use sagemaker_rollout::aws::registry::{ModelRegistry, NewPackage};
    for (url, why) in [
        ("https://example.com/model.tar.gz", "is not an s3:// URI"),
        ("s3://sim-models/nowhere/model.tar.gz", "does not exist"),
        ("s3://sim-models", "names a bucket or prefix"),
    ] {
        let mut spec = example("canary");
        spec.candidate.match_tags =
            Some([("candidate_run_id".to_owned(), "run-bad".to_owned())].into());
        let valid = sagemaker_rollout::api::ValidSpec::new(&spec).unwrap();
        let sim = Simulator::new(start_time(), &Scenario::default());
        for name in &valid.analysis.existing {
            sim.add_alarm(name, sagemaker_rollout::plan::AlarmState::Ok);
        }
        sim.create_package(&NewPackage {
            group: "churn-models".into(),
            description: "bad".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1".into(),
            model_data_url: url.into(),
            content_types: vec!["text/csv".into()],
            response_types: vec!["application/json".into()],
            approval: "Approved".into(),
            metadata: [("candidate_run_id".to_owned(), "run-bad".to_owned())].into(),
            client_token: None,
        })
        .await
        .unwrap();
        let (rest, retries) = super::drive_counting_retries(&sim, &valid, OWNER).await;
        let status = rest.status.unwrap();
        let ready = &status.conditions[0];
        assert_eq!(status.phase, Some(Phase::Failed), "{url}: {ready:?}");
        assert_eq!(ready.reason, "ArtifactInvalid", "{url}");
        assert!(ready.message.contains(why), "{url}: {}", ready.message);
        assert_eq!(retries, 0, "{url}: a permanent problem is not retried");
        assert_eq!(sim.inventory(), (0, 0, 0, 0, 0), "{url}: nothing deployed");
    }
}

/// `apply` without `--wait` in a CI job every few minutes: each run is a new process (no
/// cached verdict) making one pass. Each run must get further than the last, and the
/// rollout must finish.
#[tokio::test]
async fn one_pass_per_process_makes_progress_on_every_run() {
    let mut spec = example("canary");
    // Without a champion comparison (which reads both artifacts while observing), the
    // verdict comes only from the ValidateArtifact action.
    spec.candidate.compare_with_champion = None;
    let valid = sagemaker_rollout::api::ValidSpec::new(&spec).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    seed(&sim, &valid, OWNER, true);
    let once = DriveOptions {
        max_passes: 1,
        ..DriveOptions::default()
    };
    let mut status = None;
    let mut phases = Vec::new();
    for _ in 0..200 {
        let engine = Engine::new(sim.clients(), OWNER);
        let rest = drive(&engine, Goal::Apply(&valid), &sim.clock, once, |_| {})
            .await
            .unwrap();
        status = rest.status.clone();
        let phase = status.as_ref().and_then(|s| s.phase);
        phases.push(phase);
        if phase == Some(Phase::Succeeded) {
            break;
        }
        // The CI job's next run, five minutes later.
        let next = sim.clock.now() + jiff::SignedDuration::from_secs(300);
        sim.clock.advance_to(next);
    }
    assert_eq!(
        status.and_then(|s| s.phase),
        Some(Phase::Succeeded),
        "{phases:?}"
    );
    assert!(
        phases
            .iter()
            .filter(|p| **p == Some(Phase::Validating))
            .count()
            <= 1,
        "validation is not repeated run after run: {phases:?}"
    );
}

/// The canary and shadow examples guarded by an Invocations floor and a 5xx rate.
fn with_traffic_alarms(name: &str) -> ModelDeploymentSpec {
    use sagemaker_rollout::api::{AlarmMetric, AlarmRule};
    let mut s = example(name);
    let rule = |metric, threshold: &str| AlarmRule {
        metric,
        statistic: "Sum".into(),
        threshold: threshold.into(),
        periods: 3,
        datapoints: None,
        custom: None,
    };
    s.analysis.alarms.create = vec![
        rule(AlarmMetric::Invocations, "1"),
        rule(AlarmMetric::Invocation5XXErrorRate, "2%"),
    ];
    s
}

#[tokio::test]
async fn a_floor_lets_a_candidate_with_traffic_through_and_rolls_back_one_without() {
    for name in ["canary", "shadow"] {
        let spec = with_traffic_alarms(name);
        let ok = run(&spec, false, "").await;
        assert_eq!(
            phase(&ok),
            Some(Phase::Succeeded),
            "{name}: {:#?}",
            ok.timeline
        );
        assert!(serving_candidate(&ok, &spec));

        let starved = run(&spec, false, "noTraffic: true\n").await;
        assert_eq!(
            phase(&starved),
            Some(Phase::RolledBack),
            "{name}: {:#?}",
            starved.timeline
        );
        let status = starved.rest.status.unwrap();
        let reason = &status.history[0].reason;
        assert!(reason.contains(".Invocations.Sum"), "{name}: {reason}");
        // It fired once armed: the step's (or shadow's) traffic plus 3 periods and a minute.
        let fired = starved
            .timeline
            .iter()
            .find(|l| l.contains("RollingBack"))
            .unwrap();
        assert!(
            !fired.starts_with("+00:0"),
            "{name}: rolled back too early: {fired}"
        );
    }
}

fn with_notify(name: &str) -> ModelDeploymentSpec {
    let mut s = example(name);
    s.notify = Some(sagemaker_rollout::api::NotifySpec {
        sns_topic_arn: "arn:aws:sns:eu-west-1:123456789012:ml-rollouts".into(),
    });
    s
}

fn milestones(sim: &Simulation) -> Vec<String> {
    sim.simulator
        .published()
        .iter()
        .map(|n| n.attributes[0].1.clone())
        .collect()
}

#[tokio::test]
async fn each_milestone_is_published_once_to_the_topic() {
    let spec = with_notify("canary");
    let ok = run(&spec, false, "").await;
    assert_eq!(phase(&ok), Some(Phase::Succeeded));
    assert_eq!(
        milestones(&ok),
        ["started", "step_advanced", "step_advanced", "succeeded"]
    );
    let last: serde_json::Value =
        serde_json::from_str(&ok.simulator.published()[3].message).unwrap();
    let ctx = &last["metadata"]["additionalContext"];
    assert_eq!(
        (ctx["candidateWeight"].as_str(), ctx["phase"].as_str()),
        (Some("100"), Some("Succeeded"))
    );
    assert!(ctx["consoleUrl"].as_str().unwrap().contains("churn-prod"));

    let back = run(
        &spec,
        false,
        "events:\n  - {at: 25m, alarm: churn-business-kpi, state: ALARM}\n",
    )
    .await;
    assert_eq!(phase(&back), Some(Phase::RolledBack));
    assert_eq!(
        milestones(&back),
        [
            "started",
            "step_advanced",
            "step_advanced",
            "alarm_fired",
            "rolled_back"
        ]
    );
}

#[tokio::test]
async fn a_notification_that_cannot_be_sent_does_not_hold_the_rollout() {
    let spec = sagemaker_rollout::api::ValidSpec::new(&with_notify("canary")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    seed(&sim, &spec, OWNER, true);
    // The topic is gone (someone deleted it): Publish answers NotFound.
    let mut missing = spec.raw().clone();
    missing.notify.as_mut().unwrap().sns_topic_arn =
        "arn:aws:sns:eu-west-1:123456789012:deleted-topic".into();
    let missing = sagemaker_rollout::api::ValidSpec::new(&missing).unwrap();
    let engine = Engine::new(sim.clients(), OWNER);
    let mut warned = Vec::new();
    let rest = drive(
        &engine,
        Goal::Apply(&missing),
        &sim.clock,
        DriveOptions::default(),
        |p| {
            if let sagemaker_rollout::engine::drive::Progress::Pass { pass, .. } = p {
                warned.extend(
                    pass.plan
                        .events
                        .iter()
                        .filter(|e| e.reason == "NotifyFailed")
                        .map(|e| e.message.clone()),
                );
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(rest.status.unwrap().phase, Some(Phase::Succeeded));
    assert_eq!(warned.len(), 4, "{warned:?}");
    assert!(
        warned[0].contains("deleted-topic") && warned[0].contains("NotFound"),
        "{}",
        warned[0]
    );
    assert!(sim.published().is_empty());
}

fn with_compare() -> ModelDeploymentSpec {
    let mut s = example("canary");
    s.analysis.compare = vec![sagemaker_rollout::api::CompareRule {
        metric: sagemaker_rollout::api::CompareMetric::ModelLatency,
        statistic: "p99".into(),
        max_ratio: Some(1.2),
        max_increase: None,
        min_invocations: 100,
    }];
    s
}

/// Candidate latency from minute 12 on (the champion serves at 100 ms all along).
fn latencies(candidate_us: u32) -> String {
    format!(
        "metrics:\n  - {{at: 0s, variant: champion, metric: Invocations, value: 5000}}\n  - {{at: 0s, variant: champion, metric: ModelLatency, value: 100000}}\n  - {{at: 12m, variant: candidate, metric: Invocations, value: 1500}}\n  - {{at: 12m, variant: candidate, metric: ModelLatency, value: {candidate_us}}}\n"
    )
}

#[tokio::test]
async fn a_candidate_slower_than_the_champion_by_more_than_the_margin_is_rolled_back_within_an_interval()
 {
    let spec = with_compare();
    let slow = run(&spec, false, &latencies(200_000)).await;
    assert_eq!(
        phase(&slow),
        Some(Phase::RolledBack),
        "{:#?}",
        slow.timeline
    );
    let st = slow.rest.status.clone().unwrap();
    assert!(
        st.history[0].reason.contains("ModelLatency p99"),
        "{}",
        st.history[0].reason
    );
    let back = slow
        .timeline
        .iter()
        .find(|l| l.contains("RollingBack"))
        .unwrap();
    // The candidate's numbers arrive at minute 12; a latency is judged on three whole
    // minutes after the step's first (each read up to the last whole minute): judged within
    // one interval (15 s) of a minute's end, by minute 15.
    let minute: u64 = back[4..6].parse().unwrap();
    assert!((12..=15).contains(&minute), "{back}");
    let secs: u64 = back[7..9].parse().unwrap();
    assert!(secs <= 15, "{back}");

    let fine = run(&spec, false, &latencies(110_000)).await;
    assert_eq!(phase(&fine), Some(Phase::Succeeded), "{:#?}", fine.timeline);
    // Too few requests for a p99 (CloudWatch wants 1,000): not judged, the rollout goes on.
    let quiet = run(
        &spec,
        false,
        &latencies(200_000).replace("value: 1500", "value: 40"),
    )
    .await;
    assert_eq!(phase(&quiet), Some(Phase::Succeeded));
}

/// Metrics drawn from distributions (`traffic`): a candidate twice as slow is rolled back on
/// its per-minute Average latency; an identical one passes each step and is promoted; the
/// same slow candidate at 10 requests a minute is never judged (20 a minute each side are
/// needed for an Average), so nothing is rolled back on noise.
#[tokio::test]
async fn drawn_traffic_rolls_back_a_slower_candidate_and_promotes_an_equal_one() {
    let mut spec = with_compare();
    spec.analysis.compare[0].statistic = "Average".into();
    spec.analysis.compare[0].max_ratio = Some(1.5);
    let slower = std::fs::read_to_string("deploy/scenarios/slower-candidate.yaml").unwrap();
    let slow = run(&spec, false, &slower).await;
    assert_eq!(
        phase(&slow),
        Some(Phase::RolledBack),
        "{:#?}",
        slow.timeline
    );
    let reason = &slow.rest.status.as_ref().unwrap().history[0].reason;
    assert!(reason.contains("ModelLatency Average"), "{reason}");
    let equal = slower.replace("latencyMs: 200", "latencyMs: 100");
    let fine = run(&spec, false, &equal).await;
    assert_eq!(phase(&fine), Some(Phase::Succeeded), "{:#?}", fine.timeline);
    let quiet = slower.replace("requestsPerMinute: 600", "requestsPerMinute: 10");
    let quiet = run(&spec, false, &quiet).await;
    assert_eq!(
        phase(&quiet),
        Some(Phase::Succeeded),
        "{:#?}",
        quiet.timeline
    );
}

/// A resource that merely conflicts over an endpoint (another namespace/name naming it) is
/// deleted: the real owner's rollout alarms, which have the endpoint's name form, stay; only
/// alarms whose owner tag is the deleted resource's go.
#[tokio::test]
async fn deleting_a_conflicting_resource_leaves_the_owners_alarms() {
    use sagemaker_rollout::aws::alarms::Alarms;
    use sagemaker_rollout::plan::desired::{AlarmScope, owned_alarms};
    let spec = example("canary");
    let valid = sagemaker_rollout::api::ValidSpec::new(&spec).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    seed(&sim, &valid, OWNER, false);
    // The owner's alarms as its engine creates them (owner tag included), mid-bake.
    for mut a in owned_alarms(&valid, AlarmScope::variant("v-0123456789-abc")) {
        a.tags.extend(sagemaker_rollout::tags::ownership(OWNER));
        sim.put(&a).await.unwrap();
    }
    let before = sim.inventory().3;
    assert!(before > 0, "the canary example creates alarms");
    let impostor = Engine::new(sim.clients(), "ml-prod/impostor");
    let mut teardown = valid.teardown();
    teardown.deletion_policy = sagemaker_rollout::api::DeletionPolicy::Delete;
    let pass = impostor
        .delete(&teardown, None, Some(1), sim.clock.now())
        .await
        .unwrap();
    assert!(pass.released, "the impostor lets go");
    assert_eq!(
        sim.inventory().3,
        before,
        "the owner's alarms are untouched"
    );
    // The owner itself deleting removes them.
    let owner = Engine::new(sim.clients(), OWNER);
    let mut status = None;
    for _ in 0..50 {
        let pass = owner
            .delete(&teardown, status.as_ref(), Some(1), sim.clock.now())
            .await
            .unwrap();
        if pass.released {
            break;
        }
        status = Some(pass.status);
        let later = sim.clock.now() + jiff::SignedDuration::from_secs(60);
        sim.clock.advance_to(later);
    }
    assert_eq!(
        sim.inventory().3,
        0,
        "the owner's teardown deletes its alarms"
    );
}

/// The simulator models the tenant role's tag-based access as the emulator does: a tenant's
/// session runs its whole rollout (everything it creates carries its namespace), and another
/// tenant's session is refused every change to it.
#[tokio::test]
async fn a_tenant_session_drives_its_own_rollout_and_is_refused_another_tenants_endpoint() {
    let mut spec = example("canary");
    // Objects under the tenant's prefix only; the seeded artifact is not, so no check.
    spec.audit = Some(sagemaker_rollout::api::AuditSpec {
        s3_uri: "s3://ml-audit/ml-prod/deployments".into(),
    });
    spec.artifact.validate = false;
    spec.candidate.compare_with_champion = None;
    let valid = sagemaker_rollout::api::ValidSpec::new(&spec).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    seed(&sim, &valid, OWNER, true);
    let ours = Engine::new(sim.as_tenant("ml-prod").clients(), OWNER);
    let rest = drive(
        &ours,
        Goal::Apply(&valid),
        &sim.clock,
        DriveOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let st = rest.status.unwrap();
    let why = format!("{:?} {:?}", st.conditions, rest.rejected);
    assert_eq!(st.phase, Some(Phase::Succeeded), "{why}");

    let theirs = sim.as_tenant("fraud").clients();
    let endpoint = &valid.endpoint_name;
    let refused = theirs
        .endpoints
        .delete_endpoint(endpoint)
        .await
        .unwrap_err();
    assert!(refused.is_access_denied(), "{refused}");
    let weights = [("x".to_owned(), 1.0)].into();
    let refused = theirs
        .endpoints
        .update_weights(endpoint, &weights)
        .await
        .unwrap_err();
    assert!(refused.is_access_denied(), "{refused}");
    let record = sagemaker_rollout::aws::s3::S3Uri {
        bucket: "ml-audit".into(),
        key: "ml-prod/deployments/forged.json".into(),
    };
    let refused = theirs.s3.put(&record, "{}".into()).await.unwrap_err();
    assert!(refused.is_access_denied(), "{refused}");
    assert_eq!(sim.serving_models(endpoint).len(), 1, "untouched");
}
