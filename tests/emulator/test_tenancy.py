"""Self-tests of tenant sessions: STS AssumeRole records session tags and refuses what AWS refuses
(sts_sessions), and calls signed by a tenant session are refused as the tenant role's policy
would refuse them (tenancy). Each test breaks one rule and expects AWS's error; removing the
rule's function makes it fail.

Run: cd /work/main && .venv/bin/python -m unittest discover -s tests/emulator -p 'test_*.py'
Uses test_emulator's helpers and starts its own emulator process.
"""
import time
import unittest

import boto3
import botocore.model
from botocore.config import Config

import test_emulator as te
from test_emulator import Base, client, ctl

TENANT_ROLE = "arn:aws:iam::123456789012:role/sagemaker-rollout-tenant"
NS_TAG = "sagemaker-rollout:namespace"
HOSTS_TAG = "sagemaker-rollout:hosts"
MANAGED = {"Key": "managed-by", "Value": "sagemaker-rollout"}
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"


def _close_pipes():
    """test_emulator's tearDownModule stops its process but leaves the pipes open."""
    for f in (getattr(te.PROC, "stdout", None), getattr(te.PROC, "stderr", None)):
        if f:
            f.close()


def setUpModule():
    _close_pipes()
    te._CLIENTS.clear()
    te.setUpModule()


def tearDownModule():
    te.tearDownModule()
    _close_pipes()
    te._CLIENTS.clear()


def owned(ns):
    """The tags a tenant's Create* must carry."""
    return [{"Key": NS_TAG, "Value": ns}, MANAGED]


class Tenant:
    """Clients signed with the temporary credentials of one AssumeRole session."""

    def __init__(self, assumed):
        self.assumed = assumed
        c = assumed["Credentials"]
        self.creds = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                          aws_session_token=c["SessionToken"])
        self.arn = assumed["AssumedRoleUser"]["Arn"]
        self._clients = {}

    sm = property(lambda self: self.client("sagemaker"))
    rt = property(lambda self: self.client("sagemaker-runtime"))
    cw = property(lambda self: self.client("cloudwatch"))
    s3 = property(lambda self: self.client("s3"))

    def client(self, service, cbor=False):
        """A cached client for `service` signed with the session's credentials."""
        if (service, cbor) not in self._clients:
            self._clients[(service, cbor)] = self._new(service, cbor)
        return self._clients[(service, cbor)]

    def _new(self, service, cbor):
        cfg = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})
        kw = dict(endpoint_url=te.URL, region_name="us-east-1", config=cfg, **self.creds)
        if not cbor:
            return boto3.session.Session().client(service, **kw)
        orig = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + orig
        try:
            return boto3.session.Session().client(service, **kw)
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = orig


class TenantBase(Base):
    def assume(self, ns, name="md", tags=None, **kw):
        """AssumeRole as the controller does for ModelDeployment <ns>/<name>."""
        session = f"sr-controller@{ns}.{name}"
        if tags is None:
            tags = [{"Key": NS_TAG, "Value": ns}, {"Key": "sagemaker-rollout:name", "Value": name},
                    {"Key": "sagemaker-rollout:cluster", "Value": "test"}]
        args = dict(RoleArn=TENANT_ROLE, RoleSessionName=session, SourceIdentity=session, Tags=tags)
        args.update(kw)
        return client("sts").assume_role(**args)

    def tenant(self, ns, **kw):
        return Tenant(self.assume(ns, **kw))

    def deployed(self, t, ns, ep="ep-a"):
        """Model m-<ns>, config c-<ns> and endpoint `ep` created by tenant `t`, InService."""
        t.sm.create_model(ModelName=f"m-{ns}", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=te.ROLE,
                          Tags=owned(ns))
        t.sm.create_endpoint_config(EndpointConfigName=f"c-{ns}", ProductionVariants=[self.variant("AllTraffic", f"m-{ns}")],
                                    Tags=owned(ns))
        t.sm.create_endpoint(EndpointName=ep, EndpointConfigName=f"c-{ns}", Tags=owned(ns))
        return self.wait(ep, "InService")

    def denied(self, tenant, fn, *args, action=None, resource=None, code="AccessDeniedException", status=400, **kw):
        """Expects AWS's AccessDenied naming the tenant's assumed-role ARN, the action and the resource."""
        r = self.assertAws(code, fn, *args, status=status, contains=f"User: {tenant.arn} is not authorized to perform: ", **kw)
        msg = r["Error"]["Message"]
        if action:
            self.assertIn(f"perform: {action} on resource: ", msg)
            self.assertIn(f"because no identity-based policy allows the {action} action", msg)
        if resource:
            self.assertIn(f"on resource: {resource} because", msg)
        return r

    def ep_arn(self, name="ep-a"):
        return f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"


