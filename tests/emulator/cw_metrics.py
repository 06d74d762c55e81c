"""CloudWatch metric data: PutMetricData, GetMetricData, ListMetrics.

Contract: PutMetricData stores samples per (region, namespace, metric name, dimension set):
single Values, Values/Counts arrays, or StatisticValues sets. GetMetricData buckets the
samples of each MetricStat query into Period-aligned buckets (epoch multiples of Period)
within [StartTime, EndTime) and computes SampleCount, Sum, Average, Minimum, Maximum and pNN
(nearest rank over raw values; statistic sets contribute to all but percentiles). Metric
math: Expression may only be arithmetic (+ - * / and parentheses) over other query ids and
numbers, evaluated per common timestamp; anything else (functions, SEARCH, Insights queries)
answers StatusCode InternalError with a message naming the limit.
"""
import ast
import math
import operator
import time

import paging
from errors import AwsError


def _key(region, ns, name, dims):
    return (region, ns, name, frozenset((d["Name"], d["Value"]) for d in (dims or [])))


def refuse_aws_namespace(ns):
    """Rule: PutMetricData refuses namespaces starting with "AWS/" (reserved for AWS services)."""
    if ns.startswith("AWS/"):
        raise AwsError("InvalidParameterValue", f"The value {ns} for parameter Namespace is invalid: the AWS/ prefix is reserved.")


def one_value_form(m):
    """Rule: a datum carries Value, or Values (+Counts), or StatisticValues, never two of them."""
    forms = [k for k in ("Value", "Values", "StatisticValues") if m.get(k) is not None]
    if len(forms) > 1:
        raise AwsError("InvalidParameterCombination", f"The parameters MetricData.member.{forms[0]} and {forms[1]} are mutually exclusive.")
    if m.get("Counts") is not None and len(m["Counts"]) != len(m.get("Values") or []):
        raise AwsError("InvalidParameterValue", "The Values and Counts arrays must have the same length.")


def put_metric_data(w, ctx, p):
    refuse_aws_namespace(p["Namespace"])
    for m in p.get("MetricData") or []:
        one_value_form(m)
    for m in p.get("MetricData") or []:
        ts = paging.epoch(m.get("Timestamp")) or time.time()
        rec = {"ts": ts, "unit": m.get("Unit", "None")}
        if m.get("StatisticValues"):
            rec["stats"] = m["StatisticValues"]
        elif m.get("Values") is not None:
            counts = m.get("Counts") or [1.0] * len(m["Values"])
            rec["values"] = list(zip(m["Values"], counts))
        else:
            rec["values"] = [(m.get("Value", 0.0), 1.0)]
        w.cw.metrics.setdefault(_key(ctx.region, p["Namespace"], m["MetricName"], m.get("Dimensions")), []).append(rec)
    return {}


def compute_stat(stat, samples):
    """One statistic over the samples of a bucket, or None when it cannot be computed."""
    raw = [(v, c) for s in samples for v, c in s.get("values", [])]
    sets = [s["stats"] for s in samples if "stats" in s]
    n = sum(c for _, c in raw) + sum(x["SampleCount"] for x in sets)
    total = sum(v * c for v, c in raw) + sum(x["Sum"] for x in sets)
    mins = [v for v, _ in raw] + [x["Minimum"] for x in sets]
    maxs = [v for v, _ in raw] + [x["Maximum"] for x in sets]
    if stat == "SampleCount":
        return float(n)
    if n == 0:
        return None
    if stat == "Sum":
        return float(total)
    if stat == "Average":
        return total / n
    if stat == "Minimum":
        return float(min(mins))
    if stat == "Maximum":
        return float(max(maxs))
    if stat.startswith("p"):
        try:
            q = float(stat[1:])
        except ValueError:
            return None
        expanded = sorted(v for v, c in raw for _ in range(max(1, int(round(c)))))
        if not expanded:
            return None
        rank = max(1, math.ceil(q / 100.0 * len(expanded)))
        return float(expanded[min(rank, len(expanded)) - 1])
    return None


