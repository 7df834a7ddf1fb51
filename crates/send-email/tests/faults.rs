//! SNS faults: throttling and 5xx are retried by the SDK, then fail the invocation as
//! `SendEmail.PublishFailed` (which the state machine retries); a hanging SNS fails it before
//! the function's timeout. Time is tokio's paused clock, so the waits cost nothing.

use std::time::Duration;

use aws_sdk_sns::{Client, config::retry::RetryConfig};
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;
use send_email::{LAMBDA_TIMEOUT, handler::handle, sdk_timeouts};
use serde_json::{Value, json};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

fn payload() -> Value {
    json!({
        "ExecutionContext": {"Execution": {"Name": "run-1"}, "StateMachine": {"Name": "HumanApproval"}, "Task": {"Token": "AQCE+/=="}},
        "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
    })
}

fn query_error(code: &str) -> String {
    format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>r</RequestId></ErrorResponse>")
}

#[tokio::test(start_paused = true)]
async fn throttling_and_5xx_are_retried_then_fail_as_publish_failed() {
    for (status, body) in [(400, query_error("Throttling")), (500, query_error("InternalError")), (503, String::new())] {
        let rule = mock!(Client::publish)
            .then_http_response(move || HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.clone())));
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule], |c| c.retry_config(RetryConfig::standard()));
        let err = handle(&sns, Some(TOPIC), payload()).await.unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.PublishFailed", "{status}");
        let shown = err.to_string();
        assert!(shown.len() < 200 && !shown.contains('<'), "a short reason, not the raw response: {shown}");
        assert_eq!(rule.num_calls(), 3, "standard retry mode tries three times ({status})");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_sns_fails_the_invocation_before_the_function_times_out() {
    let config = aws_sdk_sns::Config::builder()
        .with_test_defaults_v2()
        .http_client(NeverClient::new())
        .timeout_config(sdk_timeouts())
        .build();
    let sns = Client::from_conf(config);
    let started = tokio::time::Instant::now();
    let err = handle(&sns, Some(TOPIC), payload()).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed");
    assert!(waited < LAMBDA_TIMEOUT, "gave up after {waited:?}, the function is killed at {LAMBDA_TIMEOUT:?}");
    assert!(waited >= Duration::from_secs(5), "it did wait for SNS ({waited:?})");
}
