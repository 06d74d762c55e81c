"""awsQuery protocol (SNS, STS): decodes form parameters into a member dict and renders errors.

Contract: `params(req_form)` flattens the form into a plain dict; `decode(service, op, flat)`
rebuilds the input structure along the shape (lists as `Name.member.N` or flattened
`Name.N`, maps as `Name.entry.N.key/value` with modeled location names, scalars converted
by type) for validation; `error(service, err)` renders `<ErrorResponse>` XML.
"""
import base64
import uuid

import shapes
from errors import SerializationError

_MISSING = object()


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
        if t == "blob":
            return base64.b64decode(text)
    except ValueError:
        raise SerializationError(f"Cannot convert '{text}' to {t}")
    return text


def _has_prefix(flat, key):
    p = key + "."
    return key in flat or any(k.startswith(p) for k in flat)


def _value(service, sname, key, flat, flattened_ctx=False):
    s = shapes.shape(service, sname)
    t = s["type"]
    if t == "structure":
        out = {}
        for name, mref in s.get("members", {}).items():
            loc = mref.get("locationName", name)
            v = _value(service, mref["shape"], f"{key}.{loc}" if key else loc, flat)
            if v is not _MISSING:
                out[name] = v
        if key and not out and not _has_prefix(flat, key):
            return _MISSING
        return out
    if t == "list":
        if key in flat and flat[key] == "":
            return []
        if not _has_prefix(flat, key):
            return _MISSING
        mloc = s["member"].get("locationName", "member")
        base = key if s.get("flattened") else f"{key}.{mloc}"
        items, i = [], 1
        while _has_prefix(flat, f"{base}.{i}"):
            items.append(_value(service, s["member"]["shape"], f"{base}.{i}", flat))
            i += 1
        return items
    if t == "map":
        if not _has_prefix(flat, key):
            return _MISSING
        kloc = s["key"].get("locationName", "key")
        vloc = s["value"].get("locationName", "value")
        base = key if s.get("flattened") else f"{key}.entry"
        out, i = {}, 1
        while _has_prefix(flat, f"{base}.{i}"):
            k = flat.get(f"{base}.{i}.{kloc}")
            v = _value(service, s["value"]["shape"], f"{base}.{i}.{vloc}", flat)
            if k is not None:
                out[k] = None if v is _MISSING else v
            i += 1
        return out
    if key not in flat:
        return _MISSING
    return _scalar(s, flat[key])


def params(form):
    """A plain {name: value} dict of the form (first value of each name)."""
    return {k: form.get(k) for k in form.keys()}


def decode(service, op, flat):
    """The input structure of `op` from flattened query parameters."""
    o = shapes.operation(service, op)
    if not o or not o.get("input"):
        return {}
    v = _value(service, o["input"]["shape"], "", flat)
    return {} if v is _MISSING else v


def _esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error(service, err):
    """(status, headers, body) of an AwsError as awsQuery XML."""
    ns = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}.get(service, "")
    rid = str(uuid.uuid4())
    kind = "Sender" if err.sender else "Receiver"
    body = (f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{_esc(err.code)}</Code>'
            f"<Message>{_esc(err.message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
    return err.status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body.encode()
