"""SageMaker inference components: CreateInferenceComponent, DescribeInferenceComponent,
UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig, DeleteInferenceComponent,
ListInferenceComponents.

Contract: handlers (world, ctx, params) -> output dict; `advance_all(world, now)` runs each
component's transitions due by `now` (World.tick). A component is Creating for create_seconds,
then InService with its copies placed; an update is Updating: without a DeploymentConfig for
update_seconds, with a RollingUpdatePolicy one bake (WaitIntervalInSeconds, scaled by
wait_scale) per batch of copies while its AutoRollbackConfiguration alarms are watched; a
tripped alarm rolls it back to the previous specification. Deleting lasts delete_seconds.
Inference components take no traffic weights: a request names the one it is for
(InvokeEndpoint's InferenceComponentName), so nothing here splits traffic between two.
"""
import copy
import math
import time

import sm_tags
from errors import validation
from sm_store import arn, now


def component(w, region, name):
    """The component record or ValidationException 'Could not find inference component'."""
    c = w.sm.components.get(w.sm.key(region, name))
    if not c or c.get("removed"):
        raise validation(f'Could not find inference component "{arn(region, "inference-component", name)}".')
    return c


def hosting_endpoint(w, region, name, variant):
    """Rule: an inference component is created on an existing, InService endpoint, and a
    VariantName given must be one of its production variants."""
    ep = w.sm.endpoint(region, name)
    if ep["status"] != "InService":
        raise validation(f'Endpoint "{ep["arn"]}" is in status {ep["status"]}; an inference component is '
                         "created on an InService endpoint.")
    names = [v["VariantName"] for v in ep["config"]["variants"]]
    if variant and variant not in names:
        raise validation(f'Endpoint "{ep["arn"]}" has no production variant "{variant}" (it has {names}).')
    return ep


def specified_model_exists(w, region, spec):
    """Rule: Specification.ModelName, when given, names an existing model."""
    if spec and spec.get("ModelName"):
        w.sm.model(region, spec["ModelName"])


def require_in_service(c):
    """Rule: an inference component is updated (specification, copies) only while InService."""
    if c["status"] != "InService":
        raise validation(f'Inference component "{c["arn"]}" is in status {c["status"]}; it can be updated only '
                         "while InService.")


def copy_batch_limit(policy, copies):
    """Rule: RollingUpdatePolicy.MaximumBatchSize is 5-50% of the component's copy count
    (COPY_COUNT or CAPACITY_PERCENT)."""
    size = policy["MaximumBatchSize"]
    pct = float(size["Value"]) if size["Type"] == "CAPACITY_PERCENT" else 100.0 * size["Value"] / max(copies, 1)
    if pct < 5 or pct > 50:
        raise validation("MaximumBatchSize must be between 5% and 50% of the copy count of the inference component.")
    return pct


