//! send-email's flow through in-memory ports: what is stored, what is sent, what is refused.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, Credential, TaskToken,
    memory::{StoreOp, fixtures},
    ports::PortError,
};
use send_email::{Config, SendEmailError};
use serde_json::json;
use support::{config_vars, function, function_for};

fn credential_in(body: &str, label: &str) -> Credential {
    let line = body
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {body}"));
    let c = line.rsplit("c=").next().unwrap();
    Credential::parse(c).unwrap()
}

#[tokio::test]
async fn the_seed_payload_opens_one_request_and_mails_each_approver_their_own_links() {
    let payload = fixtures::payload();
    let function = function(&payload);
    let answer = function.handle(payload).await.unwrap();
    assert_eq!(answer["Emailed"], 3);

    let records = function.store.records();
    assert_eq!(records.len(), 1);
    let request = &records[0];
    assert_eq!(answer["RequestId"], request.request_id.to_string());
    assert_eq!(request.task_token, TaskToken::new(fixtures::task_token()));
    assert_eq!(
        request.expires_at,
        fixtures::now().plus_seconds(3600),
        "the task's own TimeoutSeconds"
    );
    assert!(
        request.approvers.iter().all(|a| a.notified_at.is_some()),
        "who was emailed is recorded before the answer"
    );
    assert_eq!(function.store.count(StoreOp::Replace), 1);

    let messages = function.notifier.messages();
    let to: Vec<&str> = messages.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to,
        [
            "approver0@example.com",
            "approver1@example.com",
            "approver2@example.com"
        ]
    );
    for (slot, message) in messages.iter().enumerate() {
        assert!(
            !message.body.contains(&fixtures::task_token()),
            "no token in an email"
        );
        let approve = credential_in(&message.body, "Approve: ");
        let reject = credential_in(&message.body, "Reject: ");
        assert_ne!(approve, reject, "one credential per link");
        assert_eq!(
            (approve.request_id(), approve.slot()),
            (reject.request_id(), reject.slot())
        );
        assert_eq!(
            request.authenticate(&approve, Choice::Approved),
            Some(slot),
            "each email opens its own slot"
        );
        assert_eq!(request.authenticate(&reject, Choice::Rejected), Some(slot));
        assert_eq!(
            request.authenticate(&reject, Choice::Approved),
            None,
            "the Reject link never approves"
        );
        assert_eq!(message.html, None, "SNS mail is text alone");
    }
    assert!(function.tasks.sends().is_empty());
}

#[tokio::test]
async fn anything_step_functions_did_not_schedule_is_untrusted_and_changes_nothing() {
    let scheduled = fixtures::payload();
    let mut renamed = scheduled.clone();
    renamed["ExecutionContext"]["Execution"]["Name"] = json!("Innocent");
    let mut other_details = scheduled.clone();
    other_details["ExecutionContext"]["Execution"]["Input"] = json!({"Comment": "harmless"});
    let mut foreign_endpoint = scheduled.clone();
    foreign_endpoint["APIGatewayEndpoint"] = json!("https://evil.example.com/states");
    let mut other_execution = scheduled.clone();
    other_execution["ExecutionContext"]["Execution"]["Id"] =
        json!(format!("{}-other", fixtures::execution_arn()));
    let mut extra_approval = scheduled.clone();
    extra_approval["Approval"] = json!({"Subject": "Nothing to see"});

    for (what, payload, says) in [
        (
            "renamed execution",
            renamed,
            "differs from what Step Functions sent",
        ),
        (
            "other details",
            other_details,
            "differs from what Step Functions sent",
        ),
        (
            "Approval block added",
            extra_approval,
            "differs from what Step Functions sent",
        ),
        ("foreign endpoint", foreign_endpoint, "not this stack's API"),
        ("unknown execution", other_execution, "has no execution"),
    ] {
        let function = function(&scheduled);
        let err = function.handle(payload).await.unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.Untrusted", "{what}: {err}");
        assert!(err.to_string().contains(says), "{what}: {err}");
        assert!(
            function.store.records().is_empty() && function.notifier.messages().is_empty(),
            "{what}"
        );
        assert_eq!(
            function.store.count(StoreOp::Create),
            0,
            "{what}: nothing stored"
        );
    }

    let mut finished = fixtures::running_execution(&scheduled, Some(3600));
    finished.status = approval_domain::ExecutionStatus::Succeeded;
    let function = function_for(finished);
    let err = function.handle(scheduled.clone()).await.unwrap_err();
    assert!(
        matches!(&err, SendEmailError::Untrusted(_)) && err.to_string().contains("SUCCEEDED"),
        "{err}"
    );

    let mut foreign = fixtures::running_execution(&scheduled, Some(3600));
    foreign.state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:Other".into();
    let function = function_for(foreign);
    let err = function.handle(scheduled).await.unwrap_err();
    assert!(err.to_string().contains("TrustedStateMachineArns"), "{err}");
    assert!(function.notifier.messages().is_empty());
}

