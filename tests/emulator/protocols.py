"""Per-protocol request decoding and response/error encoding, chosen by Call.protocol.

Contract: `decode(call, req, body)` -> member dict (raises SerializationError);
`ok(call, out)` / `error(call, err)` -> (status, headers dict, body bytes); `validation_error`,
`throttling_error`, `server_error`, `unknown_operation_error` build the AwsError each
service answers for those cases (codes as the SDKs see them).
"""
import json
import urllib.parse

import proto_cbor
import proto_query
import proto_rest
import render
import shapes
from errors import AwsError, SerializationError

VALIDATION_CODE = {"sagemaker": "ValidationException", "application-autoscaling": "ValidationException",
                   "sagemaker-runtime": "ValidationError", "cloudwatch": "ValidationError",
                   "sns": "ValidationError", "sts": "ValidationError", "s3": "InvalidArgument"}


def _lower_headers(req):
    return {k.lower(): v for k, v in req.headers.items()}


def decode(call, req, body):
    p = call.protocol
    if p == "json":
        try:
            v = json.loads(body) if body and body.strip() else {}
        except ValueError as e:
            raise SerializationError(f"Malformed JSON request body: {e}")
        if not isinstance(v, dict):
            raise SerializationError("The request body must be a JSON object.")
        return v
    if p == "cbor":
        try:
            v = proto_cbor.decode(body)
        except (ValueError, UnicodeDecodeError, IndexError) as e:
            raise SerializationError(f"Malformed CBOR request body: {e}")
        if not isinstance(v, dict):
            raise SerializationError("The request body must be a CBOR map.")
        return v
    if p == "restjson":
        return proto_rest.decode("sagemaker-runtime", call.operation, req.path, req.args, _lower_headers(req), body)
    if p == "restxml":
        return proto_rest.decode("s3", call.operation, req.path, req.args, _lower_headers(req), body, xml=True)
    if p == "query":
        flat = dict(proto_query.params(req.args))
        if body and "x-www-form-urlencoded" in req.headers.get("Content-Type", ""):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            flat.update({k: v[0] for k, v in form.items()})
        return proto_query.decode(call.service, call.operation, flat)
    return {}


def _rest_ok(service, op, out):
    s = shapes.output_shape(service, op)
    headers, body = {}, b""
    for name, mref in s.get("members", {}).items():
        v = out.get(name)
        if v is None:
            continue
        if mref.get("location") == "header":
            headers[mref["locationName"]] = str(v)
        elif name == s.get("payload"):
            body = v if isinstance(v, (bytes, bytearray)) else str(v).encode()
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/octet-stream"
    headers["x-amzn-RequestId"] = proto_rest.request_id()
    return 200, headers, bytes(body)


def ok(call, out):
    if call.protocol == "json":
        return render.json_ok(call.service, call.operation, out, call.version)
    if call.protocol == "cbor":
        return render.cbor_ok(call.service, call.operation, out)
    if call.protocol == "restjson":
        return _rest_ok(call.service, call.operation, out)
    raise AssertionError(f"no encoder for {call.protocol}")


def error(call, err):
    p = call.protocol
    if p == "json":
        return render.json_error(call.service, err, call.version or "1.1")
    if p == "cbor":
        return render.cbor_error(call.service, err)
    if p == "restjson":
        return proto_rest.restjson_error(err)
    if p == "restxml":
        return proto_rest.restxml_error(err)
    if p == "query":
        return proto_query.error(call.service, err)
    body = json.dumps({"__type": err.code, "message": err.message}).encode()
    return err.status, {"Content-Type": "application/json"}, body


def validation_error(call, message):
    return AwsError(VALIDATION_CODE.get(call.service, "ValidationException"), message)


def throttling_error(call):
    if call.service == "s3":
        return AwsError("SlowDown", "Please reduce your request rate.", status=503, sender=False, injected=True)
    code = "Throttling" if call.protocol == "query" or call.service == "cloudwatch" else "ThrottlingException"
    return AwsError(code, "Rate exceeded", status=400, injected=True)


def server_error(call, status):
    if status == 503:
        return AwsError("ServiceUnavailable", "Service is unavailable. Please try again later.", status=503,
                        sender=False, injected=True)
    code = {"s3": "InternalError", "cloudwatch": "InternalServiceError"}.get(call.service, "InternalFailure")
    return AwsError(code, "We encountered an internal error. Please try again.", status=500, sender=False, injected=True)


def unknown_operation_error(call, modeled):
    name = call.raw_operation or "<none>"
    if modeled:
        msg = f"The emulator does not implement {call.service} operation {name}."
    else:
        msg = f"{call.service} has no operation {name} (not in the AWS service model)."
    if call.protocol == "query":
        return AwsError("InvalidAction", msg)
    if call.protocol == "restxml":
        return AwsError("InvalidRequest", msg)
    return AwsError("UnknownOperationException", msg)
