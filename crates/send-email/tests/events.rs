//! What send-email tells the rest of the system: each change of a request, seen on the table's
//! stream, puts exactly its events once and counts them; a bus outage delays events, never a
//! notice, and is counted; an execution that ended cancels its pending requests; a mail that
//! does not go out is an `Approval Delivery Failed`.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, EventKind, ExecutionStatus, Measure, RequestState,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        fixtures,
    },
    ports::{PortError, Replaced, RequestStore},
};
use send_email::{Config, SendEmail};
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

fn function(records: Vec<ApprovalRequest>) -> Function {
    SendEmail {
        store: MemoryStore::with(records),
        notifier: MemoryNotifier::default(),
        tasks: MemoryTasks::default(),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config: Config::from_vars(send_email::config::test_vars(&[(
            "EVENT_BUS_NAME",
            "default",
        )]))
        .unwrap(),
        clock: fixtures::now,
    }
}

fn change(request: &ApprovalRequest, sequence: &str) -> Value {
    json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "MODIFY",
        "dynamodb": {"Keys": {"RequestId": {"S": request.request_id.to_string()}},
                     "SequenceNumber": sequence, "StreamViewType": "KEYS_ONLY"}}]})
}

fn status_change(status: &str) -> Value {
    json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": "123456789012", "time": "2027-01-15T08:00:00Z", "region": "us-east-1",
        "resources": [fixtures::execution_arn()],
        "detail": {"executionArn": fixtures::execution_arn(),
                   "stateMachineArn": fixtures::state_machine_arn(),
                   "name": "ApprovalTest", "status": status,
                   "startDate": 1_800_000_000_000_i64, "stopDate": 1_800_000_100_000_i64,
                   "input": "{}", "output": null, "error": null, "cause": null}
    })
}

fn kinds(f: &Function) -> Vec<EventKind> {
    f.events
        .as_ref()
        .unwrap()
        .events()
        .iter()
        .map(|e| e.kind)
        .collect()
}

/// Applies `change` to the stored record, as a callback would.
async fn change_stored(
    f: &Function,
    id: &ApprovalRequest,
    change: impl FnOnce(&mut ApprovalRequest),
) {
    let mut stored = f.store.record(&id.request_id).unwrap();
    change(&mut stored);
    assert_eq!(f.store.replace(&stored).await, Ok(Replaced::Written));
}

const NO_FAILURES: &str = r#"{"batchItemFailures":[]}"#;

#[tokio::test]
async fn every_change_of_a_two_of_three_request_puts_exactly_its_events_once() {
    let (request, _) = fixtures::mailed(fixtures::new_request(3, 2));
    let f = function(vec![request.clone()]);
    let mut sequence = 0;
    let mut seen = || {
        sequence += 1;
        change(&request, &sequence.to_string())
    };

    f.handle(seen()).await.unwrap();
    assert_eq!(kinds(&f), [EventKind::Requested]);
    change_stored(&f, &request, |r| {
        r.cast(0, Choice::Approved, "ok".into(), fixtures::now())
            .map(drop)
            .unwrap()
    })
    .await;
    f.handle(seen()).await.unwrap();
    change_stored(&f, &request, |r| {
        r.cast(2, Choice::Approved, String::new(), fixtures::now())
            .map(drop)
            .unwrap()
    })
    .await;
    f.handle(seen()).await.unwrap();
    assert_eq!(
        kinds(&f),
        [
            EventKind::Requested,
            EventKind::VoteRecorded,
            EventKind::VoteRecorded
        ],
        "no decision before Step Functions has it"
    );
    assert!(f.notifier.messages().is_empty());
    change_stored(&f, &request, |r| r.delivered(fixtures::now())).await;
    let answer = f.handle(seen()).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    // The writes of what was put are changes too: each tells and puts nothing again.
    for _ in 0..2 {
        f.handle(seen()).await.unwrap();
    }
    assert_eq!(
        kinds(&f),
        [
            EventKind::Requested,
            EventKind::VoteRecorded,
            EventKind::VoteRecorded,
            EventKind::Decided
        ]
    );
    assert_eq!(f.notifier.messages().len(), 3, "each approver told once");
    let events = f.events.as_ref().unwrap().events();
    let decided = serde_json::to_value(&events[3].detail).unwrap();
    assert_eq!(decided["decision"], "approved");
    assert_eq!(decided["decidedBy"], "approver2@example.com");
    assert_eq!(decided["votes"].as_array().unwrap().len(), 2);
    assert_eq!(
        f.meter.measures(),
        [
            Measure::Requested {
                state_machine: request.state_machine_name().into()
            },
            Measure::Decided {
                state_machine: request.state_machine_name().into(),
                decision: Choice::Approved,
                seconds: 0.0
            }
        ]
    );
}

