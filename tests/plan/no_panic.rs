//! No input panics the planner: random specs — durations up to the largest the schema's
//! pattern allows, any weights, any strategy — that pass validation, planned against random
//! observed states: any endpoint status, variants with odd weights, and marker tags as a
//! person (or a bug) might have left them (timestamps at the edges of time, garbage steps and
//! stages). Specs that fail validation must fail it, never panic it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use proptest::prelude::*;
use sagemaker_rollout::api::Strategy as Rollout;
use sagemaker_rollout::api::{DurationString, ModelDeploymentSpec, ValidSpec};
use sagemaker_rollout::plan::*;

use crate::support::{self, CANDIDATE_ARN, ENDPOINT, OWNER, candidate, t0};

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u64..100_000).prop_map(|n| format!("{n}s")),
        1 => (1u64..10_000_000).prop_map(|n| format!("{n}d")),
        1 => (1u64..u64::MAX).prop_map(|n| format!("{n}ms")),
        1 => Just("366d".to_owned()),
        1 => Just("3650000d".to_owned()),
        1 => Just("99999999999999999999999d".to_owned()),
        1 => Just("1h30m".to_owned()),
    ]
}

fn rollout() -> impl Strategy<Value = Rollout> {
    prop_oneof![
        Just(Rollout::Direct),
        Just(Rollout::Canary),
        Just(Rollout::Linear),
        Just(Rollout::BlueGreen),
        Just(Rollout::Shadow),
    ]
}

fn spec() -> impl Strategy<Value = ModelDeploymentSpec> {
    (
        rollout(),
        duration(),
        duration(),
        prop_oneof![
            4 => prop::collection::btree_set(1i32..99, 1..4).prop_map(|w| w.into_iter().collect::<Vec<_>>()),
            1 => prop::collection::vec(-5i32..120, 1..4),
        ],
        prop_oneof![4 => 1i32..99, 1 => -5i32..120],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(strategy, bake, shadow, weights, linear, paused, promote)| {
            let mut s = support::spec(strategy);
            let canary = s.rollout.canary.as_mut().expect("base has canary");
            canary.steps = weights
                .iter()
                .map(|w| sagemaker_rollout::api::CanaryStep {
                    weight: *w,
                    // An approval step may go without a bake.
                    bake: (!promote).then(|| DurationString::new(bake.clone())),
                    pause: promote,
                })
                .collect();
            if let Some(l) = s.rollout.linear.as_mut() {
                l.step_weight = linear;
                l.bake = DurationString::new(bake.clone());
            }
            if let Some(sh) = s.rollout.shadow.as_mut() {
                sh.duration = DurationString::new(shadow);
            }
            s.rollout.paused = paused;
            s
        })
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(Timestamp::MAX.to_string()),
        1 => Just(Timestamp::MIN.to_string()),
        1 => Just("yesterday".to_owned()),
        1 => (0i64..4_000_000_000).prop_map(|s| Timestamp::from_second(s).expect("in range").to_string()),
        1 => Just("2026-11-20T10:00:00Z".to_owned()),
    ]
}

fn status() -> impl Strategy<Value = EndpointStatus> {
    prop_oneof![
        Just(EndpointStatus::OutOfService),
        Just(EndpointStatus::Creating),
        Just(EndpointStatus::Updating),
        Just(EndpointStatus::SystemUpdating),
        Just(EndpointStatus::RollingBack),
        Just(EndpointStatus::InService),
        Just(EndpointStatus::Deleting),
        Just(EndpointStatus::Failed),
        Just(EndpointStatus::UpdateRollbackFailed),
    ]
}

