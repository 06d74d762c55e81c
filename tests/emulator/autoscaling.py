"""Application Auto Scaling, in memory: scalable targets and scaling policies, coupled to the
emulated SageMaker endpoints and CloudWatch alarms.

Contract: handlers (world, ctx, params) -> output dict for RegisterScalableTarget,
DescribeScalableTargets, DeregisterScalableTarget, PutScalingPolicy, DescribeScalingPolicies,
DeleteScalingPolicy. A sagemaker target must be an existing endpoint variant
(endpoint/<e>/variant/<v>) or inference component (inference-component/<name>); deregistering a
target deletes its policies (as AWS documents); a TargetTrackingScaling policy owns two
CloudWatch alarms TargetTracking-<ResourceId>-AlarmHigh-<uuid> / -AlarmLow-<uuid>, deleted
with it, on the predefined metric's dimensions (EndpointName and VariantName, or
InferenceComponentName). `has_target` and `remove_endpoint` serve the SageMaker side.
"""
import time
import uuid

import paging
from errors import AwsError, validation

ACCOUNT = "123456789012"

PREDEFINED = {
    "SageMakerVariantInvocationsPerInstance": ("AWS/SageMaker", "InvocationsPerInstance", "Sum"),
    "SageMakerVariantProvisionedConcurrencyUtilization": ("AWS/SageMaker", "ServerlessProvisionedConcurrencyUtilization", "Average"),
    "SageMakerInferenceComponentInvocationsPerCopy": ("AWS/SageMaker", "InvocationsPerCopy", "Sum"),
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": ("AWS/SageMaker", "ConcurrentRequestsPerModel", "Maximum"),
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": ("AWS/SageMaker", "ConcurrentRequestsPerCopy", "Maximum"),
}


class AutoScalingStore:
    def __init__(self):
        self.targets = {}
        self.policies = {}

    def has_target(self, region, resource_id, namespace="sagemaker"):
        return any(k[0] == region and k[1] == namespace and k[2] == resource_id for k in self.targets)

    def remove_endpoint(self, w, region, endpoint):
        """Rule: deleting an endpoint removes its variants' scalable targets and policies (and their alarms)."""
        prefix = f"endpoint/{endpoint}/"
        for k in [k for k in self.targets if k[0] == region and k[1] == "sagemaker" and k[2].startswith(prefix)]:
            _drop_target(w, k)


def _not_found_target(ns, rid, dim):
    return AwsError("ObjectNotFoundException", f"No scalable target registered for service namespace: {ns}, "
                                               f"resource ID: {rid}, scalable dimension: {dim}")


def _drop_policy(w, key):
    pol = w.aas.policies.pop(key)
    for a in pol["Alarms"]:
        w.cw.delete_alarm(key[0], a["AlarmName"])


def _drop_target(w, key):
    for pk in [pk for pk in w.aas.policies if pk[:4] == key]:
        _drop_policy(w, pk)
    del w.aas.targets[key]


def require_existing_variant(w, region, ns, rid):
    """Rule: a sagemaker scalable target must be an existing endpoint variant (endpoint/<ep>/variant/<v>)."""
    if ns != "sagemaker" or not rid.startswith("endpoint/"):
        return
    parts = rid.split("/")
    if len(parts) != 4 or parts[2] != "variant":
        raise validation(f"Unsupported resource ID {rid}: expected endpoint/<endpoint>/variant/<variant>.")
    ep = w.sm.endpoints.get(w.sm.key(region, parts[1]))
    if not ep or parts[3] not in [v["VariantName"] for v in ep["variants"]]:
        raise validation(f"The endpoint variant {rid} does not exist: register a variant of an existing endpoint.")


def require_existing_component(w, region, ns, rid):
    """Rule: a sagemaker scalable target inference-component/<name> must be an existing inference
    component."""
    if ns != "sagemaker" or not rid.startswith("inference-component/"):
        return
    name = rid[len("inference-component/"):]
    c = w.sm.components.get(w.sm.key(region, name)) if name and "/" not in name else None
    if not c or c.get("removed"):
        raise validation(f"The inference component {rid} does not exist: register an existing inference component.")


def dimension_fits_variant(w, region, ns, rid, dim):
    """Rule: a serverless variant with provisioned concurrency scales
    sagemaker:variant:DesiredProvisionedConcurrency, and no other variant does; an instance-backed
    variant scales sagemaker:variant:DesiredInstanceCount (a serverless one has no instances)."""
    if ns != "sagemaker" or not rid.startswith("endpoint/") or len(rid.split("/")) != 4:
        return
    _, ep_name, _, variant = rid.split("/")
    ep = w.sm.endpoints.get(w.sm.key(region, ep_name))
    pv = next((v for v in ((ep or {}).get("config") or {}).get("variants", []) if v["VariantName"] == variant), None)
    if pv is None:
        return
    serverless = pv.get("ServerlessConfig")
    if dim == "sagemaker:variant:DesiredProvisionedConcurrency" and not (serverless and serverless.get("ProvisionedConcurrency")):
        raise validation(f"{rid} has no provisioned concurrency to scale: register it with a serverless variant "
                         "that has ProvisionedConcurrency.")
    if dim == "sagemaker:variant:DesiredInstanceCount" and serverless:
        raise validation(f"{rid} is a serverless variant: it has no instances to scale.")


