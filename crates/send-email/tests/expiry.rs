//! The expiry notice the state machine sends from its `States.Timeout` Catch: each pending
//! request of the execution whose time has run out is recorded expired (and only those), and the
//! stream's next batch tells its approvers.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, RequestState,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        fixtures,
    },
};
use send_email::{Config, SendEmail, SendEmailError};
use serde_json::{Value, json};

fn notice() -> Value {
    json!({"Expired": {"ExecutionId": fixtures::execution_arn()}})
}

fn stream_event(request: &ApprovalRequest) -> Value {
    json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "MODIFY",
        "dynamodb": {"Keys": {"RequestId": {"S": request.request_id.to_string()}},
                     "SequenceNumber": "1", "StreamViewType": "KEYS_ONLY"}}]})
}

/// A request of the fixture execution that expires `expires_in` seconds after the fixtures' now
/// (the function's clock).
fn request(token: &str, expires_in: i64) -> ApprovalRequest {
    let mut new = fixtures::new_request_with_token(token, 2, 1);
    new.expires_at =
        approval_domain::Timestamp::from_unix(fixtures::now().unix() + expires_in).unwrap();
    fixtures::mailed(new).0
}

fn function(
    records: Vec<ApprovalRequest>,
) -> SendEmail<
    MemoryStore,
    MemoryNotifier,
    MemoryTasks,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
> {
    SendEmail {
        store: MemoryStore::with(records),
        notifier: MemoryNotifier::default(),
        tasks: MemoryTasks::default(),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config: Config::from_vars(send_email::config::test_vars(&[])).unwrap(),
        clock: fixtures::now,
    }
}

#[tokio::test]
async fn a_request_whose_time_ran_out_is_recorded_expired_and_then_told() {
    let due = request("due", 0);
    let f = function(vec![due.clone()]);
    assert_eq!(f.handle(notice()).await.unwrap(), json!({"Expired": 1}));
    let stored = f.store.record(&due.request_id).unwrap();
    assert_eq!(
        stored.state,
        RequestState::Expired {
            at: due.expires_at,
            told_at: None
        }
    );
    assert!(
        f.notifier.messages().is_empty(),
        "told by the stream, not here"
    );

    f.handle(stream_event(&due)).await.unwrap();
    let messages = f.notifier.messages();
    assert_eq!(messages.len(), 2);
    assert!(
        messages
            .iter()
            .all(|m| m.subject.starts_with("Expired: ") && m.body.contains("expired undecided"))
    );

    assert_eq!(
        f.handle(notice()).await.unwrap(),
        json!({"Expired": 0}),
        "once"
    );
}

#[tokio::test]
async fn nothing_ends_early_and_an_ended_request_stays_as_it_ended() {
    let early = request("early", 30);
    let mut decided = request("decided", -30);
    let before = approval_domain::Timestamp::from_unix(fixtures::now().unix() - 60).unwrap();
    decided
        .cast(0, Choice::Approved, String::new(), before)
        .unwrap();
    let f = function(vec![early.clone(), decided.clone()]);
    assert_eq!(f.handle(notice()).await.unwrap(), json!({"Expired": 0}));
    assert_eq!(
        f.store.record(&early.request_id).unwrap(),
        early,
        "whoever says so"
    );
    assert_eq!(f.store.record(&decided.request_id).unwrap(), decided);
}

#[tokio::test]
async fn a_malformed_notice_is_named() {
    let f = function(Vec::new());
    for (notice, says) in [
        (json!({"Expired": {}}), "missing field `ExecutionId`"),
        (
            json!({"Expired": {"ExecutionId": "nope"}}),
            "`Expired.ExecutionId` `nope` is not an execution ARN",
        ),
        (
            json!({"Expired": {"ExecutionId": "x"}, "More": 1}),
            "unknown field `More`",
        ),
    ] {
        let err = f.handle(notice.clone()).await.unwrap_err();
        assert!(
            matches!(&err, SendEmailError::InvalidInput(m) if m.contains(says)),
            "{notice}: {err}"
        );
    }
}
