//! send-email with Slack on (in memory): approvers looked up by address and kept in the record,
//! a DM each or one channel message, posted once across retries; every message updated when
//! the record's view changes; reminders in the messages' threads; Slack's failures keep their
//! kind (a refused token is misconfiguration, an outage is retried, an unknown user is reached
//! by email or refused by name).

mod support;

use approval_domain::{
    ApprovalRequest, Choice, SlackView, Via,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemorySlack, MemoryStore,
        MemoryTasks, SlackCall, fixtures,
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
    MemorySlack,
>;

const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:approval-gate/slack-AbCdEf";

/// The function, Slack on with `delivery` (dm or channel), the workspace knowing `in_slack`
/// of the three approvers; `email`: EMAIL_DELIVERY.
fn function(delivery: &str, email: &str, in_slack: &[usize]) -> Function {
    function_for(&fixtures::payload(), delivery, email, in_slack)
}

/// The same, for an execution that scheduled `payload`.
fn function_for(payload: &Value, delivery: &str, email: &str, in_slack: &[usize]) -> Function {
    let users: Vec<_> = in_slack.iter().map(|&n| fixtures::approver(n)).collect();
    // The workspace's users are U0, U1, … in the order given.
    let slack = MemorySlack::with_users(&users);
    SendEmail {
        store: MemoryStore::default(),
        notifier: MemoryNotifier::default(),
        tasks: MemoryTasks::with_execution(
            &fixtures::execution_arn(),
            fixtures::running_execution(payload, Some(3600)),
        ),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: Some(slack),
        config: Config::from_vars(send_email::config::test_vars(&[
            ("EMAIL_DELIVERY", email),
            ("SLACK_DELIVERY", delivery),
            ("SLACK_CHANNEL_ID", "C0GATE0001"),
            ("SLACK_SECRET_ARN", SECRET_ARN),
        ]))
        .unwrap(),
        clock: fixtures::now,
    }
}

fn stored(f: &Function) -> ApprovalRequest {
    let records = f.store.records();
    assert_eq!(records.len(), 1, "one request stored");
    records.into_iter().next().unwrap()
}

fn stream_event(request: &ApprovalRequest) -> Value {
    json!({"Records": [{
        "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"RequestId": {"S": request.request_id.to_string()}},
                     "SequenceNumber": "9", "SizeBytes": 40, "StreamViewType": "KEYS_ONLY"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/requests/stream/1"
    }]})
}

#[tokio::test]
async fn each_approver_found_gets_a_dm_recorded_with_their_identity_and_email_reaches_all() {
    let f = function("dm", "sns", &[0, 2]);
    let answer = f.handle(fixtures::payload()).await.unwrap();
    assert_eq!(answer["Emailed"], 3);
    assert_eq!(answer["SlackMessages"], 2);
    let request = stored(&f);
    let users: Vec<Option<String>> = request
        .approvers
        .iter()
        .map(|e| e.slack.as_ref().map(|u| u.user_id.clone()))
        .collect();
    assert_eq!(users, [Some("U0".into()), None, Some("U1".into())]);
    let slots: Vec<Option<usize>> = request.slack_posts.iter().map(|p| p.slot).collect();
    assert_eq!(slots.len(), 2);
    assert!(
        slots.contains(&Some(0)) && slots.contains(&Some(2)),
        "{slots:?}"
    );
    for post in &request.slack_posts {
        assert!(post.channel.starts_with('D') && !post.ts.is_empty());
        assert_eq!(post.shown, request.slack_view().key());
    }
    assert_eq!(
        f.notifier.messages().len(),
        3,
        "email is on: everyone mailed"
    );
}

#[tokio::test]
async fn channel_mode_posts_one_message_for_everyone() {
    let f = function("channel", "sns", &[0, 1, 2]);
    f.handle(fixtures::payload()).await.unwrap();
    let request = stored(&f);
    assert_eq!(request.slack_posts.len(), 1);
    assert_eq!(request.slack_posts[0].channel, "C0GATE0001");
    assert_eq!(request.slack_posts[0].slot, None);
    assert!(
        request.approvers.iter().all(|e| e.slack.is_some()),
        "clicks are matched to slots"
    );
}

#[tokio::test]
async fn with_email_off_an_approver_slack_does_not_know_is_refused_by_name_and_nothing_is_stored() {
    let f = function("dm", "none", &[0, 2]);
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.InvalidInput");
    assert!(
        err.to_string().contains("`approver1@example.com`")
            && err.to_string().contains("users_not_found"),
        "{err}"
    );
    assert!(f.store.records().is_empty());
    assert_eq!(f.slack.as_ref().unwrap().count(SlackCall::Post), 0);

    let all = function("dm", "none", &[0, 1, 2]);
    let answer = all.handle(fixtures::payload()).await.unwrap();
    assert_eq!(answer["Emailed"], 0);
    assert_eq!(answer["SlackMessages"], 3);
    assert!(all.notifier.messages().is_empty(), "no email at all");
}

#[tokio::test]
async fn a_refused_token_is_misconfiguration_and_an_outage_is_retried_posting_only_what_is_missing()
{
    let refused = function("dm", "sns", &[0, 1, 2]);
    refused.slack.as_ref().unwrap().fail_next(
        SlackCall::FindUser,
        PortError::Failed("Slack users.lookupByEmail: invalid_auth".into()),
    );
    let err = refused.handle(fixtures::payload()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.Misconfigured");
    assert!(err.to_string().contains("invalid_auth"), "{err}");
    assert!(refused.store.records().is_empty());

    let f = function("dm", "sns", &[0, 1, 2]);
    let slack = f.slack.as_ref().unwrap();
    slack.fail_next(
        SlackCall::Post,
        PortError::Unavailable("Slack chat.postMessage: ratelimited".into()),
    );
    let err = f.handle(fixtures::payload()).await.unwrap_err();
    assert!(matches!(err, SendEmailError::PublishFailed(_)), "{err}");
    assert_eq!(
        err.error_type(),
        "SendEmail.PublishFailed",
        "the state machine retries it"
    );
    assert_eq!(
        stored(&f).slack_posts.len(),
        2,
        "the two that went out are recorded"
    );
    // The state machine's Retry: the same payload posts only the missing DM, mails nobody twice.
    f.handle(fixtures::payload()).await.unwrap();
    let request = stored(&f);
    assert_eq!(request.slack_posts.len(), 3);
    let mut slots: Vec<usize> = request.slack_posts.iter().filter_map(|p| p.slot).collect();
    slots.sort_unstable();
    assert_eq!(slots, [0, 1, 2]);
    assert_eq!(
        slack.messages.lock().unwrap().len(),
        3,
        "three DMs in all, none twice"
    );
    assert_eq!(f.notifier.messages().len(), 3);
}

#[tokio::test]
async fn every_message_follows_the_record_and_a_failed_update_is_handed_over_again() {
    let two_of_three = fixtures::payload_with(json!({"RequiredApprovals": 2}));
    let f = function_for(&two_of_three, "dm", "sns", &[0, 1, 2]);
    f.handle(two_of_three).await.unwrap();
    let mut request = stored(&f);
    let slack = f.slack.as_ref().unwrap();

    // A Slack vote, as approval-callback records it: the change reaches send-email.
    request
        .cast_via(
            1,
            Choice::Approved,
            String::new(),
            Via::Slack,
            fixtures::now(),
        )
        .unwrap();
    f.store.put(request.clone());
    slack.fail_next(
        SlackCall::Update,
        PortError::Unavailable("Slack chat.update: ratelimited".into()),
    );
    let answer = f.handle(stream_event(&request)).await.unwrap();
    assert_eq!(
        answer["batchItemFailures"][0]["itemIdentifier"], "9",
        "handed over again"
    );
    let after_failure = stored(&f);
    assert_eq!(
        after_failure.stale_slack_posts().len(),
        1,
        "two updated, one still to do"
    );

    let answer = f.handle(stream_event(&request)).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let updated = stored(&f);
    assert!(updated.stale_slack_posts().is_empty());
    assert_eq!(
        slack.count(SlackCall::Update),
        4,
        "three updates, one of them twice"
    );

    // The decision: every message again, to its end.
    let mut decided = updated.clone();
    decided
        .cast(0, Choice::Approved, String::new(), fixtures::now())
        .unwrap();
    decided.delivered(fixtures::now());
    f.store.put(decided.clone());
    f.handle(stream_event(&decided)).await.unwrap();
    let ended = stored(&f);
    assert!(matches!(ended.slack_view(), SlackView::Decided { .. }));
    assert!(ended.stale_slack_posts().is_empty());
    assert_eq!(slack.count(SlackCall::Update), 7);
    assert!(ended.decided().unwrap().told_at.is_some());
}

#[tokio::test]
async fn a_reminder_goes_in_the_threads_of_who_has_not_voted_and_an_escalation_dms_the_added() {
    let payload = fixtures::payload_with(json!({
        "Approvers": ["approver0@example.com", "approver1@example.com"],
        "RequiredApprovals": 2,
        "Reminders": [{"AfterSeconds": 600}],
        "Escalations": [{"AfterSeconds": 1200, "AddApprovers": ["approver2@example.com"]}]
    }));
    let mut f = function_for(&payload, "dm", "none", &[0, 1, 2]);
    let answer = f.handle(payload).await.unwrap();
    assert_eq!(answer["SlackMessages"], 2);
    let id = approval_domain::RequestId::try_from(answer["RequestId"].as_str().unwrap().to_owned())
        .unwrap();
    let mut stored = f.store.record(&id).unwrap();
    stored
        .cast_via(
            1,
            Choice::Approved,
            String::new(),
            Via::Slack,
            fixtures::now(),
        )
        .unwrap();
    f.store.put(stored);

    f.clock = || fixtures::now().plus_seconds(600);
    let answer = f
        .handle(json!({"Nudge": {"RequestId": id.to_string(), "Index": 0}}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"Nudged": "reminder", "Told": 1}));
    let replies = f.slack.as_ref().unwrap().replies.lock().unwrap().clone();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].0.slot,
        Some(0),
        "in the thread of approver 0's DM only"
    );
    assert!(
        replies[0].1.contains("1 of 2 approvals so far"),
        "{}",
        replies[0].1
    );

    f.clock = || fixtures::now().plus_seconds(1200);
    let answer = f
        .handle(json!({"Nudge": {"RequestId": id.to_string(), "Index": 1}}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"Nudged": "escalation", "Added": 1}));
    let stored = f.store.record(&id).unwrap();
    assert_eq!(
        stored.approvers[2]
            .slack
            .as_ref()
            .map(|u| u.user_id.as_str()),
        Some("U2"),
        "the added approver is found in Slack, and their clicks count"
    );
    assert!(stored.has_direct_post(2), "and gets their DM");
    assert_eq!(stored.slack_posts.len(), 3);
}
