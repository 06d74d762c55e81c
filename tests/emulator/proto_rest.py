"""REST protocols (restJson1 for sagemaker-runtime, restXml for S3): operation matching,
input decoding and error encoding.

Contract: `match_operation(service, method, path, query)` picks the modeled operation whose
HTTP method, URI template and literal query keys fit (an `x-id` query parameter, as the Rust
SDK sends for S3, names it directly; otherwise the candidate with the most required query and
header members present wins). `decode(service, op, path, query, headers, body, xml)` returns
the input as a member-name dict (URI labels, query, headers, prefix headers, payload, body
members) for validation. `restjson_error` / `restxml_error` render AwsError.
"""
import json
import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import shapes
from errors import SerializationError

_templates = {}


def _compile(uri):
    path, _, q = uri.partition("?")
    rx = ""
    labels = []
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            labels.append(name)
            rx += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            rx += re.escape(part)
    if rx.endswith(r"(?P<Bucket>[^/]+)"):
        rx += "/?"
    literals = {}
    for item in filter(None, q.split("&")):
        k, _, v = item.partition("=")
        literals[k] = v if "=" in item else None
    return re.compile(rx + r"\Z"), literals


def _candidates(service):
    if service not in _templates:
        rows = []
        for name, op in shapes.model(service)["operations"].items():
            http = op.get("http", {})
            rx, lits = _compile(http.get("requestUri", "/"))
            rows.append((name, http.get("method", "POST"), rx, lits))
        _templates[service] = rows
    return _templates[service]


def _required_located(service, op):
    s = shapes.input_shape(service, op)
    members = s.get("members", {})
    q, h = [], []
    for r in s.get("required", []):
        m = members.get(r, {})
        if m.get("location") == "querystring":
            q.append(m.get("locationName", r))
        elif m.get("location") == "header":
            h.append(m.get("locationName", r).lower())
    return q, h


def match_operation(service, method, path, query, headers):
    """The operation name for this REST request, or None."""
    raw_path = path
    xid = query.get("x-id")
    best, best_score = None, -1
    for name, m, rx, lits in _candidates(service):
        if m != method or not rx.match(raw_path):
            continue
        if xid:
            if name == xid:
                return name
            continue
        if any(k not in query or (v is not None and query.get(k) != v) for k, v in lits.items()):
            continue
        rq, rh = _required_located(service, name)
        if any(k not in query for k in rq) or any(k not in headers for k in rh):
            continue
        score = 10 * len(lits) + len(rq) + len(rh)
        if score > best_score:
            best, best_score = name, score
    return best


def _scalar(s, text):
    t = s["type"]
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
        if t == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
    except ValueError:
        raise SerializationError(f"Cannot convert '{text}' to {t}")
    return text


def decode(service, op, path, query, headers, body, xml=False):
    """Input member dict of a REST request (see module doc)."""
    o = shapes.operation(service, op)
    s = shapes.input_shape(service, op)
    members = s.get("members", {})
    rx, _ = _compile(o.get("http", {}).get("requestUri", "/"))
    m = rx.match(path)
    labels = {k: urllib.parse.unquote(v) for k, v in (m.groupdict() if m else {}).items()}
    out = {}
    bound_query = set()
    for name, mref in members.items():
        loc = mref.get("location")
        ms = shapes.shape(service, mref["shape"])
        lname = mref.get("locationName", name)
        if loc == "uri" and lname in labels:
            out[name] = _scalar(ms, labels[lname])
        elif loc == "querystring" and ms["type"] != "map":
            if lname in query:
                bound_query.add(lname)
                if ms["type"] == "list":
                    inner = shapes.shape(service, ms["member"]["shape"])
                    out[name] = [_scalar(inner, x) for x in query.getlist(lname)]
                else:
                    out[name] = _scalar(ms, query.get(lname))
        elif loc == "header":
            v = headers.get(lname.lower())
            if v is not None:
                if ms["type"] == "list":
                    inner = shapes.shape(service, ms["member"]["shape"])
                    out[name] = [_scalar(inner, x.strip()) for x in v.split(",")]
                else:
                    out[name] = _scalar(ms, v)
        elif loc == "headers":
            prefix = lname.lower()
            vals = {k[len(prefix):]: v for k, v in headers.items() if k.lower().startswith(prefix)}
            if vals:
                out[name] = vals
    for name, mref in members.items():
        ms = shapes.shape(service, mref["shape"])
        if mref.get("location") == "querystring" and ms["type"] == "map":
            rest = {k: query.get(k) for k in query.keys() if k not in bound_query and k != "x-id"}
            if rest:
                out[name] = rest
    payload = s.get("payload")
    if payload:
        ps = shapes.shape(service, members[payload]["shape"])
        if ps["type"] == "blob":
            if body:
                out[payload] = body
        elif ps["type"] == "string":
            if body:
                out[payload] = body.decode("utf-8", "replace")
        elif body:
            out[payload] = _xml_body(service, members[payload]["shape"], body) if xml else _json_body(body)
    elif body and not xml:
        doc = _json_body(body)
        for name, mref in members.items():
            if "location" not in mref and name in doc:
                out[name] = doc[name]
    return out


def _json_body(body):
    try:
        return json.loads(body)
    except ValueError as e:
        raise SerializationError(f"Malformed JSON body: {e}")


def _strip(tag):
    return tag.rsplit("}", 1)[-1]


def _xml_value(service, sname, el):
    s = shapes.shape(service, sname)
    t = s["type"]
    if t == "structure":
        out = {}
        children = list(el)
        for name, mref in s.get("members", {}).items():
            ms = shapes.shape(service, mref["shape"])
            loc = mref.get("locationName", name)
            if ms["type"] == "list" and ms.get("flattened"):
                items = [c for c in children if _strip(c.tag) == loc]
                if items:
                    out[name] = [_xml_value(service, ms["member"]["shape"], c) for c in items]
                continue
            found = [c for c in children if _strip(c.tag) == loc]
            if not found:
                continue
            if ms["type"] == "list":
                out[name] = [_xml_value(service, ms["member"]["shape"], c) for c in found[0]]
            else:
                out[name] = _xml_value(service, mref["shape"], found[0])
        return out
    if t == "list":
        return [_xml_value(service, s["member"]["shape"], c) for c in el]
    if t == "map":
        return {}
    return _scalar(s, el.text or "")


def _xml_body(service, sname, body):
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise SerializationError(f"MalformedXML: {e}")
    return _xml_value(service, sname, root)


def request_id():
    return str(uuid.uuid4())


def restjson_error(err):
    """(status, headers, body) of an AwsError in restJson1 (sagemaker-runtime)."""
    body = {"ErrorCode": err.code, "Message": err.message, "message": err.message}
    body.update(err.fields)
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": f"{err.code}:http://internal.amazon.com/coral/com.amazon.sagemaker/",
        "x-amzn-RequestId": request_id(),
    }
    return err.status, headers, json.dumps(body).encode()


def _esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def restxml_error(err):
    """(status, headers, body) of an AwsError in S3's XML error form."""
    rid = request_id()
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{_esc(err.code)}</Code>'
            f"<Message>{_esc(err.message)}</Message><RequestId>{rid}</RequestId></Error>")
    return err.status, {"Content-Type": "application/xml", "x-amz-request-id": rid}, body.encode()
