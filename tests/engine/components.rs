//! Inference components on the simulator: the candidate becomes the component's model on a
//! shared endpoint the resource does not own — in batches of copies SageMaker bakes against
//! the alarms (rolled back by SageMaker on one, the candidate then not retried), its copies
//! scaled by Application Auto Scaling; deletion removes the component, its models and alarms
//! and never the endpoint; a tenant places components only on an endpoint that hosts its
//! namespace, and never takes over another resource's component.

use super::example;
use sagemaker_rollout::api::{Phase, ValidSpec};
use sagemaker_rollout::aws::components::InferenceComponents;
use sagemaker_rollout::aws::scaling::{COMPONENTS, INVOCATIONS_PER_COPY, Scaling};
use sagemaker_rollout::engine::Engine;
use sagemaker_rollout::engine::drive::{DriveOptions, Goal, drive};
use sagemaker_rollout::plan::ComponentStatus;
use sagemaker_rollout::sim::simulate::{SimOptions, Simulation, simulate, start_time};
use sagemaker_rollout::sim::{Scenario, Simulator};

const OWNER: &str = "ml-prod/ranking-llm";
const ALARM: &str = "sagemaker-rollout.ranking-shared.ic.ranking-llm.Invocation5XXErrors.Sum";

async fn run(scenario: &str, empty: bool) -> Simulation {
    let spec = ValidSpec::new(&example("inference-component")).unwrap();
    let options = SimOptions {
        empty,
        scenario: Scenario::parse(scenario).unwrap(),
        verbose: false,
    };
    simulate(&spec, OWNER, &options).await.unwrap()
}

/// Drives `spec` on `sim` to rest with `engine`, as `apply --wait` does.
async fn apply(
    sim: &Simulator,
    engine: &Engine,
    spec: &ValidSpec,
) -> sagemaker_rollout::api::ModelDeploymentStatus {
    let goal = Goal::Apply(spec);
    let rest = drive(engine, goal, &sim.clock, DriveOptions::default(), |_| {});
    rest.await.unwrap().status.unwrap()
}

fn count(s: &Simulation, call: &str) -> usize {
    s.timeline.iter().filter(|l| l.contains(call)).count()
}

#[tokio::test]
async fn the_candidate_replaces_the_components_model_in_batches_and_its_copies_scale() {
    let s = run("", false).await;
    let st = s.rest.status.as_ref().unwrap();
    let timeline = s.timeline.join("\n");
    assert_eq!(st.phase, Some(Phase::Succeeded), "{timeline}");
    assert_eq!(
        count(&s, "UpdateInferenceComponent ranking-llm"),
        1,
        "{timeline}"
    );
    assert!(timeline.contains("(rolling)"), "{timeline}");
    for never in [
        "UpdateEndpoint",
        "CreateEndpoint",
        "DeleteEndpoint",
        "UpdateWeights",
    ] {
        assert_eq!(count(&s, never), 0, "the endpoint is not ours: {timeline}");
    }
    let c = s.simulator.describe("ranking-llm").await.unwrap().unwrap();
    let ic = st.inference_component.as_ref().unwrap();
    assert_eq!(c.model_name, ic.model_name);
    assert_eq!(
        (c.status, ic.current_copies),
        (ComponentStatus::InService, 4)
    );
    // The champion's model went once the candidate served.
    assert_eq!(count(&s, "DeleteModel"), 1, "{timeline}");
    let regs = (s.simulator)
        .registrations(COMPONENTS, &["ranking-llm".to_owned()])
        .await
        .unwrap();
    let policy = regs[0].policy.as_ref().unwrap();
    assert_eq!((regs[0].min, regs[0].max), (4, 8));
    assert_eq!(policy.metric, INVOCATIONS_PER_COPY);
}

#[tokio::test]
async fn a_first_rollout_creates_the_component_on_the_hosting_endpoint() {
    let s = run("", true).await;
    let timeline = s.timeline.join("\n");
    assert_eq!(
        s.rest.status.as_ref().unwrap().phase,
        Some(Phase::Succeeded),
        "{timeline}"
    );
    assert_eq!(count(&s, "CreateInferenceComponent"), 1, "{timeline}");
    assert_eq!(count(&s, "UpdateInferenceComponent"), 0, "{timeline}");
}

