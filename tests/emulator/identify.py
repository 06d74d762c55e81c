"""Identifies the AWS service, protocol, operation and region of an incoming request.

Contract: `identify(req, body)` -> Call(service, protocol, operation, region, version) where
service is a shapes.SERVICES key or None. Evidence, in order: the CloudWatch RPC v2 CBOR path
`/service/GraniteServiceVersion20100801/operation/<Op>`; `X-Amz-Target` (SageMaker.*,
AnyScaleFrontendService.*, GraniteServiceVersion20100801.* for awsJson1_0); the
sagemaker-runtime paths `/endpoints/<name>/...` (signed as "sagemaker"); the SigV4 credential
scope service (s3, sns, sts, monitoring); the awsQuery `Action`. Region comes from the
credential scope (default us-east-1). Operation None means "not modeled / not recognised".
`access_key` is the access key id the request is signed with (SigV4 `Credential=<AKID>/...` in
the Authorization header, or a presigned URL's X-Amz-Credential), None when unsigned.
"""
import re
import urllib.parse

import proto_rest
import shapes

_AKID = re.compile(r"Credential=([^/,\s]+)/")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_CBOR = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z0-9]+)$")
_TARGETS = {"SageMaker": "sagemaker", "AnyScaleFrontendService": "application-autoscaling",
            "GraniteServiceVersion20100801": "cloudwatch"}
_SCOPE_SERVICES = {"s3": "s3", "sns": "sns", "sts": "sts", "monitoring": "cloudwatch",
                   "application-autoscaling": "application-autoscaling"}


class Call:
    def __init__(self, service=None, protocol=None, operation=None, region="us-east-1", version=None):
        self.service = service
        self.protocol = protocol
        self.operation = operation
        self.region = region
        self.version = version
        self.raw_operation = operation
        self.access_key = None


def access_key(req):
    """The access key id the request is signed with, or None."""
    m = _AKID.search(req.headers.get("Authorization", ""))
    if m:
        return m.group(1)
    cred = req.args.get("X-Amz-Credential")
    return cred.split("/", 1)[0] if cred else None


def _scope(req):
    auth = req.headers.get("Authorization", "") or req.args.get("X-Amz-Credential", "")
    m = _SCOPE.search(auth)
    if m:
        return m.group(1), m.group(2)
    cred = req.args.get("X-Amz-Credential")
    if cred:
        parts = cred.split("/")
        if len(parts) >= 4:
            return parts[2], parts[3]
    return "us-east-1", None


def _query_action(req, body):
    if req.args.get("Action"):
        return req.args.get("Action")
    if body and "x-www-form-urlencoded" in req.headers.get("Content-Type", ""):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return (form.get("Action") or [None])[0]
    return None


def _modeled(service, op):
    return op if op and shapes.operation(service, op) else None


def identify(req, body):
    call = _identify(req, body)
    call.access_key = access_key(req)
    return call


def _identify(req, body):
    region, scope_service = _scope(req)
    path = req.path
    m = _CBOR.match(path)
    if m:
        c = Call("cloudwatch", "cbor", m.group(1), region)
        c.operation = _modeled("cloudwatch", m.group(1))
        return c
    target = req.headers.get("X-Amz-Target")
    if target and "." in target:
        prefix, op = target.split(".", 1)
        service = _TARGETS.get(prefix)
        if service:
            version = "1.0" if service == "cloudwatch" else "1.1"
            c = Call(service, "json", op, region, version)
            c.operation = _modeled(service, op)
            return c
    if path.startswith("/endpoints/") and scope_service in (None, "sagemaker"):
        headers = {k.lower(): v for k, v in req.headers.items()}
        op = proto_rest.match_operation("sagemaker-runtime", req.method, path, req.args, headers)
        c = Call("sagemaker-runtime", "restjson", op, region)
        c.raw_operation = op or f"{req.method} {path}"
        return c
    service = _SCOPE_SERVICES.get(scope_service)
    if service in ("sns", "sts") or (service is None and _query_action(req, body)):
        action = _query_action(req, body)
        if service is None:
            service = "sts" if action and shapes.operation("sts", action) else "sns"
        c = Call(service, "query", action, region)
        c.operation = _modeled(service, action)
        return c
    if service == "cloudwatch":
        c = Call("cloudwatch", "query", _query_action(req, body), region)
        c.operation = None
        return c
    if service in ("s3", None):
        headers = {k.lower(): v for k, v in req.headers.items()}
        op = proto_rest.match_operation("s3", req.method, path, req.args, headers)
        c = Call("s3", "restxml", op, region)
        c.raw_operation = op or f"{req.method} {path}"
        return c
    return Call(None, None, None, region)
