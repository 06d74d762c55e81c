"""Self-tests of the AWS emulator: boto3 (and hand-made CBOR) against a started emulator process.

Run: cd /work/main && .venv/bin/python -m unittest discover -s tests/emulator -p 'test_*.py'
One test per rule (each breaks the rule and expects AWS's error), plus service-model
violations, fault injection, the request log, the state dump, invocations per variant,
blue/green success and alarm rollback, weights Desired -> Current and silent rollback.
"""
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.model
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
FAST = {"create_seconds": 0.2, "update_seconds": 0.3, "weights_seconds": 0.2, "delete_seconds": 0.1,
        "rollback_seconds": 0.2, "wait_scale": 0.001}
PROC = None
URL = None


def setUpModule():
    global PROC, URL
    PROC = subprocess.Popen([sys.executable, HERE, "--host", "127.0.0.1", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = PROC.stdout.readline().strip()
    assert line.startswith("EMULATOR_LISTENING port="), line
    URL = f"http://127.0.0.1:{line.split('=')[1]}"


def tearDownModule():
    PROC.terminate()
    PROC.wait(5)


def ctl(path, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{URL}/_emulator/{path}", data=data, method=method or ("POST" if data else "GET"))
    with urllib.request.urlopen(req) as r:
        return json.load(r)


_CLIENTS = {}


def client(service, cbor=False):
    """A cached boto3 client for the emulator (botocore parameter validation off, no retries)."""
    if (service, cbor) not in _CLIENTS:
        _CLIENTS[(service, cbor)] = _new_client(service, cbor)
    return _CLIENTS[(service, cbor)]


def _new_client(service, cbor):
    cfg = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
              aws_secret_access_key="secret", config=cfg)
    if not cbor:
        return boto3.session.Session().client(service, **kw)
    orig = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + orig
    try:
        c = boto3.session.Session().client(service, **kw)
    finally:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = orig
    assert c.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    return c


class Base(unittest.TestCase):
    def setUp(self):
        ctl("reset", {})
        ctl("config", FAST)
        self.sm = client("sagemaker")
        self.rt = client("sagemaker-runtime")
        self.cw = client("cloudwatch")
        self.aas = client("application-autoscaling")

    def assertAws(self, code, fn, *args, contains=None, status=None, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response["Error"]
        self.assertEqual(code, err["Code"], err)
        if contains:
            self.assertIn(contains, err["Message"])
        if status:
            self.assertEqual(status, cm.exception.response["ResponseMetadata"]["HTTPStatusCode"])
        return cm.exception.response

    def model(self, name="m1", **kw):
        c = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1", "ModelDataUrl": "s3://b/model.tar.gz"}
        return self.sm.create_model(ModelName=name, PrimaryContainer=kw.pop("container", c), ExecutionRoleArn=ROLE, **kw)

    def config(self, name="c1", variants=None, **kw):
        variants = variants or [self.variant("AllTraffic", "m1")]
        return self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **kw)

    @staticmethod
    def variant(name, model, count=2, itype="ml.m5.large", weight=1.0):
        return {"VariantName": name, "ModelName": model, "InitialInstanceCount": count, "InstanceType": itype,
                "InitialVariantWeight": weight}

    def wait(self, name, status, timeout=8):
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self.sm.describe_endpoint(EndpointName=name)
            if d["EndpointStatus"] == status:
                return d
            time.sleep(0.05)
        self.fail(f"{name} never reached {status}; last {d['EndpointStatus']}")

    def endpoint(self, name="ep1", config="c1"):
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return self.wait(name, "InService")

    def alarm(self, name):
        self.cw.put_metric_alarm(AlarmName=name, MetricName="ModelLatency", Namespace="AWS/SageMaker",
                                 Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0,
                                 ComparisonOperator="GreaterThanThreshold")

    def tearDown(self):
        issues = ctl("response-issues")
        errors = ctl("errors")
        self.assertEqual([], issues, "emulator produced unmodeled response members")
        self.assertEqual([], errors, "emulator raised internally")


class ServiceModelValidation(Base):
    def test_too_long_name(self):
        r = self.assertAws("ValidationException", self.model, "x" * 64, status=400)
        self.assertIn("1 validation error detected: Value '" + "x" * 64 + "' at 'modelName' failed to satisfy "
                      "constraint: Member must have length less than or equal to 63", r["Error"]["Message"])
        v = ctl("violations")
        self.assertEqual([("sagemaker", "CreateModel", "modelName", "length")],
                         [(x["service"], x["operation"], x["path"], x["constraint"]) for x in v])

    def test_bad_enum(self):
        self.model()
        self.assertAws("ValidationException", self.config, variants=[self.variant("a", "m1", itype="ml.bogus")],
                       contains="at 'productionVariants.1.member.instanceType' failed to satisfy constraint: "
                                "Member must satisfy enum value set: [")

    def test_missing_required(self):
        self.assertAws("ValidationException", self.sm.create_endpoint, EndpointName="ep1",
                       contains="Value null at 'endpointConfigName' failed to satisfy constraint: Member must not be null")

    def test_pattern_whole_value(self):
        self.model()
        self.assertAws("ValidationException", self.config, variants=[self.variant("bad_variant", "m1")],
                       contains="Value 'bad_variant' at 'productionVariants.1.member.variantName' failed to satisfy "
                                "constraint: Member must satisfy regular expression pattern: ")

    def test_several_violations_and_range(self):
        self.assertAws("ValidationException", self.sm.list_endpoints, MaxResults=0, SortBy="Nope",
                       contains="2 validation errors detected: ")
        self.assertAws("ValidationException", self.sm.list_endpoints, MaxResults=101,
                       contains="Member must have value less than or equal to 100")

    def test_cbor_violation_and_error_shape(self):
        cw = client("cloudwatch", cbor=True)
        self.assertAws("ValidationError", cw.describe_alarms, AlarmNames=["a" * 256], status=400,
                       contains="at 'alarmNames.1.member' failed to satisfy constraint")
        self.assertAws("ResourceNotFound", cw.set_alarm_state, AlarmName="none", StateValue="ALARM",
                       StateReason="x", status=404)

    def test_hand_encoded_cbor(self):
        def post(op, body):
            req = urllib.request.Request(f"{URL}/service/GraniteServiceVersion20100801/operation/{op}", data=body,
                                         method="POST", headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                                                                 "Accept": "application/cbor", "Authorization":
                                                                 "AWS4-HMAC-SHA256 Credential=AK/20240101/eu-west-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"})
            with urllib.request.urlopen(req) as r:
                return r.status, r.headers, r.read()
        # {"Namespace": "App", "MetricData": [{"MetricName": "X", "Value": 1.5}]}
        body = (b"\xa2\x69Namespace\x63App\x6aMetricData\x81\xa2\x6aMetricName\x61X\x65Value\xfb" +
                bytes.fromhex("3ff8000000000000"))
        status, headers, data = post("PutMetricData", body)
        self.assertEqual((200, "rpc-v2-cbor", "application/cbor", b""), (status, headers["smithy-protocol"], headers["Content-Type"], data))
        status, headers, data = post("DescribeAlarms", b"\xa0")
        self.assertEqual(200, status)
        self.assertEqual(0xA0, data[0] & 0xE0)  # a CBOR map
        self.assertEqual("eu-west-1", ctl("state")["cloudwatch"]["metrics"][0]["region"])

    def test_unknown_and_unimplemented_operations(self):
        self.assertAws("UnknownOperationException", self.sm.describe_training_job, TrainingJobName="t",
                       status=400, contains="does not implement")
        req = urllib.request.Request(URL + "/", data=b"{}", method="POST", headers={
            "X-Amz-Target": "SageMaker.NoSuchThing", "Content-Type": "application/x-amz-json-1.1"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req)
        self.assertEqual(400, cm.exception.code)
        self.assertEqual("UnknownOperationException", json.load(cm.exception)["__type"])


class NamesAndModels(Base):
    def test_rule1_duplicate_names(self):
        self.model()
        self.assertAws("ValidationException", self.model, "M1",
                       contains='Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/m1"')
        self.config()
        self.assertAws("ValidationException", self.config,
                       contains='Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c1"')
        self.sm.create_endpoint(EndpointName="Ep1", EndpointConfigName="c1")
        self.assertAws("ValidationException", self.sm.create_endpoint, EndpointName="ep1", EndpointConfigName="c1",
                       contains='Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep1"')

    def test_rule2_model_from_package(self):
        self.sm.create_model_package_group(ModelPackageGroupName="g")
        arn = self.sm.create_model_package(ModelPackageGroupName="g", InferenceSpecification={
            "Containers": [{"Image": "img:1"}], "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
        self.assertAws("ValidationException", self.model, container={"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/9"},
                       contains="does not exist")
        self.assertAws("ValidationException", self.model, container={"ModelPackageName": arn},
                       contains="must be Approved")
        self.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        self.model(container={"ModelPackageName": arn})
        self.model("m2")

    def test_container_in_model_region(self):
        self.assertAws("ValidationException", self.model, container={
            "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/img:1", "ModelDataUrl": "s3://b/model.tar.gz"},
            contains="must be in the same region")
        s3 = client("s3")
        s3.create_bucket(Bucket="eu-models", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertAws("ValidationException", self.model, container={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1", "ModelDataUrl": "s3://eu-models/model.tar.gz"},
            contains="must be in the same region")
        s3.create_bucket(Bucket="us-models")
        self.model(container={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1",
                              "ModelDataUrl": "s3://us-models/model.tar.gz"})

    def test_require_container(self):
        self.assertAws("ValidationException", self.sm.create_model, ModelName="m", ExecutionRoleArn=ROLE,
                       contains="PrimaryContainer or Containers")

    def test_list_models_name_contains_substring(self):
        for n in ("alpha-one", "beta-ONE-x", "gamma"):
            self.model(n)
        names = [m["ModelName"] for m in self.sm.list_models(NameContains="one", SortBy="Name", SortOrder="Ascending")["Models"]]
        self.assertEqual(["alpha-one", "beta-ONE-x"], names)
        page = self.sm.list_models(MaxResults=2)
        self.assertEqual(2, len(page["Models"]))
        rest = self.sm.list_models(MaxResults=2, NextToken=page["NextToken"])
        self.assertEqual(1, len(rest["Models"]))
        self.assertNotIn("NextToken", rest)


class EndpointConfigs(Base):
    def test_rule3_models_must_exist(self):
        self.assertAws("ValidationException", self.config,
                       contains='Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m1".')

    def test_rule3_unique_variant_names(self):
        self.model()
        self.assertAws("ValidationException", self.config, variants=[self.variant("a", "m1"), self.variant("a", "m1")],
                       contains="unique")

    def test_rule3_shadow_needs_one_production_and_one_shadow(self):
        self.model()
        self.assertAws("ValidationException", self.config,
                       variants=[self.variant("a", "m1"), self.variant("b", "m1")],
                       ShadowProductionVariants=[self.variant("s", "m1")], contains="exactly one production variant")
        self.assertAws("ValidationException", self.config, variants=[self.variant("a", "m1")],
                       ShadowProductionVariants=[self.variant("s", "m1"), self.variant("t", "m1")],
                       contains="exactly one production variant")

    def test_rule3_describe_returns_everything(self):
        self.model()
        dc = {"EnableCapture": True, "InitialSamplingPercentage": 20, "DestinationS3Uri": "s3://b/capture",
              "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
        v = dict(self.variant("a", "m1", weight=0), VolumeSizeInGB=30, ModelDataDownloadTimeoutInSeconds=600,
                 ContainerStartupHealthCheckTimeoutInSeconds=300)
        self.config(variants=[v], ShadowProductionVariants=[self.variant("s", "m1", count=1)], DataCaptureConfig=dc,
                    KmsKeyId="alias/k", Tags=[{"Key": "team", "Value": "ml"}])
        d = self.sm.describe_endpoint_config(EndpointConfigName="c1")
        self.assertEqual(dc, d["DataCaptureConfig"])
        self.assertEqual("alias/k", d["KmsKeyId"])
        self.assertEqual(0.0, d["ProductionVariants"][0]["InitialVariantWeight"])
        self.assertEqual(30, d["ProductionVariants"][0]["VolumeSizeInGB"])
        self.assertEqual("s", d["ShadowProductionVariants"][0]["VariantName"])
        state = ctl("state")["sagemaker"]["endpoint_configs"][0]
        self.assertEqual([{"Key": "team", "Value": "ml"}], state["request"]["Tags"])


class Tags(Base):
    def test_rule4_upsert_limit_reserved_delete(self):
        arn = self.model()["ModelArn"]
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}])
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}])
        self.assertEqual([{"Key": "a", "Value": "2"}], self.sm.list_tags(ResourceArn=arn)["Tags"])
        self.assertAws("ValidationException", self.sm.add_tags, ResourceArn=arn,
                       Tags=[{"Key": "aws:x", "Value": "1"}], contains="aws:")
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
        self.assertAws("ValidationException", self.sm.add_tags, ResourceArn=arn,
                       Tags=[{"Key": "one-too-many", "Value": "v"}], contains="at most 50 tags")
        self.sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
        tags = self.sm.list_tags(ResourceArn=arn, MaxResults=50)
        self.assertEqual(49, len(tags["Tags"]))
        self.assertNotIn("NextToken", tags)

    def test_list_tags_any_arn_paginated(self):
        g = self.sm.create_model_package_group(ModelPackageGroupName="grp", Tags=[{"Key": "x", "Value": "y"}])
        p = self.sm.create_model_package(ModelPackageGroupName="grp", ModelApprovalStatus="Approved")
        self.assertEqual([{"Key": "x", "Value": "y"}], self.sm.list_tags(ResourceArn=g["ModelPackageGroupArn"])["Tags"])
        self.sm.add_tags(ResourceArn=p["ModelPackageArn"], Tags=[{"Key": f"t{i}", "Value": "v"} for i in range(50)])
        first = self.sm.list_tags(ResourceArn=p["ModelPackageArn"], MaxResults=50)
        self.assertEqual(50, len(first["Tags"]))
        self.assertNotIn("NextToken", first)
        self.assertAws("ValidationException", self.sm.list_tags, ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:model/none",
                       contains="Could not find")


class Endpoints(Base):
    def setUp(self):
        super().setUp()
        self.model()
        self.model("m2")
        self.config(variants=[self.variant("a", "m1", weight=0), self.variant("b", "m1", count=3)])

    def test_rule5_create_lifecycle_and_zero_weight(self):
        self.assertAws("ValidationException", self.sm.create_endpoint, EndpointName="x", EndpointConfigName="none",
                       contains="Could not find endpoint configuration")
        self.sm.create_endpoint(EndpointName="ep1", EndpointConfigName="c1", Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual("Creating", self.sm.describe_endpoint(EndpointName="ep1")["EndpointStatus"])
        d = self.wait("ep1", "InService")
        a, b = d["ProductionVariants"]
        self.assertEqual((0.0, 0.0, 2, 2), (a["CurrentWeight"], a["DesiredWeight"], a["CurrentInstanceCount"], a["DesiredInstanceCount"]))
        self.assertEqual((1.0, 3), (b["CurrentWeight"], b["CurrentInstanceCount"]))
        self.assertIn("LastModifiedTime", d)

    def test_rule6_update_only_in_service_and_old_config_while_updating(self):
        self.sm.create_endpoint(EndpointName="ep1", EndpointConfigName="c1")
        self.config("c2", variants=[self.variant("a", "m2"), self.variant("b", "m2")])
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c2",
                       contains='Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep1".')
        self.wait("ep1", "InService")
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="none",
                       contains="Could not find endpoint configuration")
        self.sm.update_endpoint(EndpointName="ep1", EndpointConfigName="c2")
        d = self.sm.describe_endpoint(EndpointName="ep1")
        self.assertEqual(("Updating", "c1", 0.0), (d["EndpointStatus"], d["EndpointConfigName"], d["ProductionVariants"][0]["CurrentWeight"]))
        self.assertEqual("c2", d["PendingDeploymentSummary"]["EndpointConfigName"])
        d = self.wait("ep1", "InService")
        self.assertEqual(("c2", 1.0), (d["EndpointConfigName"], d["ProductionVariants"][0]["CurrentWeight"]))

    def test_an_update_onto_a_config_whose_model_was_deleted_is_refused(self):
        self.sm.create_endpoint(EndpointName="ep1", EndpointConfigName="c1")
        self.config("c2", variants=[self.variant("a", "m2")])
        self.wait("ep1", "InService")
        self.sm.delete_model(ModelName="m2")
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c2",
                       contains='Could not find model')
        self.assertEqual("InService", self.sm.describe_endpoint(EndpointName="ep1")["EndpointStatus"])

    def test_rule6_weights_desired_then_current(self):
        self.endpoint()
        self.assertAws("ValidationException", self.sm.update_endpoint_weights_and_capacities, EndpointName="ep1",
                       DesiredWeightsAndCapacities=[{"VariantName": "zz", "DesiredWeight": 1}], contains="zz")
        self.sm.update_endpoint_weights_and_capacities(EndpointName="ep1", DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredWeight": 0.7}])
        d = self.sm.describe_endpoint(EndpointName="ep1")
        a = d["ProductionVariants"][0]
        self.assertEqual(("Updating", 0.0, 0.7, 2, 2), (d["EndpointStatus"], a["CurrentWeight"], round(a["DesiredWeight"], 3),
                                                       a["CurrentInstanceCount"], a["DesiredInstanceCount"]))
        d = self.wait("ep1", "InService")
        a = d["ProductionVariants"][0]
        self.assertEqual((0.7, 2), (round(a["CurrentWeight"], 3), a["CurrentInstanceCount"]))

    def test_silent_rollback_and_failed_create(self):
        self.endpoint()
        self.config("c2", variants=[self.variant("a", "m2"), self.variant("b", "m2")])
        ctl("fail-next-update", {"endpoint": "ep1", "reason": "image pull failed"})
        self.sm.update_endpoint(EndpointName="ep1", EndpointConfigName="c2")
        time.sleep(0.05)
        d = self.wait("ep1", "InService")
        self.assertEqual(("c1", "image pull failed"), (d["EndpointConfigName"], d["FailureReason"]))
        ctl("fail-next-update", {"endpoint": "ep2", "reason": "capacity"})
        self.sm.create_endpoint(EndpointName="ep2", EndpointConfigName="c1")
        d = self.wait("ep2", "Failed")
        self.assertEqual("capacity", d["FailureReason"])
        self.assertAws("ValidationError", self.rt.invoke_endpoint, EndpointName="ep2", Body=b"{}")

    def test_delete_endpoint(self):
        self.sm.create_endpoint(EndpointName="ep1", EndpointConfigName="c1")
        self.assertAws("ValidationException", self.sm.delete_endpoint, EndpointName="ep1", contains="in-progress")
        self.wait("ep1", "InService")
        self.sm.delete_endpoint(EndpointName="ep1")
        self.assertEqual("Deleting", self.sm.describe_endpoint(EndpointName="ep1")["EndpointStatus"])
        time.sleep(0.2)
        self.assertAws("ValidationException", self.sm.describe_endpoint, EndpointName="ep1", contains="Could not find endpoint")


class BlueGreen(Base):
    def setUp(self):
        super().setUp()
        self.model()
        self.model("m2")
        self.config(variants=[self.variant("AllTraffic", "m1", count=4)])
        self.config("c2", variants=[self.variant("AllTraffic", "m2", count=4)])
        self.alarm("latency")
        self.endpoint()

    def dc(self, kind="CANARY", size=None, wait=300, term=300, timeout=None, alarms=("latency",)):
        trc = {"Type": kind, "WaitIntervalInSeconds": wait}
        if kind == "CANARY":
            trc["CanarySize"] = size or {"Type": "CAPACITY_PERCENT", "Value": 25}
        if kind == "LINEAR":
            trc["LinearStepSize"] = size or {"Type": "CAPACITY_PERCENT", "Value": 50}
        bg = {"TrafficRoutingConfiguration": trc, "TerminationWaitInSeconds": term}
        if timeout:
            bg["MaximumExecutionTimeoutInSeconds"] = timeout
        return {"BlueGreenUpdatePolicy": bg,
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]}}

    def test_rule7_success(self):
        self.sm.update_endpoint(EndpointName="ep1", EndpointConfigName="c2", DeploymentConfig=self.dc())
        d = self.wait("ep1", "InService")
        self.assertEqual("c2", d["EndpointConfigName"])
        self.assertNotIn("FailureReason", d)
        self.assertEqual("CANARY", d["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"])

    def test_rule7_alarm_rollback(self):
        self.sm.update_endpoint(EndpointName="ep1", EndpointConfigName="c2", DeploymentConfig=self.dc(kind="LINEAR"))
        ctl("alarm-state", {"name": "latency", "state": "ALARM", "reason": "p99 too high"})
        self.wait("ep1", "RollingBack")
        d = self.wait("ep1", "InService")
        self.assertEqual("c1", d["EndpointConfigName"])
        self.assertIn("latency", d["FailureReason"])
        self.assertIn("alarm", d["FailureReason"])

    def test_rule7_guardrail_limits(self):
        self.config("c3", variants=[self.variant("Other", "m2")])
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c3",
                       DeploymentConfig=self.dc(), contains="same production variants")
        cases = [
            (self.dc(size={"Type": "CAPACITY_PERCENT", "Value": 60}), "CanarySize"),
            (self.dc(size={"Type": "INSTANCE_COUNT", "Value": 3}), "CanarySize"),
            (self.dc(kind="LINEAR", size={"Type": "CAPACITY_PERCENT", "Value": 5}), "LinearStepSize"),
            (self.dc(wait=600, term=600, timeout=900), "MaximumExecutionTimeoutInSeconds"),
            (self.dc(alarms=("missing",)), "do not exist"),
            (self.dc(alarms=()), "between 1 and 10"),
        ]
        for dc, text in cases:
            with self.subTest(text=text):
                code = "ValidationException"
                self.assertAws(code, self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c2",
                               DeploymentConfig=dc, contains=text if dc["AutoRollbackConfiguration"]["Alarms"] else "alarms")
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c2",
                       DeploymentConfig=self.dc(wait=4000), contains="less than or equal to 3600")
        # The service model's bounds: TerminationWait 0-3600, MaximumExecutionTimeout 600-28800,
        # AutoRollbackConfiguration.Alarms 1-10.
        for dc, text in [(self.dc(term=3601), "less than or equal to 3600"),
                         (self.dc(timeout=599), "greater than or equal to 600"),
                         (self.dc(timeout=28801), "less than or equal to 28800"),
                         (self.dc(alarms=tuple(f"a{i}" for i in range(11))), "length less than or equal to 10")]:
            with self.subTest(text=text):
                self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1",
                               EndpointConfigName="c2", DeploymentConfig=dc, contains=text)
        self.assertEqual("InService", self.sm.describe_endpoint(EndpointName="ep1")["EndpointStatus"])

    def test_rolling_deployments_exclude_multi_variant_and_serverless_endpoints(self):
        rolling = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                           "WaitIntervalInSeconds": 60},
                   "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "latency"}]}}
        self.config("c4", variants=[self.variant("a", "m2"), self.variant("b", "m2")])
        self.sm.create_endpoint(EndpointName="ep2", EndpointConfigName="c4")
        self.wait("ep2", "InService")
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep2", EndpointConfigName="c4",
                       DeploymentConfig=rolling, contains="multiple production variants")
        self.sm.create_endpoint_config(EndpointConfigName="c5", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m2",
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}])
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c5",
                       DeploymentConfig=rolling, contains="serverless")