def min_not_above_max(lo, hi):
    """Rule: MinCapacity cannot exceed MaxCapacity."""
    if lo is not None and hi is not None and lo > hi:
        raise validation(f"Minimum capacity ({lo}) cannot be greater than maximum capacity ({hi}).")


def register_scalable_target(w, ctx, p):
    ns, rid, dim = p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]
    key = (ctx.region, ns, rid, dim)
    cur = w.aas.targets.get(key)
    if cur is None:
        require_existing_variant(w, ctx.region, ns, rid)
        require_existing_component(w, ctx.region, ns, rid)
        dimension_fits_variant(w, ctx.region, ns, rid, dim)
        if p.get("MinCapacity") is None or p.get("MaxCapacity") is None:
            raise validation("MinCapacity and MaxCapacity are required to register a new scalable target.")
    lo = p.get("MinCapacity", cur and cur["MinCapacity"])
    hi = p.get("MaxCapacity", cur and cur["MaxCapacity"])
    min_not_above_max(lo, hi)
    if cur is None:
        cur = {"ServiceNamespace": ns, "ResourceId": rid, "ScalableDimension": dim, "CreationTime": time.time(),
               "RoleARN": p.get("RoleARN") or f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
               "ScalableTargetARN": f"arn:aws:application-autoscaling:{ctx.region}:{ACCOUNT}:scalable-target/{uuid.uuid4().hex[:20]}",
               "SuspendedState": {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False, "ScheduledScalingSuspended": False},
               "Tags": {t: v for t, v in (p.get("Tags") or {}).items()}}
        w.aas.targets[key] = cur
    cur["MinCapacity"], cur["MaxCapacity"] = lo, hi
    if p.get("SuspendedState"):
        cur["SuspendedState"].update(p["SuspendedState"])
    return {"ScalableTargetARN": cur["ScalableTargetARN"]}


def describe_scalable_targets(w, ctx, p):
    items = [t for k, t in w.aas.targets.items() if k[0] == ctx.region and k[1] == p["ServiceNamespace"]]
    if p.get("ResourceIds"):
        items = [t for t in items if t["ResourceId"] in p["ResourceIds"]]
    if p.get("ScalableDimension"):
        items = [t for t in items if t["ScalableDimension"] == p["ScalableDimension"]]
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 50, validation)
    return {"ScalableTargets": [{k: v for k, v in t.items() if k != "Tags"} for t in page], "NextToken": nxt}


def deregister_scalable_target(w, ctx, p):
    """Rule: DeregisterScalableTarget also deletes the target's scaling policies (and their alarms)."""
    ns, rid, dim = p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]
    key = (ctx.region, ns, rid, dim)
    if key not in w.aas.targets:
        raise AwsError("ObjectNotFoundException", f"No scalable target found for service namespace: {ns}, "
                                                  f"resource ID: {rid}, scalable dimension: {dim}")
    _drop_target(w, key)
    return {}


def target_tracking_metric(ns, cfg):
    """Rule: a target tracking configuration has exactly one metric specification, and a
    predefined metric type must belong to the target's service namespace."""
    pre, cust = cfg.get("PredefinedMetricSpecification"), cfg.get("CustomizedMetricSpecification")
    if bool(pre) == bool(cust):
        raise validation("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
                         "must be specified in TargetTrackingScalingPolicyConfiguration.")
    if pre:
        t = pre["PredefinedMetricType"]
        if ns == "sagemaker" and not t.startswith("SageMaker"):
            raise validation(f"Unsupported metric type {t} for service namespace sagemaker.")
        return PREDEFINED.get(t, ("AWS/" + ns, t, "Average"))
    if cust.get("Metrics"):
        return None
    return (cust.get("Namespace"), cust.get("MetricName"), cust.get("Statistic", "Average"))


