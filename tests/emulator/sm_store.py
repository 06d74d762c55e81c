"""SageMaker in-memory state: resource records, ARNs, look-ups and AWS's not-found errors.

Contract: records are dicts kept per (region, lower-cased name), since SageMaker names are
case-insensitive ("The name is case-insensitive in CreateEndpoint, but the case is preserved
and must be matched in InvokeEndpoint", CreateEndpointInput.EndpointName). `arn(region, kind,
name)` builds arn:aws:sagemaker:<region>:123456789012:<kind>/<lower name>. Tags live in
`tags[arn]` (an ordered key -> value dict).
"""
import time

from errors import validation

ACCOUNT = "123456789012"


def arn(region, kind, name):
    """ARN of a SageMaker resource: the name part is lower-cased, as AWS does."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"


class SageMakerStore:
    def __init__(self):
        self.models = {}
        self.configs = {}
        self.endpoints = {}
        self.components = {}
        self.groups = {}
        self.packages = {}
        self.package_tokens = {}
        self.tags = {}
        self.fail_next = {}
        self.invoke_queues = {}
        self.rr = {}

    @staticmethod
    def key(region, name):
        """Rule: SageMaker resource names are unique case-insensitively within a Region."""
        return (region, name.lower())

    def model(self, region, name):
        """The model record or ValidationException 'Could not find model "<arn>".'"""
        m = self.models.get(self.key(region, name))
        if not m:
            raise validation(f'Could not find model "{arn(region, "model", name)}".')
        return m

    def config(self, region, name):
        c = self.configs.get(self.key(region, name))
        if not c:
            raise validation(f'Could not find endpoint configuration "{arn(region, "endpoint-config", name)}".')
        return c

    def endpoint(self, region, name):
        e = self.endpoints.get(self.key(region, name))
        if not e:
            raise validation(f'Could not find endpoint "{arn(region, "endpoint", name)}".')
        return e

    def group(self, region, name):
        g = self.groups.get(self.key(region, name.split("/")[-1] if name.startswith("arn:") else name))
        if not g:
            raise validation(f"ModelPackageGroup {name} does not exist.")
        return g

    def resource_exists(self, resource_arn):
        """Whether any stored resource (endpoint, config, model, package, group, inference
        component) has this ARN."""
        if resource_arn in self.packages:
            return True
        for table in (self.models, self.configs, self.endpoints, self.groups, self.components):
            if any(r["arn"] == resource_arn and not r.get("removed") for r in table.values()):
                return True
        return False


def now():
    return time.time()
