//! Faults of DynamoDB, Step Functions and SNS, injected with aws-smithy-mocks under the real
//! AWS adapters and the real handler: each ends in the contract's page before the function's
//! timeout, and nothing recorded is lost. Time is tokio's paused clock: waits cost nothing.

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use approval_aws::{DynamoDbStore, StepFunctionsTasks};
use approval_callback::{ANSWER_DEADLINE, CALL_TIMEOUTS, Callback, Config, LAMBDA_TIMEOUT};
use approval_domain::{ApprovalRequest, Delivery, LinkCredentials, RequestState, memory::fixtures};
use aws_sdk_dynamodb::{
    operation::{
        get_item::GetItemOutput,
        put_item::{PutItemError, PutItemOutput},
    },
    types::{AttributeValue, error::ConditionalCheckFailedException},
};
use aws_sdk_sfn::{
    config::retry::RetryConfig,
    operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput},
    types::error::TaskTimedOut,
};
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;
use lambda_http::http::StatusCode as Http;
use support::vote;

type Item = HashMap<String, AttributeValue>;
type Function = Callback<DynamoDbStore, StepFunctionsTasks, approval_domain::memory::MemorySlack>;

fn open_request() -> (ApprovalRequest, Vec<LinkCredentials>) {
    ApprovalRequest::open(fixtures::new_request(1, 1))
}

fn config() -> Result<Config, approval_aws::settings::ConfigError> {
    Config::from_vars(approval_callback::config::test_vars(&[
        ("REDIRECT_URL", support::REDIRECT),
        ("LINK_MODE", ""),
    ]))
}

fn http(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

/// GetItem answers the record; every PutItem is recorded (its item) and succeeds.
fn table(request: &ApprovalRequest, writes: Arc<Mutex<Vec<Item>>>) -> [Rule; 2] {
    let item: Item = serde_dynamo::to_item(request).unwrap();
    [
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        }),
        mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |put| {
            writes
                .lock()
                .unwrap()
                .push(put.item().cloned().unwrap_or_default());
            PutItemOutput::builder().build()
        }),
    ]
}

fn sfn_ok() -> Rule {
    mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build())
}

fn function(dynamodb: &[&Rule], sfn: aws_sdk_sfn::Client) -> Function {
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb, |c| c
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard())
        .timeout_config(CALL_TIMEOUTS.config()));
    Callback {
        store: DynamoDbStore::new(dynamodb, "requests"),
        slack:
            approval_callback::slack_side::SlackSide::<approval_domain::memory::MemorySlack>::Off,
        tasks: StepFunctionsTasks::new(sfn),
        config: config().expect("the test settings"),
        clock: fixtures::now,
        followups: Default::default(),
    }
}

fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::standard())
        .timeout_config(CALL_TIMEOUTS.config()))
}

fn state_of(item: &Item) -> RequestState {
    let request: ApprovalRequest = serde_dynamo::from_item(item.clone()).unwrap();
    request.state
}

fn delivery_of(item: &Item) -> Delivery {
    match state_of(item) {
        RequestState::Decided(decided) => decided.delivery,
        other => panic!("not decided: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttled_table_gets_the_503_page_and_step_functions_is_never_called() {
    let (_, credentials) = open_request();
    let throttled = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_http_response(|| http(400, r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#));
    let sfn = sfn_ok();
    let f = function(&[&throttled], sfn_client(&[&sfn]));
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), Http::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        throttled.num_calls() >= 2,
        "the SDK retries within the call's 1.6 s budget first"
    );
    assert_eq!(sfn.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_vote_write_gets_503_and_nothing_is_sent() {
    let (request, credentials) = open_request();
    let item: Item = serde_dynamo::to_item(&request).unwrap();
    let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(Some(item.clone()))
            .build()
    });
    let unavailable = mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(|| {
        http(
            500,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}"#,
        )
    });
    let sfn = sfn_ok();
    let f = function(&[&read, &unavailable], sfn_client(&[&sfn]));
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), Http::SERVICE_UNAVAILABLE);
    assert_eq!(sfn.num_calls(), 0, "an unrecorded vote decides nothing");
}

