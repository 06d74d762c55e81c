"""Response encoders for the JSON-bodied protocols: awsJson1_0/1_1 and Smithy RPC v2 CBOR.

Contract: `json_ok(service, op, value, version)` / `cbor_ok(service, op, value)` shape the
handler's dict by the output shape and encode it; `json_error` / `cbor_error` render an
AwsError. CloudWatch is awsQueryCompatible: its errors carry the modeled shape in `__type`
and the query code in `x-amzn-query-error: <Code>;Sender|Receiver`, so SDKs report the
query code (ResourceNotFound, InvalidParameterValue, ValidationError, Throttling ...).
"""
import json
import uuid

import proto_cbor
import shaping
import shapes

_UNMODELED = {
    "Throttling": "com.amazon.coral.availability#ThrottlingException",
    "ThrottlingException": "com.amazon.coral.availability#ThrottlingException",
    "InternalFailure": "com.amazon.coral.service#InternalFailure",
    "ServiceUnavailable": "com.amazon.coral.availability#ServiceUnavailableException",
    "ValidationError": "com.amazon.coral.validate#ValidationException",
    "UnknownOperationException": "com.amazon.coral.service#UnknownOperationException",
    "SerializationException": "com.amazon.coral.service#SerializationException",
    "AccessDenied": "com.amazon.coral.service#AccessDeniedException",
}


def _rid():
    return str(uuid.uuid4())


def json_ok(service, op, value, version="1.1"):
    body = shaping.shape_output(service, op, value, "json")
    return 200, {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": _rid()}, json.dumps(body).encode()


def _query_compatible_type(service, code):
    """(__type, x-amzn-query-error) for an awsQueryCompatible service error code."""
    matches = [name for name, s in shapes.model(service)["shapes"].items()
               if s.get("exception") and (s.get("error", {}).get("code") or name) == code]
    for preferred in [code, code + "Exception", code + "Fault"] + matches:
        if preferred in matches:
            return f"com.amazonaws.{service}#{preferred}", code
    return _UNMODELED.get(code, code), code


def modeled_status(service, err):
    """The modeled httpStatusCode of err's shape (e.g. CloudWatch ResourceNotFound is 404), else err.status."""
    if err.injected:
        return err.status
    t, _ = _query_compatible_type(service, err.code)
    s = shapes.model(service)["shapes"].get(t.rsplit("#", 1)[-1], {})
    return s.get("error", {}).get("httpStatusCode", err.status) if s.get("exception") else err.status


def json_error(service, err, version="1.1"):
    headers = {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": _rid()}
    if shapes.model(service)["metadata"].get("awsQueryCompatible") is not None:
        t, q = _query_compatible_type(service, err.code)
        headers["x-amzn-query-error"] = f"{q};{'Sender' if err.sender else 'Receiver'}"
    else:
        t = err.code
        headers["x-amzn-ErrorType"] = err.code
    body = {"__type": t, "message": err.message}
    body.update(err.fields)
    return modeled_status(service, err), headers, json.dumps(body).encode()


def cbor_ok(service, op, value):
    """An operation without an output shape answers an empty body (Smithy RPC v2 CBOR)."""
    headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": _rid()}
    if not (shapes.operation(service, op) or {}).get("output"):
        return 200, headers, b""
    return 200, headers, proto_cbor.encode(shaping.shape_output(service, op, value, "cbor"))


def cbor_error(service, err):
    t, q = _query_compatible_type(service, err.code)
    body = {"__type": t, "message": err.message}
    body.update(err.fields)
    headers = {
        "Content-Type": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-RequestId": _rid(),
        "x-amzn-query-error": f"{q};{'Sender' if err.sender else 'Receiver'}",
    }
    return modeled_status(service, err), headers, proto_cbor.encode(body)
