"""SageMaker endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint.

Contract: handlers (world, ctx, params) -> output dict; transitions are scheduled on the
endpoint (see sm_engine): Creating -> InService after create_seconds (Failed with
FailureReason when fail-next-update is armed), Deleting -> gone after delete_seconds
(scalable targets and scaling policies of its variants go with it).
DeleteEndpoint while Creating/Updating/RollingBack/SystemUpdating/Deleting is refused with a
ValidationException: an assumption of this emulator, the AWS API reference does not say.
"""
import copy
import time

import paging
import sm_engine
import sm_names
import sm_tags
from errors import validation
from sm_store import arn, now

IN_PROGRESS = ("Creating", "Updating", "RollingBack", "SystemUpdating", "Deleting")


def create_endpoint(w, ctx, p):
    name = p["EndpointName"]
    key = w.sm.key(ctx.region, name)
    a = arn(ctx.region, "endpoint", name)
    sm_names.refuse_existing(w.sm.endpoints, key, "endpoint", a)
    cfg = w.sm.config(ctx.region, p["EndpointConfigName"])
    sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    t = now()
    mono = time.monotonic()
    ep = {"name": name, "arn": a, "region": ctx.region, "created": t, "modified": t, "status": "Creating",
          "failure_reason": None, "events": [], "monitor": None, "pending": None,
          "deployment_config": copy.deepcopy(p.get("DeploymentConfig")), "last_deployment_config": None,
          "create_fail": w.sm.fail_next.pop(key, None), "request": dict(p)}
    sm_engine.install_config(w, ep, sm_engine.snapshot(cfg), mono)
    sm_engine.schedule(ep, mono + w.settings["create_seconds"], "create_done")
    w.sm.endpoints[key] = ep
    return {"EndpointArn": a}


def _capture_summary(dc):
    if not dc:
        return None
    return {"EnableCapture": dc.get("EnableCapture", True), "CaptureStatus": "Started" if dc.get("EnableCapture", True) else "Stopped",
            "CurrentSamplingPercentage": dc.get("InitialSamplingPercentage"),
            "DestinationS3Uri": dc.get("DestinationS3Uri"), "KmsKeyId": dc.get("KmsKeyId")}


def describe_endpoint(w, ctx, p):
    """Rule: while Updating, DescribeEndpoint shows the OLD config and variants (the new config in
    PendingDeploymentSummary)."""
    ep = w.sm.endpoint(ctx.region, p["EndpointName"])
    cfg = ep["config"]
    out = {"EndpointName": ep["name"], "EndpointArn": ep["arn"], "EndpointConfigName": cfg["name"],
           "ProductionVariants": copy.deepcopy(ep["variants"]), "EndpointStatus": ep["status"],
           "FailureReason": ep["failure_reason"], "CreationTime": ep["created"], "LastModifiedTime": ep["modified"],
           "DataCaptureConfig": _capture_summary(cfg["data_capture"]), "AsyncInferenceConfig": cfg["async"],
           "ExplainerConfig": cfg["explainer"], "LastDeploymentConfig": ep["last_deployment_config"]}
    if ep["shadow_variants"]:
        out["ShadowProductionVariants"] = copy.deepcopy(ep["shadow_variants"])
    pend = ep.get("pending")
    if pend and pend.get("config"):
        pc = pend["config"]
        out["PendingDeploymentSummary"] = {
            "EndpointConfigName": pc["name"], "StartTime": pend["start_wall"],
            "ProductionVariants": [_pending_variant(pv) for pv in pc["variants"]],
            "ShadowProductionVariants": [_pending_variant(pv) for pv in pc["shadows"]] or None}
    return out


def _pending_variant(pv):
    s = {"VariantName": pv["VariantName"], "DesiredWeight": pv.get("InitialVariantWeight", 1.0),
         "InstanceType": pv.get("InstanceType"), "AcceleratorType": pv.get("AcceleratorType"),
         "VariantStatus": [{"Status": "Creating", "StartTime": time.time()}]}
    if pv.get("ServerlessConfig"):
        s["DesiredServerlessConfig"] = pv["ServerlessConfig"]
    else:
        s["DesiredInstanceCount"] = pv.get("InitialInstanceCount")
    return s


def list_endpoints(w, ctx, p):
    items = [e for e in w.sm.endpoints.values() if e["region"] == ctx.region]
    items = paging.name_contains(items, "name", p.get("NameContains"))
    if p.get("StatusEquals"):
        items = [e for e in items if e["status"] == p["StatusEquals"]]
    items = paging.time_window(items, "created", p.get("CreationTimeAfter"), p.get("CreationTimeBefore"))
    items = paging.time_window(items, "modified", p.get("LastModifiedTimeAfter"), p.get("LastModifiedTimeBefore"))
    key = {"Name": "name", "Status": "status"}.get(p.get("SortBy"), "created")
    items = paging.sort(items, key, p.get("SortOrder", "Descending") == "Descending")
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 10, validation)
    return {"Endpoints": [{"EndpointName": e["name"], "EndpointArn": e["arn"], "CreationTime": e["created"],
                           "LastModifiedTime": e["modified"], "EndpointStatus": e["status"]} for e in page],
            "NextToken": nxt}


def refuse_delete_in_progress(ep):
    """Rule: (emulator assumption) an endpoint is not deleted while a transition is in progress."""
    if ep["status"] in IN_PROGRESS:
        raise validation(f'Cannot delete in-progress endpoint "{ep["arn"]}" (status {ep["status"]}).')


def delete_endpoint(w, ctx, p):
    ep = w.sm.endpoint(ctx.region, p["EndpointName"])
    refuse_delete_in_progress(ep)
    mono = time.monotonic()
    ep["status"] = "Deleting"
    ep["modified"] = now()
    ep["events"] = []
    sm_engine.schedule(ep, mono + w.settings["delete_seconds"], "delete_done")
    return {}
