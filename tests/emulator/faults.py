"""Fault injection: decides, deterministically from a seed, what happens to each AWS request.

Contract: `Faults.configure(spec)` takes {"throttle_percent", "error_percent", "latency_ms",
"drop_percent", "rate_per_second", "seed", "services", "operations"} (service names as in the request log;
"monitoring" and "autoscaling" are accepted as aliases); `Faults.decide(service, op)` returns
(latency_seconds, action) with action None | "drop" | "throttle" | "error500" | "error503".
One draw in [0, 100) per matching request, in arrival order: below drop_percent drops, the
next throttle_percent throttles, the next error_percent errors (a second draw picks 500 or
503). With "rate_per_second", a matching request throttles whenever that many matching
requests were admitted in the last second (AWS limits a caller's rate per account and region;
what it admits is what counts). The control API is never subject to faults.
"""
import collections
import random
import time

ALIASES = {"monitoring": "cloudwatch", "autoscaling": "application-autoscaling",
           "applicationautoscaling": "application-autoscaling", "runtime.sagemaker": "sagemaker-runtime",
           "sagemakerruntime": "sagemaker-runtime"}


class Faults:
    def __init__(self):
        self.configure({})

    def configure(self, spec):
        """Replaces the fault configuration (an empty spec disables faults)."""
        self.spec = {
            "throttle_percent": float(spec.get("throttle_percent", 0)),
            "error_percent": float(spec.get("error_percent", 0)),
            "drop_percent": float(spec.get("drop_percent", 0)),
            "latency_ms": float(spec.get("latency_ms", 0)),
            "rate_per_second": float(spec.get("rate_per_second", 0)),
            "seed": spec.get("seed", 0),
            "services": [ALIASES.get(x, x) for x in spec.get("services") or []] or None,
            "operations": spec.get("operations") or None,
        }
        for k in ("throttle_percent", "error_percent", "drop_percent"):
            if not 0 <= self.spec[k] <= 100:
                raise ValueError(f"{k} must be within 0-100")
        if self.spec["rate_per_second"] < 0:
            raise ValueError("rate_per_second must not be negative")
        self.rng = random.Random(self.spec["seed"])
        self.admitted = collections.deque()

    def applies(self, service, op):
        s = self.spec
        if s["services"] and service not in s["services"]:
            return False
        if s["operations"] and op not in s["operations"]:
            return False
        return True

    def decide(self, service, op):
        """(latency seconds, action) for one request; see module doc."""
        if not self.applies(service, op):
            return 0.0, None
        s = self.spec
        latency = s["latency_ms"] / 1000.0
        if s["rate_per_second"]:
            now = time.monotonic()
            while self.admitted and now - self.admitted[0] >= 1.0:
                self.admitted.popleft()
            if len(self.admitted) >= s["rate_per_second"]:
                return latency, "throttle"
            self.admitted.append(now)
        if not (s["drop_percent"] or s["throttle_percent"] or s["error_percent"]):
            return latency, None
        u = self.rng.random() * 100
        if u < s["drop_percent"]:
            return latency, "drop"
        u -= s["drop_percent"]
        if u < s["throttle_percent"]:
            return latency, "throttle"
        u -= s["throttle_percent"]
        if u < s["error_percent"]:
            return latency, "error500" if self.rng.random() < 0.5 else "error503"
        return latency, None
