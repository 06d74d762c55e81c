"""Validates a decoded request against the operation's input shape in the AWS service model.

Contract: `check(service, op, params)` returns a list of violations (dicts with path,
constraint, value, message), in AWS's message style: lower-camel member paths, 1-based list
indices followed by `.member`. `message(violations)` builds "N validation error(s) detected:
...; ...". Checks: required, type, string/blob length, list/map length, numeric range, enum,
pattern, union (exactly one member).

Pattern semantics: AWS services match a constraint pattern against the WHOLE value (Java
`matches`), although Smithy calls patterns unanchored: AWS rejected '"smart-dcb-messages"'
for `[a-zA-Z0-9_.-]+` (aws/aws-cli#790) and 'serverlessTest.-dev' for
`[a-zA-Z][-a-zA-Z0-9]*|arn:...` (serverless/serverless#2036), which a substring search would
accept. PATTERN_FULL_MATCH switches to search semantics if ever needed.
"""
import base64
import sys

import regex

import shapes

PATTERN_FULL_MATCH = True
_compiled = {}


def _java_to_python(pattern):
    """Rewrites Java-only syntax: UTF-16 surrogate pairs (\\uD800\\uDC00) become code points."""
    def pair(m):
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return "\\U%08X" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    return regex.sub(r"\\u(D[89AB][0-9A-Fa-f]{2})\\u(D[C-Fc-f][0-9A-Fa-f]{2})", pair, pattern)


def _regex(pattern):
    """The compiled Java-style pattern, or None when it cannot be compiled (then not enforced)."""
    if pattern not in _compiled:
        try:
            _compiled[pattern] = regex.compile(_java_to_python(pattern), regex.V0)
        except regex.error as e:
            print(f"emulator: pattern not enforced (cannot compile {pattern!r}: {e})", file=sys.stderr)
            _compiled[pattern] = None
    return _compiled[pattern]


def pattern_ok(pattern, value):
    """Rule: a string satisfies a model pattern only when the WHOLE value matches (see module doc)."""
    r = _regex(pattern)
    if r is None:
        return True
    return bool(r.fullmatch(value) if PATTERN_FULL_MATCH else r.search(value))


