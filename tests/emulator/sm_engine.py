"""SageMaker endpoint state machine, advanced lazily on the monotonic clock.

Contract: each endpoint record keeps a time-ordered `events` list ({"at", "kind", ...});
`advance_all(world, now)` runs every event due by `now` (called by World.tick on every
request). While a blue/green deployment's traffic phases run, `monitor` holds the
AutoRollbackConfiguration alarms and the window; an alarm in ALARM inside the window starts
a rollback (alarm states only change through requests, each preceded by a tick, so the
state seen now held since the previous tick). Durations come from world.settings.
"""
import math
import time


def to_wall(mono_at):
    """Wall-clock epoch seconds of a monotonic instant (for LastModifiedTime and the like)."""
    return time.time() - (time.monotonic() - mono_at)


def schedule(ep, at, kind, **kw):
    ep["events"].append({"at": at, "kind": kind, **kw})
    ep["events"].sort(key=lambda e: e["at"])


def deployed_images(w, region, model_name, at):
    m = w.sm.models.get(w.sm.key(region, model_name))
    if not m:
        return []
    return [{"SpecifiedImage": i, "ResolvedImage": i.split(":")[0] + "@sha256:" + "0" * 64, "ResolutionTime": at}
            for i in m["images"][:1]]


def variant_summary(w, region, pv, at):
    """Rule: a freshly deployed variant shows CurrentWeight = DesiredWeight = InitialVariantWeight
    (default 1.0, an explicit 0 stays 0) and Current = Desired = InitialInstanceCount."""
    weight = pv.get("InitialVariantWeight")
    weight = 1.0 if weight is None else float(weight)
    s = {"VariantName": pv["VariantName"], "DeployedImages": deployed_images(w, region, pv.get("ModelName") or "", at),
         "CurrentWeight": weight, "DesiredWeight": weight, "VariantStatus": []}
    if pv.get("ServerlessConfig"):
        s["CurrentServerlessConfig"] = s["DesiredServerlessConfig"] = pv["ServerlessConfig"]
    else:
        n = pv.get("InitialInstanceCount")
        s["CurrentInstanceCount"] = s["DesiredInstanceCount"] = n
    for k in ("ManagedInstanceScaling", "RoutingConfig", "CapacityReservationConfig"):
        if pv.get(k) is not None:
            s[k] = pv[k]
    return s


def snapshot(config):
    """The parts of an endpoint configuration an endpoint runs on (kept even if the config is deleted)."""
    r = config["request"]
    return {"name": config["name"], "variants": r["ProductionVariants"], "shadows": r.get("ShadowProductionVariants") or [],
            "data_capture": r.get("DataCaptureConfig"), "async": r.get("AsyncInferenceConfig"),
            "explainer": r.get("ExplainerConfig")}


def install_config(w, ep, snap, at, retain=None):
    """Makes `snap` the endpoint's running config; `retain` (old summaries by name, excluded
    property types) keeps weights/instance counts as UpdateEndpoint RetainAllVariantProperties asks."""
    ep["config"] = snap
    ep["variants"] = [variant_summary(w, ep["region"], pv, to_wall(at)) for pv in snap["variants"]]
    ep["shadow_variants"] = [variant_summary(w, ep["region"], pv, to_wall(at)) for pv in snap["shadows"]]
    if retain:
        old, excluded = retain
        for s in ep["variants"]:
            o = old.get(s["VariantName"])
            if not o:
                continue
            if "DesiredWeight" not in excluded:
                s["CurrentWeight"], s["DesiredWeight"] = o.get("CurrentWeight"), o.get("DesiredWeight")
            if "DesiredInstanceCount" not in excluded and "CurrentInstanceCount" in o:
                s["CurrentInstanceCount"], s["DesiredInstanceCount"] = o["CurrentInstanceCount"], o["DesiredInstanceCount"]


def _finish(ep, at, reason=None):
    ep["status"] = "InService"
    ep["pending"] = None
    ep["monitor"] = None
    ep["events"] = []
    ep["failure_reason"] = reason
    ep["modified"] = to_wall(at)


def on_create_done(w, ep, ev):
    """Rule: CreateEndpoint goes Creating -> InService after create_seconds, or -> Failed with
    FailureReason when fail-next-update was armed."""
    if ep.get("create_fail"):
        ep["status"] = "Failed"
        ep["failure_reason"] = ep.pop("create_fail")
        ep["modified"] = to_wall(ev["at"])
    else:
        _finish(ep, ev["at"])


def on_update_done(w, ep, ev):
    """Rule: only when an update finishes do the new config's variants replace the old ones."""
    pend = ep["pending"]
    install_config(w, ep, pend["config"], ev["at"], pend.get("retain"))
    _finish(ep, ev["at"])