fn observed(variant: String, step_weights: Vec<i32>) -> impl Strategy<Value = Observed> {
    // Weighted towards the deep paths (a step being baked, a shadow stage), where the
    // timestamps are added to.
    let stage = prop_oneof![
        2 => Just("shadow"),
        1 => Just("added"),
        5 => Just("step"),
        1 => Just("final"),
        1 => Just("native"),
        1 => Just("rollback"),
        1 => Just("done"),
        1 => Just("rolledback"),
        1 => Just("failed"),
        1 => Just("sideways"),
    ];
    (
        prop::bool::weighted(0.9),
        prop_oneof![3 => Just(EndpointStatus::InService), 1 => status()],
        stage,
        prop_oneof![
            1 => Just("0".to_owned()),
            1 => Just("99999".to_owned()),
            1 => Just("-1".to_owned()),
            6 => (1u32..4).prop_map(|n| n.to_string()),
        ],
        timestamp(),
        timestamp(),
        prop::collection::vec(-10.0f64..1e9, 0..3),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.8),
        prop_oneof![4 => Just(AlarmState::Ok), 1 => Just(AlarmState::Alarm), 1 => Just(AlarmState::InsufficientData)],
        prop::bool::weighted(0.7),
        (prop::bool::weighted(0.8), prop::bool::weighted(0.8)),
    )
        .prop_map(
            move |(exists, status, stage, step, since, modified, weights, own, found, alarm, on_step, (alarms_read, scaling_read))| {
                let key = |k: &str| format!("sagemaker-rollout:{k}");
                let step_no: usize = step.parse().unwrap_or(0);
                let mut tags: BTreeMap<String, String> = [
                    (key("stage"), stage.to_owned()),
                    (key("step"), step),
                    (key("since"), since),
                    (key("started"), modified.clone()),
                    (key("candidate"), CANDIDATE_ARN.to_owned()),
                    (key("variant"), variant.clone()),
                    (key("champion-config"), "churn-prod-c-old".to_owned()),
                    (key("target-config"), "churn-prod-c-new".to_owned()),
                    (key("smoke"), "passed".to_owned()),
                ]
                .into_iter()
                .collect();
                if own {
                    tags.insert(key("owner"), OWNER.to_owned());
                }
                // Half the time the candidate is exactly at its step's weight, so the bake
                // clock is what the plan looks at.
                let weights = match step_weights.get(step_no.wrapping_sub(1)) {
                    Some(w) if on_step => vec![f64::from(*w), f64::from(100 - w)],
                    _ => weights,
                };
                let mut variants: Vec<Variant> = weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| Variant {
                        name: if i == 0 { variant.clone() } else { format!("v-other{i}") },
                        model_name: format!("m{i}"),
                        candidate_id: None,
                        run_id: None,
                        image: None,
                        environment_hash: None,
                        current_weight: *w,
                        desired_weight: Some(-*w),
                        instance_type: "ml.m5.large".into(),
                        current_instances: 1,
                        desired_instances: None,
                        serverless: i == 2,
                    })
                    .collect();
                variants.truncate(3);
                Observed {
                    endpoint: exists.then(|| Endpoint {
                        name: ENDPOINT.into(),
                        arn: format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"),
                        status,
                        config_name: "churn-prod-c-new".into(),
                        failure_reason: Some("alarm went off".into()),
                        last_modified: modified.parse().unwrap_or(Timestamp::MIN),
                        variants,
                        shadow_variants: Vec::new(),
                        async_inference: step_no % 4 == 3,
                        tags,
                    }),
                    alarms: vec![Alarm {
                        name: "churn-kpi".into(),
                        state: alarm,
                        since: None,
                    }],
                    alarms_read,
                    scaling: vec![ScalingRegistration {
                        variant: "v-other1".into(),
                        min: 1,
                        max: 3,
                        policy: None,
                    }],
                    scaling_read,
                    candidate: if found {
                        CandidateLookup::Found(candidate(CANDIDATE_ARN, "run-2"))
                    } else {
                        CandidateLookup::NotFound("nothing".into())
                    },
                    owned: Owned::default(),
                    comparison: None,
                    targets_component: false,
                    component: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn no_valid_spec_and_no_observed_state_panics_the_planner(
        (spec, observed) in spec().prop_flat_map(|s| {
            let (variant, steps) = ValidSpec::new(&s)
                .map(|v| {
                    let steps = v.rollout.steps.iter().map(|st| st.weight).collect();
                    (desired::variant_name(&v, CANDIDATE_ARN), steps)
                })
                .unwrap_or_default();
            (Just(s), observed(variant, steps))
        }),
        minutes in 0i64..1_000_000,
    ) {
        let valid = match ValidSpec::new(&spec) {
            Ok(v) => v,
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                return Ok(());
            }
        };
        let now = t0().checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap_or(t0());
        let p = plan(&PlanInput {
            spec: &valid,
            owner: OWNER,
            driver: &claim::Driver::cli(),
            generation: Some(1),
            observed: &observed,
            previous: None,
            now,
        });
        // Whatever it decided, it decided something a front end can act on.
        let _ = p.next_pass(now, POLL);
        prop_assert!(p.status.phase.is_some());
    }
}
