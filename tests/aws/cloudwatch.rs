//! The CloudWatch adapter with aws-smithy-mocks: moto does not speak the Rust SDK's
//! RPCv2-CBOR protocol for CloudWatch, so requests and responses are checked at the client.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::delete_alarms::DeleteAlarmsOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use sagemaker_rollout::aws::alarms::Alarms;
use sagemaker_rollout::aws::alarms::{ListedAlarm, SdkAlarms};

const ALARM_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sagemaker-rollout-churn-prod-v-1-ModelLatency-p99";
use sagemaker_rollout::plan::AlarmState;
use sagemaker_rollout::plan::actions::AlarmKind;

#[tokio::test]
async fn alarms_are_described_created_and_deleted() {
    let describe = mock!(Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == ["kpi".to_owned(), "gone".to_owned()])
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("kpi")
                        .state_value(StateValue::Alarm)
                        .build(),
                )
                .build()
        });
    let listed = mock!(Client::describe_alarms)
        .match_requests(|r| r.alarm_name_prefix() == Some("sagemaker-rollout-churn-prod-"))
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("sagemaker-rollout-churn-prod-v-1-ModelLatency-p99")
                        .alarm_arn(ALARM_ARN)
                        .build(),
                )
                .build()
        });
    let tagged = mock!(Client::list_tags_for_resource)
        .match_requests(|r| r.resource_arn() == Some(ALARM_ARN))
        .then_output(|| {
            aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
                .tags(
                    aws_sdk_cloudwatch::types::Tag::builder()
                        .key("owner")
                        .value("ml-prod/churn")
                        .build(),
                )
                .build()
        });
    let put = mock!(Client::put_metric_alarm)
        .match_requests(|r| {
            r.alarm_name() == Some("sagemaker-rollout-churn-prod-v-1-ModelLatency-p99")
                && r.extended_statistic() == Some("p99")
                && r.statistic().is_none()
                && r.threshold() == Some(500_000.0)
                && r.evaluation_periods() == Some(3)
                && r.dimensions()
                    .iter()
                    .any(|d| d.name() == Some("VariantName") && d.value() == Some("v-1"))
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let delete = mock!(Client::delete_alarms)
        .match_requests(|r| {
            r.alarm_names() == ["sagemaker-rollout-churn-prod-v-1-ModelLatency-p99".to_owned()]
        })
        .then_output(|| DeleteAlarmsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        [&describe, &listed, &tagged, &put, &delete]
    );
    let alarms = SdkAlarms::from_client(client);

    let states = alarms
        .describe(&["kpi".to_owned(), "gone".to_owned()])
        .await
        .unwrap();
    assert_eq!(states.len(), 1, "a missing alarm is absent");
    assert_eq!(
        (states[0].name.as_str(), states[0].state),
        ("kpi", AlarmState::Alarm)
    );

    let owned = alarms.list("sagemaker-rollout-churn-prod-").await.unwrap();
    assert_eq!(
        owned,
        vec![ListedAlarm {
            name: "sagemaker-rollout-churn-prod-v-1-ModelLatency-p99".to_owned(),
            tags: [("owner".to_owned(), "ml-prod/churn".to_owned())].into(),
        }],
        "each listed alarm with its tags (ListTagsForResource by its ARN)"
    );

    let plan = crate::contract::variant_alarm(
        "sagemaker-rollout-churn-prod-v-1-ModelLatency-p99",
        AlarmKind::Above,
        "ModelLatency",
        "p99",
        500_000.0,
    );
    alarms.put(&plan).await.unwrap();
    alarms
        .delete(std::slice::from_ref(&plan.name))
        .await
        .unwrap();
    assert_eq!(
        (
            describe.num_calls(),
            listed.num_calls(),
            put.num_calls(),
            delete.num_calls()
        ),
        (1, 1, 1, 1)
    );
}