def on_silent_failure(w, ep, ev):
    """Rule: a failed update ("silent rollback") returns to InService on the OLD config with FailureReason."""
    _finish(ep, ev["at"], ep["pending"]["fail_reason"])


def on_weights_done(w, ep, ev):
    """Rule: after weights_seconds CurrentWeight / CurrentInstanceCount take the Desired values."""
    for s in ep["variants"]:
        s["CurrentWeight"] = s["DesiredWeight"]
        if "DesiredInstanceCount" in s:
            s["CurrentInstanceCount"] = s["DesiredInstanceCount"]
        if "DesiredServerlessConfig" in s:
            s["CurrentServerlessConfig"] = s["DesiredServerlessConfig"]
    _finish(ep, ev["at"])


def on_delete_done(w, ep, ev):
    """Rule: after delete_seconds in Deleting the endpoint is gone, with its scalable targets and policies."""
    key = w.sm.key(ep["region"], ep["name"])
    w.sm.endpoints.pop(key, None)
    w.sm.tags.pop(ep["arn"], None)
    w.aas.remove_endpoint(w, ep["region"], ep["name"])
    ep["removed"] = True


def traffic_steps(policy, variants):
    """Rule: ALL_AT_ONCE shifts 100% once, CANARY the canary then the rest, LINEAR one step per WaitInterval."""
    trc = policy["TrafficRoutingConfiguration"]
    kind = trc["Type"]
    total = sum(v.get("InitialInstanceCount") or 1 for v in variants) or 1
    if kind == "CANARY":
        size = trc["CanarySize"]
        pct = size["Value"] if size["Type"] == "CAPACITY_PERCENT" else 100.0 * size["Value"] / total
        return [pct, 100.0]
    if kind == "LINEAR":
        size = trc["LinearStepSize"]
        pct = size["Value"] if size["Type"] == "CAPACITY_PERCENT" else 100.0 * size["Value"] / total
        n = max(1, math.ceil(100.0 / pct))
        return [min(100.0, pct * (i + 1)) for i in range(n)]
    return [100.0]


def on_bluegreen_start(w, ep, ev):
    """Rule: blue/green provisions for update_seconds, shifts traffic once per WaitInterval (scaled by
    wait_scale) while watching the rollback alarms, then finishes after TerminationWait."""
    pend = ep["pending"]
    if pend.get("fail_reason"):
        on_silent_failure(w, ep, ev)
        return
    plan = pend["plan"]
    scale = w.settings["wait_scale"]
    wait = plan["wait"] * scale
    t = ev["at"]
    for i, pct in enumerate(plan["steps"]):
        schedule(ep, t + i * wait, "bluegreen_shift", percent=pct)
    end = t + len(plan["steps"]) * wait
    if plan["alarms"]:
        ep["monitor"] = {"alarms": plan["alarms"], "start": t, "end": end}
    schedule(ep, end + plan["termination_wait"] * scale, "update_done")


def on_bluegreen_shift(w, ep, ev):
    ep["pending"]["traffic_percent"] = ev["percent"]


def on_rollback_done(w, ep, ev):
    _finish(ep, ev["at"], ev["reason"])


HANDLERS = {
    "create_done": on_create_done,
    "update_done": on_update_done,
    "silent_failure": on_silent_failure,
    "weights_done": on_weights_done,
    "delete_done": on_delete_done,
    "bluegreen_start": on_bluegreen_start,
    "bluegreen_shift": on_bluegreen_shift,
    "rollback_done": on_rollback_done,
}


def alarm_rollback(w, ep, at, tripped):
    """Rule: an AutoRollbackConfiguration alarm in ALARM during the traffic shift rolls the
    deployment back: RollingBack for rollback_seconds, then InService on the old config."""
    ep["events"] = []
    ep["monitor"] = None
    ep["status"] = "RollingBack"
    ep["modified"] = to_wall(at)
    reason = (f"Deployment rolled back: CloudWatch alarm(s) {', '.join(tripped)} in ALARM state "
              "triggered the auto-rollback configured in DeploymentConfig.AutoRollbackConfiguration.")
    schedule(ep, at + w.settings["rollback_seconds"], "rollback_done", reason=reason)


def advance(w, ep, now):
    """Runs ep's due events and alarm checks up to `now`."""
    while not ep.get("removed"):
        mon = ep.get("monitor")
        if mon:
            tripped = [a for a in mon["alarms"] if w.cw.alarm_state(ep["region"], a) == "ALARM"]
            at = max(mon["start"], w.last_tick)
            if tripped and at <= now and at <= mon["end"]:
                alarm_rollback(w, ep, at, tripped)
                continue
        if not ep["events"] or ep["events"][0]["at"] > now:
            return
        ev = ep["events"].pop(0)
        HANDLERS[ev["kind"]](w, ep, ev)


def advance_all(w, now):
    for ep in list(w.sm.endpoints.values()):
        advance(w, ep, now)


