//! Faults of Step Functions, DynamoDB, SNS and SES, injected with aws-smithy-mocks under the real
//! AWS adapters: each ends in its named, retryable error before the function's timeout, and
//! nothing is sent for a request that was not stored. Time is tokio's paused clock.

use approval_aws::{DynamoDbStore, SesMailer, SnsNotifier, StepFunctionsTasks};
use approval_domain::memory::{MemoryEventBus, MemoryMeter, MemoryScheduler, fixtures};
use approval_domain::{Address, ports::Notifier};
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_sesv2::operation::send_email::SendEmailOutput;
use aws_sdk_sfn::{
    operation::get_execution_history::GetExecutionHistoryOutput,
    primitives::DateTime,
    types::{HistoryEvent, HistoryEventType, TaskScheduledEventDetails},
};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;
use send_email::{CALL_TIMEOUTS, Config, LAMBDA_TIMEOUT, SendEmail};
use serde_json::json;

type Function<N = SnsNotifier> = SendEmail<
    DynamoDbStore,
    N,
    StepFunctionsTasks,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
>;

fn config() -> Result<Config, approval_aws::settings::ConfigError> {
    Config::from_vars(send_email::config::test_vars(&[(
        "APPROVERS",
        "approver0@example.com",
    )]))
}

/// A running execution's history (newest first) whose TaskScheduled carries the seed payload.
fn history_rule() -> Rule {
    let parameters =
        json!({"FunctionName": "send-email", "Payload": fixtures::payload()}).to_string();
    mock!(aws_sdk_sfn::Client::get_execution_history).then_output(move || {
        let details = TaskScheduledEventDetails::builder()
            .resource_type("lambda")
            .resource("invoke.waitForTaskToken")
            .region("us-east-1")
            .parameters(parameters.clone())
            .timeout_in_seconds(3600)
            .build()
            .unwrap();
        let event = HistoryEvent::builder()
            .id(3)
            .timestamp(DateTime::from_secs(0))
            .r#type(HistoryEventType::TaskScheduled)
            .task_scheduled_event_details(details)
            .build()
            .unwrap();
        GetExecutionHistoryOutput::builder()
            .events(event)
            .build()
            .unwrap()
    })
}

fn sfn(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |c| c
        .timeout_config(CALL_TIMEOUTS.config()))
}

fn dynamodb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard())
        .timeout_config(CALL_TIMEOUTS.config()))
}

fn sns(rules: &[&Rule]) -> aws_sdk_sns::Client {
    mock_client!(aws_sdk_sns, RuleMode::MatchAny, rules, |c| c
        .timeout_config(CALL_TIMEOUTS.config()))
}

fn function(
    sfn: aws_sdk_sfn::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
) -> Function {
    with_notifier(
        sfn,
        dynamodb,
        SnsNotifier::new(sns, "arn:aws:sns:us-east-1:123456789012:approvals"),
        config().expect("the test settings"),
    )
}

fn with_notifier<N: Notifier>(
    sfn: aws_sdk_sfn::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    notifier: N,
    config: Config,
) -> Function<N> {
    SendEmail {
        store: DynamoDbStore::new(dynamodb, "requests"),
        notifier,
        tasks: StepFunctionsTasks::new(sfn),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config,
        clock: fixtures::now,
    }
}

/// The function with SES (`EMAIL_DELIVERY=ses`) on `ses`, one approver.
fn ses_function(
    sfn: aws_sdk_sfn::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    ses: aws_sdk_sesv2::Client,
) -> Function<SesMailer> {
    let config = Config::from_vars(send_email::config::test_vars(&[
        ("APPROVERS", "approver0@example.com"),
        ("EMAIL_DELIVERY", "ses"),
        ("SENDER_ADDRESS", "approvals@example.com"),
        ("TOPIC_ARN", ""),
    ]))
    .expect("the test settings");
    let sender = Address::parse("approvals@example.com").unwrap();
    with_notifier(sfn, dynamodb, SesMailer::new(ses, sender), config)
}

fn ses(rules: &[&Rule]) -> aws_sdk_sesv2::Client {
    mock_client!(aws_sdk_sesv2, RuleMode::Sequential, rules, |c| c
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::standard())
        .timeout_config(CALL_TIMEOUTS.config()))
}

/// An error as SES (restJson1) answers it: the code in `x-amzn-errortype`.
fn ses_error(status: u16, code: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"message":"{code} (test)"}}"#)),
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", code.to_owned());
    response
}

fn put_ok() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

fn publish_ok() -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .then_output(|| PublishOutput::builder().message_id("m").build())
}

fn never<C>(build: impl FnOnce(NeverClient) -> C) -> C {
    build(NeverClient::new())
}