def rollback_alarms_exist(w, region, dc):
    """Rule: every AutoRollbackConfiguration alarm exists in CloudWatch."""
    names = [a["AlarmName"] for a in (dc.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    missing = [n for n in names if w.cw.alarm_state(region, n) is None]
    if missing:
        raise validation(f"The CloudWatch alarm(s) {missing} in AutoRollbackConfiguration do not exist in "
                         "this account and Region.")
    return names


def execution_timeout_exceeds_waits(policy, batches):
    """Rule: MaximumExecutionTimeoutInSeconds must exceed the bakes of the batches."""
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    waits = policy["WaitIntervalInSeconds"] * batches
    if timeout is not None and timeout <= waits:
        raise validation(f"MaximumExecutionTimeoutInSeconds ({timeout}) must be greater than the total "
                         f"WaitIntervalInSeconds of the batches ({waits}).")


def _summary(c):
    spec = c["spec"] or {}
    out = {"InferenceComponentName": c["name"], "InferenceComponentArn": c["arn"],
           "EndpointName": c["endpoint"], "EndpointArn": c["endpoint_arn"],
           "CreationTime": c["created"], "LastModifiedTime": c["modified"],
           "InferenceComponentStatus": c["status"]}
    if c.get("variant"):
        out["VariantName"] = c["variant"]
    return out, spec


def create_inference_component(w, ctx, p):
    name = p["InferenceComponentName"]
    key = w.sm.key(ctx.region, name)
    a = arn(ctx.region, "inference-component", name)
    if key in w.sm.components and not w.sm.components[key].get("removed"):
        raise validation(f'Cannot create already existing inference component "{a}".')
    ep = hosting_endpoint(w, ctx.region, p["EndpointName"], p.get("VariantName"))
    specified_model_exists(w, ctx.region, p.get("Specification"))
    sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    copies = (p.get("RuntimeConfig") or {}).get("CopyCount", 1)
    w.sm.components[key] = {
        "name": name, "arn": a, "region": ctx.region, "endpoint": ep["name"], "endpoint_arn": ep["arn"],
        "variant": p.get("VariantName") or ep["config"]["variants"][0]["VariantName"],
        "spec": copy.deepcopy(p.get("Specification")), "copies": copies, "current_copies": 0,
        "status": "Creating", "created": now(), "modified": now(), "failure_reason": None,
        "last_deployment_config": None, "ready_at": time.monotonic() + w.settings["create_seconds"],
        "pending": None,
    }
    return {"InferenceComponentArn": a}


def describe_inference_component(w, ctx, p):
    c = component(w, ctx.region, p["InferenceComponentName"])
    out, spec = _summary(c)
    summary = {k: v for k, v in spec.items() if k in ("ModelName", "ComputeResourceRequirements",
                                                        "StartupParameters", "BaseInferenceComponentName")}
    out["Specification"] = summary
    out["RuntimeConfig"] = {"DesiredCopyCount": c["copies"], "CurrentCopyCount": c["current_copies"]}
    if c.get("failure_reason"):
        out["FailureReason"] = c["failure_reason"]
    if c.get("last_deployment_config"):
        out["LastDeploymentConfig"] = c["last_deployment_config"]
    return out


def update_inference_component(w, ctx, p):
    c = component(w, ctx.region, p["InferenceComponentName"])
    require_in_service(c)
    specified_model_exists(w, ctx.region, p.get("Specification"))
    new_spec = dict(c["spec"] or {}, **(p.get("Specification") or {}))
    copies = (p.get("RuntimeConfig") or {}).get("CopyCount", c["copies"])
    dc = p.get("DeploymentConfig")
    mono = time.monotonic()
    scale = w.settings["wait_scale"]
    plan = None
    if dc:
        policy = dc["RollingUpdatePolicy"]
        pct = copy_batch_limit(policy, copies)
        batches = max(1, math.ceil(100.0 / pct))
        execution_timeout_exceeds_waits(policy, batches)
        alarms = rollback_alarms_exist(w, ctx.region, dc)
        start = mono + w.settings["update_seconds"]
        plan = {"alarms": alarms, "start": start, "end": start + batches * policy["WaitIntervalInSeconds"] * scale}
        c["last_deployment_config"] = copy.deepcopy(dc)
    c["pending"] = {"previous": (copy.deepcopy(c["spec"]), c["copies"]), "plan": plan,
                    "done_at": plan["end"] if plan else mono + w.settings["update_seconds"]}
    c["spec"], c["copies"] = new_spec, copies
    c["status"], c["modified"], c["failure_reason"] = "Updating", now(), None
    return {"InferenceComponentArn": c["arn"]}


def update_inference_component_runtime_config(w, ctx, p):
    c = component(w, ctx.region, p["InferenceComponentName"])
    require_in_service(c)
    c["copies"] = p["DesiredRuntimeConfig"]["CopyCount"]
    c["status"], c["modified"] = "Updating", now()
    c["pending"] = {"previous": None, "plan": None, "done_at": time.monotonic() + w.settings["update_seconds"]}
    return {"InferenceComponentArn": c["arn"]}


def delete_inference_component(w, ctx, p):
    c = component(w, ctx.region, p["InferenceComponentName"])
    c["status"], c["modified"] = "Deleting", now()
    c["pending"] = None
    c["gone_at"] = time.monotonic() + w.settings["delete_seconds"]
    return {}


def list_inference_components(w, ctx, p):
    items = [c for c in w.sm.components.values()
             if c["region"] == ctx.region and not c.get("removed")
             and (not p.get("EndpointNameEquals") or c["endpoint"] == p["EndpointNameEquals"])
             and (not p.get("NameContains") or p["NameContains"].lower() in c["name"].lower())
             and (not p.get("StatusEquals") or c["status"] == p["StatusEquals"])]
    items.sort(key=lambda c: c["created"], reverse=p.get("SortOrder", "Descending") == "Descending")
    out = []
    for c in items:
        s, _ = _summary(c)
        out.append(s)
    return {"InferenceComponents": out}


def alarm_rollback(w, c, tripped):
    """Rule: an AutoRollbackConfiguration alarm in ALARM while the batches bake rolls the update
    back: the previous specification and copies, InService, with a FailureReason naming the
    alarm (docs silent on the status and the wording after a rollback)."""
    spec, copies = c["pending"]["previous"]
    c["spec"], c["copies"], c["pending"] = spec, copies, None
    c["status"], c["modified"] = "InService", now()
    c["failure_reason"] = (f"Deployment rolled back: CloudWatch alarm(s) {', '.join(tripped)} in ALARM state "
                           "triggered the auto-rollback configured in DeploymentConfig.AutoRollbackConfiguration.")


def advance(w, c, at):
    if c.get("removed"):
        return
    if c["status"] == "Creating" and at >= c["ready_at"]:
        c["status"], c["current_copies"], c["modified"] = "InService", c["copies"], now()
    elif c["status"] == "Deleting" and at >= c["gone_at"]:
        c["removed"] = True
        w.sm.tags.pop(c["arn"], None)
    elif c["status"] == "Updating" and c.get("pending"):
        plan = c["pending"]["plan"]
        if plan and plan["alarms"]:
            tripped = [a for a in plan["alarms"] if w.cw.alarm_state(c["region"], a) == "ALARM"]
            if tripped and max(plan["start"], w.last_tick) <= min(at, plan["end"]):
                alarm_rollback(w, c, tripped)
                return
        if at >= c["pending"]["done_at"]:
            c["status"], c["current_copies"], c["pending"], c["modified"] = "InService", c["copies"], None, now()


def advance_all(w, at):
    for c in list(w.sm.components.values()):
        advance(w, c, at)
