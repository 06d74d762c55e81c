"""Tenant sessions: what the tenant role's IAM policy lets an assumed-role session do, enforced
as AWS would (AccessDenied before the service acts).

This module models `deploy/iam/tenant-role.json`, the attribute-based (ABAC) policy of the role
the controller assumes per ModelDeployment in multi-tenant mode. It does not read that file: it
encodes the rule set the policy is written to, for a session whose principal tag
`sagemaker-rollout:namespace` is N:

| calls | allowed when |
| --- | --- |
| reads: SageMaker `Describe*` / `List*`, CloudWatch `Describe*` / `List*` / `Get*` | always |
| SageMaker CreateModel, CreateEndpointConfig, CreateEndpoint, CreateInferenceComponent | the request's Tags hold `sagemaker-rollout:namespace=N` and `managed-by=sagemaker-rollout` |
| SageMaker CreateInferenceComponent | also the endpoint it is placed on carries `sagemaker-rollout:namespace=N`, or `sagemaker-rollout:hosts` listing N between colons (`:team-a:N:`) |
| SageMaker CreateEndpoint | never carries the Tags `sagemaker-rollout:adopt-by` or `sagemaker-rollout:hosts` (the other creates may: the policy's denies name only AddTags and CreateEndpoint) |
| SageMaker UpdateEndpoint, UpdateEndpointWeightsAndCapacities, DeleteEndpoint, DeleteEndpointConfig, DeleteModel, InvokeEndpoint; UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig, DeleteInferenceComponent; DeleteTags | the resource is an endpoint, endpoint config, model or inference component and carries both `sagemaker-rollout:namespace=N` and `managed-by=sagemaker-rollout` |
| SageMaker AddTags | as above, or adoption: an endpoint without a namespace tag that carries `sagemaker-rollout:adopt-by=N`, when the request sets `sagemaker-rollout:namespace=N` |
| SageMaker AddTags | never sets `sagemaker-rollout:namespace` to another value, never sets `sagemaker-rollout:adopt-by` or `sagemaker-rollout:hosts` |
| SageMaker DeleteTags | never removes `sagemaker-rollout:namespace`, `managed-by`, `sagemaker-rollout:adopt-by` or `sagemaker-rollout:hosts` |
| CloudWatch PutMetricAlarm | the request's Tags hold `sagemaker-rollout:namespace=N` |
| CloudWatch DeleteAlarms | every named alarm carries `sagemaker-rollout:namespace=N` (a missing alarm carries no tag) |
| S3 GetObject, HeadObject, PutObject, multipart calls (Create, UploadPart, Complete, Abort, ListParts), CopyObject and UploadPartCopy (their source too), DeleteObject | the key starts with `N/` |
| any other SageMaker, sagemaker-runtime, CloudWatch or S3 call (model package writes and deletes, SetAlarmState, TagResource, PutMetricData, S3 bucket calls, DeleteObjects ...) | never (no statement allows it) |

Application Auto Scaling, SNS and STS calls are outside the modelled rule set and pass (IAM cannot
tie a scalable target to the tags of the endpoint variant or inference component it scales: its
condition keys are the service namespace and the scalable dimension). A
request signed with a key AssumeRole did not issue (the default AKIDEXAMPLE) or with a session
that has no namespace tag is unrestricted (single-tenant mode). The session tag key is found
ignoring case (STS keeps keys case-insensitively); resource and request tag keys are compared
exactly and all values case-sensitively (StringEquals); a resource that does not exist carries
no tags, so a tenant changing it is refused AccessDenied, not told it is missing.

Contract: `authorize(world, call, params)` raises the service's AccessDenied error or returns
the calling session (None when unrestricted). Errors: SageMaker and sagemaker-runtime
`AccessDeniedException` (HTTP 400), CloudWatch `AccessDenied` (403, awsQuery-compatible), S3
`AccessDenied` (403 XML); the message is AWS's "User: <assumed-role ARN> is not authorized to
perform: <action> on resource: <ARN> because no identity-based policy allows the <action>
action".
"""
import cw_store
import sts_sessions
from errors import AwsError
from sm_store import ACCOUNT, arn as sm_arn