#[tokio::test(start_paused = true)]
async fn a_hanging_step_functions_fails_verification_before_the_timeout_and_nothing_is_stored() {
    let hanging = never(|http| {
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder()
                .with_test_defaults_v2()
                .http_client(http)
                .timeout_config(CALL_TIMEOUTS.config())
                .build(),
        )
    });
    let put = put_ok();
    let publish = publish_ok();
    let f = function(hanging, dynamodb(&[&put]), sns(&[&publish]));
    let started = tokio::time::Instant::now();
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.VerifyFailed", "{err}");
    assert!(
        started.elapsed() < LAMBDA_TIMEOUT,
        "after {:?}",
        started.elapsed()
    );
    assert_eq!((put.num_calls(), publish.num_calls()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_table_fails_with_store_failed_and_nothing_is_sent() {
    let history = history_rule();
    let throttled = mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#),
        )
    });
    let publish = publish_ok();
    let f = function(sfn(&[&history]), dynamodb(&[&throttled]), sns(&[&publish]));
    let started = tokio::time::Instant::now();
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.StoreFailed", "{err}");
    assert!(
        err.to_string().contains("ProvisionedThroughputExceeded"),
        "{err}"
    );
    assert!(throttled.num_calls() >= 2, "the SDK retried");
    assert!(started.elapsed() < LAMBDA_TIMEOUT);
    assert_eq!(publish.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_sns_fails_with_publish_failed_before_the_timeout_and_the_request_stays() {
    let history = history_rule();
    let put = put_ok();
    let hanging = never(|http| {
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::Config::builder()
                .with_test_defaults_v2()
                .http_client(http)
                .timeout_config(CALL_TIMEOUTS.config())
                .build(),
        )
    });
    let f = function(sfn(&[&history]), dynamodb(&[&put]), hanging);
    let started = tokio::time::Instant::now();
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed", "{err}");
    assert!(
        started.elapsed() < LAMBDA_TIMEOUT,
        "after {:?}",
        started.elapsed()
    );
    assert_eq!(
        put.num_calls(),
        1,
        "the request is stored; only its notice is missing, and the retry sends it"
    );
}

#[tokio::test(start_paused = true)]
async fn all_well_makes_history_put_publish_put() {
    let history = history_rule();
    let put = put_ok();
    let publish = publish_ok();
    let f = function(sfn(&[&history]), dynamodb(&[&put]), sns(&[&publish]));
    let answer = f.handle(fixtures::payload()).await.unwrap();
    assert_eq!(answer["Emailed"], 1);
    assert_eq!(
        (history.num_calls(), put.num_calls(), publish.num_calls()),
        (1, 2, 1),
        "the request, the email, then who was emailed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_ses_send_is_retried_by_the_sdk_and_goes_out() {
    let history = history_rule();
    let put = put_ok();
    let send = mock!(aws_sdk_sesv2::Client::send_email)
        .sequence()
        .http_response(|| ses_error(429, "TooManyRequestsException"))
        .output(|| SendEmailOutput::builder().message_id("m").build())
        .build();
    let f = ses_function(sfn(&[&history]), dynamodb(&[&put]), ses(&[&send]));
    let answer = f.handle(fixtures::payload()).await.unwrap();
    assert_eq!(answer["Emailed"], 1);
    assert_eq!(send.num_calls(), 2, "throttled once, then sent");
}

#[tokio::test(start_paused = true)]
async fn ses_throttling_that_lasts_is_publish_failed_for_the_state_machine_to_retry() {
    let history = history_rule();
    let put = put_ok();
    let throttled = mock!(aws_sdk_sesv2::Client::send_email)
        .match_requests(|_| true)
        .sequence()
        .http_response(|| ses_error(429, "TooManyRequestsException"))
        .times(10)
        .build();
    let f = ses_function(sfn(&[&history]), dynamodb(&[&put]), ses(&[&throttled]));
    let started = tokio::time::Instant::now();
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed", "{err}");
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains("TooManyRequestsException"),
        "{err}"
    );
    assert!(throttled.num_calls() >= 2, "the SDK retried first");
    assert!(started.elapsed() < LAMBDA_TIMEOUT);
    assert_eq!(put.num_calls(), 1, "the request stays for the retry");
}

#[tokio::test(start_paused = true)]
async fn an_ses_refusal_is_send_email_failed_and_not_retried() {
    for code in ["MessageRejected", "MailFromDomainNotVerifiedException"] {
        let history = history_rule();
        let put = put_ok();
        let refused = mock!(aws_sdk_sesv2::Client::send_email)
            .then_http_response(move || ses_error(400, code));
        let f = ses_function(sfn(&[&history]), dynamodb(&[&put]), ses(&[&refused]));
        let err = f.handle(fixtures::payload()).await.unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.Failed", "{code}: {err}");
        assert!(err.to_string().contains(code), "{err}");
        assert_eq!(refused.num_calls(), 1, "{code}: not retried");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_ses_fails_with_publish_failed_before_the_timeout() {
    let history = history_rule();
    let put = put_ok();
    let hanging = never(|http| {
        aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::Config::builder()
                .with_test_defaults_v2()
                .http_client(http)
                .timeout_config(CALL_TIMEOUTS.config())
                .build(),
        )
    });
    let f = ses_function(sfn(&[&history]), dynamodb(&[&put]), hanging);
    let started = tokio::time::Instant::now();
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed", "{err}");
    assert!(
        started.elapsed() < LAMBDA_TIMEOUT,
        "after {:?}",
        started.elapsed()
    );
    assert_eq!(put.num_calls(), 1);
}
