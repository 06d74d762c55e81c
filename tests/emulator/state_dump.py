"""GET /_emulator/state: a JSON dump of every emulated AWS resource, for test assertions.

Contract: `dump(world)` -> dict with sagemaker (endpoints with status, config name, variants
with current/desired weights and instance counts, shadow variants, FailureReason, pending
deployment, last deployment config, tags, invocation counts; endpoint configs as requested incl.
tags; models incl. tags and containers; model package groups and packages with approval,
status, version, CustomerMetadataProperties, tags), cloudwatch (alarms with type, state, tags,
full definition; metric names), autoscaling (targets, policies), s3 (buckets, keys, sizes),
sns (topics, published messages).
"""
import time

import moto_forward


def _tags(w, arn):
    return dict(w.sm.tags.get(arn, {}))


def _endpoint(w, ep):
    pend = ep.get("pending")
    return {
        "name": ep["name"], "arn": ep["arn"], "region": ep["region"], "status": ep["status"],
        "config": ep["config"]["name"], "variants": ep["variants"], "shadow_variants": ep["shadow_variants"],
        "failure_reason": ep["failure_reason"], "created": ep["created"], "last_modified": ep["modified"],
        "pending": None if not pend else {"config": pend["config"]["name"], "plan": pend.get("plan"),
                                          "traffic_percent": pend.get("traffic_percent"),
                                          "will_fail": bool(pend.get("fail_reason"))},
        "last_deployment_config": ep["last_deployment_config"], "tags": _tags(w, ep["arn"]),
        "invocations": dict(ep.get("invocations", {})),
        "data_capture": ep["config"]["data_capture"],
    }


def dump(w):
    sm = w.sm
    return {
        "time": time.time(),
        "settings": dict(w.settings),
        "sagemaker": {
            "endpoints": [_endpoint(w, e) for e in sm.endpoints.values()],
            "inference_components": [
                {"name": c["name"], "endpoint": c["endpoint"], "status": c["status"],
                 "model": (c["spec"] or {}).get("ModelName"), "copies": c["copies"],
                 "tags": sm.tags.get(c["arn"], {})}
                for c in sm.components.values() if not c.get("removed")],
            "endpoint_configs": [{"name": c["name"], "arn": c["arn"], "region": c["region"], "created": c["created"],
                                  "request": c["request"], "tags": _tags(w, c["arn"])} for c in sm.configs.values()],
            "models": [{"name": m["name"], "arn": m["arn"], "region": m["region"], "created": m["created"],
                        "request": m["request"], "containers": ([m["request"]["PrimaryContainer"]] if m["request"].get("PrimaryContainer") else [])
                        + list(m["request"].get("Containers") or []), "tags": _tags(w, m["arn"])} for m in sm.models.values()],
            "model_package_groups": [{"name": g["name"], "arn": g["arn"], "region": g["region"], "request": g["request"],
                                      "tags": _tags(w, g["arn"])} for g in sm.groups.values()],
            "model_packages": [{"arn": p["arn"], "name": p["name"], "group": p["group"], "version": p["version"],
                                "approval": p["approval"], "status": p["status"], "created": p["created"],
                                "customer_metadata": p["customer_metadata"], "request": p["request"],
                                "tags": _tags(w, p["arn"])} for p in sm.packages.values()],
            "fail_next": [{"region": k[0], "endpoint": k[1], "reason": v} for k, v in sm.fail_next.items()],
            "queued_invoke_results": [{"region": k[0], "endpoint": k[1], "variant": k[2], "count": len(q)}
                                      for k, q in sm.invoke_queues.items() if q],
        },
        "cloudwatch": {
            "alarms": [{"name": a["def"]["AlarmName"], "region": a["region"], "type": a["type"],
                        "state": a["def"]["StateValue"], "tags": dict(a["tags"]), "definition": a["def"]}
                       for a in w.cw.alarms.values()],
            "metrics": [{"region": k[0], "namespace": k[1], "name": k[2], "dimensions": dict(k[3]), "samples": len(v)}
                        for k, v in w.cw.metrics.items()],
        },
        "autoscaling": {
            "targets": [dict(t, Region=k[0]) for k, t in w.aas.targets.items()],
            "policies": [dict(p, Region=k[0]) for k, p in w.aas.policies.items()],
        },
        "s3": {"buckets": moto_forward.s3_state()},
        "sns": {"topics": moto_forward.sns_state(), "published": list(w.sns_published)},
    }
