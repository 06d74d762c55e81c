#!/usr/bin/env python3
"""The values table of the chart's README, generated from values.yaml.

Every value in charts/sagemaker-rollout/values.yaml carries a helm-docs style description:

    # -- What it does (may continue on the following comment lines).
    # @default -- what to show instead of the literal default (optional)
    key: value

A mapping documented as a whole (`# --` above `resources:`) is one row whose default is the
whole mapping; otherwise its keys are documented one by one. Comments that do not start with
`# --` (section notes) are not part of any description.

    python3 scripts/chart-readme.py           # print the table
    python3 scripts/chart-readme.py --write   # replace the table in the chart's README.md
    python3 scripts/chart-readme.py --check   # exit 1 if README.md differs or a value is undocumented

The table goes between `<!-- values:start -->` and `<!-- values:end -->`. Standard library
only: values.yaml is read line by line (block mappings and lists, flow `[]`/`{}` and
scalars, literal blocks), which is all the chart's values use.
"""

import argparse
import difflib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "charts", "sagemaker-rollout")
START = "<!-- values:start -->"
END = "<!-- values:end -->"

KEY = re.compile(r"""^(?P<indent> *)(?P<key>[A-Za-z_$][A-Za-z0-9_.$/-]*|"[^"]*"|'[^']*'):(?:[ \t]+(?P<value>.*?))?[ \t]*$""")


class ValuesError(Exception):
    pass


# --- a small YAML reader for the subset values files use -------------------------------------


def strip_comment(text):
    """`text` without a trailing ` # comment` outside quotes."""
    quote = None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def scalar(text):
    t = text.strip()
    if t == "" or t in ("~", "null", "Null", "NULL"):
        return None
    if t[0] == '"':
        return json.loads(t)
    if t[0] == "'":
        return t[1:-1].replace("''", "'")
    if t in ("true", "True", "TRUE"):
        return True
    if t in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", t):
        return int(t)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", t):
        return float(t)
    return t


def flow(text):
    """A flow collection (`[a, "b"]`, `{k: v}`) or a scalar."""
    value, rest = _flow(text.strip(), 0)
    if text.strip()[rest:].strip():
        raise ValuesError(f"cannot read {text!r}")
    return value


def _flow(s, i):
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] in "[{":
        close = "]" if s[i] == "[" else "}"
        out = [] if close == "]" else {}
        i += 1
        while True:
            while i < len(s) and s[i] in " ,":
                i += 1
            if i >= len(s):
                raise ValuesError(f"unclosed {s!r}")
            if s[i] == close:
                return out, i + 1
            if close == "]":
                v, i = _flow(s, i)
                out.append(v)
            else:
                k, i = _flow_scalar(s, i, ":")
                if i >= len(s) or s[i] != ":":
                    raise ValuesError(f"expected ':' in {s!r}")
                v, i = _flow(s, i + 1)
                out[k] = v
    return _flow_scalar(s, i, ",]}")


def _flow_scalar(s, i, stops):
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] in "\"'":
        q = s[i]
        j = i + 1
        while j < len(s):
            if s[j] == "\\" and q == '"':
                j += 2
                continue
            if s[j] == q:
                if q == "'" and j + 1 < len(s) and s[j + 1] == "'":
                    j += 2
                    continue
                break
            j += 1
        return scalar(s[i : j + 1]), j + 1
    j = i
    while j < len(s) and s[j] not in stops:
        j += 1
    return scalar(s[i:j]), j


def inline(text):
    t = strip_comment(text)
    if t.startswith(("[", "{")):
        return flow(t)
    return scalar(t)


def parse_block(lines, indent):
    """The node made of `lines` (no blank or comment lines), each indented at least `indent`."""
    if not lines:
        return None
    first = lines[0]
    ind = len(first) - len(first.lstrip(" "))
    if first.lstrip().startswith("- ") or first.strip() == "-":
        items, cur = [], None
        for line in lines:
            li = len(line) - len(line.lstrip(" "))
            if li == ind and (line.lstrip().startswith("- ") or line.strip() == "-"):
                if cur is not None:
                    items.append(cur)
                cur = [line]
            else:
                cur.append(line)
        items.append(cur)
        out = []
        for item in items:
            head = item[0]
            rest = head.lstrip()[1:]
            body_indent = ind + 1 + (len(rest) - len(rest.lstrip(" ")))
            rest = rest.strip()
            if not rest:
                out.append(parse_block(item[1:], body_indent))
            elif KEY.match(" " * body_indent + rest) or rest.startswith("- ") or rest == "-":
                out.append(parse_block([" " * body_indent + rest] + item[1:], body_indent))
            else:
                out.append(inline(rest))
        return out
    out = {}
    i = 0
    while i < len(lines):
        m = KEY.match(lines[i])
        if not m or len(m.group("indent")) != ind:
            raise ValuesError(f"cannot read line {lines[i]!r}")
        key = m.group("key")
        if key[0] in "\"'":
            key = scalar(key)
        value = strip_comment(m.group("value") or "")
        j = i + 1
        while j < len(lines):
            lj = lines[j]
            li = len(lj) - len(lj.lstrip(" "))
            if li > ind or (li == ind and lj.lstrip().startswith("-") and not value):
                j += 1
            else:
                break
        body = lines[i + 1 : j]
        if value[:1] in ("|", ">"):
            out[key] = literal(body, value)
        elif value:
            out[key] = inline(value)
        else:
            out[key] = parse_block(body, ind + 1)
        i = j
    return out


def literal(body, style):
    body = list(body)
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return ""
    ind = min(len(l) - len(l.lstrip(" ")) for l in body if l.strip())
    text = [l[ind:] if l.strip() else "" for l in body]
    joined = "\n".join(text) if style[0] == "|" else " ".join(t.strip() for t in text)
    return joined if style[1:2] == "-" else joined + "\n"