class InferenceComponents(Base):
    SPEC = {"ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}}

    def setUp(self):
        super().setUp()
        self.model()
        self.model("m2")
        self.sm.create_endpoint_config(EndpointConfigName="host", ExecutionRoleArn=ROLE, ProductionVariants=[{
            "VariantName": "AllTraffic", "InstanceType": "ml.g6e.2xlarge", "InitialInstanceCount": 2,
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}])
        self.endpoint("llm", "host")

    def component(self, name="chat", model="m1", copies=4):
        self.sm.create_inference_component(
            InferenceComponentName=name, EndpointName="llm", VariantName="AllTraffic",
            Specification=dict(self.SPEC, ModelName=model), RuntimeConfig={"CopyCount": copies},
            Tags=[{"Key": "owner", "Value": "ns/chat"}])

    def wait_ic(self, name, status, timeout=8):
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self.sm.describe_inference_component(InferenceComponentName=name)
            if d["InferenceComponentStatus"] == status:
                return d
            time.sleep(0.05)
        self.fail(f"{name} never reached {status}; last {d['InferenceComponentStatus']}")

    def rolling(self, value=1, kind="COPY_COUNT", wait=0, alarms=("latency",)):
        dc = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": kind, "Value": value},
                                      "WaitIntervalInSeconds": wait}}
        if alarms:
            dc["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
        return dc

    def test_a_component_is_created_on_an_in_service_endpoint_and_updated_in_batches(self):
        self.assertAws("ValidationException", self.sm.create_inference_component, InferenceComponentName="x",
                       EndpointName="nope", Specification=dict(self.SPEC, ModelName="m1"),
                       RuntimeConfig={"CopyCount": 1}, contains="Could not find endpoint")
        self.assertAws("ValidationException", self.sm.create_inference_component, InferenceComponentName="x",
                       EndpointName="llm", Specification=dict(self.SPEC, ModelName="missing"),
                       RuntimeConfig={"CopyCount": 1}, contains="Could not find model")
        self.component()
        d = self.wait_ic("chat", "InService")
        self.assertEqual(("m1", 4, 4), (d["Specification"]["ModelName"], d["RuntimeConfig"]["DesiredCopyCount"],
                                        d["RuntimeConfig"]["CurrentCopyCount"]))
        tags = self.sm.list_tags(ResourceArn=d["InferenceComponentArn"])["Tags"]
        self.assertIn({"Key": "owner", "Value": "ns/chat"}, tags)
        self.alarm("latency")
        for dc, text in [(self.rolling(value=3), "between 5% and 50%"),
                         (self.rolling(kind="CAPACITY_PERCENT", value=60), "between 5% and 50%"),
                         (self.rolling(alarms=("missing",)), "do not exist")]:
            with self.subTest(text=text):
                self.assertAws("ValidationException", self.sm.update_inference_component,
                               InferenceComponentName="chat", Specification={"ModelName": "m2"},
                               DeploymentConfig=dc, contains=text)
        self.sm.update_inference_component(InferenceComponentName="chat", Specification={"ModelName": "m2"},
                                           DeploymentConfig=self.rolling())
        self.assertAws("ValidationException", self.sm.update_inference_component_runtime_config,
                       InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": 2}, contains="InService")
        d = self.wait_ic("chat", "InService")
        self.assertEqual("m2", d["Specification"]["ModelName"])
        self.assertEqual(1, d["LastDeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"]["Value"])
        listed = self.sm.list_inference_components(EndpointNameEquals="llm")["InferenceComponents"]
        self.assertEqual(["chat"], [c["InferenceComponentName"] for c in listed])

    def test_an_alarm_while_the_batches_bake_rolls_the_component_back(self):
        self.component()
        self.wait_ic("chat", "InService")
        self.alarm("latency")
        ctl("config", {"wait_scale": 1.0})
        self.sm.update_inference_component(InferenceComponentName="chat", Specification={"ModelName": "m2"},
                                           DeploymentConfig=self.rolling(wait=5))
        ctl("alarm-state", {"name": "latency", "state": "ALARM", "reason": "p99 too high"})
        d = self.wait_ic("chat", "InService")
        self.assertEqual("m1", d["Specification"]["ModelName"])
        self.assertIn("latency", d["FailureReason"])

    def test_copies_scale_on_an_existing_component(self):
        dim = "sagemaker:inference-component:DesiredCopyCount"

        def register(rid):
            return self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid,
                                                     ScalableDimension=dim, MinCapacity=0, MaxCapacity=4)
        self.assertAws("ValidationException", register, "inference-component/chat", contains="does not exist")
        self.component()
        self.wait_ic("chat", "InService")
        self.assertAws("ValidationException", register, "inference-component/other", contains="does not exist")
        register("inference-component/chat")
        r = self.aas.put_scaling_policy(
            PolicyName="p", ServiceNamespace="sagemaker", ResourceId="inference-component/chat", ScalableDimension=dim,
            PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 5.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}})
        alarms = self.cw.describe_alarms(AlarmNames=[a["AlarmName"] for a in r["Alarms"]])["MetricAlarms"]
        self.assertEqual([("InvocationsPerCopy", [{"Name": "InferenceComponentName", "Value": "chat"}])] * 2,
                         [(a["MetricName"], a["Dimensions"]) for a in alarms])
        self.assertTrue(alarms[0]["AlarmName"].startswith("TargetTracking-inference-component/chat-Alarm"))

    def test_a_deleted_component_is_gone_with_its_tags(self):
        self.component()
        d = self.wait_ic("chat", "InService")
        self.sm.delete_inference_component(InferenceComponentName="chat")
        deadline = time.time() + 8
        while time.time() < deadline:
            if not self.sm.list_inference_components(EndpointNameEquals="llm")["InferenceComponents"]:
                break
            time.sleep(0.05)
        self.assertAws("ValidationException", self.sm.describe_inference_component, InferenceComponentName="chat",
                       contains="Could not find inference component")
        self.assertAws("ValidationException", self.sm.delete_inference_component, InferenceComponentName="chat",
                       contains="Could not find inference component")
        self.assertEqual([], ctl("state")["sagemaker"]["inference_components"])
        self.assertNotIn(d["InferenceComponentArn"], str(ctl("state")))


