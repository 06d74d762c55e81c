"""Control API under /_emulator/ (never subject to faults, never logged as an AWS request).

Contract: `handle(world, req)` -> werkzeug Response. Routes:
GET health | GET/DELETE violations | GET/DELETE requests | GET requests/summary |
GET/POST faults | GET/POST config | POST alarm-state | POST fail-next-update |
POST invoke-results | GET state | POST reset | GET errors | GET response-issues |
GET sessions (the STS sessions AssumeRole issued, with their tags).
Bad input answers 400 {"error": ...}; unknown routes 404.
"""
import json

from werkzeug.wrappers import Response

import shaping
import sm_runtime
import state_dump
import sts_sessions
from world import DEFAULT_SETTINGS

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def _json(v, status=200):
    return Response(json.dumps(v, default=str), status=status, content_type="application/json")


class BadRequest(Exception):
    pass


def _body(req):
    raw = req.get_data()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"body is not JSON: {e}")


def _config(w, b):
    unknown = set(b) - set(DEFAULT_SETTINGS)
    if unknown:
        raise BadRequest(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
    for k, v in b.items():
        if not isinstance(v, (int, float)) or v < 0:
            raise BadRequest(f"{k} must be a non-negative number")
        w.settings[k] = float(v)
    return w.settings


def _alarm_state(w, b):
    region = b.get("region", "us-east-1")
    name, state = b.get("name"), b.get("state")
    if state not in STATES:
        raise BadRequest(f"state must be one of {STATES}")
    if w.cw.alarm(region, name) is None:
        return None
    w.tick()
    w.cw.set_state(region, name, state, b.get("reason") or f"Set by the emulator control API to {state}")
    w.tick()
    return {"name": name, "state": state}


def _fail_next(w, b):
    if not b.get("endpoint"):
        raise BadRequest("endpoint is required")
    region = b.get("region", "us-east-1")
    w.sm.fail_next[w.sm.key(region, b["endpoint"])] = b.get("reason") or "Emulated failure: the endpoint update failed."
    return {"armed": b["endpoint"]}


def _invoke_results(w, b):
    rows = b if isinstance(b, list) else b.get("results", [b]) if isinstance(b, dict) else None
    if rows is None:
        raise BadRequest("expected an object or a list of objects")
    for r in rows:
        if not r.get("endpoint"):
            raise BadRequest("endpoint is required")
        body = r.get("body", "")
        if not isinstance(body, str):
            body = json.dumps(body)
        sm_runtime.queue_reply(w, r.get("region", "us-east-1"), r["endpoint"], r.get("variant"),
                               {"status": int(r.get("status", 200)), "body": body,
                                "content_type": r.get("content_type", "application/json")})
    return {"queued": len(rows)}


def handle(w, req):
    route = req.path[len("/_emulator/"):].strip("/")
    m = req.method
    try:
        with w.lock:
            if route == "health":
                return _json({"ok": True})
            if route == "violations":
                if m == "DELETE":
                    w.violations.clear()
                return _json(w.violations.entries())
            if route == "requests":
                if m == "DELETE":
                    w.requests.clear()
                    return _json([])
                return _json(w.requests.entries())
            if route == "requests/summary":
                return _json(w.requests.summary())
            if route == "errors":
                return _json(w.errors)
            if route == "sessions" and m == "GET":
                return _json(sts_sessions.sessions(w))
            if route == "response-issues":
                return _json(shaping.ISSUES)
            if route == "faults":
                if m == "POST":
                    w.faults.configure(_body(req))
                return _json(w.faults.spec)
            if route == "config":
                if m == "POST":
                    return _json(_config(w, _body(req)))
                return _json(w.settings)
            if route == "alarm-state" and m == "POST":
                out = _alarm_state(w, _body(req))
                return _json(out) if out else _json({"error": "no such alarm"}, 404)
            if route == "service-metrics" and m == "POST":
                return _json(_service_metrics(w, _body(req)))
            if route == "fail-next-update" and m == "POST":
                return _json(_fail_next(w, _body(req)))
            if route == "invoke-results" and m == "POST":
                return _json(_invoke_results(w, _body(req)))
            if route == "state":
                w.tick()
                return _json(state_dump.dump(w))
            if route == "reset" and m == "POST":
                w.reset()
                shaping.ISSUES.clear()
                return _json({"reset": True})
    except (BadRequest, ValueError, TypeError) as e:
        return _json({"error": str(e)}, 400)
    return _json({"error": f"no control route {m} /_emulator/{route}"}, 404)


def _service_metrics(w, b):
    """What an AWS service publishes (PutMetricData refuses AWS/ namespaces, CW-12): one datum
    {region?, namespace, metric, dimensions: {name: value}, values: [...], timestamp?}."""
    import time as _time
    import cw_metrics
    dims = [{"Name": k, "Value": v} for k, v in b.get("dimensions", {}).items()]
    key = cw_metrics._key(b.get("region", "us-east-1"), b["namespace"], b["metric"], dims)
    rec = {"ts": b.get("timestamp", _time.time()), "unit": b.get("unit", "None"),
           "values": [(float(v), 1.0) for v in b["values"]]}
    w.cw.metrics.setdefault(key, []).append(rec)
    return {"stored": len(b["values"])}