#[tokio::test(start_paused = true)]
async fn a_conditional_check_failure_mid_vote_is_read_again_and_the_vote_counts_once() {
    let (request, credentials) = open_request();
    let item: Item = serde_dynamo::to_item(&request).unwrap();
    let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(Some(item.clone()))
            .build()
    });
    // The first write loses a race (someone wrote in between); the rest are recorded.
    let writes = Arc::new(Mutex::new(Vec::new()));
    let written = Arc::clone(&writes);
    let first = std::sync::atomic::AtomicBool::new(true);
    let write = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(move |put| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return MockResponse::Error(PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            ));
        }
        written
            .lock()
            .unwrap()
            .push(put.item().cloned().unwrap_or_default());
        MockResponse::Output(PutItemOutput::builder().build())
    });
    let sfn = sfn_ok();
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&read, &write]);
    let f = Callback {
        store: DynamoDbStore::new(dynamodb, "requests"),
        slack:
            approval_callback::slack_side::SlackSide::<approval_domain::memory::MemorySlack>::Off,
        tasks: StepFunctionsTasks::new(sfn_client(&[&sfn])),
        config: config().expect("the test settings"),
        clock: fixtures::now,
        followups: Default::default(),
    };
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), Http::SEE_OTHER);
    assert_eq!(read.num_calls(), 2, "read again after the lost race");
    assert_eq!(write.num_calls(), 2, "the lost race, the vote");
    f.after_answer().await;
    assert_eq!(
        write.num_calls(),
        3,
        "the lost race, the vote, then (after the answer) the delivery"
    );
    assert_eq!(sfn.num_calls(), 1);
    let writes = writes.lock().unwrap();
    assert!(matches!(
        delivery_of(writes.last().unwrap()),
        Delivery::Sent { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn throttled_step_functions_keeps_the_decision_for_the_retry() {
    let (request, credentials) = open_request();
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [read, write] = table(&request, Arc::clone(&writes));
    let throttled = mock!(aws_sdk_sfn::Client::send_task_success).then_http_response(|| {
        http(
            400,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        )
    });
    let f = function(&[&read, &write], sfn_client(&[&throttled]));
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), Http::SERVICE_UNAVAILABLE);
    assert!(
        throttled.num_calls() >= 2,
        "the SDK retries within the call's 1.6 s budget"
    );
    let writes = writes.lock().unwrap();
    assert_eq!(
        writes.len(),
        2,
        "the vote with its decision, then how the delivery went"
    );
    assert!(matches!(delivery_of(&writes[0]), Delivery::Sending { .. }));
    // Throttled to the end, or the call's budget ran out between two throttled attempts (the
    // SDK's jittered back-off): then no answer was seen last, and the record says Step Functions
    // may have it. Either way the next POST sends it.
    assert!(
        matches!(delivery_of(&writes[1]), Delivery::Retry { .. }),
        "{:?}",
        delivery_of(&writes[1])
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_step_functions_gets_the_503_page_before_the_function_times_out() {
    let (request, credentials) = open_request();
    let [read, write] = table(&request, Arc::new(Mutex::new(Vec::new())));
    let hanging = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .with_test_defaults_v2()
            .http_client(NeverClient::new())
            .timeout_config(CALL_TIMEOUTS.config())
            .build(),
    );
    let f = function(&[&read, &write], hanging);
    let started = tokio::time::Instant::now();
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), Http::SERVICE_UNAVAILABLE);
    assert!(
        waited < ANSWER_DEADLINE && waited < LAMBDA_TIMEOUT,
        "answered after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_already_closed_is_gone() {
    let (request, credentials) = open_request();
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [read, write] = table(&request, Arc::clone(&writes));
    let closed = mock!(aws_sdk_sfn::Client::send_task_success).then_error(|| {
        SendTaskSuccessError::TaskTimedOut(
            TaskTimedOut::builder().message("Task Timed Out").build(),
        )
    });
    let f = function(&[&read, &write], sfn_client(&[&closed]));
    let response = f
        .handle(vote("approve", &credentials[0], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), Http::GONE);
    f.after_answer().await;
    assert_eq!(closed.num_calls(), 1, "not retried: it will not reopen");
    assert!(matches!(
        state_of(writes.lock().unwrap().last().unwrap()),
        RequestState::Closed { reason, .. } if reason == "TaskTimedOut"
    ));
    let last: ApprovalRequest =
        serde_dynamo::from_item(writes.lock().unwrap().last().unwrap().clone()).unwrap();
    assert_eq!(
        last.untold(),
        None,
        "nobody is to be told of a decision Step Functions did not take"
    );
}
