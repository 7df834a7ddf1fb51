//! SNS faults: throttling and 5xx are retried by the SDK, then fail the invocation as
//! `SendEmail.PublishFailed` (which the state machine retries); a hanging SNS fails it before
//! the function's timeout. Time is tokio's paused clock, so the waits cost nothing.

use std::time::Duration;

use approval_core::config::SendEmailConfig;
use aws_sdk_kms::{operation::generate_mac::GenerateMacOutput, primitives::Blob};
use aws_sdk_sns::{Client, config::retry::RetryConfig};
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::Rule;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;
use send_email::{LAMBDA_TIMEOUT, handler::SendEmail, sdk_timeouts};
use serde_json::{Value, json};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

fn config() -> Result<SendEmailConfig, approval_core::ConfigError> {
    SendEmailConfig::from_values(Some(TOPIC), Some("alias/links"), None, None)
}

fn signing() -> Rule {
    mock!(aws_sdk_kms::Client::generate_mac).then_output(|| {
        GenerateMacOutput::builder()
            .mac(Blob::new(vec![1; 32]))
            .build()
    })
}

fn payload() -> Value {
    json!({
        "ExecutionContext": {"Execution": {"Name": "run-1"}, "StateMachine": {"Name": "HumanApproval"}, "Task": {"Token": "AQCE+/=="}},
        "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
    })
}

fn query_error(code: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

#[tokio::test(start_paused = true)]
async fn throttling_and_5xx_are_retried_then_fail_as_publish_failed() {
    for (status, body) in [
        (400, query_error("Throttling")),
        (500, query_error("InternalError")),
        (503, String::new()),
    ] {
        let rule = mock!(Client::publish).then_http_response(move || {
            HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(body.clone()),
            )
        });
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(RetryConfig::standard()));
        let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&signing()]);
        let err = SendEmail {
            sns,
            kms,
            config: config(),
        }
        .handle(payload())
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.PublishFailed", "{status}");
        let shown = err.to_string();
        assert!(
            shown.len() < 200 && !shown.contains('<'),
            "a short reason, not the raw response: {shown}"
        );
        assert_eq!(
            rule.num_calls(),
            3,
            "standard retry mode tries three times ({status})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_sns_fails_the_invocation_before_the_function_times_out() {
    let sns_config = aws_sdk_sns::Config::builder()
        .with_test_defaults_v2()
        .http_client(NeverClient::new())
        .timeout_config(sdk_timeouts())
        .build();
    let sns = Client::from_conf(sns_config);
    let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&signing()]);
    let function = SendEmail {
        sns,
        kms,
        config: self::config(),
    };
    let started = tokio::time::Instant::now();
    let err = function.handle(payload()).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed");
    assert!(
        waited < LAMBDA_TIMEOUT,
        "gave up after {waited:?}, the function is killed at {LAMBDA_TIMEOUT:?}"
    );
    assert!(
        waited >= Duration::from_secs(5),
        "it did wait for SNS ({waited:?})"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_kms_fails_the_invocation_as_a_signing_failure_before_the_function_times_out() {
    let kms_config = aws_sdk_kms::Config::builder()
        .with_test_defaults_v2()
        .http_client(NeverClient::new())
        .timeout_config(sdk_timeouts())
        .build();
    let never = mock!(Client::publish).then_output(|| panic!("nothing may be published"));
    let function = SendEmail {
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&never]),
        kms: aws_sdk_kms::Client::from_conf(kms_config),
        config: config(),
    };
    let started = tokio::time::Instant::now();
    let err = function.handle(payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.SigningFailed");
    assert!(
        started.elapsed() < LAMBDA_TIMEOUT,
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(never.num_calls(), 0);
}