NAMESPACE_TAG = "sagemaker-rollout:namespace"
ADOPT_BY_TAG = "sagemaker-rollout:adopt-by"
HOSTS_TAG = "sagemaker-rollout:hosts"
MANAGED_BY = ("managed-by", "sagemaker-rollout")
# Keys only an administrator sets: an offer to adopt an endpoint, the namespaces an endpoint hosts.
OFFER_KEYS = (ADOPT_BY_TAG, HOSTS_TAG)
# Keys a tenant never removes.
PROTECTED_KEYS = (NAMESPACE_TAG, MANAGED_BY[0]) + OFFER_KEYS

SM_CREATES = {"CreateModel": ("model", "ModelName"), "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName"),
              "CreateEndpoint": ("endpoint", "EndpointName"),
              "CreateInferenceComponent": ("inference-component", "InferenceComponentName")}
# The updates and deletes the policy's change statements allow (ChangeOnlyTheTenantsResources,
# ChangeOnlyTheTenantsComponents); AddTags, DeleteTags and InvokeEndpoint are checked on their own.
SM_CHANGES = ("UpdateEndpoint", "UpdateEndpointWeightsAndCapacities", "DeleteEndpoint", "DeleteEndpointConfig",
              "DeleteModel", "UpdateInferenceComponent", "UpdateInferenceComponentRuntimeConfig",
              "DeleteInferenceComponent")
# The resources those statements cover (the ARN's resource type).
CHANGE_KINDS = ("endpoint", "endpoint-config", "model", "inference-component")
# Name member -> ARN kind, for the resource a SageMaker call names (the component first: a call
# naming one acts on it).
SM_NAMES = (("InferenceComponentName", "inference-component"), ("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"), ("ModelName", "model"),
            ("ModelPackageGroupName", "model-package-group"), ("ModelPackageName", "model-package"))
# S3 object reads, writes, copies and deletes (operation -> IAM action); other S3 calls (bucket
# calls, batch deletes) are not allowed.
S3_OBJECT_ACTIONS = {"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
                     "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
                     "CompleteMultipartUpload": "s3:PutObject", "AbortMultipartUpload": "s3:AbortMultipartUpload",
                     "ListParts": "s3:ListMultipartUploadParts", "CopyObject": "s3:PutObject",
                     "UploadPartCopy": "s3:PutObject", "DeleteObject": "s3:DeleteObject"}
# Copies also read their source (s3:GetObject on it).
S3_COPIES = ("CopyObject", "UploadPartCopy")
S3_OTHER_ACTIONS = {"ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket",
                    "DeleteObjects": "DeleteObject"}


class Denied(Exception):
    """A rule refused the call: the IAM action and the resource ARN it was refused on."""

    def __init__(self, action, resource):
        super().__init__(f"{action} on {resource}")
        self.action = action
        self.resource = resource


def _tags(tag_list):
    return {t.get("Key"): t.get("Value", "") for t in tag_list or []}


def untagged_sessions_are_unrestricted(session):
    """Rule: a request signed with credentials AssumeRole did not issue (e.g. AKIDEXAMPLE), or by a
    session without a `sagemaker-rollout:namespace` session tag, is not restricted (single-tenant
    mode); the tenant of a session is that tag's value."""
    if session is None:
        return None
    return sts_sessions.tag(session, NAMESPACE_TAG)


def reads_are_allowed(service, op):
    """Rule: a tenant session may read: SageMaker Describe*/List* and CloudWatch
    Describe*/List*/Get* are allowed on any resource."""
    if service == "sagemaker":
        return op.startswith(("Describe", "List"))
    if service == "cloudwatch":
        return op.startswith(("Describe", "List", "Get"))
    return False


