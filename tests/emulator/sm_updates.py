"""SageMaker endpoint updates: UpdateEndpoint (rolling or with DeploymentConfig guardrails) and
UpdateEndpointWeightsAndCapacities.

Contract: handlers (world, ctx, params) -> {"EndpointArn"}; each rule below is one function.
An update only starts from InService; while Updating the endpoint keeps its OLD config and
variants (sm_engine installs the new ones when the update finishes); weight updates show
DesiredWeight at once and CurrentWeight after weights_seconds; instance counts are untouched
when only weights are sent.
"""
import copy
import math
import time

import sm_engine
from errors import validation
from sm_store import now


def require_in_service(ep):
    """Rule: UpdateEndpoint / UpdateEndpointWeightsAndCapacities only while InService."""
    if ep["status"] != "InService":
        raise validation(f'Cannot update in-progress endpoint "{ep["arn"]}".')


def refuse_variant_change_under_autoscaling(w, ep, snap):
    """Rule: a variant registered as a scalable target must be deregistered before an update removes
    it or changes its instance type (a change of model or weight is allowed)."""
    new = {v["VariantName"]: v for v in snap["variants"]}
    old = {v["VariantName"]: v for v in ep["config"]["variants"]}
    bad = []
    for name, ov in old.items():
        if not w.aas.has_target(ep["region"], f"endpoint/{ep['name']}/variant/{name}"):
            continue
        nv = new.get(name)
        if nv is None or nv.get("InstanceType") != ov.get("InstanceType"):
            bad.append(name)
    if bad:
        raise validation(
            f'The variant(s) {bad} of endpoint "{ep["arn"]}" are registered as scalable targets with '
            "Application Auto Scaling; deregister them (DeregisterScalableTarget) before an update removes "
            "them or changes their instance type.")


def require_config_models(w, region, snap):
    """Rule: (docs silent) an update onto a config one of whose variants names a model that no longer
    exists is refused, as a CreateEndpointConfig naming a missing model is; the DeleteModel page says
    only that the model entry goes, so the conservative reading is that the config cannot run."""
    for pv in snap["variants"] + snap["shadows"]:
        if pv.get("ModelName"):
            w.sm.model(region, pv["ModelName"])


def require_same_variant_names(ep, snap):
    """Rule: with deployment guardrails (DeploymentConfig) the new config must have the same
    production variant names as the running one."""
    old = sorted(v["VariantName"] for v in ep["config"]["variants"])
    new = sorted(v["VariantName"] for v in snap["variants"])
    if old != new:
        raise validation(
            f"Deployment guardrails require the same production variants in the old and the new endpoint "
            f"configuration: endpoint {ep['name']} runs {old}, endpoint configuration {snap['name']} has {new}.")


def never_instances_to_serverless(ep, snap):
    """Rule: an instance-based endpoint cannot be updated to a serverless endpoint configuration
    ("You cannot convert your instance-based, real-time endpoint to a serverless endpoint"); a
    serverless one may become instance-based."""
    if any(not v.get("ServerlessConfig") for v in ep["config"]["variants"]) and \
            any(v.get("ServerlessConfig") for v in snap["variants"]):
        raise validation(f'Endpoint "{ep["name"]}" is instance-based: it cannot be updated to a serverless '
                         "endpoint configuration.")


def require_rollback_alarms(dc):
    """Rule: an AutoRollbackConfiguration lists 1 to 10 alarms."""
    arc = dc.get("AutoRollbackConfiguration")
    if arc is not None and not (1 <= len(arc.get("Alarms") or []) <= 10):
        raise validation("AutoRollbackConfiguration.Alarms must list between 1 and 10 CloudWatch alarms.")


def _percent(size, variants):
    if size["Type"] == "CAPACITY_PERCENT":
        return [float(size["Value"])]
    return [100.0 * size["Value"] / v["InitialInstanceCount"] for v in variants if v.get("InitialInstanceCount")]


def canary_size_limit(trc, variants):
    """Rule: CanarySize is at most 50% of the variant's instance count (CAPACITY_PERCENT <= 50)."""
    size = trc.get("CanarySize")
    if size is None:
        raise validation("TrafficRoutingConfiguration of Type CANARY requires CanarySize.")
    if any(p > 50 for p in _percent(size, variants)):
        raise validation("CanarySize must be less than or equal to 50% of the variant's total instance count.")


def linear_step_limit(trc, variants):
    """Rule: LinearStepSize is 10-50% of the variant's instance count."""
    size = trc.get("LinearStepSize")
    if size is None:
        raise validation("TrafficRoutingConfiguration of Type LINEAR requires LinearStepSize.")
    if any(p < 10 or p > 50 for p in _percent(size, variants)):
        raise validation("LinearStepSize must be between 10% and 50% of the variant's total instance count.")


def rolling_batch_limit(policy, variants):
    """Rule: RollingUpdatePolicy.MaximumBatchSize is 5-50% of the variant's instance count."""
    if any(p < 5 or p > 50 for p in _percent(policy["MaximumBatchSize"], variants)):
        raise validation("MaximumBatchSize must be between 5% and 50% of the variant's total instance count.")


def rolling_exclusions(ep, snap):
    """Rule: a rolling deployment is not available for multi-variant endpoints or serverless ones
    (Deployment guardrails, Exclusions: "If you're doing a rolling deployment, there are additional
    feature-based exclusions")."""
    variants = snap["variants"]
    if len(variants) > 1 or len(ep["config"]["variants"]) > 1:
        raise validation("Rolling deployments are not supported for endpoints with multiple production variants.")
    if any(v.get("ServerlessConfig") for v in variants + ep["config"]["variants"]):
        raise validation("Rolling deployments are not supported for serverless endpoints.")