#[tokio::test]
async fn sagemaker_rolls_the_component_back_on_an_alarm_and_the_candidate_is_not_retried() {
    let s = run(
        &format!("events: [{{at: 10m, alarm: {ALARM}, state: ALARM}}]"),
        false,
    )
    .await;
    let st = s.rest.status.as_ref().unwrap();
    let timeline = s.timeline.join("\n");
    assert_eq!(st.phase, Some(Phase::RolledBack), "{timeline}");
    assert!(
        st.history[0].reason.contains(ALARM),
        "{}",
        st.history[0].reason
    );
    assert_eq!(st.history[0].outcome, "RolledBack");
    // The champion's model serves again; the candidate's is gone, and no second update.
    let c = s.simulator.describe("ranking-llm").await.unwrap().unwrap();
    let champion = st.history[0].clone();
    assert_ne!(c.model_name.as_deref(), None);
    assert_eq!(
        count(&s, "UpdateInferenceComponent ranking-llm"),
        1,
        "{timeline}"
    );
    assert_eq!(
        count(&s, "DeleteModel"),
        1,
        "the candidate's model: {timeline}"
    );
    assert!(
        champion
            .candidate_id()
            .contains("model-package/ranking-models/2")
    );
}

#[tokio::test]
async fn deleting_removes_the_component_its_models_and_alarms_but_never_the_endpoint() {
    let s = run("", false).await;
    let sim = &s.simulator;
    let mut raw = example("inference-component");
    raw.deletion_policy = sagemaker_rollout::api::DeletionPolicy::Delete;
    let engine = Engine::new(sim.clients(), OWNER);
    let teardown = ValidSpec::new(&raw).unwrap().teardown();
    let rest = drive(
        &engine,
        Goal::Delete(&teardown),
        &sim.clock,
        DriveOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert!(
        sim.describe("ranking-llm").await.unwrap().is_none(),
        "{:?}",
        rest.status
    );
    let (endpoints, _configs, models, alarms, scaling) = sim.inventory();
    assert_eq!(
        (endpoints, models, alarms, scaling),
        (1, 0, 0, 0),
        "the endpoint stays"
    );
    assert_eq!(
        sim.endpoint_view("ranking-shared")
            .map(|(status, _)| status),
        Some("InService".to_owned())
    );
}

#[tokio::test]
async fn a_tenant_places_components_only_on_an_endpoint_that_hosts_its_namespace() {
    let spec = ValidSpec::new(&example("inference-component")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    // The platform's endpoint hosts team-a only.
    sagemaker_rollout::sim::seed(&sim, &spec, "team-a/ranking-llm", false);
    let tenant = sim.as_tenant("ml-prod");
    let engine = Engine::new(tenant.clients(), OWNER);
    let st = apply(&sim, &engine, &spec).await;
    let ready = st.conditions[0].clone();
    assert!(ready.message.contains("AccessDenied"), "{}", ready.message);
    assert!(sim.describe("ranking-llm").await.unwrap().is_none());
}

#[tokio::test]
async fn another_resources_component_is_never_taken_over() {
    let spec = ValidSpec::new(&example("inference-component")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sagemaker_rollout::sim::seed(&sim, &spec, "ml-prod/someone-else", true);
    let before = sim.describe("ranking-llm").await.unwrap().unwrap();
    let engine = Engine::new(sim.clients(), OWNER);
    let st = apply(&sim, &engine, &spec).await;
    let ready = st.conditions[0].clone();
    assert_eq!(ready.reason, "Conflict", "{}", ready.message);
    assert!(
        ready.message.contains("inference component ranking-llm"),
        "{}",
        ready.message
    );
    assert_eq!(sim.describe("ranking-llm").await.unwrap().unwrap(), before);
}

/// The process stops at every mutating call of the rollout in turn — the one that matters:
/// after the `native` markers are written and before UpdateInferenceComponent is sent. A new
/// process finds the champion still serving: it is never taken for SageMaker's rollback (the
/// update was never seen under way), and every run converges to the candidate or says the
/// update never took effect.
#[tokio::test]
async fn a_crash_before_the_update_is_sent_is_never_taken_for_a_rollback() {
    let spec = ValidSpec::new(&example("inference-component")).unwrap();
    for n in 0..8u64 {
        let sim = Simulator::new(start_time(), &Scenario::default());
        sagemaker_rollout::sim::seed(&sim, &spec, OWNER, true);
        let base = sim.mutations();
        sim.crash_after(Some(base + n));
        let engine = Engine::new(sim.clients(), OWNER);
        let _ = drive(
            &engine,
            Goal::Apply(&spec),
            &sim.clock,
            DriveOptions::default(),
            |_| {},
        )
        .await;
        sim.crash_after(None);
        let restarted = Engine::new(sim.clients(), OWNER);
        let st = apply(&sim, &restarted, &spec).await;
        let said = st
            .history
            .first()
            .map(|h| (h.outcome.clone(), h.reason.clone()));
        assert_ne!(
            st.phase,
            Some(Phase::RolledBack),
            "crash after {n}: {said:?}"
        );
        if st.phase != Some(Phase::Succeeded) {
            let (outcome, reason) = said.unwrap();
            assert_eq!(outcome, "Failed", "crash after {n}");
            assert!(
                reason.contains("never took effect"),
                "crash after {n}: {reason}"
            );
        }
    }
}

/// A change of compute alone is a rollout of its own, judged by what the component runs: it
/// succeeds once, and the next pass is at rest (no update on every pass, whatever float the
/// cores are).
#[tokio::test]
async fn a_compute_change_alone_is_rolled_out_once() {
    let s = run("", false).await;
    let sim = &s.simulator;
    let mut raw = example("inference-component");
    let ic = raw.serving.inference_component.as_mut().unwrap();
    ic.compute.cpus = Some(3.3);
    let spec = ValidSpec::new(&raw).unwrap();
    let engine = Engine::new(sim.clients(), OWNER);
    let st = apply(sim, &engine, &spec).await;
    assert_eq!(st.phase, Some(Phase::Succeeded));
    let updates = |sim: &Simulator| {
        (sim.requests().iter())
            .filter(|r| r.operation == "UpdateInferenceComponent")
            .count()
    };
    let after = updates(sim);
    apply(sim, &engine, &spec).await;
    assert_eq!(updates(sim), after, "at rest: no further update");
    assert_eq!(after, 2, "the candidate's, then the compute change");
}

/// A component nobody drives (made by hand) is taken over with `adopt: true` only once an
/// administrator tagged it `adopt-by=<namespace>`, as the tenant role requires, and then rolled
/// out like one of ours.
#[tokio::test]
async fn an_unowned_component_is_adopted_only_when_an_administrator_offered_it() {
    use sagemaker_rollout::aws::endpoints::Endpoints;
    let mut raw = example("inference-component");
    raw.adopt = true;
    let spec = ValidSpec::new(&raw).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sagemaker_rollout::sim::seed(&sim, &spec, "ml-prod/by-hand", true);
    let arn = sim.describe("ranking-llm").await.unwrap().unwrap().arn;
    // Nobody's: only the lineage of whoever made it stays.
    let tags = sim.endpoint_tags(&arn).await.unwrap();
    let cleared = (tags.keys())
        .filter(|k| k.starts_with("sagemaker-rollout:") || *k == "owner" || *k == "managed-by")
        .map(|k| (k.clone(), String::new()))
        .collect();
    sim.tag_endpoint(&arn, &tags, &cleared).await.unwrap();
    let tenant = sim.as_tenant("ml-prod");
    let engine = Engine::new(tenant.clients(), OWNER);
    let st = apply(&sim, &engine, &spec).await;
    assert_eq!(st.conditions[0].reason, "AdoptionNotPermitted");
    let offer = [(
        "sagemaker-rollout:adopt-by".to_owned(),
        "ml-prod".to_owned(),
    )]
    .into();
    let now = sim.endpoint_tags(&arn).await.unwrap();
    sim.tag_endpoint(&arn, &now, &offer).await.unwrap();
    apply(&sim, &engine, &spec).await;
    let tags = sim.endpoint_tags(&arn).await.unwrap();
    assert_eq!(tags.get("owner").map(String::as_str), Some(OWNER));
    // Ours from then on (the seeded artifacts lie outside the tenant's prefix, so the rest of
    // the rollout runs with the account's own session).
    let engine = Engine::new(sim.clients(), OWNER);
    let st = apply(&sim, &engine, &spec).await;
    assert_eq!(st.phase, Some(Phase::Succeeded), "{:?}", st.conditions);
}

/// On-call's abort while SageMaker updates the component: nothing can stop the update, and the
/// Ready message says so (and how to roll back) instead of leaving the request unanswered.
#[tokio::test]
async fn an_abort_during_the_components_update_is_answered_not_ignored() {
    use sagemaker_rollout::api::{GateRequest, Requests};
    let spec = ValidSpec::new(&example("inference-component")).unwrap();
    let sim = Simulator::new(start_time(), &Scenario::default());
    sagemaker_rollout::sim::seed(&sim, &spec, OWNER, true);
    let engine = Engine::new(sim.clients(), OWNER);
    let mut now = sim.clock.now();
    let mut status = None;
    // Until the update is under way.
    for _ in 0..4 {
        let pass = engine
            .reconcile(&spec, status.as_ref(), None, now)
            .await
            .unwrap();
        status = Some(pass.status);
        now += jiff::SignedDuration::from_secs(30);
        sim.clock.advance_to(now);
    }
    let mut st = status.unwrap();
    assert_eq!(st.inference_component.as_ref().unwrap().status, "Updating");
    st.requests = Some(Requests {
        abort: Some(GateRequest {
            rollout: st.rollout_id.clone().unwrap(),
            at: None,
        }),
        ..Requests::default()
    });
    let pass = engine.reconcile(&spec, Some(&st), None, now).await.unwrap();
    let ready = &pass.status.conditions[0];
    assert!(
        ready.message.contains("Abort does not apply"),
        "{}",
        ready.message
    );
}
