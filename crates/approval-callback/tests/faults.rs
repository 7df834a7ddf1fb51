//! Step Functions faults seen by the approver: throttling and 5xx are retried by the SDK, then
//! answered with the 503 page; a Step Functions endpoint that hangs is answered with the 503
//! page before the function's timeout would turn into a bare API Gateway 502/504.
//! Time is tokio's paused clock, so the waits cost nothing.

mod support;

use std::time::Duration;

use approval_callback::{ANSWER_DEADLINE, App, LAMBDA_TIMEOUT, sdk_timeouts};
use aws_sdk_sfn::{Client, config::retry::RetryConfig};
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;

use support::{config, event, kms_client, kms_verifying, signed};

fn approve_post() -> lambda_http::Request {
    signed(event("approve-post.json"))
}

#[tokio::test(start_paused = true)]
async fn throttling_and_5xx_are_retried_then_get_the_503_page() {
    for (status, body) in [
        (
            400,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        (429, r#"{"__type":"TooManyRequestsException"}"#),
        (500, r#"{"__type":"InternalFailure"}"#),
        (502, ""),
        (503, r#"{"__type":"ServiceUnavailable"}"#),
    ] {
        let rule = mock!(Client::send_task_success).then_http_response(move || {
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
        });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(RetryConfig::standard()));
        let app = App {
            sfn,
            kms: kms_client(&[&kms_verifying()]),
            config: config("confirm", None),
        };
        let response = app.handle(approve_post()).await.unwrap();
        assert_eq!(response.status(), 503, "{status} {body}");
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("60")
        );
        assert_eq!(
            rule.num_calls(),
            3,
            "standard retry mode tries three times ({status})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_step_functions_gets_the_503_page_before_the_function_times_out() {
    let sfn_config = aws_sdk_sfn::Config::builder()
        .with_test_defaults_v2()
        .http_client(NeverClient::new())
        .timeout_config(sdk_timeouts())
        .build();
    let app = App {
        sfn: Client::from_conf(sfn_config),
        kms: kms_client(&[&kms_verifying()]),
        config: config("confirm", None),
    };
    let started = tokio::time::Instant::now();
    let response = app.handle(approve_post()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(
        waited < LAMBDA_TIMEOUT,
        "answered after {waited:?}, the function is killed at {LAMBDA_TIMEOUT:?}"
    );
    // Before the handler's own deadline: the SDK's timeouts gave up, not the safety net.
    assert!(
        waited < ANSWER_DEADLINE,
        "answered after {waited:?}: the SDK timeouts did not fire"
    );
    assert!(
        waited >= Duration::from_secs(2),
        "it did wait for Step Functions ({waited:?})"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_kms_gets_the_503_page_before_the_function_times_out_and_decides_nothing() {
    let kms_config = aws_sdk_kms::Config::builder()
        .with_test_defaults_v2()
        .http_client(NeverClient::new())
        .timeout_config(sdk_timeouts())
        .build();
    let never = mock!(Client::send_task_success).then_output(|| panic!("nothing may be decided"));
    let app = App {
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&never]),
        kms: aws_sdk_kms::Client::from_conf(kms_config),
        config: config("confirm", None),
    };
    let started = tokio::time::Instant::now();
    let response = app.handle(approve_post()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < ANSWER_DEADLINE,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(never.num_calls(), 0);
}
