"""CloudWatch alarm operations: PutMetricAlarm, PutCompositeAlarm, DescribeAlarms, DeleteAlarms,
SetAlarmState, ListTagsForResource, TagResource, UntagResource.

Contract: handlers (world, ctx, params) -> output dict; errors use CloudWatch's query codes
(ValidationError, InvalidParameterCombination, InvalidParameterValue, ResourceNotFound,
ResourceNotFoundException, InvalidFormat). DescribeAlarms without AlarmTypes returns only
metric alarms; composite alarms only when AlarmTypes includes CompositeAlarm.
"""
import json
import re

import paging
import shapes
from errors import AwsError


def _err(code, msg):
    return AwsError(code, msg)


SINGLE_METRIC = ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit")


def metric_alarm_form(p):
    """Rule: a metric alarm names either one metric (MetricName + Namespace with exactly
    one of Statistic / ExtendedStatistic) or a Metrics list, not both: with Metrics, none of
    Namespace, MetricName, Dimensions, Period, Unit, Statistic or ExtendedStatistic. Each query
    has exactly one of Expression and MetricStat; exactly one returns data (CW-15; omitted
    ReturnData counts as true); ids start with a lowercase letter (CW-14); at most 20 queries,
    10 of each kind (CW-16)."""
    if p.get("Metrics"):
        given = [k for k in SINGLE_METRIC if p.get(k) is not None]
        if given:
            raise _err("InvalidParameterCombination",
                       f"Metrics cannot be combined with {', '.join(given)}.")
        queries = p["Metrics"]
        for q in queries:
            if (q.get("Expression") is None) == (q.get("MetricStat") is None):
                raise _err("ValidationError", f"Metrics[{q.get('Id')}]: exactly one of Expression and MetricStat must be specified.")
            if not re.fullmatch(r"[a-z][A-Za-z0-9_]*", q.get("Id", "")):
                raise _err("ValidationError", f"Invalid metrics list: the id {q.get('Id')!r} must start with a lowercase letter and contain only letters, numbers and underscores.")
        stats = sum(1 for q in queries if q.get("MetricStat") is not None)
        if len(queries) > 20 or stats > 10 or len(queries) - stats > 10:
            raise _err("ValidationError", "The metrics list must hold at most 20 queries, 10 metrics and 10 expressions.")
        returning = [m for m in queries if m.get("ReturnData", True)]
        if len(returning) != 1:
            raise _err("ValidationError", "Exactly one element of the metrics list should return data.")
        return
    if p.get("Statistic") and p.get("ExtendedStatistic"):
        raise _err("InvalidParameterCombination", "Statistic and ExtendedStatistic cannot both be specified.")
    missing = [k for k in ("MetricName", "Namespace", "Period") if p.get(k) is None]
    if not (p.get("Statistic") or p.get("ExtendedStatistic")):
        missing.append("Statistic or ExtendedStatistic")
    if missing:
        raise _err("ValidationError", f"A metric alarm without Metrics requires {', '.join(missing)}.")
    if p.get("ExtendedStatistic") and not re.fullmatch(r"(p|tm|tc|ts|wm)(\d{1,2}(\.\d{1,10})?|100)|(p|tm|tc|ts|wm)?\(.*\)|IQM|TM\(.*\)|TC\(.*\)|TS\(.*\)|WM\(.*\)|PR\(.*\)", p["ExtendedStatistic"]):
        raise _err("InvalidParameterValue", f"The value {p['ExtendedStatistic']} for parameter ExtendedStatistic is not supported.")


def threshold_present(p):
    """Rule: an alarm needs Threshold unless it compares against a band (ThresholdMetricId)."""
    if p.get("Threshold") is None and not p.get("ThresholdMetricId"):
        raise _err("ValidationError", "Threshold or ThresholdMetricId must be specified.")


def datapoints_within_periods(p):
    """Rule: an alarm breaches on M of the last N periods: DatapointsToAlarm (M) at most
    EvaluationPeriods (N); omitted, M is N (CW-32)."""
    m, n = p.get("DatapointsToAlarm"), p.get("EvaluationPeriods")
    if m is not None and n is not None and m > n:
        raise _err("ValidationError", "DatapointsToAlarm must be less than or equal to EvaluationPeriods")


def _definition(op, p):
    out_shape = "MetricAlarm" if op == "PutMetricAlarm" else "CompositeAlarm"
    members = shapes.shape("cloudwatch", out_shape)["members"]
    d = {k: v for k, v in p.items() if k in members}
    d.setdefault("ActionsEnabled", True)
    for k in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        d.setdefault(k, [])
    return d


def put_metric_alarm(w, ctx, p):
    metric_alarm_form(p)
    threshold_present(p)
    datapoints_within_periods(p)
    d = _definition("PutMetricAlarm", p)
    d.setdefault("DatapointsToAlarm", p.get("EvaluationPeriods"))
    if d.get("Metrics") is None:
        d.setdefault("Dimensions", [])
    w.cw.put_alarm(ctx.region, "metric", d, p.get("Tags"))
    return {}