def target_tracking_alarms(rid, policy_arn, metric, cfg, dims, cust):
    """Rule: a TargetTrackingScaling policy owns alarms TargetTracking-<ResourceId>-AlarmHigh-<uuid> and
    -AlarmLow-<uuid> (no AlarmLow when DisableScaleIn), deleted with the policy."""
    target = float(cfg["TargetValue"])
    base = {"ActionsEnabled": True, "AlarmActions": [policy_arn], "OKActions": [], "InsufficientDataActions": [],
            "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}.",
            "TreatMissingData": "missing", "Period": 60}
    if metric:
        base.update(Namespace=metric[0], MetricName=metric[1], Statistic=metric[2], Dimensions=dims)
    else:
        base["Metrics"] = cust["Metrics"]
        base.pop("Period")
    tag = uuid.uuid4()
    high = dict(base, AlarmName=f"TargetTracking-{rid}-AlarmHigh-{tag}", EvaluationPeriods=3, DatapointsToAlarm=3,
                Threshold=target, ComparisonOperator="GreaterThanThreshold")
    low = dict(base, AlarmName=f"TargetTracking-{rid}-AlarmLow-{uuid.uuid4()}", EvaluationPeriods=15, DatapointsToAlarm=15,
               Threshold=target * 0.9, ComparisonOperator="LessThanThreshold")
    return [high] if cfg.get("DisableScaleIn") else [high, low]


def put_scaling_policy(w, ctx, p):
    ns, rid, dim, name = p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"], p["PolicyName"]
    tkey = (ctx.region, ns, rid, dim)
    if tkey not in w.aas.targets:
        raise _not_found_target(ns, rid, dim)
    ptype = p.get("PolicyType", "StepScaling")
    key = tkey + (name,)
    cur = w.aas.policies.get(key)
    policy_arn = cur["PolicyARN"] if cur else (
        f"arn:aws:autoscaling:{ctx.region}:{ACCOUNT}:scalingPolicy:{uuid.uuid4()}:resource/{ns}/{rid}:policyName/{name}")
    alarms = []
    if ptype == "TargetTrackingScaling":
        cfg = p.get("TargetTrackingScalingPolicyConfiguration")
        if not cfg:
            raise validation("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.")
        metric = target_tracking_metric(ns, cfg)
        parts = rid.split("/")
        dims = []
        if ns == "sagemaker" and len(parts) == 4:
            dims = [{"Name": "EndpointName", "Value": parts[1]}, {"Name": "VariantName", "Value": parts[3]}]
        elif ns == "sagemaker" and len(parts) == 2 and parts[0] == "inference-component":
            dims = [{"Name": "InferenceComponentName", "Value": parts[1]}]
        if metric and cfg.get("CustomizedMetricSpecification"):
            dims = cfg["CustomizedMetricSpecification"].get("Dimensions", [])
        if cur:
            for a in cur["Alarms"]:
                w.cw.delete_alarm(ctx.region, a["AlarmName"])
        for d in target_tracking_alarms(rid, policy_arn, metric, cfg, dims, cfg.get("CustomizedMetricSpecification")):
            rec = w.cw.put_alarm(ctx.region, "metric", d)
            alarms.append({"AlarmName": d["AlarmName"], "AlarmARN": rec["def"]["AlarmArn"]})
    elif ptype == "StepScaling" and not p.get("StepScalingPolicyConfiguration"):
        raise validation("StepScalingPolicyConfiguration is required for a StepScaling policy.")
    pol = {"PolicyARN": policy_arn, "PolicyName": name, "ServiceNamespace": ns, "ResourceId": rid,
           "ScalableDimension": dim, "PolicyType": ptype, "Alarms": alarms,
           "CreationTime": cur["CreationTime"] if cur else time.time()}
    for k in ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration", "PredictiveScalingPolicyConfiguration"):
        if p.get(k):
            pol[k] = p[k]
    w.aas.policies[key] = pol
    return {"PolicyARN": policy_arn, "Alarms": alarms}


def describe_scaling_policies(w, ctx, p):
    items = [v for k, v in w.aas.policies.items() if k[0] == ctx.region and k[1] == p["ServiceNamespace"]]
    if p.get("ResourceId"):
        items = [v for v in items if v["ResourceId"] == p["ResourceId"]]
    if p.get("ScalableDimension"):
        items = [v for v in items if v["ScalableDimension"] == p["ScalableDimension"]]
    if p.get("PolicyNames"):
        items = [v for v in items if v["PolicyName"] in p["PolicyNames"]]
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 50, validation)
    return {"ScalingPolicies": page, "NextToken": nxt}


def delete_scaling_policy(w, ctx, p):
    """Rule: deleting a policy that does not exist answers ObjectNotFoundException."""
    ns, rid, dim, name = p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"], p["PolicyName"]
    key = (ctx.region, ns, rid, dim, name)
    if key not in w.aas.policies:
        raise AwsError("ObjectNotFoundException", f"No scaling policy found for service namespace: {ns}, resource ID: "
                                                  f"{rid}, scalable dimension: {dim}, policy name: {name}")
    _drop_policy(w, key)
    return {}