# --- values.yaml: keys, their descriptions and their blocks -----------------------------------


LITERAL_HEAD = re.compile(r"^(?P<lead> *(?:- +)*)[^#]*?:[ \t]+[|>][-+]?[ \t]*(#.*)?$")


def literal_lines(raw):
    """Which lines are the text of a literal block (`key: |`): their `#` lines are text, and
    their blank lines are given the block's indent so that they stay inside it."""
    out = [False] * len(raw)
    fixed = list(raw)
    column = None
    for n, line in enumerate(raw):
        ind = len(line) - len(line.lstrip(" "))
        if column is not None:
            if not line.strip() or ind > column:
                out[n] = True
                if not line.strip():
                    fixed[n] = " " * (column + 1)
                continue
            column = None
        m = LITERAL_HEAD.match(line)
        if m:
            column = len(m.group("lead"))
    # Trailing blank lines belong to no block.
    for n in range(len(raw) - 1, -1, -1):
        if out[n] and not raw[n].strip():
            out[n], fixed[n] = False, raw[n]
        elif out[n] or raw[n].strip():
            break
    return out, fixed


def read_values(path):
    """[(path, description or None, @default or None, default, is_mapping_with_keys)]."""
    raw = open(path, encoding="utf-8").read().split("\n")
    is_text, lines = literal_lines(raw)
    entries = []
    stack = []  # (indent, key)
    desc, default_override = None, None
    list_indent = None  # the indent of the list whose items are being read
    for n, line in enumerate(lines):
        if is_text[n]:
            continue
        stripped = line.strip()
        ind = len(line) - len(line.lstrip(" "))
        if not stripped:
            desc, default_override = None, None
            continue
        if stripped.startswith("#"):
            text = stripped[1:].strip()
            if text.startswith("-- ") or text == "--":
                desc, default_override = [text[2:].strip()], None
            elif text.startswith("@default --"):
                if desc is None:
                    raise ValuesError(f"values.yaml:{n + 1}: @default without a `# --` description")
                default_override = text[len("@default --") :].strip()
            elif desc is not None:
                desc.append(text)
            continue
        desc_here, override_here = desc, default_override
        desc, default_override = None, None
        if list_indent is not None and ind > list_indent:
            continue  # inside a list item: part of its list's default
        list_indent = None
        if stripped.startswith("-"):
            list_indent = ind
            continue
        m = KEY.match(line)
        if not m:
            continue
        while stack and stack[-1][0] >= ind:
            stack.pop()
        key = m.group("key")
        if key[0] in "\"'":
            key = scalar(key)
        stack.append((ind, key))
        value = strip_comment(m.group("value") or "")
        # The key's block: deeper lines, or a list at the key's own indent.
        block = []
        for k in range(n + 1, len(lines)):
            later = lines[k]
            ls = later.strip()
            li = len(later) - len(later.lstrip(" "))
            if is_text[k]:
                block.append(later)
            elif not ls or ls.startswith("#"):
                continue
            elif li > ind or (li == ind and ls.startswith("-") and not value):
                block.append(later)
            else:
                break
        if value[:1] in ("|", ">"):
            default = literal(block, value)
        elif value:
            default = inline(value)
        else:
            default = parse_block(block, ind + 1)
        has_keys = not value and bool(block) and not block[0].lstrip().startswith("-")
        entries.append(
            (
                ".".join(k for _, k in stack),
                " ".join(d for d in desc_here if d) if desc_here is not None else None,
                override_here,
                default,
                has_keys,
            )
        )
    return entries


def type_of(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return "null"


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table(values_path):
    entries = read_values(values_path)
    documented = [p for p, d, _, _, _ in entries if d is not None]
    undocumented = []
    rows = []
    for path, desc, override, default, has_keys in entries:
        covered = any(path.startswith(p + ".") for p in documented)
        if desc is None:
            if not has_keys and not covered:
                undocumented.append(path)
            continue
        if override is not None:
            shown = override
        else:
            shown = "`" + json.dumps(default, ensure_ascii=False, separators=(",", ":")) + "`"
        rows.append(f"| `{path}` | {type_of(default)} | {cell(shown)} | {cell(desc)} |")
    if undocumented:
        raise ValuesError(
            "values without a `# --` description in values.yaml:\n  " + "\n  ".join(undocumented)
        )
    head = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


def splice(readme, generated):
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise ValuesError(f"the README needs one {START} and one {END}")
    before, rest = readme.split(START)
    _, after = rest.split(END)
    return before + START + "\n" + generated + END + after


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail when README.md is not up to date")
    mode.add_argument("--write", action="store_true", help="rewrite the table in README.md")
    ap.add_argument("--chart", default=CHART, help="the chart directory")
    args = ap.parse_args()
    values = os.path.join(args.chart, "values.yaml")
    readme_path = os.path.join(args.chart, "README.md")
    try:
        generated = table(values)
        if not (args.check or args.write):
            sys.stdout.write(generated)
            return 0
        readme = open(readme_path, encoding="utf-8").read()
        wanted = splice(readme, generated)
    except (ValuesError, OSError, ValueError) as e:
        print(f"chart-readme: {e}", file=sys.stderr)
        return 2
    if args.write:
        if wanted != readme:
            open(readme_path, "w", encoding="utf-8").write(wanted)
        return 0
    if wanted != readme:
        diff = difflib.unified_diff(
            readme.splitlines(True), wanted.splitlines(True), "README.md", "generated"
        )
        sys.stderr.write("".join(diff))
        print(
            "chart-readme: the values table of charts/sagemaker-rollout/README.md is out of date: "
            "run python3 scripts/chart-readme.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