_RULE_REF = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(\"[^\"]+\"|[^)\s]+)\s*\)")


def composite_rule_references_exist(w, region, rule, own_name):
    """Rule: every alarm an AlarmRule references must exist."""
    missing = []
    for ref in _RULE_REF.findall(rule):
        name = ref.strip('"')
        if name.startswith("arn:"):
            name = name.split(":alarm:", 1)[-1]
        if name != own_name and w.cw.alarm(region, name) is None:
            missing.append(name)
    if missing:
        raise _err("ValidationError", f"Error in alarm rule: alarm(s) {missing} do not exist.")


def put_composite_alarm(w, ctx, p):
    composite_rule_references_exist(w, ctx.region, p["AlarmRule"], p["AlarmName"])
    w.cw.put_alarm(ctx.region, "composite", _definition("PutCompositeAlarm", p), p.get("Tags"))
    return {}


def names_xor_prefix(p):
    """Rule: DescribeAlarms takes AlarmNames or AlarmNamePrefix, not both."""
    if p.get("AlarmNames") and p.get("AlarmNamePrefix"):
        raise _err("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be specified together.")


def alarm_types_filter(types):
    """Rule: without AlarmTypes only metric alarms are returned; composites only when asked for."""
    if not types:
        return {"metric"}
    return {"metric" if t == "MetricAlarm" else "composite" for t in types}


def describe_alarms(w, ctx, p):
    names_xor_prefix(p)
    kinds = alarm_types_filter(p.get("AlarmTypes"))
    items = [a for (region, _), a in w.cw.alarms.items() if region == ctx.region and a["type"] in kinds]
    if p.get("AlarmNames"):
        wanted = set(p["AlarmNames"])
        items = [a for a in items if a["def"]["AlarmName"] in wanted]
    if p.get("AlarmNamePrefix"):
        items = [a for a in items if a["def"]["AlarmName"].startswith(p["AlarmNamePrefix"])]
    if p.get("StateValue"):
        items = [a for a in items if a["def"]["StateValue"] == p["StateValue"]]
    if p.get("ActionPrefix"):
        items = [a for a in items if any(x.startswith(p["ActionPrefix"]) for x in a["def"].get("AlarmActions", []))]
    items.sort(key=lambda a: (a["type"] != "metric", a["def"]["AlarmName"]))
    page, nxt = paging.page(items, p.get("NextToken"), p.get("MaxRecords"), 50,
                            lambda m: _err("InvalidNextToken", m))
    return {"MetricAlarms": [a["def"] for a in page if a["type"] == "metric"],
            "CompositeAlarms": [a["def"] for a in page if a["type"] == "composite"], "NextToken": nxt}


def one_composite_per_delete(w, region, names):
    """Rule: one DeleteAlarms call deletes at most one composite alarm."""
    composites = [n for n in names if (w.cw.alarm(region, n) or {}).get("type") == "composite"]
    if len(composites) > 1:
        raise _err("ValidationError", "DeleteAlarms can delete no more than one composite alarm per call.")


def delete_alarms(w, ctx, p):
    """Rule: DeleteAlarms ignores names that do not exist and still deletes the others."""
    one_composite_per_delete(w, ctx.region, p["AlarmNames"])
    for n in p["AlarmNames"]:
        w.cw.delete_alarm(ctx.region, n)
    return {}


def state_reason_data_is_json(data):
    """Rule: SetAlarmState's StateReasonData must be JSON."""
    if data is None:
        return
    try:
        json.loads(data)
    except ValueError:
        raise _err("InvalidFormat", "StateReasonData is not valid JSON.")


def set_alarm_state(w, ctx, p):
    """Rule: SetAlarmState on a missing alarm answers ResourceNotFound; states change only this way
    (or by the control API), never from metric data."""
    if w.cw.alarm(ctx.region, p["AlarmName"]) is None:
        raise _err("ResourceNotFound", f"Alarm {p['AlarmName']} not found")
    state_reason_data_is_json(p.get("StateReasonData"))
    w.cw.set_state(ctx.region, p["AlarmName"], p["StateValue"], p["StateReason"], p.get("StateReasonData"))
    w.tick()
    return {}


def _tagged(w, resource_arn):
    a = w.cw.find_by_arn(resource_arn)
    if a is None:
        raise _err("ResourceNotFoundException", f"Resource {resource_arn} not found")
    return a


def list_tags_for_resource(w, ctx, p):
    a = _tagged(w, p["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in a["tags"].items()]}


def tag_resource(w, ctx, p):
    a = _tagged(w, p["ResourceARN"])
    for t in p["Tags"]:
        a["tags"][t["Key"]] = t.get("Value", "")
    return {}


def untag_resource(w, ctx, p):
    a = _tagged(w, p["ResourceARN"])
    for k in p["TagKeys"]:
        a["tags"].pop(k, None)
    return {}

