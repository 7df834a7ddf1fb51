//! Malformed Step Functions payloads: each fails the invocation as `SendEmail.InvalidInput` with
//! a message naming the field, and nothing is published (the only SNS rule panics if called).

use approval_core::config::SendEmailConfig;
use aws_sdk_sns::Client;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use send_email::handler::SendEmail;
use serde_json::{Value, json};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

/// Clients whose every call panics: a bad payload must reach neither KMS nor SNS.
fn function(publish: &aws_smithy_mocks::Rule, sign: &aws_smithy_mocks::Rule) -> SendEmail {
    SendEmail {
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [publish]),
        kms: mock_client!(aws_sdk_kms, RuleMode::MatchAny, [sign]),
        config: SendEmailConfig::from_values(Some(TOPIC), Some("alias/links"), None, None),
    }
}

fn good() -> Value {
    json!({
        "ExecutionContext": {
            "Execution": {"Name": "run-1", "Input": {"Comment": "hi"}, "StartTime": "2026-11-26T09:00:00Z"},
            "StateMachine": {"Name": "HumanApproval"},
            "Task": {"Token": "AQCEAAAAKgAAAAMAAAAAAAAAAR+Xq/9Z0aB+c/Q=="}
        },
        "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
    })
}

/// The good payload with the value at a JSON pointer replaced (or removed, for `None`).
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut payload = good();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = payload
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"))
        .as_object_mut()
        .unwrap();
    match value {
        Some(v) => parent.insert(key.to_owned(), v),
        None => parent.remove(key),
    };
    payload
}