def period_fits_age(start, period, now=None):
    """Rule: GetMetricData returns no data points for a MetricStat period that does not fit
    its StartTime's age: whole minutes past 3 hours, whole 5 minutes past 15 days, whole hours
    past 63 days (CW-23)."""
    age = (now if now is not None else time.time()) - start
    step = 3600 if age > 63 * 86400 else 300 if age > 15 * 86400 else 60 if age > 3 * 3600 else 1
    return period % step == 0


def _metric_series(w, region, q, start, end):
    ms = q["MetricStat"]
    met = ms["Metric"]
    period = ms["Period"]
    if not period_fits_age(start, period):
        return {}
    samples = w.cw.metrics.get(_key(region, met.get("Namespace"), met.get("MetricName"), met.get("Dimensions")), [])
    buckets = {}
    for s in samples:
        if not (start <= s["ts"] < end):
            continue
        if ms.get("Unit") and s["unit"] != ms["Unit"]:
            continue
        buckets.setdefault(math.floor(s["ts"] / period) * period, []).append(s)
    out = {}
    for t, group in buckets.items():
        v = compute_stat(ms["Stat"], group)
        if v is not None:
            out[t] = v
    return out


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _eval(node, env):
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, env)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        a, b = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Div) and b == 0:
            return None if a is None else float("nan")
        return None if a is None or b is None else _OPS[type(node.op)](a, b)
    raise ValueError("unsupported")


def _expression_series(expr, series):
    tree = ast.parse(expr, mode="eval")
    ids = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not ids <= set(series):
        raise ValueError("unknown id")
    stamps = set.intersection(*(set(series[i]) for i in ids)) if ids else set()
    out = {}
    for t in stamps:
        v = _eval(tree, {i: series[i][t] for i in ids})
        if v is not None and not math.isnan(v):
            out[t] = v
    return out


def get_metric_data(w, ctx, p):
    start, end = paging.epoch(p["StartTime"]), paging.epoch(p["EndTime"])
    series, results, status = {}, [], {}
    queries = p["MetricDataQueries"]
    for q in queries:
        if q.get("MetricStat"):
            series[q["Id"]] = _metric_series(w, ctx.region, q, start, end)
    for q in queries:
        if q.get("Expression") is not None:
            try:
                series[q["Id"]] = _expression_series(q["Expression"], series)
            except (SyntaxError, ValueError, KeyError):
                series[q["Id"]] = {}
                status[q["Id"]] = ("InternalError", "The emulator evaluates only arithmetic (+ - * /) over query ids "
                                                    f"and numbers; cannot evaluate {q['Expression']!r}.")
    descending = p.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    for q in queries:
        if not q.get("ReturnData", True):
            continue
        s = series.get(q["Id"], {})
        stamps = sorted(s, reverse=descending)
        code, msg = status.get(q["Id"], ("Complete", None))
        r = {"Id": q["Id"], "Label": q.get("Label") or (q["MetricStat"]["Metric"]["MetricName"] if q.get("MetricStat") else q["Id"]),
             "Timestamps": stamps, "Values": [s[t] for t in stamps], "StatusCode": code}
        if msg:
            r["Messages"] = [{"Code": "Unsupported", "Value": msg}]
        results.append(r)
    return {"MetricDataResults": results, "Messages": []}


def list_metrics(w, ctx, p):
    out = []
    for (region, ns, name, dims) in w.cw.metrics:
        if region != ctx.region or (p.get("Namespace") and ns != p["Namespace"]) or (p.get("MetricName") and name != p["MetricName"]):
            continue
        want = {(d["Name"], d.get("Value")) for d in p.get("Dimensions") or []}
        if any(not any(n == dn and (v is None or v == dv) for dn, dv in dims) for n, v in want):
            continue
        out.append({"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": n, "Value": v} for n, v in sorted(dims)]})
    page, nxt = paging.page(out, p.get("NextToken"), None, 500, lambda m: AwsError("InvalidNextToken", m))
    return {"Metrics": page, "NextToken": nxt}
