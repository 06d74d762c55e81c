"""sagemaker-runtime InvokeEndpoint, answered from queued replies.

Contract: `invoke_endpoint(world, ctx, params)` returns {"Body", "ContentType",
"InvokedProductionVariant"}. Replies queued by POST /_emulator/invoke-results are taken per
(endpoint, variant) first, then per endpoint; the default is 200 `{"score": 0.42}`. A reply
with status >= 400 becomes HTTP 424 ModelError with OriginalStatusCode, OriginalMessage and
LogStreamArn. Without TargetVariant the variant is chosen by smooth weighted round robin over
CurrentWeight (deterministic). Invocation counts per variant are kept for the state dump.
Errors use the runtime's modeled ValidationError code (sagemaker-runtime's error shape).
"""
from collections import deque

from errors import AwsError
from sm_store import ACCOUNT

NOT_SERVING = ("Creating", "Failed", "Deleting", "OutOfService")


def _not_found(name):
    return AwsError("ValidationError", f"Endpoint {name} of account {ACCOUNT} not found.")


def require_serving_endpoint(w, region, name):
    """Rule: InvokeEndpoint needs an existing endpoint (name matched case-sensitively) that is not
    Creating, Failed or Deleting."""
    ep = w.sm.endpoints.get(w.sm.key(region, name))
    if not ep or ep["name"] != name or ep["status"] == "Deleting":
        raise _not_found(name)
    if ep["status"] in NOT_SERVING:
        raise AwsError("ValidationError", f"Endpoint {name} of account {ACCOUNT} is not ready to serve "
                                          f"inference requests (status {ep['status']}).")
    return ep


def require_production_variant(ep, variant):
    """Rule: TargetVariant must be a production variant of the endpoint's current config."""
    if variant not in [v["VariantName"] for v in ep["variants"]]:
        raise AwsError("ValidationError", f"The variant {variant} is not a production variant of endpoint "
                                          f"{ep['name']} (variants: {[v['VariantName'] for v in ep['variants']]}).")


def _pick_variant(w, ep):
    """Smooth weighted round robin over CurrentWeight."""
    rr = w.sm.rr.setdefault(ep["arn"], {})
    total = 0.0
    best = None
    for v in ep["variants"]:
        wt = float(v.get("CurrentWeight") or 0)
        total += wt
        rr[v["VariantName"]] = rr.get(v["VariantName"], 0.0) + wt
        if best is None or rr[v["VariantName"]] > rr[best]:
            best = v["VariantName"]
    if total <= 0:
        return ep["variants"][0]["VariantName"]
    rr[best] -= total
    return best


def model_error(ep, status, body):
    """Rule: a container reply with status >= 400 is HTTP 424 ModelError carrying OriginalStatusCode,
    OriginalMessage and LogStreamArn."""
    kind = "client" if status < 500 else "server"
    region, name = ep["region"], ep["name"]
    return AwsError("ModelError", (
        f'Received {kind} error ({status}) from primary with message "{body}". See '
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group="
        f"/aws/sagemaker/Endpoints/{name} in account {ACCOUNT} for more information."),
        status=424, fields={"OriginalStatusCode": status, "OriginalMessage": body,
                            "LogStreamArn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"})


def queue_reply(w, region, endpoint, variant, reply):
    """Queues one reply for (endpoint, variant-or-None)."""
    w.sm.invoke_queues.setdefault((region, endpoint.lower(), variant), deque()).append(reply)


def _next_reply(w, ep, variant):
    for k in ((ep["region"], ep["name"].lower(), variant), (ep["region"], ep["name"].lower(), None)):
        q = w.sm.invoke_queues.get(k)
        if q:
            return q.popleft()
    return {"status": 200, "body": '{"score": 0.42}', "content_type": "application/json"}


def invoke_endpoint(w, ctx, p):
    ep = require_serving_endpoint(w, ctx.region, p["EndpointName"])
    variant = p.get("TargetVariant")
    if variant:
        require_production_variant(ep, variant)
    else:
        variant = _pick_variant(w, ep)
    counts = ep.setdefault("invocations", {})
    counts[variant] = counts.get(variant, 0) + 1
    for s in ep["shadow_variants"]:
        counts[s["VariantName"]] = counts.get(s["VariantName"], 0) + 1
    reply = _next_reply(w, ep, variant)
    status = int(reply.get("status", 200))
    body = reply.get("body", "")
    if status >= 400:
        raise model_error(ep, status, body)
    return {"Body": body.encode() if isinstance(body, str) else body,
            "ContentType": reply.get("content_type", "application/json"), "InvokedProductionVariant": variant}
