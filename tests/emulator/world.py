"""The emulator's whole state, shared by all request threads under one lock.

Contract: `WORLD` holds the transition durations (`settings`, set by POST /_emulator/config),
the SageMaker, CloudWatch and Application Auto Scaling stores, the fault injector, the
request and violations logs, and the STS sessions AssumeRole issued (`sessions`: access key
id -> record, see sts_sessions). Callers hold `WORLD.lock` while touching state and call
`WORLD.tick()` first, which advances SageMaker transitions lazily to the monotonic now.
"""
import threading
import time

import faults
import reqlog

DEFAULT_SETTINGS = {
    "create_seconds": 0.6,
    "update_seconds": 0.8,
    "weights_seconds": 0.3,
    "delete_seconds": 0.3,
    "rollback_seconds": 0.4,
    "wait_scale": 0.01,
}


class World:
    def __init__(self):
        self.lock = threading.RLock()
        self.faults = faults.Faults()
        self.requests = reqlog.RequestLog()
        self.violations = reqlog.Violations()
        self.errors = []
        self.reset()

    def reset(self):
        """Forgets all AWS state and settings (logs and faults too)."""
        import autoscaling
        import cw_store
        import sm_store
        with self.lock:
            self.settings = dict(DEFAULT_SETTINGS)
            self.sm = sm_store.SageMakerStore()
            self.cw = cw_store.CloudWatchStore()
            self.aas = autoscaling.AutoScalingStore()
            self.last_tick = time.monotonic()
            self.faults.configure({})
            self.requests.clear()
            self.violations.clear()
            self.errors = []
            self.sns_published = []
            self.sessions = {}
            import moto_forward
            moto_forward.reset()

    def tick(self):
        """Advances every SageMaker endpoint and inference component transition up to now."""
        import sm_components
        import sm_engine
        with self.lock:
            now = time.monotonic()
            sm_engine.advance_all(self, now)
            sm_components.advance_all(self, now)
            self.last_tick = now


WORLD = World()