class AssumeRoleSessions(TenantBase):
    def test_the_session_is_recorded_with_its_tags_name_and_source_identity(self):
        out = self.assume("team-a")
        self.assertEqual("sr-controller@team-a.md", out["SourceIdentity"])
        self.assertEqual("arn:aws:sts::123456789012:assumed-role/sagemaker-rollout-tenant/sr-controller@team-a.md",
                         out["AssumedRoleUser"]["Arn"])
        [s] = ctl("sessions")
        self.assertEqual((out["Credentials"]["AccessKeyId"], "sr-controller@team-a.md", "sr-controller@team-a.md", TENANT_ROLE),
                         (s["access_key_id"], s["session_name"], s["source_identity"], s["role_arn"]))
        self.assertEqual({NS_TAG: "team-a", "sagemaker-rollout:name": "md", "sagemaker-rollout:cluster": "test"}, s["tags"])
        t = Tenant(out)
        self.assertEqual(t.arn, t.client("sts").get_caller_identity()["Arn"])
        t.sm.list_endpoints()
        log = ctl("requests")
        self.assertEqual([None, t.arn], [r["principal"] for r in log if r["operation"] in ("AssumeRole", "ListEndpoints")])
        ctl("reset", {})
        self.assertEqual([], ctl("sessions"))

    def _refused(self, contains=None, **kw):
        self.assertAws("ValidationError", self.assume, "team-a", status=400, contains=contains, **kw)
        self.assertEqual([], ctl("sessions"))

    def test_session_tag_keys_are_unique_ignoring_case(self):
        self._refused(tags=[{"Key": NS_TAG, "Value": "a"}, {"Key": NS_TAG.upper(), "Value": "b"}],
                      contains="Duplicate tag keys found")
        self._refused(tags=[{"Key": "k", "Value": "a"}, {"Key": "k", "Value": "a"}], contains="Duplicate tag keys found")

    def test_session_tags_may_not_use_the_aws_prefix(self):
        self._refused(tags=[{"Key": "aws:team", "Value": "a"}], contains="at 'tags.1.member.key'")
        self._refused(tags=[{"Key": "team", "Value": "AWS:a"}], contains="at 'tags.1.member.value'")

    def test_source_identity_is_at_most_64_characters(self):
        self._refused(SourceIdentity="s" * 65, contains="at 'sourceIdentity' failed to satisfy constraint: "
                                                          "Member must have length less than or equal to 64")
        self.assume("team-a", SourceIdentity="s" * 64)

    def test_the_model_limits_are_enforced(self):
        """validate.check: at most 50 tags, key 1-128, value 0-256, session name 2-64 of [\\w+=,.@-],
        source identity of at least 2 [\\w+=,.@-] (so never 'aws:...')."""
        tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        self._refused(tags=tags, contains="at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
        self._refused(tags=[{"Key": "k" * 129, "Value": "v"}], contains="Member must have length less than or equal to 128")
        self._refused(tags=[{"Key": "", "Value": "v"}], contains="Member must have length greater than or equal to 1")
        self._refused(tags=[{"Key": "k", "Value": "v" * 257}], contains="Member must have length less than or equal to 256")
        self._refused(RoleSessionName="s", contains="at 'roleSessionName'")
        self._refused(RoleSessionName="s" * 65, contains="at 'roleSessionName'")
        self._refused(RoleSessionName="sr controller", contains="at 'roleSessionName' failed to satisfy constraint: "
                                                                 "Member must satisfy regular expression pattern")
        self._refused(SourceIdentity="s", contains="at 'sourceIdentity'")
        self._refused(SourceIdentity="aws:team", contains="at 'sourceIdentity' failed to satisfy constraint: "
                                                           "Member must satisfy regular expression pattern")
        self.assume("team-a", tags=[{"Key": f"k{i}", "Value": "v" * 256} for i in range(50)])
        self.assertEqual(1, len(ctl("sessions")))


class TenantRules(TenantBase):
    def setUp(self):
        super().setUp()
        self.a = self.tenant("team-a")
        self.b = self.tenant("team-b")

    def test_a_tenant_drives_what_it_created(self):
        a = self.a
        self.deployed(a, "team-a")
        a.sm.update_endpoint_weights_and_capacities(EndpointName="ep-a", DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}])
        self.wait("ep-a", "InService")
        self.assertEqual(200, a.rt.invoke_endpoint(EndpointName="ep-a", Body=b"{}")["ResponseMetadata"]["HTTPStatusCode"])
        a.sm.add_tags(ResourceArn=self.ep_arn(), Tags=[{"Key": "team", "Value": "x"}, {"Key": NS_TAG, "Value": "team-a"}])
        a.sm.delete_tags(ResourceArn=self.ep_arn(), TagKeys=["team"])
        a.sm.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=[self.variant("AllTraffic", "m-team-a", count=1)],
                                    Tags=owned("team-a"))
        a.sm.update_endpoint(EndpointName="ep-a", EndpointConfigName="c2")
        self.wait("ep-a", "InService")
        a.sm.delete_endpoint(EndpointName="ep-a")
        a.sm.delete_endpoint_config(EndpointConfigName="c-team-a")
        a.sm.delete_model(ModelName="m-team-a")
        self.assertTrue(all(r["status"] == 200 for r in ctl("requests")))

    def test_another_tenant_may_read_but_not_change_or_invoke(self):
        self.deployed(self.a, "team-a")
        b = self.b
        self.assertEqual("InService", b.sm.describe_endpoint(EndpointName="ep-a")["EndpointStatus"])
        b.sm.describe_endpoint_config(EndpointConfigName="c-team-a")
        b.sm.list_tags(ResourceArn=self.ep_arn())
        b.cw.describe_alarms()
        ep = self.ep_arn()
        self.denied(b, b.sm.update_endpoint_weights_and_capacities, EndpointName="ep-a", DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 0.5}], action="sagemaker:UpdateEndpointWeightsAndCapacities", resource=ep)
        self.denied(b, b.sm.update_endpoint, EndpointName="ep-a", EndpointConfigName="c-team-a",
                    action="sagemaker:UpdateEndpoint", resource=ep)
        self.denied(b, b.sm.delete_endpoint, EndpointName="ep-a", action="sagemaker:DeleteEndpoint", resource=ep)
        self.denied(b, b.sm.delete_endpoint_config, EndpointConfigName="c-team-a", action="sagemaker:DeleteEndpointConfig",
                    resource="arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c-team-a")
        self.denied(b, b.sm.delete_model, ModelName="m-team-a", action="sagemaker:DeleteModel")
        self.denied(b, b.rt.invoke_endpoint, EndpointName="ep-a", Body=b"{}", action="sagemaker:InvokeEndpoint", resource=ep)
        self.denied(b, b.sm.add_tags, ResourceArn=ep, Tags=[{"Key": "x", "Value": "y"}], action="sagemaker:AddTags")
        self.denied(b, b.sm.delete_tags, ResourceArn=ep, TagKeys=["x"], action="sagemaker:DeleteTags")
        # A resource that does not exist carries no tag: refused, not "Could not find".
        self.denied(b, b.sm.delete_endpoint, EndpointName="nothing-here", action="sagemaker:DeleteEndpoint")
        d = self.sm.describe_endpoint(EndpointName="ep-a")
        self.assertEqual(("InService", 2), (d["EndpointStatus"], d["ProductionVariants"][0]["CurrentInstanceCount"]))
        self.assertEqual({NS_TAG: "team-a", "managed-by": "sagemaker-rollout"}, ctl("state")["sagemaker"]["endpoints"][0]["tags"])
        denied = [r for r in ctl("requests") if r["error_code"] in ("AccessDeniedException", "AccessDenied")]
        self.assertEqual({self.b.arn}, {r["principal"] for r in denied})

    def test_create_needs_the_tenants_own_tags(self):
        b = self.b

        def model(tags):
            extra = {"Tags": tags} if tags is not None else {}
            return b.sm.create_model(ModelName="m-b", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=te.ROLE, **extra)
        self.denied(b, model, None, action="sagemaker:CreateModel",
                    resource="arn:aws:sagemaker:us-east-1:123456789012:model/m-b")
        self.denied(b, model, owned("team-a"), action="sagemaker:CreateModel")
        self.denied(b, model, [{"Key": NS_TAG, "Value": "team-b"}], action="sagemaker:CreateModel")
        model(owned("team-b"))
        cfg = dict(EndpointConfigName="c-b", ProductionVariants=[self.variant("AllTraffic", "m-b")])
        self.denied(b, b.sm.create_endpoint_config, Tags=[MANAGED], action="sagemaker:CreateEndpointConfig", **cfg)
        b.sm.create_endpoint_config(Tags=owned("team-b"), **cfg)
        self.denied(b, b.sm.create_endpoint, EndpointName="ep-b", EndpointConfigName="c-b", Tags=owned("team-a"),
                    action="sagemaker:CreateEndpoint", resource=self.ep_arn("ep-b"))
        b.sm.create_endpoint(EndpointName="ep-b", EndpointConfigName="c-b", Tags=owned("team-b"))
        self.assertEqual(["ep-b"], [e["name"] for e in ctl("state")["sagemaker"]["endpoints"]])

    def test_adoption_needs_adopt_by_and_sets_the_namespace(self):
        self.model("m1")
        self.config("c1")
        self.endpoint("legacy")
        model_arn = "arn:aws:sagemaker:us-east-1:123456789012:model/m1"
        ep, b = self.ep_arn("legacy"), self.b
        ns_b = [{"Key": NS_TAG, "Value": "team-b"}]
        self.denied(b, b.sm.add_tags, ResourceArn=ep, Tags=ns_b, action="sagemaker:AddTags", resource=ep)
        self.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "sagemaker-rollout:adopt-by", "Value": "team-a"}])
        self.denied(b, b.sm.add_tags, ResourceArn=ep, Tags=ns_b, action="sagemaker:AddTags")
        self.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "sagemaker-rollout:adopt-by", "Value": "team-b"}])
        self.denied(b, b.sm.add_tags, ResourceArn=ep, Tags=[MANAGED], action="sagemaker:AddTags")
        self.denied(b, b.sm.update_endpoint, EndpointName="legacy", EndpointConfigName="c1", action="sagemaker:UpdateEndpoint")
        # Only endpoints are adoptable.
        self.sm.add_tags(ResourceArn=model_arn, Tags=[{"Key": "sagemaker-rollout:adopt-by", "Value": "team-b"}])
        self.denied(b, b.sm.add_tags, ResourceArn=model_arn, Tags=ns_b, action="sagemaker:AddTags", resource=model_arn)
        b.sm.add_tags(ResourceArn=ep, Tags=ns_b + [MANAGED])
        b.sm.update_endpoint_weights_and_capacities(EndpointName="legacy", DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 1.0}])
        # An endpoint that already has a namespace tag is not adoptable, whatever adopt-by says.
        self.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "sagemaker-rollout:adopt-by", "Value": "team-a"}])
        self.denied(self.a, self.a.sm.add_tags, ResourceArn=ep, Tags=[{"Key": NS_TAG, "Value": "team-a"}],
                    action="sagemaker:AddTags")
        self.assertEqual("team-b", ctl("state")["sagemaker"]["endpoints"][0]["tags"][NS_TAG])

    def _create_endpoint_with(self, key, value):
        """CreateEndpoint by team-a carrying its own tags and the offer key `key` is refused; without
        it the endpoint is created."""
        a = self.a
        a.sm.create_model(ModelName="m-team-a", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=te.ROLE,
                          Tags=owned("team-a"))
        a.sm.create_endpoint_config(EndpointConfigName="c-team-a", ProductionVariants=[self.variant("AllTraffic", "m-team-a")],
                                    Tags=owned("team-a"))
        for tags in ([{"Key": key, "Value": value}] + owned("team-a"), owned("team-a") + [{"Key": key, "Value": value}]):
            self.denied(a, a.sm.create_endpoint, EndpointName="ep-a", EndpointConfigName="c-team-a", Tags=tags,
                        action="sagemaker:CreateEndpoint", resource=self.ep_arn())
        self.assertEqual([], ctl("state")["sagemaker"]["endpoints"])
        a.sm.create_endpoint(EndpointName="ep-a", EndpointConfigName="c-team-a", Tags=owned("team-a"))
        self.assertEqual({NS_TAG: "team-a", "managed-by": "sagemaker-rollout"},
                         ctl("state")["sagemaker"]["endpoints"][0]["tags"])

    def test_create_endpoint_never_offers_the_endpoint_for_adoption(self):
        self._create_endpoint_with("sagemaker-rollout:adopt-by", "team-b")
        # The administrator may.
        self.sm.create_endpoint(EndpointName="legacy", EndpointConfigName="c-team-a",
                                Tags=[{"Key": "sagemaker-rollout:adopt-by", "Value": "team-b"}])

    def test_create_endpoint_never_shares_the_endpoint_with_other_namespaces(self):
        self._create_endpoint_with(HOSTS_TAG, ":team-a:team-b:")

    def test_a_change_needs_managed_by_beside_the_namespace_tag(self):
        """The change statements compare both ownership tags: the namespace tag alone (or
        managed-by naming another manager) does not make a resource the tenant's."""
        ns_a = [{"Key": NS_TAG, "Value": "team-a"}]
        self.model("m1", Tags=ns_a)
        self.config("c1", Tags=ns_a)
        self.sm.create_endpoint(EndpointName="ep-a", EndpointConfigName="c1", Tags=ns_a)
        self.wait("ep-a", "InService")
        a, ep = self.a, self.ep_arn()
        for managed_by in (None, "someone-else", "SAGEMAKER-ROLLOUT"):
            with self.subTest(managed_by=managed_by):
                if managed_by:
                    self.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "managed-by", "Value": managed_by}])
                self.denied(a, a.sm.update_endpoint_weights_and_capacities, EndpointName="ep-a", DesiredWeightsAndCapacities=[
                    {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}],
                    action="sagemaker:UpdateEndpointWeightsAndCapacities", resource=ep)
                self.denied(a, a.sm.update_endpoint, EndpointName="ep-a", EndpointConfigName="c1",
                            action="sagemaker:UpdateEndpoint", resource=ep)
                self.denied(a, a.rt.invoke_endpoint, EndpointName="ep-a", Body=b"{}", action="sagemaker:InvokeEndpoint",
                            resource=ep)
                self.denied(a, a.sm.add_tags, ResourceArn=ep, Tags=[{"Key": "team", "Value": "x"}],
                            action="sagemaker:AddTags", resource=ep)
                # Setting managed-by is AddTags too: the namespace tag alone does not allow it.
                self.denied(a, a.sm.add_tags, ResourceArn=ep, Tags=ns_a + [MANAGED], action="sagemaker:AddTags",
                            resource=ep)
                self.denied(a, a.sm.delete_tags, ResourceArn=ep, TagKeys=["team"], action="sagemaker:DeleteTags",
                            resource=ep)
                self.denied(a, a.sm.delete_endpoint, EndpointName="ep-a", action="sagemaker:DeleteEndpoint", resource=ep)
        self.denied(a, a.sm.delete_endpoint_config, EndpointConfigName="c1", action="sagemaker:DeleteEndpointConfig",
                    resource="arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c1")
        self.denied(a, a.sm.delete_model, ModelName="m1", action="sagemaker:DeleteModel",
                    resource="arn:aws:sagemaker:us-east-1:123456789012:model/m1")
        d = self.sm.describe_endpoint(EndpointName="ep-a")
        self.assertEqual(("InService", 2), (d["EndpointStatus"], d["ProductionVariants"][0]["CurrentInstanceCount"]))
        # With managed-by=sagemaker-rollout beside it, the same tenant drives it.
        for arn in (ep, "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c1",
                    "arn:aws:sagemaker:us-east-1:123456789012:model/m1"):
            self.sm.add_tags(ResourceArn=arn, Tags=[MANAGED])
        a.sm.update_endpoint_weights_and_capacities(EndpointName="ep-a", DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}])
        self.wait("ep-a", "InService")
        a.rt.invoke_endpoint(EndpointName="ep-a", Body=b"{}")
        a.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "team", "Value": "x"}])
        a.sm.delete_tags(ResourceArn=ep, TagKeys=["team"])
        a.sm.delete_endpoint(EndpointName="ep-a")
        a.sm.delete_endpoint_config(EndpointConfigName="c1")
        a.sm.delete_model(ModelName="m1")

    def test_only_endpoints_configs_models_and_components_are_changed(self):
        """The change statements cover those four resource types: a model package group carrying
        both ownership tags is still not the tenant's to delete or tag."""
        self.sm.create_model_package_group(ModelPackageGroupName="g", Tags=owned("team-a"))
        a, g = self.a, "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"
        self.denied(a, a.sm.delete_model_package_group, ModelPackageGroupName="g",
                    action="sagemaker:DeleteModelPackageGroup", resource=g)
        self.denied(a, a.sm.add_tags, ResourceArn=g, Tags=[{"Key": "team", "Value": "x"}], action="sagemaker:AddTags",
                    resource=g)
        self.denied(a, a.sm.delete_tags, ResourceArn=g, TagKeys=["team"], action="sagemaker:DeleteTags", resource=g)
        self.assertEqual("g", self.sm.describe_model_package_group(ModelPackageGroupName="g")["ModelPackageGroupName"])

    def test_add_tags_never_hands_a_resource_to_another_namespace(self):
        self.deployed(self.a, "team-a")
        a = self.a
        self.denied(a, a.sm.add_tags, ResourceArn=self.ep_arn(), Tags=[{"Key": NS_TAG, "Value": "team-b"}],
                    action="sagemaker:AddTags", resource=self.ep_arn())
        self.assertEqual("team-a", ctl("state")["sagemaker"]["endpoints"][0]["tags"][NS_TAG])

    def test_delete_tags_never_removes_the_ownership_tags(self):
        self.deployed(self.a, "team-a")
        a = self.a
        for key in (NS_TAG, "managed-by"):
            self.denied(a, a.sm.delete_tags, ResourceArn=self.ep_arn(), TagKeys=["other", key], action="sagemaker:DeleteTags")
        self.assertEqual({NS_TAG: "team-a", "managed-by": "sagemaker-rollout"}, ctl("state")["sagemaker"]["endpoints"][0]["tags"])

    def test_alarms_are_put_with_and_deleted_by_their_tenant(self):
        def put(t, name, tags):
            extra = {"Tags": tags} if tags is not None else {}
            return t.cw.put_metric_alarm(AlarmName=name, MetricName="ModelLatency", Namespace="AWS/SageMaker",
                                         Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0,
                                         ComparisonOperator="GreaterThanThreshold", **extra)
        a, b = self.a, self.b
        arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
        self.denied(a, put, a, "sagemaker-rollout.a", None, code="AccessDenied", status=403,
                    action="cloudwatch:PutMetricAlarm", resource=arn + "sagemaker-rollout.a")
        self.denied(a, put, a, "sagemaker-rollout.a", [{"Key": NS_TAG, "Value": "team-b"}], code="AccessDenied", status=403)
        put(a, "sagemaker-rollout.a", [{"Key": NS_TAG, "Value": "team-a"}])
        put(b, "sagemaker-rollout.b", [{"Key": NS_TAG, "Value": "team-b"}])
        self.denied(b, b.cw.delete_alarms, AlarmNames=["sagemaker-rollout.b", "sagemaker-rollout.a"], code="AccessDenied",
                    status=403, action="cloudwatch:DeleteAlarms", resource=arn + "sagemaker-rollout.a")
        cbor = b.client("cloudwatch", cbor=True)
        self.denied(b, cbor.delete_alarms, AlarmNames=["sagemaker-rollout.a"], code="AccessDenied", status=403)
        self.denied(b, b.cw.delete_alarms, AlarmNames=["never-created"], code="AccessDenied", status=403)
        self.assertEqual(2, len(ctl("state")["cloudwatch"]["alarms"]))
        b.cw.delete_alarms(AlarmNames=["sagemaker-rollout.b"])
        a.cw.delete_alarms(AlarmNames=["sagemaker-rollout.a"])
        self.assertEqual([], ctl("state")["cloudwatch"]["alarms"])

    def test_s3_objects_only_under_the_tenants_prefix(self):
        s3 = client("s3")
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(Bucket="artifacts", Key="team-a/model.tar.gz", Body=b"a")
        b = self.b
        b.s3.put_object(Bucket="artifacts", Key="team-b/model.tar.gz", Body=b"12")
        self.assertEqual(b"12", b.s3.get_object(Bucket="artifacts", Key="team-b/model.tar.gz")["Body"].read())
        self.assertEqual(2, b.s3.head_object(Bucket="artifacts", Key="team-b/model.tar.gz")["ContentLength"])
        up = b.s3.create_multipart_upload(Bucket="artifacts", Key="team-b/big")
        b.s3.abort_multipart_upload(Bucket="artifacts", Key="team-b/big", UploadId=up["UploadId"])
        r = self.denied(b, b.s3.get_object, Bucket="artifacts", Key="team-a/model.tar.gz", code="AccessDenied", status=403,
                        action="s3:GetObject")
        self.assertIn('on resource: "arn:aws:s3:::artifacts/team-a/model.tar.gz"', r["Error"]["Message"])
        self.denied(b, b.s3.put_object, Bucket="artifacts", Key="team-a/x", Body=b"x", code="AccessDenied", status=403,
                    action="s3:PutObject")
        self.denied(b, b.s3.put_object, Bucket="artifacts", Key="team-b", Body=b"x", code="AccessDenied", status=403)
        self.denied(b, b.s3.create_multipart_upload, Bucket="artifacts", Key="audit/x", code="AccessDenied", status=403)
        self.assertAws("403", b.s3.head_object, Bucket="artifacts", Key="team-a/model.tar.gz", status=403)
        self.assertEqual(b"a", s3.get_object(Bucket="artifacts", Key="team-a/model.tar.gz")["Body"].read())
        # Copies read their source and write their key, both under the prefix; deletes likewise.
        b.s3.copy_object(Bucket="artifacts", Key="team-b/copies/m.tar.gz", CopySource="artifacts/team-b/model.tar.gz")
        self.denied(b, b.s3.copy_object, Bucket="artifacts", Key="team-b/copies/a.tar.gz",
                    CopySource="artifacts/team-a/model.tar.gz", code="AccessDenied", status=403, action="s3:GetObject")
        self.denied(b, b.s3.copy_object, Bucket="artifacts", Key="team-a/m.tar.gz",
                    CopySource="artifacts/team-b/model.tar.gz", code="AccessDenied", status=403, action="s3:PutObject")
        self.denied(b, b.s3.delete_object, Bucket="artifacts", Key="team-a/model.tar.gz", code="AccessDenied",
                    status=403, action="s3:DeleteObject")
        b.s3.delete_object(Bucket="artifacts", Key="team-b/copies/m.tar.gz")
        self.assertNotIn("team-b/copies/m.tar.gz", ctl("state")["s3"]["buckets"][0]["keys"])

    def test_calls_no_rule_allows_are_refused(self):
        b = self.b
        self.denied(b, b.sm.create_model_package_group, ModelPackageGroupName="g", action="sagemaker:CreateModelPackageGroup")
        self.denied(b, b.cw.set_alarm_state, AlarmName="x", StateValue="ALARM", StateReason="r", code="AccessDenied",
                    status=403, action="cloudwatch:SetAlarmState")
        client("s3").create_bucket(Bucket="artifacts")
        self.denied(b, b.s3.list_objects_v2, Bucket="artifacts", Prefix="team-b/", code="AccessDenied", status=403,
                    action="s3:ListBucket")
        self.denied(b, b.s3.delete_objects, Bucket="artifacts", Delete={"Objects": [{"Key": "team-b/x"}]},
                    code="AccessDenied", status=403, action="s3:DeleteObject")
        # Outside the modelled rule set: Application Auto Scaling passes.
        b.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")

    def test_default_credentials_and_untagged_sessions_are_unrestricted(self):
        self.deployed(self.a, "team-a")
        plain = self.tenant("team-x", tags=[{"Key": "team", "Value": "x"}])
        plain.sm.update_endpoint_weights_and_capacities(EndpointName="ep-a", DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 0.5}])
        self.wait("ep-a", "InService")
        plain.sm.create_model(ModelName="untagged", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=te.ROLE)
        self.sm.add_tags(ResourceArn=self.ep_arn(), Tags=[{"Key": NS_TAG, "Value": "team-z"}])
        self.sm.delete_tags(ResourceArn=self.ep_arn(), TagKeys=[NS_TAG, "managed-by"])
        self.rt.invoke_endpoint(EndpointName="ep-a", Body=b"{}")
        self.sm.delete_endpoint(EndpointName="ep-a")


