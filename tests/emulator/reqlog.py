"""Request log and violations log.

Contract: `RequestLog.add(service, op, status, error_code, injected, target, principal)` appends
{seq, time, service, operation, status, error_code, injected, target, principal}
(target: the resource the request names, when it names one; principal: the assumed-role ARN
of the STS session that signed it, None for other credentials); `entries()`, `clear()`,
`summary()` (counts by service, operation, status). `Violations.add(service, op, v)` records a
service-model violation {service, operation, path, constraint, value, message}.
"""
import threading
import time


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            self._rows = []
            self._seq = 0

    def add(self, service, op, status, error_code=None, injected=False, target=None, principal=None):
        with self._lock:
            self._seq += 1
            self._rows.append({
                "seq": self._seq, "time": time.time(), "service": service, "operation": op,
                "status": status, "error_code": error_code, "injected": bool(injected), "target": target,
                "principal": principal,
            })

    def entries(self):
        with self._lock:
            return list(self._rows)

    def summary(self):
        """[{service, operation, status, count}] sorted by service, operation, status."""
        counts = {}
        for r in self.entries():
            k = (r["service"], r["operation"], r["status"])
            counts[k] = counts.get(k, 0) + 1
        return [{"service": s, "operation": o, "status": st, "count": n}
                for (s, o, st), n in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]), kv[0][2]))]


class Violations:
    def __init__(self):
        self._lock = threading.Lock()
        self.rows = []

    def add(self, service, op, v):
        with self._lock:
            self.rows.append({"service": service, "operation": op, **v})

    def clear(self):
        with self._lock:
            self.rows = []

    def entries(self):
        with self._lock:
            return list(self.rows)