class Serverless(Base):
    SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 10, "ProvisionedConcurrency": 2}

    def serverless(self, name="AllTraffic", model="m1", **kw):
        return {"VariantName": name, "ModelName": model, "ServerlessConfig": dict(self.SERVERLESS, **kw)}

    def test_a_serverless_config_is_alone_without_instances_or_capture(self):
        self.model()
        cases = [
            ([dict(self.serverless(), InstanceType="ml.m5.large")], {}, "InstanceType"),
            ([self.serverless(), self.serverless("b")], {}, "multiple production variants"),
            ([self.serverless()], {"DataCaptureConfig": {
                "InitialSamplingPercentage": 10, "DestinationS3Uri": "s3://b/c",
                "CaptureOptions": [{"CaptureMode": "Input"}]}}, "data capture"),
        ]
        for i, (variants, extra, text) in enumerate(cases):
            with self.subTest(text=text):
                self.assertAws("ValidationException", self.config, f"bad{i}", variants=variants, contains=text, **extra)
        self.config("s1", variants=[self.serverless()])
        d = self.endpoint("sl", "s1")
        self.assertEqual(2048, d["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"])

    def test_instances_never_become_serverless_and_serverless_is_never_rolled(self):
        self.model()
        self.model("m2")
        self.config()
        self.endpoint()
        self.config("s1", variants=[self.serverless(model="m2")])
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="s1",
                       contains="instance-based")
        self.config("s0", variants=[self.serverless()])
        self.endpoint("sl", "s0")
        self.alarm("latency")
        rolling = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                                           "WaitIntervalInSeconds": 60},
                   "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "latency"}]}}
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="sl", EndpointConfigName="s1",
                       DeploymentConfig=rolling, contains="serverless")
        # Serverless to serverless with blue/green all at once is an update like any other.
        self.sm.update_endpoint(EndpointName="sl", EndpointConfigName="s1", DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "latency"}]}})
        self.assertEqual("s1", self.wait("sl", "InService")["EndpointConfigName"])

    def test_provisioned_concurrency_is_what_a_serverless_variant_scales(self):
        self.model()
        self.config("s0", variants=[self.serverless()])
        self.endpoint("sl", "s0")
        rid = "endpoint/sl/variant/AllTraffic"
        self.assertAws("ValidationException", self.aas.register_scalable_target, ServiceNamespace="sagemaker",
                       ResourceId=rid, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                       MinCapacity=1, MaxCapacity=4, contains="serverless")
        self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, MinCapacity=1, MaxCapacity=4,
                                          ScalableDimension="sagemaker:variant:DesiredProvisionedConcurrency")
        self.config("c1")
        self.endpoint("ep1", "c1")
        self.assertAws("ValidationException", self.aas.register_scalable_target, ServiceNamespace="sagemaker",
                       ResourceId="endpoint/ep1/variant/AllTraffic", MinCapacity=1, MaxCapacity=4,
                       ScalableDimension="sagemaker:variant:DesiredProvisionedConcurrency", contains="provisioned")


