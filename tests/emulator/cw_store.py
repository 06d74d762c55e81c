"""CloudWatch in-memory state: alarms (metric and composite), their tags, and metric data.

Contract: alarms are kept per (region, name) as {"type": "metric"|"composite", "def": the
DescribeAlarms member dict, "tags": {key: value}}; `alarm_state(region, name)` is the
StateValue or None when the alarm does not exist; `put_alarm` / `delete_alarm` / `set_state`
are shared by the CloudWatch handlers, Application Auto Scaling and the control API.
Alarms are never evaluated from metric data: states change only by SetAlarmState or
POST /_emulator/alarm-state. New alarms start INSUFFICIENT_DATA, as AWS documents.
"""
import json
import time

ACCOUNT = "123456789012"


def alarm_arn(region, name):
    return f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"


class CloudWatchStore:
    def __init__(self):
        self.alarms = {}
        self.metrics = {}

    def alarm(self, region, name):
        return self.alarms.get((region, name))

    def alarm_state(self, region, name):
        a = self.alarm(region, name)
        return a["def"]["StateValue"] if a else None

    def find_by_arn(self, resource_arn):
        for a in self.alarms.values():
            if a["def"]["AlarmArn"] == resource_arn:
                return a
        return None

    def put_alarm(self, region, kind, definition, tags=None):
        """Rule: a new alarm starts INSUFFICIENT_DATA; an update overwrites the definition but keeps the
        state and the tags (Tags are ignored on update)."""
        t = time.time()
        name = definition["AlarmName"]
        cur = self.alarm(region, name)
        d = dict(definition)
        d["AlarmArn"] = alarm_arn(region, name)
        d["AlarmConfigurationUpdatedTimestamp"] = t
        if cur:
            for k in ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp"):
                if k in cur["def"]:
                    d[k] = cur["def"][k]
            cur["type"] = kind
            cur["def"] = d
            return cur
        d.update(StateValue="INSUFFICIENT_DATA", StateReason="Unchecked: Initial alarm creation",
                 StateUpdatedTimestamp=t, StateTransitionedTimestamp=t)
        rec = {"type": kind, "def": d, "tags": {tg["Key"]: tg.get("Value", "") for tg in (tags or [])}, "region": region}
        self.alarms[(region, name)] = rec
        return rec

    def delete_alarm(self, region, name):
        return self.alarms.pop((region, name), None) is not None

    def set_state(self, region, name, state, reason, reason_data=None):
        a = self.alarm(region, name)
        t = time.time()
        d = a["def"]
        if d["StateValue"] != state:
            d["StateTransitionedTimestamp"] = t
        d.update(StateValue=state, StateReason=reason, StateUpdatedTimestamp=t)
        if reason_data is not None:
            json.loads(reason_data)
            d["StateReasonData"] = reason_data
        else:
            d.pop("StateReasonData", None)
