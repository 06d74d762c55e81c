"""The WSGI application: routes control calls, applies faults, decodes, validates against the
service model, dispatches to the emulated services or moto, encodes, and logs every request.

Contract: `application(environ, start_response)`. Every AWS request is logged (seq, time,
service, operation, status, error_code, injected, target, principal). A service-model
violation answers 400 in
the service's protocol and is recorded in the violations log. Unknown or unimplemented
operations answer 400; an unexpected exception (emulator or moto) answers 400
`EmulatorInternalError`, recorded at GET /_emulator/errors; moto 5xx become 400 too, so SDKs
never retry an emulator defect as a transient failure. After validation, AssumeRole is checked
against the session rules the model lacks (`sts_sessions`) and every call against the tenant
rules of the session that signed it (`tenancy`: AccessDenied before the service acts); a
successful AssumeRole is recorded per issued access key.
"""
import re
import socket
import time
import traceback

from werkzeug.wrappers import Request, Response

import control
import identify
import moto_forward
import protocols
import proto_query
import sns_publish
import shapes
import sts_sessions
import tenancy
import validate
from errors import AwsError, SerializationError
from handlers import HANDLERS
from world import WORLD


def _drop(environ):
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionResetError("emulator fault injection: connection dropped")


def _record_error(call, exc):
    WORLD.errors.append({"time": time.time(), "service": call.service, "operation": call.raw_operation,
                         "error": repr(exc), "traceback": traceback.format_exc()})


def _moto(call, req, body, params):
    status, headers, data = moto_forward.forward(call.service, req.environ, body)
    if status >= 500:
        raise AwsError("EmulatorInternalError", f"moto answered HTTP {status} for {call.service} "
                                                f"{call.operation}: {data[:300]!r}")
    if call.service == "sns" and call.operation == "Publish" and status == 200:
        WORLD.sns_published.append({"time": time.time(), "region": call.region, **{k: v for k, v in params.items()}})
    keep_length = req.method == "HEAD"
    hdrs = {k: v for k, v in headers
            if k.lower() != "access-control-allow-origin" and (keep_length or k.lower() != "content-length")}
    return status, hdrs, data


def _error_code_of(call, status, headers, data):
    if status < 300:
        return None
    if call.protocol in ("restxml", "query"):
        text = data.decode("utf-8", "replace")
        i = text.find("<Code>")
        return text[i + 6:text.find("</Code>")] if i >= 0 else str(status)
    return None


_TARGET_KEYS = ("EndpointName", "EndpointConfigName", "ModelName", "ModelPackageName",
                "ModelPackageGroupName", "ResourceArn", "ResourceId", "AlarmNames", "NameContains",
                "RoleSessionName")


def _target(params):
    """The resource a request names, for the request log (the first key present)."""
    if not isinstance(params, dict):
        return None
    for k in _TARGET_KEYS:
        v = params.get(k)
        if v:
            return ",".join(map(str, v)) if isinstance(v, list) else str(v)
    return None


def process(call, req, body):
    """(status, headers, body, error_code) of one AWS request, faults aside."""
    with WORLD.lock:
        WORLD.tick()
        call.principal = (sts_sessions.session_of(WORLD, call.access_key) or {}).get("arn")
        try:
            if call.operation is None:
                raise protocols.unknown_operation_error(call, modeled=False)
            params = protocols.decode(call, req, body)
            call.target = _target(params)
            violations = validate.check(call.service, call.operation, params)
            if violations:
                for v in violations:
                    WORLD.violations.add(call.service, call.operation, v)
                raise protocols.validation_error(call, validate.message(violations))
            if call.service == "sns" and call.operation == "Publish":
                sns_publish.check(call, params)
            assume_role = call.service == "sts" and call.operation == "AssumeRole"
            if assume_role:
                sts_sessions.check_assume_role(params)
            tenancy.authorize(WORLD, call, params)
            moved = call.service == "s3" and moto_forward.redirect_other_region(call, req.path)
            if moved:
                status, headers, data = moved
                if req.method == "HEAD":
                    data = b""
                return status, headers, data, "PermanentRedirect"
            stale = call.service == "s3" and moto_forward.copy_source_if_match(call, params)
            if stale:
                return (*stale, "PreconditionFailed")
            if call.service in moto_forward.MOTO_SERVICES:
                status, headers, data = _moto(call, req, body, params)
                if assume_role and status == 200:
                    data = sts_sessions.record(WORLD, call, params, data)
                    headers.pop("Content-Length", None)
                return status, headers, data, _error_code_of(call, status, headers, data)
            handler = HANDLERS.get(call.service, {}).get(call.operation)
            if handler is None:
                raise protocols.unknown_operation_error(call, modeled=True)
            out = handler(WORLD, call, params)
            status, headers, data = protocols.ok(call, out)
            return status, headers, data, None
        except AwsError as e:
            err = e
        except SerializationError as e:
            err = AwsError("SerializationException", str(e))
        except Exception as e:
            _record_error(call, e)
            err = AwsError("EmulatorInternalError", f"emulator error in {call.service} {call.raw_operation}: {e!r}")
        status, headers, data = protocols.error(call, err)
        return status, headers, data, err.code


_VHOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.(?P<host>localhost(?::\d+)?)$")


def path_style(environ):
    """Rewrites a virtual-hosted S3 request (<bucket>.localhost) to path style (/<bucket>/<key>)."""
    m = _VHOST.match(environ.get("HTTP_HOST", ""))
    if not m:
        return
    prefix = "/" + m.group("bucket")

    def rewrite(p):
        return prefix + (p[1:] if p == "/" or p.startswith("/?") else p)
    environ["PATH_INFO"] = rewrite(environ.get("PATH_INFO") or "/")
    for k in ("RAW_URI", "REQUEST_URI"):
        if environ.get(k):
            environ[k] = rewrite(environ[k])
    environ["HTTP_HOST"] = m.group("host")


def application(environ, start_response):
    path_style(environ)
    req = Request(environ)
    if req.path.startswith("/_emulator/") or req.path == "/_emulator":
        return control.handle(WORLD, req)(environ, start_response)
    body = req.get_data(cache=True)
    call = identify.identify(req, body)
    if call.service is None:
        resp = Response('{"__type":"UnknownServiceException","message":"cannot tell which AWS service this request is for"}',
                        status=400, content_type="application/json")
        WORLD.requests.add(None, call.raw_operation, 400, "UnknownServiceException")
        return resp(environ, start_response)
    with WORLD.lock:
        latency, action = WORLD.faults.decide(call.service, call.raw_operation)
    if latency:
        time.sleep(latency)
    if action == "drop":
        WORLD.requests.add(call.service, call.raw_operation, None, "ConnectionDropped", True)
        _drop(environ)
    if action:
        err = protocols.throttling_error(call) if action == "throttle" else protocols.server_error(call, 500 if action == "error500" else 503)
        status, headers, data = protocols.error(call, err)
        code, injected = err.code, True
    else:
        status, headers, data, code = process(call, req, body)
        injected = False
    WORLD.requests.add(call.service, call.raw_operation, status, code, injected, getattr(call, "target", None),
                       getattr(call, "principal", None))
    resp = Response(data, status=status)
    resp.headers.clear()
    for k, v in headers.items():
        resp.headers[k] = v
    if "Content-Length" not in resp.headers or req.method != "HEAD":
        resp.headers["Content-Length"] = str(len(data))
    return resp(environ, start_response)


_ = (shapes, proto_query)
