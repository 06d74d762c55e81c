//! Multi-tenant mode on the in-memory API server, two tenants: a namespace no policy selects
//! is Stalled before any AWS call; a granted one acts through its policy's role with its
//! tenant as session tags; a revoked grant stalls it at once; another tenant asking for the
//! first one's endpoint is refused by its own policy.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use sagemaker_rollout::api::ModelDeployment;
use sagemaker_rollout::tenancy::{Tenancy, Tenant};
use serde_json::{Value, json};

use crate::reconcile::{NAME, NS, World, manifest};

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-rollout-tenant/ml-prod";

fn policy(name: &str, namespace: &str, endpoints: &str) -> Value {
    json!({
        "apiVersion": "sagemaker.mlops.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": name},
        "spec": {
            "namespaces": {"names": [namespace]},
            "roles": [{"roleArn": ROLE}],
            "endpointNames": [endpoints],
            "executionRoles": ["arn:aws:iam::123456789012:role/*"],
            "modelPackageGroups": ["churn-models"],
            "s3": {"write": ["s3://ml-audit/", "s3://ml-capture/"]},
        },
    })
}

/// Waits (virtual time, at most `secs`) until the resource is Stalled for `reason`.
async fn until_stalled(w: &World, reason: &str, secs: u64) {
    w.until(reason, Duration::from_secs(secs), |w| {
        w.condition("Stalled").1 == reason
    })
    .await;
}

/// Whether every client set the controller asked for satisfies `ok`.
fn every_session(w: &World, ok: impl Fn(&sagemaker_rollout::aws::Settings) -> bool) -> bool {
    w.sessions.lock().unwrap().iter().all(ok)
}

fn multi_tenant() -> sagemaker_rollout::controller::Config {
    sagemaker_rollout::controller::Config {
        tenancy: Tenancy::Multi,
        cluster_id: Some("prod-eu".into()),
        ..World::config("a")
    }
}

#[tokio::test(start_paused = true)]
async fn a_namespace_needs_a_policy_and_acts_as_its_tenant_through_the_policys_role() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start_with(multi_tenant());
    w.apply(&m).await;
    until_stalled(&w, "NoPolicy", 600).await;
    assert!(
        w.sessions.lock().unwrap().is_empty(),
        "no AWS client before a policy grants the namespace"
    );
    assert!(w.condition("Stalled").2.contains("\"ml-prod\""));

    // The admin grants ml-prod: the pass that follows acts through the policy's role.
    w.fake
        .insert("deploymentpolicies", policy("ml-prod", NS, "churn-*"));
    w.until_phase("Succeeded").await;
    let sessions = w.sessions.lock().unwrap().clone();
    assert!(!sessions.is_empty());
    for s in &sessions {
        assert_eq!(s.assume_role_arn.as_deref(), Some(ROLE));
        assert_eq!(
            s.tenant,
            Some(Tenant {
                namespace: NS.into(),
                name: NAME.into(),
                cluster: "prod-eu".into()
            })
        );
        assert_eq!(s.session.as_deref(), Some("sr-controller@ml-prod.churn"));
    }

    // Revoked (the policy now grants other endpoint names): stalled at once, no waiting for
    // the resync.
    w.fake
        .insert("deploymentpolicies", policy("ml-prod", NS, "other-*"));
    until_stalled(&w, "PolicyViolation", 60).await;
    let (_, _, message) = w.condition("Stalled");
    assert!(
        message.contains("spec.endpointName") && message.contains("DeploymentPolicy ml-prod"),
        "{message}"
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn another_tenant_asking_for_the_first_ones_endpoint_is_refused_by_its_own_policy() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    w.fake
        .insert("deploymentpolicies", policy("ml-prod", NS, "churn-*"));
    w.fake
        .insert("deploymentpolicies", policy("fraud", "fraud", "fraud-*"));
    let c = w.start_with(multi_tenant());
    w.apply(&m).await;
    let mut theirs = m.clone();
    theirs["metadata"]["namespace"] = json!("fraud");
    let api: Api<ModelDeployment> = Api::namespaced(w.fake.client(), "fraud");
    api.patch(
        NAME,
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(&theirs),
    )
    .await
    .unwrap();
    w.until_phase("Succeeded").await;
    let fraud = || {
        w.fake
            .get("modeldeployments", "fraud", NAME)
            .unwrap_or_default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while fraud()["status"]["conditions"]
        .as_array()
        .is_none_or(|c| !c.iter().any(|c| c["reason"] == "PolicyViolation"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            fraud()["status"]
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    assert!(
        every_session(&w, |s| s.tenant.as_ref().is_some_and(|t| t.namespace == NS)),
        "the fraud tenant never got an AWS session"
    );
    c.shutdown().await;
}

/// Once a resource has acted, the role it acted through is pinned: an edited spec that only
/// another policy (with another role, in another account) would grant is refused, never
/// moved there.
#[tokio::test(start_paused = true)]
async fn the_role_a_resource_acted_through_is_pinned_against_spec_edits_and_other_policies() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let other_role = "arn:aws:iam::999999999999:role/sagemaker-rollout-tenant/ml-prod";
    let mut second = policy("b-second", NS, "churn-*");
    second["spec"]["roles"] = json!([{"roleArn": other_role}]);
    second["spec"]["executionRoles"] = json!(["arn:aws:iam::999999999999:role/*"]);
    let mut first = policy("a-first", NS, "churn-*");
    first["spec"]["executionRoles"] = json!(["arn:aws:iam::123456789012:role/sagemaker-exec"]);
    w.fake.insert("deploymentpolicies", first);
    w.fake.insert("deploymentpolicies", second);
    let c = w.start_with(multi_tenant());
    w.apply(&m).await;
    w.until_phase("Succeeded").await;
    let target = &w.object().unwrap()["status"]["target"];
    assert_eq!(target["assumedRoleArn"], ROLE, "{target}");
    // The execution role only the second policy (another account's role) grants.
    let mut moved = m.clone();
    moved["spec"]["executionRoleArn"] = json!("arn:aws:iam::999999999999:role/sagemaker-exec");
    w.apply(&moved).await;
    until_stalled(&w, "PolicyViolation", 600).await;
    assert!(
        every_session(&w, |s| s.assume_role_arn.as_deref() == Some(ROLE)),
        "never acted through the other account's role"
    );
    c.shutdown().await;
}

/// A resource whose policy refuses it, and which never owned an endpoint, can be deleted
/// (its finalizer goes, nothing on AWS is touched); and a controller that cannot learn its
/// cluster id refuses to start rather than guess one.
#[tokio::test(start_paused = true)]
async fn a_refused_resource_that_never_acted_is_deleted_and_no_cluster_id_is_ever_guessed() {
    let m = manifest("canary");
    let w = World::new(&m, false);
    let c = w.start_with(multi_tenant());
    w.apply(&m).await;
    until_stalled(&w, "NoPolicy", 600).await;
    w.delete_and_wait().await;
    assert!(
        w.sessions.lock().unwrap().is_empty(),
        "no AWS session at all"
    );
    c.shutdown().await;

    let config = sagemaker_rollout::controller::Config {
        cluster_id: None,
        ..multi_tenant()
    };
    let deps = sagemaker_rollout::controller::Deps {
        ready: sagemaker_rollout::controller::http::Readiness::default(),
        ..sagemaker_rollout::controller::Deps::production()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let err = sagemaker_rollout::controller::run(w.fake.client(), config, deps, stop)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("kube-system"), "{err}");
}