class AutoScaling(Base):
    RID = "endpoint/ep1/variant/a"
    DIM = "sagemaker:variant:DesiredInstanceCount"

    def setUp(self):
        super().setUp()
        self.model()
        self.model("m2")
        self.config(variants=[self.variant("a", "m1")])
        self.endpoint()

    def register(self, rid=None):
        return self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid or self.RID,
                                                 ScalableDimension=self.DIM, MinCapacity=1, MaxCapacity=4)

    def policy(self):
        return self.aas.put_scaling_policy(
            PolicyName="p", ServiceNamespace="sagemaker", ResourceId=self.RID, ScalableDimension=self.DIM,
            PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})

    def test_register_requires_existing_variant(self):
        self.assertAws("ValidationException", self.register, "endpoint/ep1/variant/zz", contains="does not exist")
        self.register()
        self.assertEqual(1, len(self.aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[self.RID])["ScalableTargets"]))

    def test_policy_alarms_and_deregister_deletes_policies(self):
        self.assertAws("ObjectNotFoundException", self.policy)
        self.register()
        r = self.policy()
        names = [a["AlarmName"] for a in r["Alarms"]]
        self.assertTrue(names[0].startswith(f"TargetTracking-{self.RID}-AlarmHigh-"))
        self.assertTrue(names[1].startswith(f"TargetTracking-{self.RID}-AlarmLow-"))
        self.assertEqual(2, len(self.cw.describe_alarms(AlarmNames=names)["MetricAlarms"]))
        self.assertAws("ValidationException", self.aas.put_scaling_policy, PolicyName="q", ServiceNamespace="sagemaker",
                       ResourceId=self.RID, ScalableDimension=self.DIM, PolicyType="TargetTrackingScaling",
                       TargetTrackingScalingPolicyConfiguration={"TargetValue": 1.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "Bogus"}},
                       contains="enum value set")
        self.aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=self.RID, ScalableDimension=self.DIM)
        self.assertEqual([], self.aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"])
        self.assertEqual([], self.cw.describe_alarms(AlarmNames=names)["MetricAlarms"])
        self.assertAws("ObjectNotFoundException", self.aas.delete_scaling_policy, PolicyName="p", ServiceNamespace="sagemaker",
                       ResourceId=self.RID, ScalableDimension=self.DIM)

    def test_rule8_update_coupling(self):
        self.register()
        self.config("c-type", variants=[self.variant("a", "m1", itype="ml.c5.large")])
        self.config("c-gone", variants=[self.variant("b", "m1")])
        self.config("c-model", variants=[self.variant("a", "m2", weight=0.5)])
        for cfg in ("c-type", "c-gone"):
            self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName=cfg,
                           contains="deregister")
        self.sm.update_endpoint(EndpointName="ep1", EndpointConfigName="c-model")
        self.wait("ep1", "InService")

    def test_delete_endpoint_removes_targets(self):
        self.register()
        self.policy()
        self.sm.delete_endpoint(EndpointName="ep1")
        time.sleep(0.2)
        self.sm.list_endpoints()
        self.assertEqual([], self.aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"])
        self.assertEqual([], self.cw.describe_alarms()["MetricAlarms"])


class Invoke(Base):
    def setUp(self):
        super().setUp()
        self.model()
        self.config(variants=[self.variant("a", "m1"), self.variant("b", "m1")])
        self.endpoint()

    def test_rule9_missing_and_unknown_variant(self):
        self.assertAws("ValidationError", self.rt.invoke_endpoint, EndpointName="nope", Body=b"{}",
                       contains="Endpoint nope of account 123456789012 not found.")
        self.assertAws("ValidationError", self.rt.invoke_endpoint, EndpointName="EP1", Body=b"{}")
        self.assertAws("ValidationError", self.rt.invoke_endpoint, EndpointName="ep1", Body=b"{}", TargetVariant="zz")

    def test_invoke_per_variant_and_model_error(self):
        ctl("invoke-results", {"endpoint": "ep1", "variant": "b", "status": 200, "body": "{\"v\": \"b\"}"})
        ctl("invoke-results", {"endpoint": "ep1", "variant": "a", "status": 400, "body": "bad input"})
        r = self.rt.invoke_endpoint(EndpointName="ep1", Body=b"{}", TargetVariant="b", ContentType="application/json")
        self.assertEqual((b'{"v": "b"}', "b"), (r["Body"].read(), r["InvokedProductionVariant"]))
        resp = self.assertAws("ModelError", self.rt.invoke_endpoint, EndpointName="ep1", Body=b"{}", TargetVariant="a",
                              status=424, contains="Received client error (400)")
        self.assertEqual((400, "bad input"), (resp["OriginalStatusCode"], resp["OriginalMessage"]))
        self.assertIn("/aws/sagemaker/Endpoints/ep1", resp["LogStreamArn"])
        r = self.rt.invoke_endpoint(EndpointName="ep1", Body=b"{}")
        self.assertEqual(b'{"score": 0.42}', r["Body"].read())
        inv = ctl("state")["sagemaker"]["endpoints"][0]["invocations"]
        self.assertEqual(3, sum(inv.values()))


class ModelPackages(Base):
    def test_rule10_versions_tags_approval(self):
        self.assertAws("ValidationException", self.sm.create_model_package, ModelPackageGroupName="none",
                       contains="does not exist")
        self.sm.create_model_package_group(ModelPackageGroupName="grp")
        self.assertAws("ValidationException", self.sm.create_model_package, ModelPackageGroupName="grp",
                       Tags=[{"Key": "a", "Value": "b"}], contains="Tags cannot be specified")
        arns = [self.sm.create_model_package(ModelPackageGroupName="grp", CustomerMetadataProperties={"n": str(i)})["ModelPackageArn"]
                for i in range(3)]
        self.assertEqual("arn:aws:sagemaker:us-east-1:123456789012:model-package/grp/3", arns[2])
        d = self.sm.describe_model_package(ModelPackageName="grp/2")
        self.assertEqual((2, "PendingManualApproval", "Completed", {"n": "1"}),
                         (d["ModelPackageVersion"], d["ModelApprovalStatus"], d["ModelPackageStatus"], d["CustomerMetadataProperties"]))
        self.sm.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Approved")
        self.assertEqual("Approved", self.sm.describe_model_package(ModelPackageName=arns[0])["ModelApprovalStatus"])
        page = self.sm.list_model_packages(ModelPackageGroupName="grp", SortBy="CreationTime", SortOrder="Descending", MaxResults=2)
        self.assertEqual([3, 2], [p["ModelPackageVersion"] for p in page["ModelPackageSummaryList"]])
        rest = self.sm.list_model_packages(ModelPackageGroupName="grp", SortBy="CreationTime", SortOrder="Descending",
                                           MaxResults=2, NextToken=page["NextToken"])
        self.assertEqual([1], [p["ModelPackageVersion"] for p in rest["ModelPackageSummaryList"]])
        self.sm.delete_model_package(ModelPackageName=arns[1])
        self.assertAws("ValidationException", self.sm.describe_model_package, ModelPackageName=arns[1], contains="does not exist")

    def test_list_model_packages_without_a_group_follows_model_package_type(self):
        self.sm.create_model_package_group(ModelPackageGroupName="kinds")
        self.sm.create_model_package(ModelPackageGroupName="kinds")
        self.sm.create_model_package(ModelPackageName="loose", InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]})
        names = lambda **kw: sorted(p["ModelPackageName"] for p in self.sm.list_model_packages(**kw)["ModelPackageSummaryList"])
        self.assertEqual(["loose"], names())
        self.assertEqual(["loose"], names(ModelPackageType="Unversioned"))
        self.assertEqual(["kinds"], names(ModelPackageType="Versioned"))
        self.assertEqual(["kinds", "loose"], names(ModelPackageType="Both"))

    def test_client_token_makes_create_model_package_idempotent(self):
        self.sm.create_model_package_group(ModelPackageGroupName="tok")
        first = self.sm.create_model_package(ModelPackageGroupName="tok", ClientToken="abc-1")["ModelPackageArn"]
        again = self.sm.create_model_package(ModelPackageGroupName="tok", ClientToken="abc-1")["ModelPackageArn"]
        other = self.sm.create_model_package(ModelPackageGroupName="tok", ClientToken="abc-2")["ModelPackageArn"]
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)


