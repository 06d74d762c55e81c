"""SageMaker models: CreateModel, DescribeModel, DeleteModel, ListModels.

Contract: handlers (world, ctx, params) -> output dict. A container naming a ModelPackageName
must reference an existing, Completed package that `model_package_approval_allows_model`
accepts; containers with Image + ModelDataUrl are not checked against the registry.
"""
import re

import moto_forward
import paging
import shapes
import sm_names
import sm_packages
import sm_tags
from errors import validation
from sm_store import arn, now


def require_container(p):
    """Rule: CreateModel needs a PrimaryContainer or a non-empty Containers list."""
    if not p.get("PrimaryContainer") and not p.get("Containers"):
        raise validation("Either PrimaryContainer or Containers must be specified to create a model.")


def model_package_approval_allows_model(pkg):
    """Rule: a model can be created directly from a versioned package only once it is Approved
    (unversioned packages carry no approval status)."""
    return pkg["group"] is None or pkg["approval"] == "Approved"


def check_container_package(sm, region, c):
    """Rule: a container's ModelPackageName must name an existing, Completed, approved package."""
    ref = c.get("ModelPackageName")
    if not ref:
        return None
    pkg = sm_packages.find_package(sm, region, ref)
    if pkg["status"] != "Completed":
        raise validation(f"Model package {pkg['arn']} is in status {pkg['status']}; it must be Completed "
                         "to create a model from it.")
    if not model_package_approval_allows_model(pkg):
        raise validation(f"Model package {pkg['arn']} has ModelApprovalStatus {pkg['approval']}; it must be "
                         "Approved to create a model from it.")
    return pkg


ECR_IMAGE = re.compile(r"^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")


def container_in_model_region(region, c):
    """Rule: "The model artifacts in an Amazon S3 bucket and the Docker image for inference
    container in Amazon EC2 Container Registry must be in the same region as the model"
    (ContainerDefinition). An ECR image names its region; the bucket's is moto's. The message
    is ours: the pages give none."""
    m = ECR_IMAGE.match(c.get("Image") or "")
    if m and m.group(1) != region:
        raise validation(f"Image {c['Image']} is in {m.group(1)}; the model is created in {region} "
                         "and its ECR image must be in the same region.")
    url = c.get("ModelDataUrl") or ""
    if url.startswith("s3://"):
        bucket = url[len("s3://"):].split("/", 1)[0]
        where = {b["name"]: b["region"] for b in moto_forward.s3_state()}
        if bucket in where and where[bucket] != region:
            raise validation(f"ModelDataUrl {url} is in a bucket in {where[bucket]}; the model is created "
                             f"in {region} and its artifacts must be in the same region.")


def containers(p):
    return ([p["PrimaryContainer"]] if p.get("PrimaryContainer") else []) + list(p.get("Containers") or [])


def create_model(w, ctx, p):
    name = p["ModelName"]
    key = w.sm.key(ctx.region, name)
    a = arn(ctx.region, "model", name)
    sm_names.refuse_existing(w.sm.models, key, "model", a)
    require_container(p)
    images = []
    for c in containers(p):
        container_in_model_region(ctx.region, c)
        pkg = check_container_package(w.sm, ctx.region, c)
        if c.get("Image"):
            images.append(c["Image"])
        elif pkg:
            spec = pkg["request"].get("InferenceSpecification") or {}
            images += [x.get("Image") for x in spec.get("Containers", []) if x.get("Image")]
    sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    w.sm.models[key] = {"name": name, "arn": a, "region": ctx.region, "created": now(),
                        "request": dict(p), "images": images}
    return {"ModelArn": a}


def describe_model(w, ctx, p):
    m = w.sm.model(ctx.region, p["ModelName"])
    members = shapes.output_shape("sagemaker", "DescribeModel")["members"]
    out = {k: v for k, v in m["request"].items() if k in members}
    out.update(ModelName=m["name"], ModelArn=m["arn"], CreationTime=m["created"])
    return out


def delete_model(w, ctx, p):
    m = w.sm.model(ctx.region, p["ModelName"])
    del w.sm.models[w.sm.key(ctx.region, m["name"])]
    w.sm.tags.pop(m["arn"], None)
    return {}


def list_models(w, ctx, p):
    """ListModels: NameContains (case-insensitive substring), creation window, sort, pagination."""
    items = [m for m in w.sm.models.values() if m["region"] == ctx.region]
    items = paging.name_contains(items, "name", p.get("NameContains"))
    items = paging.time_window(items, "created", p.get("CreationTimeAfter"), p.get("CreationTimeBefore"))
    key = "name" if p.get("SortBy") == "Name" else "created"
    items = paging.sort(items, key, p.get("SortOrder", "Descending") == "Descending")
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 10, validation)
    return {"Models": [{"ModelName": m["name"], "ModelArn": m["arn"], "CreationTime": m["created"]} for m in page],
            "NextToken": nxt}
