"""SageMaker model registry: model package groups and (versioned or unversioned) model packages.

Contract: handlers (world, ctx, params) -> output dict for CreateModelPackageGroup,
DescribeModelPackageGroup, ListModelPackageGroups, DeleteModelPackageGroup,
CreateModelPackage, DescribeModelPackage (by ARN, unversioned name or "<group>/<version>"),
ListModelPackages, UpdateModelPackage, DeleteModelPackage. `find_package(sm, region, ref)`
is shared with CreateModel. Packages are Completed at creation (no validation jobs run).
"""
import paging
import shapes
import sm_names
import sm_tags
from errors import validation
from sm_store import ACCOUNT, arn, now


def _pick(op, d):
    members = shapes.output_shape("sagemaker", op)["members"]
    return {k: v for k, v in d.items() if k in members}


def package_arn(region, group, version=None, name=None):
    if group is not None:
        return f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package/{group.lower()}/{version}"
    return arn(region, "model-package", name)


def find_package(sm, region, ref):
    """The package named by ARN, unversioned name or '<group>/<version>', or ValidationException."""
    if ref.startswith("arn:"):
        head, _, tail = ref.partition(":model-package/")
        cand = [ref, f"{head}:model-package/{tail.lower()}"]
    elif "/" in ref:
        g, _, v = ref.partition("/")
        cand = [package_arn(region, g, v)]
    else:
        cand = [package_arn(region, None, name=ref)]
    for c in cand:
        if c in sm.packages:
            return sm.packages[c]
    raise validation(f"ModelPackage {ref} does not exist.")


def refuse_tags_on_versioned_package(p):
    """Rule: a versioned package (ModelPackageGroupName given) takes its group's tags and must not carry Tags."""
    if p.get("ModelPackageGroupName") and p.get("Tags"):
        raise validation("Tags cannot be specified for a versioned model package: it uses the tags of its "
                         "model package group (ModelPackageGroupName was given).")


def next_version(sm, group_arn):
    """Rule: a new version in a group is the previous highest version + 1 (starting at 1)."""
    versions = [p["version"] for p in sm.packages.values() if p.get("group_arn") == group_arn]
    return max(versions, default=0) + 1


def initial_approval(p):
    """Rule: a versioned package's ModelApprovalStatus defaults to PendingManualApproval."""
    return p.get("ModelApprovalStatus") or "PendingManualApproval"


def create_model_package_group(w, ctx, p):
    name = p["ModelPackageGroupName"]
    key = w.sm.key(ctx.region, name)
    a = arn(ctx.region, "model-package-group", name)
    sm_names.refuse_existing(w.sm.groups, key, "model package group", a)
    sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    w.sm.groups[key] = {"name": name, "arn": a, "region": ctx.region, "created": now(), "request": dict(p)}
    return {"ModelPackageGroupArn": a}


def _group_out(g):
    return {"ModelPackageGroupName": g["name"], "ModelPackageGroupArn": g["arn"],
            "ModelPackageGroupDescription": g["request"].get("ModelPackageGroupDescription"),
            "CreationTime": g["created"], "ModelPackageGroupStatus": "Completed", "CreatedBy": {}}


def describe_model_package_group(w, ctx, p):
    return _group_out(w.sm.group(ctx.region, p["ModelPackageGroupName"]))


def delete_model_package_group(w, ctx, p):
    g = w.sm.group(ctx.region, p["ModelPackageGroupName"])
    if any(pk.get("group_arn") == g["arn"] for pk in w.sm.packages.values()):
        raise validation(f"Model package group {g['name']} cannot be deleted: it still contains model packages.")
    del w.sm.groups[w.sm.key(g["region"], g["name"])]
    w.sm.tags.pop(g["arn"], None)
    return {}


def list_model_package_groups(w, ctx, p):
    items = [g for g in w.sm.groups.values() if g["region"] == ctx.region]
    items = paging.name_contains(items, "name", p.get("NameContains"))
    items = paging.time_window(items, "created", p.get("CreationTimeAfter"), p.get("CreationTimeBefore"))
    key = "name" if p.get("SortBy") == "Name" else "created"
    items = paging.sort(items, key, p.get("SortOrder", "Ascending") == "Descending")
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 10, validation)
    out = [{k: v for k, v in _group_out(g).items() if k != "CreatedBy"} for g in page]
    return {"ModelPackageGroupSummaryList": out, "NextToken": nxt}


def idempotent_client_token(w, ctx, p):
    """Rule: CreateModelPackage's ClientToken makes the call idempotent: a repeated token returns
    the package the first call created."""
    token = p.get("ClientToken")
    if not token:
        return None
    return w.sm.package_tokens.get((ctx.region, token))


