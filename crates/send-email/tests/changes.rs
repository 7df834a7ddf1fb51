//! send-email on the table's stream: each changed request's approvers are told what its record
//! says is untold, once; a failure worth retrying names the change for Lambda to hand over again.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, Untold,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        fixtures,
    },
    ports::PortError,
};
use send_email::{Config, SendEmail, SendEmailError};
use serde_json::{Value, json};

type Function = SendEmail<
    MemoryStore,
    MemoryNotifier,
    MemoryTasks,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
>;

/// Lambda's DynamoDB Streams event (KEYS_ONLY) for these (request id, sequence number) changes.
fn stream_event(changes: &[(&ApprovalRequest, &str)]) -> Value {
    let records: Vec<Value> = changes
        .iter()
        .map(|(request, sequence)| {
            json!({
                "eventID": format!("e{sequence}"), "eventName": "MODIFY", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {"ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": {"RequestId": {"S": request.request_id.to_string()}},
                    "SequenceNumber": sequence, "SizeBytes": 40, "StreamViewType": "KEYS_ONLY"},
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/requests/stream/1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn decided(approvers: usize, delivered: bool) -> ApprovalRequest {
    let (mut request, _) = fixtures::mailed(fixtures::new_request(approvers, 1));
    request
        .cast(0, Choice::Rejected, "not now".into(), fixtures::now())
        .unwrap();
    if delivered {
        request.delivered(fixtures::now());
    }
    request
}

fn function(records: Vec<ApprovalRequest>, vars: &[(&str, &str)]) -> Function {
    SendEmail {
        store: MemoryStore::with(records),
        notifier: MemoryNotifier::default(),
        tasks: MemoryTasks::default(),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config: Config::from_vars(send_email::config::test_vars(vars)).unwrap(),
        clock: fixtures::now,
    }
}

const NO_FAILURES: &str = r#"{"batchItemFailures":[]}"#;

#[tokio::test]
async fn a_delivered_decision_is_told_to_every_approver_once() {
    let request = decided(3, true);
    let f = function(vec![request.clone()], &[]);
    let event = stream_event(&[(&request, "1"), (&request, "2")]);
    let answer = f.handle(event.clone()).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    let messages = f.notifier.messages();
    let to: Vec<&str> = messages.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to.len(),
        3,
        "one each, though the batch named the request twice"
    );
    for message in &messages {
        assert_eq!(
            message.subject,
            "Decided: Required approval from AWS Step Functions"
        );
        assert!(
            message.body.contains("was rejected") && message.body.contains("| not now"),
            "{}",
            message.body
        );
    }
    let stored = f.store.record(&request.request_id).unwrap();
    assert_eq!(stored.untold(), None);
    assert_eq!(stored.decided().unwrap().told_at, Some(fixtures::now()));

    // The write of "told" is itself a change: it (or any later one) tells nothing again.
    f.handle(event).await.unwrap();
    assert_eq!(f.notifier.messages().len(), 3);
}

#[tokio::test]
async fn nothing_is_told_before_step_functions_has_the_decision_or_of_a_pending_request() {
    let sending = decided(2, false);
    let (pending, _) = fixtures::mailed(fixtures::new_request_with_token("other", 2, 1));
    let f = function(vec![sending.clone(), pending.clone()], &[]);
    let answer = f
        .handle(stream_event(&[(&sending, "1"), (&pending, "2")]))
        .await
        .unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    assert!(f.notifier.messages().is_empty());
    let stored = f.store.record(&sending.request_id).unwrap();
    assert_eq!(stored.state, sending.state, "nothing told");
    assert_eq!(
        stored.events_put, 2,
        "its request and vote were put, not its decision yet"
    );
}

#[tokio::test]
async fn a_failure_worth_retrying_names_the_change_and_the_retry_tells() {
    let first = decided(2, true);
    let mut second = decided(1, true);
    second.request_id = fixtures::mailed(fixtures::new_request_with_token("second", 1, 1))
        .0
        .request_id;
    let f = function(vec![first.clone(), second.clone()], &[]);
    f.notifier.fail_next(PortError::Unavailable(
        "SES: TooManyRequestsException".into(),
    ));
    let event = stream_event(&[(&first, "10"), (&second, "11")]);
    let answer = f.handle(event.clone()).await.unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "10"}]}),
        "Lambda hands over this change and what follows it"
    );
    assert!(matches!(
        f.store.record(&first.request_id).unwrap().untold(),
        Some(Untold::Decided(_))
    ));
    assert!(
        f.store
            .record(&second.request_id)
            .unwrap()
            .untold()
            .is_some(),
        "left for the retry"
    );
    let answer = f.handle(event).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    assert_eq!(f.store.record(&first.request_id).unwrap().untold(), None);
    assert_eq!(f.store.record(&second.request_id).unwrap().untold(), None);
}

#[tokio::test]
async fn a_refusal_is_logged_and_not_retried_and_with_email_off_nothing_is_sent() {
    let request = decided(1, true);
    let f = function(vec![request.clone()], &[]);
    f.notifier.fail_next(PortError::Failed(
        "MessageRejected: Email address is not verified.".into(),
    ));
    let answer = f.handle(stream_event(&[(&request, "1")])).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES, "retrying would not help");
    assert_eq!(f.store.record(&request.request_id).unwrap().untold(), None);

    let off = function(
        vec![request.clone()],
        &[("EMAIL_DELIVERY", "none"), ("TOPIC_ARN", "")],
    );
    off.handle(stream_event(&[(&request, "1")])).await.unwrap();
    assert!(off.notifier.messages().is_empty());
    assert_eq!(
        off.store.record(&request.request_id).unwrap().untold(),
        None
    );
}

#[tokio::test]
async fn a_gone_or_foreign_item_is_skipped_and_a_malformed_event_is_named() {
    let gone = decided(1, true);
    let f = function(Vec::new(), &[]);
    let mut event = stream_event(&[(&gone, "1")]);
    let answer = f.handle(event.clone()).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    event["Records"][0]["dynamodb"]["Keys"]["RequestId"]["S"] = json!("not-an-id");
    assert_eq!(f.handle(event).await.unwrap().to_string(), NO_FAILURES);
    let err = f
        .handle(json!({"Records": [{"dynamodb": {}}]}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendEmailError::InvalidInput(m) if m.contains("Records[0].dynamodb")),
        "{err}"
    );
}