#[tokio::test]
async fn a_retry_of_the_same_task_reuses_the_request_and_mails_only_who_missed_out() {
    let payload = fixtures::payload();
    let function = function(&payload);
    function
        .notifier
        .fail_next(PortError::Unavailable("SNS: Throttling".into()));
    let err = function.handle(payload.clone()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.PublishFailed");
    let first = function.notifier.messages();
    assert_eq!(first.len(), 2, "two of three went out");

    let answer = function.handle(payload.clone()).await.unwrap();
    assert_eq!(answer["Emailed"], 1);
    let records = function.store.records();
    assert_eq!(records.len(), 1, "no second record");
    let request: &ApprovalRequest = &records[0];
    for message in &first {
        let credential = credential_in(&message.body, "Approve: ");
        assert!(
            request
                .authenticate(&credential, Choice::Approved)
                .is_some(),
            "links already mailed keep working"
        );
    }
    let all = function.notifier.messages();
    assert_eq!(all.len(), 3);
    let mut to: Vec<&str> = all.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "approver0@example.com",
            "approver1@example.com",
            "approver2@example.com"
        ]
    );

    // Everyone mailed: a further retry sends nothing.
    assert_eq!(function.handle(payload).await.unwrap()["Emailed"], 0);
    assert_eq!(function.notifier.messages().len(), 3);
}

#[tokio::test]
async fn aws_failures_are_named_and_retryable_and_leave_nothing_half_done() {
    let payload = fixtures::payload();
    let function = function(&payload);
    function.tasks.fail_next_execution(PortError::Unavailable(
        "Step Functions: ThrottlingException".into(),
    ));
    let err = function.handle(payload.clone()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.VerifyFailed");

    function.store.fail_next(
        StoreOp::Create,
        PortError::Unavailable("DynamoDB: ProvisionedThroughputExceeded".into()),
    );
    let err = function.handle(payload.clone()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.StoreFailed");
    assert!(
        function.notifier.messages().is_empty(),
        "nothing sent without a stored request"
    );

    assert!(
        function.handle(payload).await.is_ok(),
        "the state machine's retry then succeeds"
    );
    assert_eq!(function.notifier.messages().len(), 3);
}

#[tokio::test]
async fn a_bad_setting_or_payload_is_named_before_any_aws_call() {
    let payload = fixtures::payload();
    let misconfigured: send_email::Function<
        approval_domain::memory::MemoryStore,
        approval_domain::memory::MemoryNotifier,
        approval_domain::memory::MemoryTasks,
        approval_domain::memory::MemoryEventBus,
        approval_domain::memory::MemoryMeter,
        approval_domain::memory::MemoryScheduler,
        approval_domain::memory::MemorySlack,
    > = send_email::Function::Misconfigured(
        Config::from_vars(config_vars().into_iter().filter(|(k, _)| k != "API_URL")).unwrap_err(),
    );
    let err = misconfigured.handle(payload.clone()).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.Misconfigured");
    assert!(err.to_string().contains("API_URL"), "{err}");

    let function = self::function(&payload);
    let mut broken = payload.clone();
    broken["ExecutionContext"]["Task"]["Token"] = json!(42);
    let err = function.handle(broken).await.unwrap_err();
    assert_eq!(err.error_type(), "SendEmail.InvalidInput");
    assert!(
        err.to_string().contains("ExecutionContext.Task.Token"),
        "{err}"
    );
    assert!(function.store.records().is_empty());
}

#[tokio::test]
async fn an_approval_block_that_step_functions_scheduled_shapes_the_request() {
    let payload = fixtures::payload_with(json!({
        "Subject": "Release 42", "Approvers": ["approver1@example.com", "approver2@example.com"],
        "RequiredApprovals": 2, "RequestedBy": "approver0@example.com", "ExpiresInSeconds": 600
    }));
    let function = function(&payload);
    function.handle(payload).await.unwrap();
    let request = &function.store.records()[0];
    assert_eq!(request.required_approvals, 2);
    assert_eq!(request.subject, "Release 42");
    assert_eq!(request.expires_at, fixtures::now().plus_seconds(600));
    let to: Vec<String> = function
        .notifier
        .messages()
        .iter()
        .map(|m| m.to.to_string())
        .collect();
    assert_eq!(
        to,
        ["approver1@example.com", "approver2@example.com"],
        "the requester gets no links"
    );
    assert!(
        function.notifier.messages()[0]
            .body
            .contains("Requested by:  approver0@example.com")
    );
}

/// The table's stream has send-email record the events it put as soon as the request is stored:
/// the write of who was emailed can find the record one version on, and must not be lost then
/// (the endings are told, and a retry mails, only by it).
#[tokio::test]
async fn who_was_emailed_is_recorded_even_when_the_events_put_were_recorded_first() {
    let payload = fixtures::payload();
    let function = function(&payload);
    function.store.conflict_next(1);
    function.handle(payload).await.unwrap();
    let stored = &function.store.records()[0];
    assert!(
        stored.approvers.iter().all(|a| a.notified_at.is_some()),
        "{:?}",
        stored.approvers
    );
    assert_eq!(
        function.store.count(StoreOp::Replace),
        2,
        "tried again once"
    );
}
