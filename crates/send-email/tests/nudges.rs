//! Reminders and escalations: their schedules are created when the request opens (once, by
//! name, whatever retries), a reminder reaches exactly the approvers who have not voted, once;
//! an escalation adds approvers who get their own links; an ended request is nudged no more and
//! its schedules are deleted; a Scheduler that fails never keeps the request from opening.

mod support;

use approval_domain::{
    Choice, EventKind, Measure, NudgeKind, RequestId,
    memory::{MemoryEventBus, fixtures},
    nudge::schedule_name,
    ports::{PortError, Replaced, RequestStore},
};
use serde_json::{Value, json};

fn payload() -> Value {
    fixtures::payload_with(json!({
        "Approvers": ["approver0@example.com", "approver1@example.com"],
        "RequiredApprovals": 2,
        "Reminders": [{"AfterSeconds": 600}],
        "Escalations": [{"AfterSeconds": 1200, "AddApprovers": ["approver2@example.com"]}]
    }))
}

fn opened(answer: &Value) -> RequestId {
    RequestId::try_from(answer["RequestId"].as_str().unwrap().to_owned()).unwrap()
}

fn nudge(id: &RequestId, index: usize) -> Value {
    json!({"Nudge": {"RequestId": id.to_string(), "Index": index}})
}

fn kinds(f: &support::Function) -> Vec<EventKind> {
    f.events
        .as_ref()
        .unwrap()
        .events()
        .iter()
        .map(|e| e.kind)
        .collect()
}

fn at_plus(seconds: u64) -> approval_domain::Timestamp {
    fixtures::now().plus_seconds(seconds)
}

#[tokio::test]
async fn opening_schedules_each_nudge_once_by_name_whatever_retries() {
    let payload = payload();
    let f = support::function(&payload);
    let answer = f.handle(payload.clone()).await.unwrap();
    let id = opened(&answer);
    let scheduler = f.scheduler.as_ref().unwrap();
    assert_eq!(
        scheduler.names(),
        [schedule_name(&id, 0), schedule_name(&id, 1)]
    );
    let schedules = scheduler.schedules.lock().unwrap().clone();
    let (at, input) = &schedules[&schedule_name(&id, 0)];
    assert_eq!(*at, at_plus(600));
    assert_eq!(*input, nudge(&id, 0));
    assert_eq!(schedules[&schedule_name(&id, 1)].0, at_plus(1200));

    // A retry of the same task asks for the same two names: none is made twice.
    f.handle(payload).await.unwrap();
    assert_eq!(scheduler.names().len(), 2);
    let stored = f.store.record(&id).unwrap();
    assert_eq!(stored.nudges.len(), 2);
    assert!(
        matches!(stored.nudges[1].kind, NudgeKind::Escalation { ref add } if add == &[fixtures::approver(2)])
    );
}

#[tokio::test]
async fn a_reminder_reaches_exactly_those_who_have_not_voted_once() {
    let payload = payload();
    let mut f = support::function(&payload);
    let id = opened(&f.handle(payload).await.unwrap());
    let mut stored = f.store.record(&id).unwrap();
    stored
        .cast(1, Choice::Approved, String::new(), fixtures::now())
        .unwrap();
    assert_eq!(f.store.replace(&stored).await, Ok(Replaced::Written));
    let mailed_before = f.notifier.messages().len();

    f.clock = || fixtures::now().plus_seconds(600);
    let answer = f.handle(nudge(&id, 0)).await.unwrap();
    assert_eq!(answer, json!({"Nudged": "reminder", "Told": 1}));
    let reminders: Vec<_> = f.notifier.messages()[mailed_before..].to_vec();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].to, fixtures::approver(0));
    assert!(reminders[0].subject.starts_with("Reminder: "));
    assert!(
        reminders[0].body.contains("1 of 2 so far"),
        "{}",
        reminders[0].body
    );
    let events = f.events.as_ref().unwrap().events();
    let sent = events.last().unwrap();
    assert_eq!(sent.kind, EventKind::ReminderSent);
    assert_eq!(sent.detail.reminded, Some(vec![fixtures::approver(0)]));

    // The schedule fires again (Scheduler's retry): the record says it was sent.
    let answer = f.handle(nudge(&id, 0)).await.unwrap();
    assert_eq!(answer, json!({"Nudged": null}));
    assert_eq!(f.notifier.messages().len(), mailed_before + 1);
    assert_eq!(
        f.store.record(&id).unwrap().nudges[0].fired_at,
        Some(at_plus(600))
    );
}