def execution_timeout_exceeds_waits(timeout, total_wait):
    """Rule: MaximumExecutionTimeoutInSeconds must be greater than the total of the waits."""
    if timeout is not None and timeout <= total_wait:
        raise validation(f"MaximumExecutionTimeoutInSeconds ({timeout}) must be greater than the total waiting "
                         f"time of WaitIntervalInSeconds and TerminationWaitInSeconds ({total_wait}).")


def rollback_alarms_exist(w, region, names):
    """Rule: every AutoRollbackConfiguration alarm must exist in CloudWatch."""
    missing = [n for n in names if w.cw.alarm_state(region, n) is None]
    if missing:
        raise validation(f"The CloudWatch alarm(s) {missing} in AutoRollbackConfiguration do not exist in "
                         "this account and Region.")


def deployment_plan(w, ep, snap, dc):
    """Checks DeploymentConfig against its rules; returns the traffic plan (steps, waits, alarms)."""
    require_same_variant_names(ep, snap)
    require_rollback_alarms(dc)
    alarms = [a["AlarmName"] for a in (dc.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    variants = snap["variants"]
    bg, rolling = dc.get("BlueGreenUpdatePolicy"), dc.get("RollingUpdatePolicy")
    if bg and rolling:
        raise validation("Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy can be specified.")
    if rolling:
        rolling_exclusions(ep, snap)
        rolling_batch_limit(rolling, variants)
        pct = _percent(rolling["MaximumBatchSize"], variants) or [100.0]
        steps = [min(100.0, min(pct) * (i + 1)) for i in range(max(1, math.ceil(100.0 / min(pct))))]
        wait, term, timeout = rolling["WaitIntervalInSeconds"], 0, rolling.get("MaximumExecutionTimeoutInSeconds")
    else:
        bg = bg or {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}
        trc = bg["TrafficRoutingConfiguration"]
        if trc["Type"] == "CANARY":
            canary_size_limit(trc, variants)
        elif trc["Type"] == "LINEAR":
            linear_step_limit(trc, variants)
        steps = sm_engine.traffic_steps(bg, variants)
        wait, term, timeout = trc["WaitIntervalInSeconds"], bg.get("TerminationWaitInSeconds", 0), bg.get("MaximumExecutionTimeoutInSeconds")
    execution_timeout_exceeds_waits(timeout, wait * len(steps) + term)
    rollback_alarms_exist(w, ep["region"], alarms)
    return {"steps": steps, "wait": wait, "termination_wait": term, "alarms": alarms}


def update_endpoint(w, ctx, p):
    ep = w.sm.endpoint(ctx.region, p["EndpointName"])
    require_in_service(ep)
    snap = sm_engine.snapshot(w.sm.config(ctx.region, p["EndpointConfigName"]))
    require_config_models(w, ctx.region, snap)
    refuse_variant_change_under_autoscaling(w, ep, snap)
    never_instances_to_serverless(ep, snap)
    dc = p.get("DeploymentConfig")
    if dc is None and p.get("RetainDeploymentConfig"):
        dc = ep["deployment_config"]
    plan = deployment_plan(w, ep, snap, dc) if dc else None
    retain = None
    if p.get("RetainAllVariantProperties"):
        excluded = {x["VariantPropertyType"] for x in p.get("ExcludeRetainedVariantProperties") or []}
        retain = ({v["VariantName"]: copy.deepcopy(v) for v in ep["variants"]}, excluded)
    mono = time.monotonic()
    key = w.sm.key(ep["region"], ep["name"])
    ep["pending"] = {"config": snap, "start_wall": now(), "retain": retain, "plan": plan,
                     "fail_reason": w.sm.fail_next.pop(key, None)}
    ep["status"] = "Updating"
    ep["modified"] = now()
    ep["failure_reason"] = None
    if dc:
        ep["deployment_config"] = copy.deepcopy(dc)
        ep["last_deployment_config"] = copy.deepcopy(dc)
    at = mono + w.settings["update_seconds"]
    if plan:
        sm_engine.schedule(ep, at, "bluegreen_start")
    elif ep["pending"]["fail_reason"]:
        sm_engine.schedule(ep, at, "silent_failure")
    else:
        sm_engine.schedule(ep, at, "update_done")
    return {"EndpointArn": ep["arn"]}


def require_known_variants(ep, names):
    """Rule: UpdateEndpointWeightsAndCapacities names only production variants of the endpoint."""
    known = {v["VariantName"] for v in ep["variants"]}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise validation(f'The variant(s) {unknown} are not production variants of endpoint "{ep["arn"]}".')


def update_endpoint_weights_and_capacities(w, ctx, p):
    ep = w.sm.endpoint(ctx.region, p["EndpointName"])
    require_in_service(ep)
    wanted = p["DesiredWeightsAndCapacities"]
    require_known_variants(ep, [d["VariantName"] for d in wanted])
    by_name = {v["VariantName"]: v for v in ep["variants"]}
    for d in wanted:
        s = by_name[d["VariantName"]]
        if d.get("DesiredWeight") is not None:
            s["DesiredWeight"] = float(d["DesiredWeight"])
        if d.get("DesiredInstanceCount") is not None:
            s["DesiredInstanceCount"] = d["DesiredInstanceCount"]
        if d.get("ServerlessUpdateConfig"):
            s["DesiredServerlessConfig"] = {**(s.get("DesiredServerlessConfig") or {}), **d["ServerlessUpdateConfig"]}
    ep["status"] = "Updating"
    ep["modified"] = now()
    sm_engine.schedule(ep, time.monotonic() + w.settings["weights_seconds"], "weights_done")
    return {"EndpointArn": ep["arn"]}