class TenantComponents(TenantBase):
    """Inference components: created with the tenant's tags on an endpoint that is the tenant's or
    lists it in `sagemaker-rollout:hosts`; changed only by their tenant; the offer keys are the
    administrator's."""
    SPEC = {"ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}}

    def setUp(self):
        super().setUp()
        self.a = self.tenant("team-a")
        self.b = self.tenant("team-b")

    def ic_arn(self, name):
        return f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}"

    def host(self, t, ep, tags):
        """Endpoint `ep` for inference components (one variant with instances, no ModelName; the
        config carries the execution role), created by `t` with `tags` on config and endpoint."""
        t.sm.create_endpoint_config(EndpointConfigName=f"{ep}-config", ExecutionRoleArn=te.ROLE, Tags=tags,
                                    ProductionVariants=[{"VariantName": "AllTraffic", "InstanceType": "ml.g6e.2xlarge",
                                                         "InitialInstanceCount": 2}])
        t.sm.create_endpoint(EndpointName=ep, EndpointConfigName=f"{ep}-config", Tags=tags)
        return self.wait(ep, "InService")

    def tenant_model(self, t, ns):
        t.sm.create_model(ModelName=f"m-{ns}", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=te.ROLE,
                          Tags=owned(ns))

    def place(self, t, ns, ep, name="chat", tags=None):
        return t.sm.create_inference_component(
            InferenceComponentName=name, EndpointName=ep, VariantName="AllTraffic",
            Specification=dict(self.SPEC, ModelName=f"m-{ns}"), RuntimeConfig={"CopyCount": 2},
            Tags=owned(ns) if tags is None else tags)

    def wait_ic(self, name, status, timeout=8):
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self.sm.describe_inference_component(InferenceComponentName=name)
            if d["InferenceComponentStatus"] == status:
                return d
            time.sleep(0.05)
        self.fail(f"{name} never reached {status}; last {d['InferenceComponentStatus']}")

    def test_a_component_is_never_created_already_offered(self):
        a = self.a
        self.host(a, "ep-a", owned("team-a"))
        self.tenant_model(a, "team-a")
        for key, value in (("sagemaker-rollout:adopt-by", "team-b"), (HOSTS_TAG, ":team-b:")):
            with self.subTest(key=key):
                self.denied(a, self.place, a, "team-a", "ep-a", tags=owned("team-a") + [{"Key": key, "Value": value}],
                            action="sagemaker:CreateInferenceComponent", resource=self.ic_arn("chat"))
        self.place(a, "team-a", "ep-a")

    def test_a_component_needs_the_tenants_tags_and_is_changed_only_by_its_tenant(self):
        a, b = self.a, self.b
        self.host(a, "ep-a", owned("team-a"))
        self.tenant_model(a, "team-a")
        chat = self.ic_arn("chat")
        self.denied(a, self.place, a, "team-a", "ep-a", tags=[], action="sagemaker:CreateInferenceComponent",
                    resource=chat)
        self.denied(a, self.place, a, "team-a", "ep-a", tags=[{"Key": NS_TAG, "Value": "team-a"}],
                    action="sagemaker:CreateInferenceComponent", resource=chat)
        self.denied(a, self.place, a, "team-a", "ep-a", tags=owned("team-b"), action="sagemaker:CreateInferenceComponent",
                    resource=chat)
        self.place(a, "team-a", "ep-a")
        self.wait_ic("chat", "InService")
        # Reads pass for anyone.
        self.assertEqual("ep-a", b.sm.describe_inference_component(InferenceComponentName="chat")["EndpointName"])
        self.assertEqual(["chat"], [c["InferenceComponentName"] for c in
                                    b.sm.list_inference_components(EndpointNameEquals="ep-a")["InferenceComponents"]])
        self.denied(b, b.sm.update_inference_component, InferenceComponentName="chat", RuntimeConfig={"CopyCount": 1},
                    action="sagemaker:UpdateInferenceComponent", resource=chat)
        self.denied(b, b.sm.update_inference_component_runtime_config, InferenceComponentName="chat",
                    DesiredRuntimeConfig={"CopyCount": 1}, action="sagemaker:UpdateInferenceComponentRuntimeConfig",
                    resource=chat)
        self.denied(b, b.sm.delete_inference_component, InferenceComponentName="chat",
                    action="sagemaker:DeleteInferenceComponent", resource=chat)
        self.denied(b, b.sm.add_tags, ResourceArn=chat, Tags=[{"Key": "x", "Value": "y"}], action="sagemaker:AddTags",
                    resource=chat)
        # A component that does not exist carries no tag: refused, not "Could not find".
        self.denied(a, a.sm.delete_inference_component, InferenceComponentName="nothing-here",
                    action="sagemaker:DeleteInferenceComponent", resource=self.ic_arn("nothing-here"))
        a.sm.add_tags(ResourceArn=chat, Tags=[{"Key": "x", "Value": "y"}])
        a.sm.delete_tags(ResourceArn=chat, TagKeys=["x"])
        a.sm.update_inference_component(InferenceComponentName="chat", RuntimeConfig={"CopyCount": 3})
        self.wait_ic("chat", "InService")
        a.sm.update_inference_component_runtime_config(InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": 1})
        self.assertEqual(1, self.wait_ic("chat", "InService")["RuntimeConfig"]["CurrentCopyCount"])
        # Outside the modelled rule set: Application Auto Scaling of the copies passes.
        aas = a.client("application-autoscaling")
        aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="inference-component/chat",
                                     ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
                                     MinCapacity=0, MaxCapacity=4)
        a.sm.delete_inference_component(InferenceComponentName="chat")
        denied = [r for r in ctl("requests") if r["error_code"] in ("AccessDeniedException", "AccessDenied")]
        self.assertEqual({a.arn: 4, b.arn: 4}, {arn: [r["principal"] for r in denied].count(arn) for arn in (a.arn, b.arn)})

    def test_the_endpoint_is_the_tenants_or_lists_it_among_the_namespaces_it_hosts(self):
        self.sm.create_endpoint_config(EndpointConfigName="shared-config", ExecutionRoleArn=te.ROLE, ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g6e.2xlarge", "InitialInstanceCount": 2}])
        self.endpoint("shared", "shared-config")
        shared = self.ep_arn("shared")
        prod = self.tenant("ml-prod")
        self.tenant_model(prod, "ml-prod")
        self.tenant_model(self.b, "team-b")
        create = "sagemaker:CreateInferenceComponent"
        # Neither the tenant's nor hosting anyone.
        self.denied(prod, self.place, prod, "ml-prod", "shared", action=create, resource=shared)
        for value in (":ml-prod-x:", ":team-a:ml-prod-x:", "ml-prod", ":ml-prod", "ml-prod:", ":ML-PROD:",
                      ":xml-prod:"):
            with self.subTest(hosts=value):
                self.sm.add_tags(ResourceArn=shared, Tags=[{"Key": HOSTS_TAG, "Value": value}])
                self.denied(prod, self.place, prod, "ml-prod", "shared", action=create, resource=shared)
        self.sm.add_tags(ResourceArn=shared, Tags=[{"Key": HOSTS_TAG, "Value": ":team-a:ml-prod:"}])
        self.denied(self.b, self.place, self.b, "team-b", "shared", name="b-chat", action=create, resource=shared)
        # Another namespace's endpoint, and one that does not exist, host nothing.
        self.host(self.b, "ep-b", owned("team-b"))
        self.denied(prod, self.place, prod, "ml-prod", "ep-b", action=create, resource=self.ep_arn("ep-b"))
        self.denied(prod, self.place, prod, "ml-prod", "nothing-here", action=create,
                    resource=self.ep_arn("nothing-here"))
        # The component still needs the tenant's own tags on a hosting endpoint.
        self.denied(prod, self.place, prod, "ml-prod", "shared", tags=[MANAGED], action=create,
                    resource=self.ic_arn("chat"))
        self.place(prod, "ml-prod", "shared")
        self.place(self.b, "team-b", "ep-b", name="b-chat")
        self.wait_ic("chat", "InService")
        # Listed beside ml-prod, team-a may not change ml-prod's component.
        a = self.a
        self.denied(a, a.sm.delete_inference_component, InferenceComponentName="chat",
                    action="sagemaker:DeleteInferenceComponent", resource=self.ic_arn("chat"))
        self.assertEqual({NS_TAG: "ml-prod", "managed-by": "sagemaker-rollout"},
                         {t["Key"]: t["Value"] for t in self.sm.list_tags(ResourceArn=self.ic_arn("chat"))["Tags"]})

    def test_a_component_with_the_namespace_tag_but_no_managed_by_is_not_the_tenants(self):
        a = self.a
        self.host(a, "ep-a", owned("team-a"))
        self.tenant_model(a, "team-a")
        self.place(self, "team-a", "ep-a", tags=[{"Key": NS_TAG, "Value": "team-a"}])  # the administrator
        self.wait_ic("chat", "InService")
        chat = self.ic_arn("chat")
        self.denied(a, a.sm.update_inference_component, InferenceComponentName="chat", RuntimeConfig={"CopyCount": 1},
                    action="sagemaker:UpdateInferenceComponent", resource=chat)
        self.denied(a, a.sm.update_inference_component_runtime_config, InferenceComponentName="chat",
                    DesiredRuntimeConfig={"CopyCount": 1}, action="sagemaker:UpdateInferenceComponentRuntimeConfig",
                    resource=chat)
        self.denied(a, a.sm.add_tags, ResourceArn=chat, Tags=[{"Key": "x", "Value": "y"}], action="sagemaker:AddTags",
                    resource=chat)
        self.denied(a, a.sm.delete_tags, ResourceArn=chat, TagKeys=["x"], action="sagemaker:DeleteTags", resource=chat)
        self.denied(a, a.sm.delete_inference_component, InferenceComponentName="chat",
                    action="sagemaker:DeleteInferenceComponent", resource=chat)
        self.assertEqual(2, self.wait_ic("chat", "InService")["RuntimeConfig"]["CurrentCopyCount"])
        self.sm.add_tags(ResourceArn=chat, Tags=[MANAGED])
        a.sm.update_inference_component_runtime_config(InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": 1})
        self.assertEqual(1, self.wait_ic("chat", "InService")["RuntimeConfig"]["CurrentCopyCount"])
        a.sm.delete_inference_component(InferenceComponentName="chat")

    def test_add_tags_and_delete_tags_never_touch_the_offer_keys(self):
        a = self.a
        self.host(a, "ep-a", owned("team-a"))
        ep = self.ep_arn()
        self.sm.add_tags(ResourceArn=ep, Tags=[{"Key": HOSTS_TAG, "Value": ":team-a:"}])
        for key in (HOSTS_TAG, "sagemaker-rollout:adopt-by"):
            with self.subTest(key=key):
                self.denied(a, a.sm.add_tags, ResourceArn=ep, Tags=[{"Key": key, "Value": ":team-a:ml-prod:"}],
                            action="sagemaker:AddTags", resource=ep)
                self.denied(a, a.sm.add_tags, ResourceArn=ep, Tags=[{"Key": "team", "Value": "x"}, {"Key": key, "Value": "team-a"}],
                            action="sagemaker:AddTags", resource=ep)
                self.denied(a, a.sm.delete_tags, ResourceArn=ep, TagKeys=["team", key], action="sagemaker:DeleteTags",
                            resource=ep)
        a.sm.add_tags(ResourceArn=ep, Tags=[{"Key": "team", "Value": "x"}])
        a.sm.delete_tags(ResourceArn=ep, TagKeys=["team"])
        self.assertEqual({NS_TAG: "team-a", "managed-by": "sagemaker-rollout", HOSTS_TAG: ":team-a:"},
                         ctl("state")["sagemaker"]["endpoints"][0]["tags"])


if __name__ == "__main__":
    unittest.main()