class CloudWatch(Base):
    def test_alarm_defaults_types_and_state(self):
        for cw in (self.cw, client("cloudwatch", cbor=True)):
            ctl("reset", {})
            self.alarm("a1")
            cw.put_metric_alarm(AlarmName="pct", Metrics=[
                {"Id": "e", "Expression": "m1/m2", "ReturnData": True},
                {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "Err"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
                {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "Inv"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False}],
                EvaluationPeriods=1, Threshold=0.1, ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "t", "Value": "1"}])
            cw.put_metric_alarm(AlarmName="p99", MetricName="L", Namespace="N", ExtendedStatistic="p99", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
            cw.put_composite_alarm(AlarmName="comp", AlarmRule='ALARM("a1") OR ALARM(pct)')
            out = cw.describe_alarms()
            self.assertEqual(["a1", "p99", "pct"], [a["AlarmName"] for a in out["MetricAlarms"]])
            self.assertEqual({"INSUFFICIENT_DATA"}, {a["StateValue"] for a in out["MetricAlarms"]})
            self.assertEqual([], out.get("CompositeAlarms", []))
            self.assertEqual(["comp"], [a["AlarmName"] for a in cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]])
            cw.set_alarm_state(AlarmName="a1", StateValue="ALARM", StateReason="test")
            self.assertEqual("ALARM", cw.describe_alarms(AlarmNames=["a1"])["MetricAlarms"][0]["StateValue"])
            arn = cw.describe_alarms(AlarmNames=["pct"])["MetricAlarms"][0]["AlarmArn"]
            self.assertEqual([{"Key": "t", "Value": "1"}], cw.list_tags_for_resource(ResourceARN=arn)["Tags"])
            self.assertAws("InvalidParameterCombination", cw.put_metric_alarm, AlarmName="x", MetricName="L", Namespace="N",
                           Statistic="Average", ExtendedStatistic="p99", Period=60, EvaluationPeriods=1, Threshold=1.0,
                           ComparisonOperator="GreaterThanThreshold")
            self.assertAws("ValidationError", cw.put_metric_alarm, AlarmName="m-of-n", MetricName="L", Namespace="N",
                           Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=4, Threshold=1.0,
                           ComparisonOperator="GreaterThanThreshold")
            cw.put_metric_alarm(AlarmName="m-of-n", MetricName="L", Namespace="N", Statistic="Sum", Period=60,
                                EvaluationPeriods=5, DatapointsToAlarm=3, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
            cw.put_metric_alarm(AlarmName="n-of-n", MetricName="L", Namespace="N", Statistic="Sum", Period=60,
                                EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
            got = {a["AlarmName"]: a["DatapointsToAlarm"] for a in cw.describe_alarms(AlarmNames=["m-of-n", "n-of-n"])["MetricAlarms"]}
            self.assertEqual({"m-of-n": 3, "n-of-n": 2}, got)
            cw.delete_alarms(AlarmNames=["m-of-n", "n-of-n"])
            cw.delete_alarms(AlarmNames=["a1", "does-not-exist"])
            self.assertEqual(["p99", "pct"], [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]])

    def test_get_metric_data(self):
        cw = client("cloudwatch", cbor=True)
        now = time.time()
        base = (int(now) // 60) * 60 - 120
        cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "Lat", "Value": float(v), "Timestamp": base + 5} for v in range(1, 101)])
        cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "Err", "Values": [1.0, 2.0], "Counts": [3.0, 1.0], "Timestamp": base + 5}])
        self.assertAws("InvalidParameterValue", cw.put_metric_data, Namespace="AWS/SageMaker", MetricData=[{"MetricName": "x", "Value": 1.0}])
        q = lambda i, m, s: {"Id": i, "MetricStat": {"Metric": {"Namespace": "App", "MetricName": m}, "Period": 60, "Stat": s}}
        r = cw.get_metric_data(StartTime=base - 60, EndTime=base + 120, ScanBy="TimestampAscending", MetricDataQueries=[
            q("p", "Lat", "p90"), q("n", "Lat", "SampleCount"), q("avg", "Lat", "Average"), q("mx", "Lat", "Maximum"),
            q("e", "Err", "Sum"), {"Id": "ratio", "Expression": "e/n"}, {"Id": "bad", "Expression": "RATE(e)"}])
        got = {x["Id"]: (x["Values"], x["StatusCode"]) for x in r["MetricDataResults"]}
        self.assertEqual(([90.0], "Complete"), got["p"])
        self.assertEqual(([100.0], "Complete"), got["n"])
        self.assertEqual(([50.5], "Complete"), got["avg"])
        self.assertEqual(([100.0], "Complete"), got["mx"])
        self.assertEqual(([5.0], "Complete"), got["e"])
        self.assertEqual(([0.05], "Complete"), got["ratio"])
        self.assertEqual(([], "InternalError"), got["bad"])

    def test_a_period_that_does_not_fit_the_starts_age_returns_nothing(self):
        # CW-23: a start 16 days back needs a period in whole 5 minutes.
        cw = client("cloudwatch", cbor=True)
        now = time.time()
        cw.put_metric_data(Namespace="Old", MetricData=[{"MetricName": "Lat", "Value": 7.0, "Timestamp": now - 600}])
        start = (int(now) // 300) * 300 - 16 * 86400
        end = (int(now) // 300) * 300 + 300
        q = lambda period: [{"Id": "m", "MetricStat": {"Metric": {"Namespace": "Old", "MetricName": "Lat"}, "Period": period, "Stat": "Maximum"}}]
        minutes = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=q(end - start - 60))
        self.assertEqual([], minutes["MetricDataResults"][0]["Values"])
        whole = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=q(end - start))
        self.assertEqual([7.0], whole["MetricDataResults"][0]["Values"])


