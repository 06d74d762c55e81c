"""Operation tables: which modeled operations the emulator implements, per service.

Contract: `HANDLERS[service][operation]` is a function (world, call, params) -> output dict.
S3, SNS and STS are forwarded to moto (see moto_forward) and are not listed here.
"""
import autoscaling
import cw_alarms
import cw_metrics
import sm_components
import sm_configs
import sm_endpoints
import sm_models
import sm_packages
import sm_runtime
import sm_tags
import sm_updates

HANDLERS = {
    "sagemaker": {
        "CreateModel": sm_models.create_model,
        "DescribeModel": sm_models.describe_model,
        "DeleteModel": sm_models.delete_model,
        "ListModels": sm_models.list_models,
        "CreateEndpointConfig": sm_configs.create_endpoint_config,
        "DescribeEndpointConfig": sm_configs.describe_endpoint_config,
        "DeleteEndpointConfig": sm_configs.delete_endpoint_config,
        "ListEndpointConfigs": sm_configs.list_endpoint_configs,
        "CreateEndpoint": sm_endpoints.create_endpoint,
        "DescribeEndpoint": sm_endpoints.describe_endpoint,
        "ListEndpoints": sm_endpoints.list_endpoints,
        "DeleteEndpoint": sm_endpoints.delete_endpoint,
        "UpdateEndpoint": sm_updates.update_endpoint,
        "UpdateEndpointWeightsAndCapacities": sm_updates.update_endpoint_weights_and_capacities,
        "CreateInferenceComponent": sm_components.create_inference_component,
        "DescribeInferenceComponent": sm_components.describe_inference_component,
        "UpdateInferenceComponent": sm_components.update_inference_component,
        "UpdateInferenceComponentRuntimeConfig": sm_components.update_inference_component_runtime_config,
        "DeleteInferenceComponent": sm_components.delete_inference_component,
        "ListInferenceComponents": sm_components.list_inference_components,
        "AddTags": sm_tags.add_tags,
        "DeleteTags": sm_tags.delete_tags,
        "ListTags": sm_tags.list_tags,
        "CreateModelPackageGroup": sm_packages.create_model_package_group,
        "DescribeModelPackageGroup": sm_packages.describe_model_package_group,
        "ListModelPackageGroups": sm_packages.list_model_package_groups,
        "DeleteModelPackageGroup": sm_packages.delete_model_package_group,
        "CreateModelPackage": sm_packages.create_model_package,
        "DescribeModelPackage": sm_packages.describe_model_package,
        "ListModelPackages": sm_packages.list_model_packages,
        "UpdateModelPackage": sm_packages.update_model_package,
        "DeleteModelPackage": sm_packages.delete_model_package,
    },
    "sagemaker-runtime": {
        "InvokeEndpoint": sm_runtime.invoke_endpoint,
    },
    "application-autoscaling": {
        "RegisterScalableTarget": autoscaling.register_scalable_target,
        "DescribeScalableTargets": autoscaling.describe_scalable_targets,
        "DeregisterScalableTarget": autoscaling.deregister_scalable_target,
        "PutScalingPolicy": autoscaling.put_scaling_policy,
        "DescribeScalingPolicies": autoscaling.describe_scaling_policies,
        "DeleteScalingPolicy": autoscaling.delete_scaling_policy,
    },
    "cloudwatch": {
        "PutMetricAlarm": cw_alarms.put_metric_alarm,
        "PutCompositeAlarm": cw_alarms.put_composite_alarm,
        "DescribeAlarms": cw_alarms.describe_alarms,
        "DeleteAlarms": cw_alarms.delete_alarms,
        "SetAlarmState": cw_alarms.set_alarm_state,
        "ListTagsForResource": cw_alarms.list_tags_for_resource,
        "TagResource": cw_alarms.tag_resource,
        "UntagResource": cw_alarms.untag_resource,
        "PutMetricData": cw_metrics.put_metric_data,
        "GetMetricData": cw_metrics.get_metric_data,
        "ListMetrics": cw_metrics.list_metrics,
    },
}
