"""SageMaker endpoint configurations: Create/Describe/Delete/ListEndpointConfigs.

Contract: handlers (world, ctx, params) -> output dict. The whole request is stored (tags
included, for GET /_emulator/state) and DescribeEndpointConfig returns every modeled member
that was sent (DataCaptureConfig, KmsKeyId, ShadowProductionVariants, async/serverless
configs, VolumeSizeInGB, timeouts ...), with InitialVariantWeight defaulting to 1.0.
"""
import copy

import paging
import shapes
import sm_names
import sm_tags
from errors import validation
from sm_store import arn, now


def require_models_exist(sm, region, variants):
    """Rule: every model a (production or shadow) variant references must exist."""
    for v in variants:
        if v.get("ModelName"):  # a variant without one hosts inference components
            sm.model(region, v["ModelName"])


def require_unique_variant_names(variants):
    """Rule: variant names are unique within an endpoint configuration (production and shadow)."""
    seen = set()
    for v in variants:
        n = v["VariantName"].lower()
        if n in seen:
            raise validation(f"The variant name {v['VariantName']} is used more than once in the endpoint "
                             "configuration; variant names must be unique.")
        seen.add(n)


def shadow_requires_single_pair(p):
    """Rule: with ShadowProductionVariants there must be exactly one production and one shadow variant."""
    shadows = p.get("ShadowProductionVariants") or []
    if shadows and (len(p["ProductionVariants"]) != 1 or len(shadows) != 1):
        raise validation("An endpoint configuration with ShadowProductionVariants must have exactly one "
                         f"production variant and one shadow variant (got {len(p['ProductionVariants'])} "
                         f"production and {len(shadows)} shadow).")


def serverless_exclusions(p):
    """Rule: a serverless variant (ServerlessConfig) has no InstanceType or InitialInstanceCount, and
    a config with one has no other production or shadow variant and no DataCaptureConfig (Serverless
    Inference's feature exclusions: "multiple production variants", "data capture")."""
    variants = list(p["ProductionVariants"]) + list(p.get("ShadowProductionVariants") or [])
    serverless = [v for v in variants if v.get("ServerlessConfig")]
    if not serverless:
        return
    if any(v.get("InstanceType") or v.get("InitialInstanceCount") for v in serverless):
        raise validation("A production variant with ServerlessConfig cannot also set InstanceType or "
                         "InitialInstanceCount.")
    if len(variants) > 1:
        raise validation("Serverless endpoints do not support multiple production variants or shadow variants.")
    if p.get("DataCaptureConfig"):
        raise validation("Serverless endpoints do not support data capture (DataCaptureConfig).")


def create_endpoint_config(w, ctx, p):
    name = p["EndpointConfigName"]
    key = w.sm.key(ctx.region, name)
    a = arn(ctx.region, "endpoint-config", name)
    sm_names.refuse_existing(w.sm.configs, key, "endpoint configuration", a)
    variants = list(p["ProductionVariants"]) + list(p.get("ShadowProductionVariants") or [])
    require_models_exist(w.sm, ctx.region, variants)
    require_unique_variant_names(variants)
    shadow_requires_single_pair(p)
    serverless_exclusions(p)
    sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    req = copy.deepcopy(p)
    for v in req["ProductionVariants"] + list(req.get("ShadowProductionVariants") or []):
        v.setdefault("InitialVariantWeight", 1.0)
    w.sm.configs[key] = {"name": name, "arn": a, "region": ctx.region, "created": now(), "request": req}
    return {"EndpointConfigArn": a}


def describe_endpoint_config(w, ctx, p):
    c = w.sm.config(ctx.region, p["EndpointConfigName"])
    members = shapes.output_shape("sagemaker", "DescribeEndpointConfig")["members"]
    out = {k: v for k, v in c["request"].items() if k in members}
    out.update(EndpointConfigName=c["name"], EndpointConfigArn=c["arn"], CreationTime=c["created"])
    return out


def delete_endpoint_config(w, ctx, p):
    """DeleteEndpointConfig; allowed while an endpoint uses the config (AWS keeps the endpoint running)."""
    c = w.sm.config(ctx.region, p["EndpointConfigName"])
    del w.sm.configs[w.sm.key(ctx.region, c["name"])]
    w.sm.tags.pop(c["arn"], None)
    return {}


def list_endpoint_configs(w, ctx, p):
    items = [c for c in w.sm.configs.values() if c["region"] == ctx.region]
    items = paging.name_contains(items, "name", p.get("NameContains"))
    items = paging.time_window(items, "created", p.get("CreationTimeAfter"), p.get("CreationTimeBefore"))
    key = "name" if p.get("SortBy") == "Name" else "created"
    items = paging.sort(items, key, p.get("SortOrder", "Descending") == "Descending")
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 10, validation)
    return {"EndpointConfigs": [{"EndpointConfigName": c["name"], "EndpointConfigArn": c["arn"],
                                 "CreationTime": c["created"]} for c in page], "NextToken": nxt}