def create_needs_tenant_tags(action, resource, request_tags, ns):
    """Rule: a tenant session's CreateModel / CreateEndpointConfig / CreateEndpoint /
    CreateInferenceComponent must tag the new resource `sagemaker-rollout:namespace=<its
    namespace>` and `managed-by=sagemaker-rollout` (aws:RequestTag)."""
    tags = _tags(request_tags)
    if tags.get(NAMESPACE_TAG) != ns or tags.get(MANAGED_BY[0]) != MANAGED_BY[1]:
        raise Denied(action, resource)


def _kind(resource):
    """The resource type of a SageMaker ARN (`endpoint`, `model-package-group`, ...)."""
    return resource.split(":", 5)[-1].split("/", 1)[0]


def _tenants(resource, resource_tags, ns):
    return (_kind(resource) in CHANGE_KINDS and resource_tags.get(NAMESPACE_TAG) == ns
            and resource_tags.get(MANAGED_BY[0]) == MANAGED_BY[1])


def change_needs_tenant_resource(action, resource, resource_tags, ns):
    """Rule: a tenant session may update, delete, invoke, tag or untag a SageMaker resource only
    when it is an endpoint, endpoint config, model or inference component carrying both
    `sagemaker-rollout:namespace=<its namespace>` and `managed-by=sagemaker-rollout`
    (aws:ResourceTag): the namespace tag alone, or another resource type (a model package group),
    is refused; a missing resource carries no tag."""
    if not _tenants(resource, resource_tags, ns):
        raise Denied(action, resource)


def component_endpoint_hosts_tenant(action, endpoint, endpoint_tags, ns):
    """Rule: a tenant session's CreateInferenceComponent is also authorized against the endpoint
    it is placed on, which must carry `sagemaker-rollout:namespace=<its namespace>` or
    `sagemaker-rollout:hosts` whose value lists the namespace between colons (`:team-a:ml-prod:`,
    StringLike `*:<namespace>:*`, so `:ml-prod-x:` does not admit `ml-prod`); a missing endpoint
    carries no tag."""
    if endpoint_tags.get(NAMESPACE_TAG) == ns:
        return
    if f":{ns}:" not in endpoint_tags.get(HOSTS_TAG, ""):
        raise Denied(action, endpoint)


def add_tags_never_sets_other_namespace(action, resource, request_tags, ns):
    """Rule: a tenant session's AddTags may never set `sagemaker-rollout:namespace` to another
    namespace."""
    tags = _tags(request_tags)
    if NAMESPACE_TAG in tags and tags[NAMESPACE_TAG] != ns:
        raise Denied(action, resource)


def _offers(request_tags):
    return any(k in OFFER_KEYS for k in _tags(request_tags))


def add_tags_never_offers(action, resource, request_tags):
    """Rule: a tenant session's AddTags never sets `sagemaker-rollout:adopt-by` or
    `sagemaker-rollout:hosts` (aws:TagKeys): only an administrator offers an endpoint for adoption
    or to host other namespaces' inference components."""
    if _offers(request_tags):
        raise Denied(action, resource)


def create_endpoint_never_offers(action, resource, request_tags):
    """Rule: a tenant session's CreateEndpoint or CreateInferenceComponent never carries the Tags
    `sagemaker-rollout:adopt-by` or `sagemaker-rollout:hosts` (aws:TagKeys): a tenant cannot create
    an endpoint or a component already offered for adoption or shared with other namespaces (the
    policy's denies name AddTags, CreateEndpoint and CreateInferenceComponent only, so the other
    creates are not refused for them)."""
    if _offers(request_tags):
        raise Denied(action, resource)


