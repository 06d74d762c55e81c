"""Shapes handler output by the operation's output shape before encoding.

Contract: `shape_output(service, op, value, mode)` walks `value` along the modeled output
shape: timestamps (stored as epoch floats) become floats ("json") or CBOR tag-1 values
("cbor"), blobs base64 (json) or bytes (cbor), floats/doubles floats, integers ints.
Members the model does not have are dropped and recorded in ISSUES (readable at
GET /_emulator/response-issues): an emulator bug, since AWS never sends them.
"""
import base64
import datetime

import proto_cbor
import shapes

ISSUES = []


def _epoch(v):
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    return float(v)


def _walk(service, sname, v, mode, path):
    s = shapes.shape(service, sname)
    t = s["type"]
    if v is None:
        return None
    if t == "structure":
        members = s.get("members", {})
        out = {}
        for k, x in v.items():
            if x is None:
                continue
            if k not in members:
                if len(ISSUES) < 1000:
                    ISSUES.append({"service": service, "path": f"{path}.{k}", "shape": sname})
                continue
            out[k] = _walk(service, members[k]["shape"], x, mode, f"{path}.{k}")
        return out
    if t == "list":
        return [_walk(service, s["member"]["shape"], x, mode, f"{path}[]") for x in v]
    if t == "map":
        return {k: _walk(service, s["value"]["shape"], x, mode, f"{path}{{}}") for k, x in v.items()}
    if t == "timestamp":
        e = _epoch(v)
        return proto_cbor.Timestamp(e) if mode == "cbor" else e
    if t == "blob":
        b = v.encode() if isinstance(v, str) else bytes(v)
        return b if mode == "cbor" else base64.b64encode(b).decode()
    if t in ("float", "double"):
        return float(v)
    if t in ("integer", "long"):
        return int(v)
    return v


def shape_output(service, op, value, mode="json"):
    """`value` restricted to and typed by the output shape of `op`."""
    o = shapes.operation(service, op)
    if not o or not o.get("output"):
        return {}
    return _walk(service, o["output"]["shape"], value or {}, mode, op)