#[tokio::test]
async fn a_bus_outage_delays_the_events_not_the_notices_and_is_counted() {
    let (mut request, _) = fixtures::mailed(fixtures::new_request(2, 1));
    request
        .cast(1, Choice::Rejected, String::new(), fixtures::now())
        .unwrap();
    request.delivered(fixtures::now());
    let f = function(vec![request.clone()]);
    f.events.as_ref().unwrap().fail_next(PortError::Unavailable(
        "EventBridge: InternalException".into(),
    ));
    let answer = f.handle(change(&request, "41")).await.unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "41"}]}),
        "handed over again for its events"
    );
    assert_eq!(f.notifier.messages().len(), 2, "the approvers were told");
    let stored = f.store.record(&request.request_id).unwrap();
    assert_eq!(stored.untold(), None);
    assert_eq!(stored.events_put, 0);
    assert!(stored.decided().is_some(), "the decision stands");
    assert_eq!(
        f.meter.measures(),
        [Measure::DeliveryFailed {
            state_machine: Some(request.state_machine_name().into()),
            channel: "events"
        }]
    );

    let answer = f.handle(change(&request, "41")).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    assert_eq!(
        kinds(&f),
        [
            EventKind::Requested,
            EventKind::VoteRecorded,
            EventKind::Decided
        ]
    );
    assert_eq!(f.notifier.messages().len(), 2, "nobody told twice");
}

#[tokio::test]
async fn a_bus_that_refuses_for_good_is_counted_not_retried_and_no_bus_puts_nothing() {
    let (request, _) = fixtures::mailed(fixtures::new_request(1, 1));
    let f = function(vec![request.clone()]);
    f.events
        .as_ref()
        .unwrap()
        .fail_next(PortError::Failed("AccessDeniedException".into()));
    let answer = f.handle(change(&request, "1")).await.unwrap();
    assert_eq!(answer.to_string(), NO_FAILURES);
    assert!(matches!(
        f.meter.measures()[..],
        [Measure::DeliveryFailed {
            channel: "events",
            ..
        }]
    ));

    let mut off = function(vec![request.clone()]);
    off.events = None;
    off.handle(change(&request, "1")).await.unwrap();
    assert_eq!(
        off.store.record(&request.request_id).unwrap().events_put,
        1,
        "with no bus the record moves on"
    );
    assert_eq!(off.meter.measures().len(), 1, "and is still counted");
}

#[tokio::test]
async fn an_execution_that_ended_cancels_its_pending_requests_and_the_stream_tells() {
    let (pending, _) = fixtures::mailed(fixtures::new_request_with_token("pending", 2, 1));
    let mut due = fixtures::new_request_with_token("due", 1, 1);
    due.expires_at = fixtures::now();
    let (due, _) = fixtures::mailed(due);
    let (mut decided, _) = fixtures::mailed(fixtures::new_request_with_token("decided", 1, 1));
    decided
        .cast(0, Choice::Approved, String::new(), fixtures::now())
        .unwrap();
    let f = function(vec![pending.clone(), due.clone(), decided.clone()]);

    let answer = f.handle(status_change("ABORTED")).await.unwrap();
    assert_eq!(answer, json!({"Cancelled": 1, "Expired": 1}));
    assert!(matches!(
        f.store.record(&pending.request_id).unwrap().state,
        RequestState::Cancelled {
            status: ExecutionStatus::Aborted,
            ..
        }
    ));
    assert!(matches!(
        f.store.record(&due.request_id).unwrap().state,
        RequestState::Expired { .. }
    ));
    assert_eq!(
        f.store.record(&decided.request_id).unwrap(),
        decided,
        "a decision is never cancelled"
    );
    assert!(f.notifier.messages().is_empty(), "told by the stream");
    assert_eq!(
        f.handle(status_change("ABORTED")).await.unwrap(),
        json!({"Cancelled": 0, "Expired": 0}),
        "ended once"
    );

    f.handle(change(&pending, "1")).await.unwrap();
    let notices = f.notifier.messages();
    assert_eq!(notices.len(), 2);
    assert!(
        notices.iter().all(|m| m.subject.starts_with("Cancelled: ")
            && m.body.contains("its execution was aborted"))
    );
    let events = f.events.as_ref().unwrap().events();
    assert_eq!(kinds(&f), [EventKind::Requested, EventKind::Cancelled]);
    assert_eq!(events[1].detail.reason.as_deref(), Some("ABORTED"));
    assert!(f.meter.measures().contains(&Measure::Cancelled {
        state_machine: pending.state_machine_name().into()
    }));

    let running = function(vec![pending.clone()]);
    assert_eq!(
        running.handle(status_change("RUNNING")).await.unwrap(),
        json!({"Cancelled": 0, "Expired": 0}),
        "a running execution ends nothing"
    );
    let err = running.handle(status_change("PAUSED")).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.InvalidInput");
    assert!(
        err.to_string().contains("`detail.status` `PAUSED`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_mail_that_does_not_go_out_is_an_approval_delivery_failed() {
    let payload = fixtures::payload();
    let mut f = support::function(&payload);
    f.events = Some(MemoryEventBus::default());
    f.notifier.fail_next(PortError::Failed(
        "MessageRejected: Email address is not verified.".into(),
    ));
    let err = f.handle(payload).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.Failed");
    let events = f.events.as_ref().unwrap().events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::DeliveryFailed);
    let detail = serde_json::to_value(&events[0].detail).unwrap();
    assert_eq!(detail["channel"], "email");
    assert!(
        detail["reason"]
            .as_str()
            .unwrap()
            .contains("MessageRejected"),
        "{detail}"
    );
    assert!(matches!(
        f.meter.measures()[..],
        [Measure::DeliveryFailed {
            channel: "email",
            ..
        }]
    ));
}