def add_tags_own_or_adopted(action, resource, resource_tags, request_tags, ns):
    """Rule: a tenant session's AddTags needs a resource it may change (as
    `change_needs_tenant_resource`: both `sagemaker-rollout:namespace=<its namespace>` and
    `managed-by=sagemaker-rollout`), or adopts: an endpoint with no namespace tag that carries
    `sagemaker-rollout:adopt-by=<its namespace>`, when the request sets
    `sagemaker-rollout:namespace=<its namespace>`."""
    if _tenants(resource, resource_tags, ns):
        return
    adoptable = (":endpoint/" in resource and NAMESPACE_TAG not in resource_tags
                 and resource_tags.get(ADOPT_BY_TAG) == ns)
    if not (adoptable and _tags(request_tags).get(NAMESPACE_TAG) == ns):
        raise Denied(action, resource)


def delete_tags_keeps_ownership(action, resource, keys):
    """Rule: a tenant session's DeleteTags may never remove `sagemaker-rollout:namespace`,
    `managed-by`, `sagemaker-rollout:adopt-by` or `sagemaker-rollout:hosts` (aws:TagKeys)."""
    if any(k in PROTECTED_KEYS for k in keys):
        raise Denied(action, resource)


def alarm_put_needs_tenant_tag(action, resource, request_tags, ns):
    """Rule: a tenant session's PutMetricAlarm must carry Tags with
    `sagemaker-rollout:namespace=<its namespace>` (aws:RequestTag)."""
    if _tags(request_tags).get(NAMESPACE_TAG) != ns:
        raise Denied(action, resource)


def alarm_delete_needs_tenant_alarms(w, region, names, ns):
    """Rule: a tenant session's DeleteAlarms needs every named alarm to carry
    `sagemaker-rollout:namespace=<its namespace>`; one refused alarm refuses the call, and a
    missing alarm carries no tag."""
    for n in names:
        a = w.cw.alarm(region, n)
        if ((a or {}).get("tags") or {}).get(NAMESPACE_TAG) != ns:
            raise Denied("cloudwatch:DeleteAlarms", cw_store.alarm_arn(region, n))


def s3_keys_under_tenant_prefix(action, bucket, key, ns):
    """Rule: a tenant session may read, write and delete S3 objects (GetObject, HeadObject,
    PutObject, the multipart calls, CopyObject and UploadPartCopy — whose source is read — and
    DeleteObject) only under keys starting with `<its namespace>/`."""
    if not key.startswith(ns + "/"):
        raise Denied(action, f"arn:aws:s3:::{bucket}/{key}")


def other_calls_are_denied(service, op, resource):
    """Rule: a tenant session's SageMaker, sagemaker-runtime, CloudWatch or S3 call that no rule
    allows is refused (IAM's default deny: no statement allows it)."""
    raise Denied(f"{_prefix(service)}:{op}", resource)


def _prefix(service):
    return {"sagemaker-runtime": "sagemaker", "cloudwatch": "cloudwatch", "s3": "s3"}.get(service, service)


def _sm_resource(w, region, op, p):
    if p.get("ResourceArn"):
        return _resolve_arn(w, p["ResourceArn"])
    for member, kind in SM_NAMES:
        v = p.get(member)
        if isinstance(v, str) and v:
            return v if v.startswith("arn:") else sm_arn(region, kind, v)
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:*"


def _resolve_arn(w, resource_arn):
    """The stored ARN (SageMaker lower-cases the name part), else the ARN as given."""
    head, _, tail = resource_arn.rpartition("/")
    for cand in (resource_arn, f"{head}/{tail.lower()}"):
        if cand in w.sm.tags or w.sm.resource_exists(cand):
            return cand
    return resource_arn