fn cases() -> Vec<(&'static str, Value, &'static str)> {
    const TOKEN: &str = "/ExecutionContext/Task/Token";
    const NAME: &str = "/ExecutionContext/Execution/Name";
    const SM: &str = "/ExecutionContext/StateMachine/Name";
    const ENDPOINT: &str = "/APIGatewayEndpoint";
    vec![
        ("null payload", Value::Null, "must be a JSON object"),
        ("array payload", json!([good()]), "must be a JSON object"),
        ("string payload", json!("approve"), "must be a JSON object"),
        ("number payload", json!(42), "must be a JSON object"),
        (
            "empty object",
            json!({}),
            "`ExecutionContext.Task.Token` is missing",
        ),
        (
            "context is a string",
            with("/ExecutionContext", Some(json!("$$"))),
            "`ExecutionContext.Task.Token` is missing",
        ),
        (
            "task missing",
            with("/ExecutionContext/Task", None),
            "`ExecutionContext.Task.Token` is missing",
        ),
        (
            "token missing",
            with(TOKEN, None),
            "`ExecutionContext.Task.Token` is missing",
        ),
        (
            "token null",
            with(TOKEN, Some(Value::Null)),
            "`ExecutionContext.Task.Token` is missing",
        ),
        (
            "token number",
            with(TOKEN, Some(json!(123))),
            "`ExecutionContext.Task.Token` must be a string",
        ),
        (
            "token object",
            with(TOKEN, Some(json!({"t": 1}))),
            "`ExecutionContext.Task.Token` must be a string",
        ),
        (
            "token empty",
            with(TOKEN, Some(json!(""))),
            "`ExecutionContext.Task.Token` is empty",
        ),
        (
            "token 2049 chars",
            with(TOKEN, Some(json!("A".repeat(2049)))),
            "`ExecutionContext.Task.Token` is 2049 characters long",
        ),
        (
            "token with space",
            with(TOKEN, Some(json!("AQ CE"))),
            "`ExecutionContext.Task.Token` contains a space",
        ),
        (
            "token with newline",
            with(TOKEN, Some(json!("AQ\nCE"))),
            "`ExecutionContext.Task.Token` contains characters",
        ),
        (
            "token with markup",
            with(TOKEN, Some(json!("<a>"))),
            "`ExecutionContext.Task.Token` contains characters",
        ),
        (
            "execution name missing",
            with(NAME, None),
            "`ExecutionContext.Execution.Name` is missing",
        ),
        (
            "execution name empty",
            with(NAME, Some(json!(""))),
            "`ExecutionContext.Execution.Name` is empty",
        ),
        (
            "execution name 81 chars",
            with(NAME, Some(json!("x".repeat(81)))),
            "`ExecutionContext.Execution.Name` is 81 characters long",
        ),
        (
            "execution name with CR",
            with(NAME, Some(json!("a\rb"))),
            "`ExecutionContext.Execution.Name` contains control characters",
        ),
        (
            "execution name bool",
            with(NAME, Some(json!(true))),
            "`ExecutionContext.Execution.Name` must be a string",
        ),
        (
            "state machine missing",
            with("/ExecutionContext/StateMachine", None),
            "`ExecutionContext.StateMachine.Name` is missing",
        ),
        (
            "state machine name number",
            with(SM, Some(json!(7))),
            "`ExecutionContext.StateMachine.Name` must be a string",
        ),
        (
            "endpoint missing",
            with(ENDPOINT, None),
            "`APIGatewayEndpoint` is missing",
        ),
        (
            "endpoint empty",
            with(ENDPOINT, Some(json!(""))),
            "`APIGatewayEndpoint` is not a URL",
        ),
        (
            "endpoint relative",
            with(ENDPOINT, Some(json!("/states"))),
            "`APIGatewayEndpoint` is not a URL",
        ),
        (
            "endpoint not a URL",
            with(ENDPOINT, Some(json!("not a url"))),
            "`APIGatewayEndpoint` is not a URL",
        ),
        (
            "endpoint ftp",
            with(ENDPOINT, Some(json!("ftp://example.com/states"))),
            "`APIGatewayEndpoint` must be an http or https URL",
        ),
        (
            "endpoint javascript",
            with(ENDPOINT, Some(json!("javascript:alert(1)"))),
            "`APIGatewayEndpoint` must be an http or https URL",
        ),
        (
            "endpoint with query",
            with(ENDPOINT, Some(json!("https://abc.example.com/states?x=1"))),
            "`APIGatewayEndpoint` must not carry a query",
        ),
        (
            "endpoint number",
            with(ENDPOINT, Some(json!(443))),
            "`APIGatewayEndpoint` must be a string",
        ),
        (
            "subject number",
            with("/Subject", Some(json!(1))),
            "`Subject` must be a string",
        ),
        (
            "start time object",
            with("/ExecutionContext/Execution/StartTime", Some(json!({}))),
            "`ExecutionContext.Execution.StartTime` must be a string",
        ),
    ]
}

#[tokio::test]
async fn every_malformed_payload_is_refused_naming_the_field_and_nothing_is_published() {
    let never = mock!(Client::publish).then_output(|| panic!("nothing may be published"));
    let never_sign =
        mock!(aws_sdk_kms::Client::generate_mac).then_output(|| panic!("nothing may be signed"));
    let f = function(&never, &never_sign);
    let cases = cases();
    assert!(cases.len() >= 20, "the battery has {} cases", cases.len());
    for (name, payload, says) in cases {
        let err = f.handle(payload).await.expect_err(name);
        assert_eq!(err.error_type(), "SendEmail.InvalidInput", "{name}");
        assert!(err.to_string().contains(says), "{name}: {err}");
    }
    assert_eq!((never.num_calls(), never_sign.num_calls()), (0, 0));
}

#[tokio::test]
async fn the_good_payload_of_the_battery_is_itself_valid() {
    let rule = mock!(Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().build());
    let sign = mock!(aws_sdk_kms::Client::generate_mac).then_output(|| {
        aws_sdk_kms::operation::generate_mac::GenerateMacOutput::builder()
            .mac(aws_sdk_kms::primitives::Blob::new(vec![1; 32]))
            .build()
    });
    function(&rule, &sign).handle(good()).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}
