"""Service models: loads botocore's service-2.json.gz for each emulated service (lazily, cached).

Contract: `model(service)` returns the parsed JSON model for one of the SERVICES keys;
`operation(service, op)` returns the operation dict or None; `shape(service, name)` a shape dict.
These models are the oracle for request validation and for response shaping.
"""
import glob
import gzip
import json
import os
import threading

import botocore

SERVICES = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker-runtime",
    "application-autoscaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
    "s3": "s3",
    "sns": "sns",
    "sts": "sts",
}

_DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
_cache = {}
_lock = threading.Lock()


def model(service):
    """The whole service model dict of `service` (a SERVICES key)."""
    with _lock:
        if service not in _cache:
            path = sorted(glob.glob(os.path.join(_DATA, SERVICES[service], "*", "service-2.json.gz")))[-1]
            with gzip.open(path) as f:
                _cache[service] = json.load(f)
        return _cache[service]


def operation(service, op):
    """The operation dict (name, http, input, output, errors) or None when AWS has no such operation."""
    return model(service)["operations"].get(op)


def shape(service, name):
    """The shape dict named `name`."""
    return model(service)["shapes"][name]


def input_shape(service, op):
    """The input structure shape of `op`, or an empty structure."""
    o = operation(service, op)
    if o and o.get("input"):
        return shape(service, o["input"]["shape"])
    return {"type": "structure", "members": {}}


def output_shape(service, op):
    """The output structure shape of `op`, or an empty structure."""
    o = operation(service, op)
    if o and o.get("output"):
        return shape(service, o["output"]["shape"])
    return {"type": "structure", "members": {}}


def error_shape(service, code):
    """The modeled error shape named `code` (with its `error` trait), or None."""
    s = model(service)["shapes"].get(code)
    return s if s and s.get("exception") else None