#[tokio::test]
async fn an_escalation_adds_an_approver_with_their_own_links_who_can_then_decide() {
    let payload = payload();
    let mut f = support::function(&payload);
    let id = opened(&f.handle(payload).await.unwrap());
    f.clock = || fixtures::now().plus_seconds(1200);
    let answer = f.handle(nudge(&id, 1)).await.unwrap();
    assert_eq!(answer, json!({"Nudged": "escalation", "Added": 1}));
    let mail = f.notifier.messages().last().unwrap().clone();
    assert_eq!(mail.to, fixtures::approver(2));
    assert!(mail.body.contains("action=approve&c="), "{}", mail.body);
    let stored = f.store.record(&id).unwrap();
    assert_eq!(stored.approvers.len(), 3);
    assert_eq!(stored.required_approvals, 2, "the quorum stays");
    assert_eq!(stored.approvers[2].notified_at, Some(at_plus(1200)));
    assert_eq!(kinds(&f).last(), Some(&EventKind::Escalated));

    // The added approver decides with the others, like any approver.
    let mut stored = stored;
    stored
        .cast(2, Choice::Approved, String::new(), at_plus(1300))
        .unwrap();
    stored
        .cast(0, Choice::Approved, String::new(), at_plus(1301))
        .unwrap();
    assert!(stored.decided().is_some());
}

#[tokio::test]
async fn an_ended_request_is_nudged_no_more_and_its_schedules_are_deleted_once_told() {
    let payload = payload();
    let mut f = support::function(&payload);
    let id = opened(&f.handle(payload).await.unwrap());
    let mut stored = f.store.record(&id).unwrap();
    stored
        .cast(0, Choice::Rejected, String::new(), fixtures::now())
        .unwrap();
    assert_eq!(f.store.replace(&stored).await, Ok(Replaced::Written));
    stored.delivered(fixtures::now());
    assert_eq!(f.store.replace(&stored).await, Ok(Replaced::Written));
    let mailed = f.notifier.messages().len();

    f.clock = || fixtures::now().plus_seconds(1200);
    assert_eq!(
        f.handle(nudge(&id, 0)).await.unwrap(),
        json!({"Nudged": null})
    );
    assert_eq!(
        f.handle(nudge(&id, 1)).await.unwrap(),
        json!({"Nudged": null})
    );
    assert_eq!(
        f.notifier.messages().len(),
        mailed,
        "a late schedule does nothing"
    );

    let change = json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "MODIFY",
        "dynamodb": {"Keys": {"RequestId": {"S": id.to_string()}},
                     "SequenceNumber": "1", "StreamViewType": "KEYS_ONLY"}}]});
    f.handle(change).await.unwrap();
    let scheduler = f.scheduler.as_ref().unwrap();
    assert!(
        scheduler.names().is_empty(),
        "the decided request's schedules are gone"
    );
    assert_eq!(
        *scheduler.deleted.lock().unwrap(),
        [schedule_name(&id, 0), schedule_name(&id, 1)]
    );
}

#[tokio::test]
async fn a_failing_scheduler_never_keeps_the_request_from_opening_and_is_counted() {
    let payload = payload();
    let mut f = support::function(&payload);
    f.events = Some(MemoryEventBus::default());
    let scheduler = f.scheduler.as_ref().unwrap();
    scheduler.fail_next(PortError::Unavailable(
        "Scheduler: ThrottlingException".into(),
    ));
    let answer = f.handle(payload).await.unwrap();
    assert_eq!(answer["Emailed"], 2, "the mails went out");
    let id = opened(&answer);
    assert_eq!(
        scheduler.names(),
        [schedule_name(&id, 1)],
        "the other one was made"
    );
    let events = f.events.as_ref().unwrap().events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::DeliveryFailed);
    assert_eq!(events[0].detail.channel, Some("schedule"));
    assert!(
        events[0]
            .detail
            .reason
            .as_deref()
            .unwrap()
            .contains("nudge 0"),
        "{:?}",
        events[0].detail.reason
    );
    assert!(matches!(
        f.meter.measures()[..],
        [Measure::DeliveryFailed {
            channel: "schedule",
            ..
        }]
    ));
}

#[tokio::test]
async fn a_wrong_nudge_is_refused_before_anything_is_stored_or_sent() {
    let payload = fixtures::payload_with(json!({
        "Approvers": ["approver0@example.com"],
        "Escalations": [{"AfterSeconds": 60, "AddApprovers": ["approver0@example.com"]}]
    }));
    let f = support::function(&payload);
    let err = f.handle(payload).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.InvalidInput");
    assert!(
        err.to_string()
            .contains("`Approval.Escalations[0].AddApprovers[0]` `approver0@example.com` is already an approver"),
        "{err}"
    );
    assert!(f.store.records().is_empty());
    assert!(f.notifier.messages().is_empty());
    assert!(f.scheduler.as_ref().unwrap().names().is_empty());
}