def _sagemaker(w, call, p, ns):
    op = call.operation
    action = f"sagemaker:{op}"
    if reads_are_allowed("sagemaker", op):
        return
    if op in SM_CREATES:
        kind, member = SM_CREATES[op]
        created = sm_arn(call.region, kind, p.get(member) or "")
        create_needs_tenant_tags(action, created, p.get("Tags"), ns)
        if op in ("CreateEndpoint", "CreateInferenceComponent"):
            create_endpoint_never_offers(action, created, p.get("Tags"))
        if op == "CreateInferenceComponent":
            endpoint = sm_arn(call.region, "endpoint", p.get("EndpointName") or "")
            component_endpoint_hosts_tenant(action, endpoint, w.sm.tags.get(endpoint, {}), ns)
        return
    resource = _sm_resource(w, call.region, op, p)
    rtags = w.sm.tags.get(resource, {})
    if op == "AddTags":
        add_tags_never_sets_other_namespace(action, resource, p.get("Tags"), ns)
        add_tags_never_offers(action, resource, p.get("Tags"))
        add_tags_own_or_adopted(action, resource, rtags, p.get("Tags"), ns)
        return
    if op == "DeleteTags":
        change_needs_tenant_resource(action, resource, rtags, ns)
        delete_tags_keeps_ownership(action, resource, p.get("TagKeys") or [])
        return
    if op in SM_CHANGES:
        change_needs_tenant_resource(action, resource, rtags, ns)
        return
    other_calls_are_denied("sagemaker", op, resource)


def _runtime(w, call, p, ns):
    resource = sm_arn(call.region, "endpoint", p.get("EndpointName") or "")
    if call.operation == "InvokeEndpoint":
        change_needs_tenant_resource("sagemaker:InvokeEndpoint", resource, w.sm.tags.get(resource, {}), ns)
        return
    other_calls_are_denied("sagemaker-runtime", call.operation, resource)


def _cloudwatch(w, call, p, ns):
    op = call.operation
    if reads_are_allowed("cloudwatch", op):
        return
    if op == "PutMetricAlarm":
        alarm_put_needs_tenant_tag("cloudwatch:PutMetricAlarm", cw_store.alarm_arn(call.region, p.get("AlarmName", "")),
                                   p.get("Tags"), ns)
        return
    if op == "DeleteAlarms":
        alarm_delete_needs_tenant_alarms(w, call.region, p.get("AlarmNames") or [], ns)
        return
    name = p.get("AlarmName") or p.get("ResourceARN") or "*"
    other_calls_are_denied("cloudwatch", op, name if name.startswith("arn:") else cw_store.alarm_arn(call.region, name))


def _s3(w, call, p, ns):
    op = call.operation
    bucket, key = p.get("Bucket") or "", p.get("Key")
    if op in S3_OBJECT_ACTIONS and key is not None:
        s3_keys_under_tenant_prefix(S3_OBJECT_ACTIONS[op], bucket, key, ns)
        if op in S3_COPIES:
            from urllib.parse import unquote
            source = unquote(str(p.get("CopySource") or "")).lstrip("/").split("?", 1)[0]
            src_bucket, _, src_key = source.partition("/")
            s3_keys_under_tenant_prefix("s3:GetObject", src_bucket, src_key, ns)
        return
    other_calls_are_denied("s3", S3_OTHER_ACTIONS.get(op, op),
                           f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else ""))


CHECKS = {"sagemaker": _sagemaker, "sagemaker-runtime": _runtime, "cloudwatch": _cloudwatch, "s3": _s3}


def denied_error(service, session, action, resource):
    """AWS's AccessDenied for `service`, naming the session's assumed-role ARN."""
    who = session.get("arn") or session.get("access_key_id")
    res = f'"{resource}"' if service == "s3" else resource
    msg = (f"User: {who} is not authorized to perform: {action} on resource: {res} "
           f"because no identity-based policy allows the {action} action")
    if service in ("sagemaker", "sagemaker-runtime"):
        return AwsError("AccessDeniedException", msg, status=400)
    return AwsError("AccessDenied", msg, status=403)


def authorize(w, call, params):
    """Raises AccessDenied when the tenant rules refuse the call; returns the session or None."""
    session = sts_sessions.session_of(w, getattr(call, "access_key", None))
    ns = untagged_sessions_are_unrestricted(session)
    if ns is None:
        return session
    check = CHECKS.get(call.service)
    if check is None:
        return session
    try:
        check(w, call, params if isinstance(params, dict) else {}, ns)
    except Denied as d:
        raise denied_error(call.service, session, d.action, d.resource)
    return session