class FaultsAndLogs(Base):
    def test_throttle_error_and_filter(self):
        ctl("faults", {"throttle_percent": 100, "services": ["sagemaker"], "seed": 1})
        self.assertAws("ThrottlingException", self.sm.list_models, contains="Rate exceeded", status=400)
        self.cw.describe_alarms()
        ctl("faults", {"error_percent": 100, "operations": ["ListModels"], "seed": 1})
        with self.assertRaises(ClientError) as cm:
            self.sm.list_models()
        self.assertIn(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], (500, 503))
        ctl("faults", {"throttle_percent": 100, "services": ["s3"]})
        self.assertAws("SlowDown", client("s3").list_buckets, status=503)
        ctl("faults", {})
        log = ctl("requests")
        self.assertEqual([True, False, True, True], [r["injected"] for r in log])
        self.assertEqual(["ThrottlingException", None], [r["error_code"] for r in log[:2]])

    def test_rate_limit_throttles_above_the_rate_and_admits_again_after_a_second(self):
        ctl("requests", method="DELETE")
        ctl("faults", {"rate_per_second": 5, "services": ["sagemaker"]})
        codes = []
        for _ in range(8):
            try:
                self.sm.list_models()
                codes.append(200)
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
        self.assertEqual([200] * 5 + ["ThrottlingException"] * 3, codes)
        self.cw.describe_alarms()  # another service: not limited
        time.sleep(1.05)
        self.sm.list_models()
        ctl("faults", {})
        self.assertEqual(3, sum(r["injected"] for r in ctl("requests")))

    def test_deterministic_with_seed(self):
        def run():
            ctl("requests", method="DELETE")
            ctl("faults", {"throttle_percent": 50, "seed": 7})
            for _ in range(12):
                try:
                    self.sm.list_models()
                except ClientError:
                    pass
            return [r["status"] for r in ctl("requests")]
        first = run()
        self.assertEqual(first, run())
        self.assertIn(400, first)
        self.assertIn(200, first)

    def test_drop_connection(self):
        ctl("faults", {"drop_percent": 100})
        port = int(URL.rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\n"
                  b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}")
        self.assertEqual(b"", s.recv(100))
        s.close()
        ctl("faults", {})
        self.assertEqual("ConnectionDropped", ctl("requests")[0]["error_code"])

    def test_request_log_summary_state_and_reset(self):
        self.model()
        self.assertAws("ValidationException", self.model)
        summary = ctl("requests/summary")
        self.assertIn({"service": "sagemaker", "operation": "CreateModel", "status": 200, "count": 1}, summary)
        self.assertIn({"service": "sagemaker", "operation": "CreateModel", "status": 400, "count": 1}, summary)
        state = ctl("state")
        self.assertEqual(["m1"], [m["name"] for m in state["sagemaker"]["models"]])
        ctl("reset", {})
        self.assertEqual([], ctl("state")["sagemaker"]["models"])
        self.assertEqual([], ctl("requests"))