def create_model_package(w, ctx, p):
    refuse_tags_on_versioned_package(p)
    seen = idempotent_client_token(w, ctx, p)
    if seen:
        return {"ModelPackageArn": seen}
    t = now()
    rec = {"region": ctx.region, "created": t, "modified": t, "request": dict(p), "status": "Completed"}
    if p.get("ModelPackageGroupName"):
        g = w.sm.group(ctx.region, p["ModelPackageGroupName"])
        v = next_version(w.sm, g["arn"])
        rec.update(group=g["name"], group_arn=g["arn"], version=v, name=g["name"],
                   arn=package_arn(ctx.region, g["name"], v),
                   approval=initial_approval(p))
    else:
        name = p.get("ModelPackageName")
        if not name:
            raise validation("ModelPackageName is required for an unversioned model package "
                             "(give ModelPackageGroupName for a versioned one).")
        a = package_arn(ctx.region, None, name=name)
        sm_names.refuse_existing(w.sm.packages, a, "model package", a)
        rec.update(group=None, group_arn=None, version=None, name=name, arn=a, approval=p.get("ModelApprovalStatus"))
        sm_tags.apply_tags(w.sm, a, p.get("Tags"))
    rec["customer_metadata"] = dict(p.get("CustomerMetadataProperties") or {})
    w.sm.packages[rec["arn"]] = rec
    if p.get("ClientToken"):
        w.sm.package_tokens[(ctx.region, p["ClientToken"])] = rec["arn"]
    return {"ModelPackageArn": rec["arn"]}


def _package_out(pk):
    d = _pick("DescribeModelPackage", pk["request"])
    d.update(ModelPackageName=pk["name"], ModelPackageArn=pk["arn"], CreationTime=pk["created"],
             LastModifiedTime=pk["modified"], ModelPackageStatus=pk["status"],
             ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
             CustomerMetadataProperties=pk["customer_metadata"] or None)
    d.pop("ModelApprovalStatus", None)
    if pk["approval"]:
        d["ModelApprovalStatus"] = pk["approval"]
    if pk["group"]:
        d.update(ModelPackageGroupName=pk["group"], ModelPackageVersion=pk["version"])
    return d


def describe_model_package(w, ctx, p):
    return _package_out(find_package(w.sm, ctx.region, p["ModelPackageName"]))


def filter_package_type(items, kind):
    """Rule: without a group, ListModelPackages lists only unversioned packages unless
    ModelPackageType (enum Versioned | Unversioned | Both; the page writes them in capitals)
    says otherwise."""
    kind = (kind or "Unversioned").lower()
    if kind == "unversioned":
        return [pk for pk in items if pk["group"] is None]
    if kind == "versioned":
        return [pk for pk in items if pk["group"] is not None]
    return items


def list_model_packages(w, ctx, p):
    items = [pk for pk in w.sm.packages.values() if pk["region"] == ctx.region]
    if p.get("ModelPackageGroupName"):
        g = w.sm.group(ctx.region, p["ModelPackageGroupName"])
        items = [pk for pk in items if pk.get("group_arn") == g["arn"]]
    else:
        items = filter_package_type(items, p.get("ModelPackageType"))
    if p.get("ModelApprovalStatus"):
        items = [pk for pk in items if pk["approval"] == p["ModelApprovalStatus"]]
    items = paging.name_contains(items, "name", p.get("NameContains"))
    items = paging.time_window(items, "created", p.get("CreationTimeAfter"), p.get("CreationTimeBefore"))
    desc = p.get("SortOrder", "Ascending") == "Descending"
    if p.get("SortBy") == "Name":
        items = sorted(items, key=lambda pk: (pk["name"].lower(), pk["version"] or 0), reverse=desc)
    else:
        items = sorted(items, key=lambda pk: (pk["created"], pk["version"] or 0), reverse=desc)
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxResults"), 10, validation)
    out = []
    for pk in page:
        s = {"ModelPackageName": pk["name"], "ModelPackageArn": pk["arn"], "CreationTime": pk["created"],
             "ModelPackageStatus": pk["status"], "ModelApprovalStatus": pk["approval"],
             "ModelPackageDescription": pk["request"].get("ModelPackageDescription")}
        if pk["group"]:
            s.update(ModelPackageGroupName=pk["group"], ModelPackageVersion=pk["version"])
        out.append(s)
    return {"ModelPackageSummaryList": out, "NextToken": nxt}


def update_model_package(w, ctx, p):
    """UpdateModelPackage: approval status, approval description and customer metadata."""
    pk = find_package(w.sm, ctx.region, p["ModelPackageArn"])
    if p.get("ModelApprovalStatus"):
        pk["approval"] = p["ModelApprovalStatus"]
    if "ApprovalDescription" in p:
        pk["request"]["ApprovalDescription"] = p["ApprovalDescription"]
    pk["customer_metadata"].update(p.get("CustomerMetadataProperties") or {})
    for k in p.get("CustomerMetadataPropertiesToRemove") or []:
        pk["customer_metadata"].pop(k, None)
    for k in ("InferenceSpecification", "SourceUri", "ModelCard", "ModelLifeCycle"):
        if k in p:
            pk["request"][k] = p[k]
    pk["modified"] = now()
    return {"ModelPackageArn": pk["arn"]}


def delete_model_package(w, ctx, p):
    pk = find_package(w.sm, ctx.region, p["ModelPackageName"])
    del w.sm.packages[pk["arn"]]
    w.sm.tags.pop(pk["arn"], None)
    return {}