def render(v):
    """A value as AWS prints it in a validation message."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "'" + ("true" if v else "false") + "'"
    if isinstance(v, (bytes, bytearray)):
        return "'java.nio.HeapByteBuffer'"
    if isinstance(v, list):
        return "'[" + ", ".join(str(x) for x in v) + "]'"
    if isinstance(v, dict):
        return "'{" + ", ".join(f"{k}={x}" for k, x in v.items()) + "}'"
    return f"'{v}'"


def _lc(name):
    return name[:1].lower() + name[1:]


def _join(prefix, name):
    return f"{prefix}.{_lc(name)}" if prefix else _lc(name)


class _Checker:
    def __init__(self, service):
        self.service = service
        self.out = []

    def add(self, path, constraint, value, text):
        self.out.append({
            "path": path, "constraint": constraint, "value": value if not isinstance(value, bytes) else "<blob>",
            "message": f"Value {render(value) if constraint != 'required' else 'null'} at '{path}' failed to satisfy constraint: {text}",
        })

    def scalar_problems(self, s, v):
        """Constraint texts violated by scalar value v of shape s (used for map keys/values too)."""
        t = s["type"]
        probs = []
        if t == "string":
            if not isinstance(v, str):
                return [("type", "Member must be of type string")]
            if "enum" in s and v not in s["enum"]:
                probs.append(("enum", "Member must satisfy enum value set: [" + ", ".join(s["enum"]) + "]"))
            if "min" in s and len(v) < s["min"]:
                probs.append(("length", f"Member must have length greater than or equal to {s['min']}"))
            if "max" in s and len(v) > s["max"]:
                probs.append(("length", f"Member must have length less than or equal to {s['max']}"))
            if "pattern" in s and not pattern_ok(s["pattern"], v):
                probs.append(("pattern", f"Member must satisfy regular expression pattern: {s['pattern']}"))
        elif t in ("integer", "long"):
            if isinstance(v, bool) or not isinstance(v, int):
                return [("type", f"Member must be of type {t}")]
            probs += self.range_problems(s, v)
        elif t in ("float", "double"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return [("type", f"Member must be of type {t}")]
            probs += self.range_problems(s, v)
        elif t == "boolean":
            if not isinstance(v, bool):
                return [("type", "Member must be of type boolean")]
        elif t == "timestamp":
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                return [("type", "Member must be of type timestamp")]
        elif t == "blob":
            if isinstance(v, str):
                try:
                    v = base64.b64decode(v, validate=True)
                except Exception:
                    return [("type", "Member must be of type blob (base64)")]
            if not isinstance(v, (bytes, bytearray)):
                return [("type", "Member must be of type blob")]
            if "min" in s and len(v) < s["min"]:
                probs.append(("length", f"Member must have length greater than or equal to {s['min']}"))
            if "max" in s and len(v) > s["max"]:
                probs.append(("length", f"Member must have length less than or equal to {s['max']}"))
        return probs

    @staticmethod
    def range_problems(s, v):
        probs = []
        if "min" in s and v < s["min"]:
            probs.append(("range", f"Member must have value greater than or equal to {s['min']}"))
        if "max" in s and v > s["max"]:
            probs.append(("range", f"Member must have value less than or equal to {s['max']}"))
        return probs

    def value(self, sname, v, path):
        s = shapes.shape(self.service, sname)
        t = s["type"]
        if t == "structure":
            self.structure(s, v, path)
        elif t == "list":
            if not isinstance(v, list):
                self.add(path, "type", v, "Member must be of type list")
                return
            self.length(s, v, path)
            for i, item in enumerate(v):
                ipath = f"{path}.{i + 1}.member"
                if item is None:
                    continue
                self.value(s["member"]["shape"], item, ipath)
        elif t == "map":
            if not isinstance(v, dict):
                self.add(path, "type", v, "Member must be of type map")
                return
            self.length(s, v, path)
            self.map_entries(s, v, path)
        elif t == "document":
            return
        else:
            for constraint, text in self.scalar_problems(s, v):
                self.add(path, constraint, v, text)

    def length(self, s, v, path):
        if "min" in s and len(v) < s["min"]:
            self.add(path, "length", v, f"Member must have length greater than or equal to {s['min']}")
        if "max" in s and len(v) > s["max"]:
            self.add(path, "length", v, f"Member must have length less than or equal to {s['max']}")

    def map_entries(self, s, v, path):
        ks = shapes.shape(self.service, s["key"]["shape"])
        vname = s["value"]["shape"]
        vs = shapes.shape(self.service, vname)
        key_probs, val_probs = [], []
        for k, x in v.items():
            key_probs += [t for _, t in self.scalar_problems(ks, k)]
            if vs["type"] in ("structure", "list", "map"):
                self.value(vname, x, f"{path}.{k}")
            elif x is not None:
                val_probs += [t for _, t in self.scalar_problems(vs, x)]
        if key_probs:
            self.add(path, "mapKey", v, "Map keys must satisfy constraint: [" + ", ".join(dict.fromkeys(key_probs)) + "]")
        if val_probs:
            self.add(path, "mapValue", v, "Map value must satisfy constraint: [" + ", ".join(dict.fromkeys(val_probs)) + "]")

    def structure(self, s, v, path):
        if not isinstance(v, dict):
            self.add(path, "type", v, "Member must be of type structure")
            return
        members = s.get("members", {})
        for req in s.get("required", []):
            if v.get(req) is None:
                self.add(_join(path, req), "required", None, "Member must not be null")
        if s.get("union"):
            present = [k for k in members if v.get(k) is not None]
            if len(present) != 1:
                self.add(path or "input", "union", v, "Member must have exactly one member set")
        for name, mv in v.items():
            if name in members and mv is not None:
                self.value(members[name]["shape"], mv, _join(path, name))


def check(service, op, params):
    """Violations of `params` (member-name dict) against `op`'s input shape in `service`'s model."""
    c = _Checker(service)
    c.structure(shapes.input_shape(service, op), params if params is not None else {}, "")
    return c.out


def message(violations):
    """AWS's combined message: '1 validation error detected: ...' / 'N validation errors detected: ...; ...'."""
    n = len(violations)
    head = f"{n} validation error{'s' if n != 1 else ''} detected: "
    return head + "; ".join(v["message"] for v in violations)