class MotoServices(Base):
    def test_a_bucket_in_another_region_answers_301_with_its_region(self):
        kw = dict(endpoint_url=URL, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                  config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        eu = boto3.session.Session().client("s3", region_name="eu-west-1", **kw)
        eu.create_bucket(Bucket="eu-results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        eu.put_object(Bucket="eu-results", Key="r.json", Body=b"{}")
        # boto3 follows the redirect by itself (the Rust SDK does not): the first answer is 301.
        us = client("s3")
        self.assertEqual(b"{}", us.get_object(Bucket="eu-results", Key="r.json")["Body"].read())
        codes = [(r["operation"], r["status"], r["error_code"]) for r in ctl("requests") if r["service"] == "s3"]
        self.assertIn(("GetObject", 301, "PermanentRedirect"), codes)

    def test_s3_sns_sts(self):
        s3 = client("s3")
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(Bucket="artifacts", Key="models/m.tar.gz", Body=b"12345")
        self.assertEqual(5, s3.head_object(Bucket="artifacts", Key="models/m.tar.gz")["ContentLength"])
        self.assertEqual(b"12345", s3.get_object(Bucket="artifacts", Key="models/m.tar.gz")["Body"].read())
        up = s3.create_multipart_upload(Bucket="artifacts", Key="big")
        part = s3.upload_part(Bucket="artifacts", Key="big", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 10)
        s3.complete_multipart_upload(Bucket="artifacts", Key="big", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
        self.assertAws("NoSuchKey", s3.get_object, Bucket="artifacts", Key="none")
        # A ranged GET pinned to a version (If-Match) of an object replaced since: 412 (S3-12).
        etag = s3.head_object(Bucket="artifacts", Key="models/m.tar.gz")["ETag"]
        self.assertEqual(b"23", s3.get_object(Bucket="artifacts", Key="models/m.tar.gz", Range="bytes=1-2",
                                              IfMatch=etag)["Body"].read())
        s3.put_object(Bucket="artifacts", Key="models/m.tar.gz", Body=b"54321")
        self.assertAws("PreconditionFailed", s3.get_object, Bucket="artifacts", Key="models/m.tar.gz",
                       Range="bytes=1-2", IfMatch=etag)
        # A copy conditioned on a version (x-amz-copy-source-if-match) of an object replaced since:
        # 412, nothing copied; on the current version, copied (S3-14). Parts likewise.
        self.assertAws("PreconditionFailed", s3.copy_object, Bucket="artifacts", Key="copies/m.tar.gz",
                       CopySource="artifacts/models/m.tar.gz", CopySourceIfMatch=etag)
        now = s3.head_object(Bucket="artifacts", Key="models/m.tar.gz")["ETag"]
        s3.copy_object(Bucket="artifacts", Key="copies/m.tar.gz", CopySource="artifacts/models/m.tar.gz",
                       CopySourceIfMatch=now)
        self.assertEqual(b"54321", s3.get_object(Bucket="artifacts", Key="copies/m.tar.gz")["Body"].read())
        up = s3.create_multipart_upload(Bucket="artifacts", Key="copies/parts")
        self.assertAws("PreconditionFailed", s3.upload_part_copy, Bucket="artifacts", Key="copies/parts",
                       UploadId=up["UploadId"], PartNumber=1, CopySource="artifacts/models/m.tar.gz",
                       CopySourceRange="bytes=0-1", CopySourceIfMatch=etag)
        s3.abort_multipart_upload(Bucket="artifacts", Key="copies/parts", UploadId=up["UploadId"])
        # A delete of a missing key succeeds (S3-15).
        s3.delete_object(Bucket="artifacts", Key="copies/m.tar.gz")
        s3.delete_object(Bucket="artifacts", Key="copies/m.tar.gz")
        buckets = ctl("state")["s3"]["buckets"]
        self.assertEqual({"models/m.tar.gz": 5, "big": 10}, buckets[0]["keys"])
        sns = client("sns")
        topic = sns.create_topic(Name="rollouts")["TopicArn"]
        sns.publish(TopicArn=topic, Message="rolled out", Subject="ok")
        self.assertEqual("rolled out", ctl("state")["sns"]["published"][0]["Message"])
        self.assertAws("ValidationError", sns.publish, TopicArn=topic, contains="Value null at 'message'")
        self.assertEqual("123456789012", client("sts").get_caller_identity()["Account"])
        ops = {(r["service"], r["operation"]) for r in ctl("requests")}
        self.assertIn(("s3", "CompleteMultipartUpload"), ops)
        self.assertIn(("sts", "GetCallerIdentity"), ops)


class ServiceMetrics(Base):
    def test_sagemaker_metrics_are_read_back_by_get_metric_data(self):
        import time as _t
        now = _t.time()
        dims = {"EndpointName": "ep1", "VariantName": "v-a"}
        ctl("service-metrics", {"namespace": "AWS/SageMaker", "metric": "ModelLatency", "dimensions": dims,
                                "values": [float(v) for v in range(1, 101)], "timestamp": now})
        start = int(now // 60 * 60)
        out = self.cw.get_metric_data(StartTime=start, EndTime=start + 120, MetricDataQueries=[
            {"Id": "q0", "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency",
                                                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                                        "Period": 120, "Stat": "p99"}}])
        self.assertEqual([99.0], out["MetricDataResults"][0]["Values"])
        # PutMetricData itself still refuses the AWS/ namespace (CW-12).
        self.assertAws("InvalidParameterValue", self.cw.put_metric_data, Namespace="AWS/SageMaker",
                       MetricData=[{"MetricName": "x", "Value": 1.0}], contains="reserved")


class SnsPublish(Base):
    def test_publish_rules(self):
        sns = client("sns")
        topic = sns.create_topic(Name="rollouts")["TopicArn"]
        fifo = sns.create_topic(Name="rollouts.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        other = boto3.session.Session().client(
            "sns", endpoint_url=URL, region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
        cases = [
            ("NotFound", other.publish, dict(TopicArn=topic, Message="m"), "us-east-1"),
            ("InvalidParameter", sns.publish, dict(TopicArn="arn:aws:sns:us-east-1:1234:x", Message="m"), "not a valid topic ARN"),
            ("InvalidParameter", sns.publish, dict(TopicArn=topic, Message="m", Subject="a\nb"), "Subject"),
            ("InvalidParameter", sns.publish, dict(TopicArn=topic, Message="m", Subject="s" * 100), "Subject"),
            ("InvalidParameter", sns.publish, dict(TopicArn=topic, Message="\u00e9" * 140_000), "Message too long"),
            ("InvalidParameter", sns.publish, dict(TopicArn=topic, Message="m", MessageDeduplicationId="d"), "not valid for this topic type"),
            ("InvalidParameter", sns.publish, dict(TopicArn=fifo, Message="m", MessageDeduplicationId="d"), "MessageGroupId"),
            ("InvalidParameter", sns.publish, dict(TopicArn=fifo, Message="m", MessageGroupId="g"), "MessageDeduplicationId"),
        ]
        for code, fn, kw, text in cases:
            with self.subTest(text=text):
                self.assertAws(code, fn, contains=text, **kw)
        sns.publish(TopicArn=topic, Message="ok", Subject="s" * 99,
                    MessageAttributes={"event": {"DataType": "String", "StringValue": "started"}})
        sns.publish(TopicArn=fifo, Message="ok", MessageGroupId="g", MessageDeduplicationId="d")
        published = ctl("state")["sns"]["published"]
        self.assertEqual(["ok", "ok"], [p["Message"] for p in published])
        self.assertEqual("us-east-1", published[0]["region"])


class MoreRules(Base):
    def test_cloudwatch_rules(self):
        cw = self.cw
        self.alarm("a1")
        self.alarm("a2")
        cases = [
            ("ValidationError", cw.put_composite_alarm, dict(AlarmName="c", AlarmRule='ALARM("missing")'), "do not exist"),
            ("InvalidParameterCombination", cw.describe_alarms, dict(AlarmNames=["a1"], AlarmNamePrefix="a"), "AlarmNamePrefix"),
            ("InvalidFormat", cw.set_alarm_state, dict(AlarmName="a1", StateValue="OK", StateReason="r", StateReasonData="{no"), "JSON"),
            ("ValidationError", cw.put_metric_alarm, dict(AlarmName="t", MetricName="M", Namespace="N", Statistic="Sum", Period=60,
                                                          EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold"), "Threshold"),
            ("ValidationError", cw.put_metric_alarm, dict(AlarmName="t", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                                          Metrics=[{"Id": "m", "Expression": "1", "ReturnData": False}]), "Exactly one element"),
            ("InvalidParameterCombination", cw.put_metric_data, dict(Namespace="App", MetricData=[{"MetricName": "x", "Value": 1.0, "Values": [1.0]}]), "mutually exclusive"),
            ("InvalidParameterCombination", cw.put_metric_alarm, dict(AlarmName="t", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                                                   Period=60, Metrics=[{"Id": "m", "Expression": "1"}]), "Period"),
            ("InvalidParameterCombination", cw.put_metric_alarm, dict(AlarmName="t", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                                                   Dimensions=[], Metrics=[{"Id": "m", "Expression": "1"}]), "Dimensions"),
            ("ValidationError", cw.put_metric_alarm, dict(AlarmName="t", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                                       Metrics=[{"Id": "E1", "Expression": "1"}]), "lowercase"),
            ("ValidationError", cw.put_metric_alarm, dict(AlarmName="t", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                                       Metrics=[{"Id": "e", "Expression": "1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}]),
             "exactly one of Expression and MetricStat"),
        ]
        for code, fn, kw, text in cases:
            with self.subTest(code=code, text=text):
                self.assertAws(code, fn, contains=text, **kw)
        cw.put_composite_alarm(AlarmName="c1", AlarmRule='ALARM("a1")')
        cw.put_composite_alarm(AlarmName="c2", AlarmRule='ALARM("a2")')
        self.assertAws("ValidationError", cw.delete_alarms, AlarmNames=["c1", "c2"], contains="no more than one composite")

    def test_autoscaling_and_update_rules(self):
        self.model()
        self.config(variants=[self.variant("a", "m1", count=4)])
        self.endpoint()
        rid = "endpoint/ep1/variant/a"
        dim = "sagemaker:variant:DesiredInstanceCount"
        self.assertAws("ValidationException", self.aas.register_scalable_target, ServiceNamespace="sagemaker", ResourceId=rid,
                       ScalableDimension=dim, MinCapacity=5, MaxCapacity=2, contains="cannot be greater")
        self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, MinCapacity=1, MaxCapacity=4)
        self.assertAws("ValidationException", self.aas.put_scaling_policy, PolicyName="p", ServiceNamespace="sagemaker", ResourceId=rid,
                       ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                       TargetTrackingScalingPolicyConfiguration={"TargetValue": 1.0}, contains="Exactly one of")
        self.assertAws("ValidationException", self.aas.put_scaling_policy, PolicyName="p", ServiceNamespace="sagemaker", ResourceId=rid,
                       ScalableDimension=dim, PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                           "TargetValue": 1.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}},
                       contains="Unsupported metric type")
        self.aas.put_scaling_policy(PolicyName="p", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim,
                                    PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                                        "TargetValue": 5.0, "CustomizedMetricSpecification": {
                                            "MetricName": "Lat", "Namespace": "App", "Statistic": "Average"}})
        pol = self.aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid, PolicyNames=["p"])["ScalingPolicies"][0]
        self.assertEqual("Lat", pol["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["MetricName"])
        self.alarm("al")
        self.model("m2")
        self.config("c2", variants=[self.variant("a", "m2", count=4)])
        self.assertAws("ValidationException", self.sm.update_endpoint, EndpointName="ep1", EndpointConfigName="c2", DeploymentConfig={
            "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 80}, "WaitIntervalInSeconds": 60},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "al"}]}}, contains="MaximumBatchSize")
        self.sm.update_endpoint_weights_and_capacities(EndpointName="ep1", DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredInstanceCount": 3}])
        self.assertAws("ValidationException", self.sm.update_endpoint_weights_and_capacities, EndpointName="ep1",
                       DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredWeight": 1}], contains="in-progress")
        d = self.wait("ep1", "InService")
        self.assertEqual((3, 1.0), (d["ProductionVariants"][0]["CurrentInstanceCount"], d["ProductionVariants"][0]["CurrentWeight"]))


class Documentation(unittest.TestCase):
    def test_rules_md_is_current(self):
        sys.path.insert(0, HERE)
        import rules_index
        with open(os.path.join(HERE, "RULES.md")) as f:
            self.assertEqual(rules_index.render(), f.read(), "regenerate RULES.md with rules_index.py")


if __name__ == "__main__":
    unittest.main()
