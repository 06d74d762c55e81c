"""SageMaker tagging: AddTags, DeleteTags, ListTags and the tag rules shared by the Create* calls.

Contract: `apply_tags(sm, arn, tags)` enforces the rules then upserts; handlers take
(world, ctx, params) and return the output dict. ListTags works for any stored ARN
(endpoint, endpoint-config, model, model-package, model-package-group), paginated.
"""
import paging
from errors import validation

MAX_TAGS_PER_RESOURCE = 50


def refuse_reserved_tag_keys(tags):
    """Rule: tag keys starting with "aws:" are reserved for AWS and are refused."""
    bad = [t["Key"] for t in tags if t.get("Key", "").lower().startswith("aws:")]
    if bad:
        raise validation(f"Tag keys {bad} are invalid: the prefix 'aws:' is reserved for AWS use.")


def upsert_tags(existing, tags):
    """Rule: AddTags upserts by key (a key already present gets the new value, no duplicate)."""
    merged = dict(existing)
    for t in tags:
        merged[t["Key"]] = t.get("Value", "")
    return merged


def enforce_tag_limit(merged, arn):
    """Rule: a resource carries at most 50 tags after the upsert."""
    if len(merged) > MAX_TAGS_PER_RESOURCE:
        raise validation(
            f"Tags could not be added to {arn}: a resource can have at most {MAX_TAGS_PER_RESOURCE} tags "
            f"(the result would have {len(merged)}).")


def apply_tags(sm, arn, tags):
    """Validates and upserts `tags` (a Tag list) onto `arn`."""
    tags = tags or []
    refuse_reserved_tag_keys(tags)
    merged = upsert_tags(sm.tags.get(arn, {}), tags)
    enforce_tag_limit(merged, arn)
    sm.tags[arn] = merged


def tag_list(sm, arn):
    return [{"Key": k, "Value": v} for k, v in sm.tags.get(arn, {}).items()]


def resolve_tagged_arn(sm, resource_arn):
    """Rule: tag operations need the ARN of an existing endpoint, endpoint config, model, model
    package or model package group."""
    if sm.resource_exists(resource_arn):
        return resource_arn
    head, _, tail = resource_arn.rpartition(":")
    lowered = f"{head}:{tail.lower()}"
    if sm.resource_exists(lowered):
        return lowered
    raise validation(f'Could not find resource "{resource_arn}".')


def add_tags(w, ctx, p):
    arn = resolve_tagged_arn(w.sm, p["ResourceArn"])
    apply_tags(w.sm, arn, p["Tags"])
    return {"Tags": p["Tags"]}


def delete_tags(w, ctx, p):
    """Rule: DeleteTags removes the given keys (absent keys are ignored)."""
    arn = resolve_tagged_arn(w.sm, p["ResourceArn"])
    cur = w.sm.tags.get(arn, {})
    for k in p["TagKeys"]:
        cur.pop(k, None)
    w.sm.tags[arn] = cur
    return {}


def list_tags(w, ctx, p):
    arn = resolve_tagged_arn(w.sm, p["ResourceArn"])
    items, nxt = paging.page(tag_list(w.sm, arn), p.get("NextToken"), p.get("MaxResults"), 50, validation)
    return {"Tags": items, "NextToken": nxt}
