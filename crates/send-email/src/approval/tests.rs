//! What a payload asks of whom, checked against the stack: the request it opens, or the field it names.

use approval_domain::memory::fixtures;
use serde_json::json;

use super::*;
use crate::config::tests::config;

/// The task as Step Functions scheduled it: at the fixture's now, with this timeout.
fn task(timeout_seconds: Option<u64>) -> ScheduledTask {
    ScheduledTask::from_parameters("{}", timeout_seconds, Some(fixtures::now()))
}

fn asked(approval: Value) -> Result<NewRequest, SendEmailError> {
    let invocation = Invocation::parse(&fixtures::payload_with(approval)).unwrap();
    new_request(
        &invocation,
        &config(),
        ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
        &fixtures::state_machine_arn(),
        &task(Some(3600)),
        fixtures::now(),
    )
}

fn names(request: &NewRequest) -> Vec<&str> {
    request.approvers.iter().map(Address::as_str).collect()
}

#[test]
fn the_seed_payload_asks_every_stack_approver_for_one_approval_until_the_task_times_out() {
    let request = asked(json!({})).unwrap();
    assert_eq!(
        names(&request),
        [
            "approver0@example.com",
            "approver1@example.com",
            "approver2@example.com"
        ]
    );
    assert_eq!(request.required_approvals, 1);
    assert_eq!(request.subject, DEFAULT_SUBJECT);
    assert_eq!(request.expires_at, fixtures::now().plus_seconds(3600));
    assert!(
        request
            .details
            .contains("Testing the human approval tutorial.")
    );
}

#[test]
fn the_approval_block_chooses_approvers_quorum_text_and_expiry() {
    let request = asked(json!({
        "Subject": "Deploy v42 — to prod?", "Summary": "Release notes", "Details": {"change": 42},
        "Approvers": ["APPROVER1@example.com", "approver2@example.com", "approver0@example.com"],
        "RequiredApprovals": 2, "RequestedBy": "approver0@example.com", "ExpiresInSeconds": 600
    }))
    .unwrap();
    assert_eq!(
        names(&request),
        ["approver1@example.com", "approver2@example.com"],
        "stack spelling, requester left out"
    );
    assert_eq!(request.required_approvals, 2);
    assert_eq!(request.subject, "Deploy v42 to prod?");
    assert_eq!(request.summary.as_deref(), Some("Release notes"));
    assert_eq!(request.details, "{\n  \"change\": 42\n}");
    assert_eq!(
        request.requested_by.as_ref().map(Address::as_str),
        Some("approver0@example.com")
    );
    assert_eq!(request.expires_at, fixtures::now().plus_seconds(600));
}

#[test]
fn the_request_expires_when_the_task_times_out_counted_from_its_scheduling() {
    let invocation = Invocation::parse(&fixtures::payload()).unwrap();
    let scheduled = Timestamp::from_unix(fixtures::now().unix() - 7).unwrap();
    let at = |task: ScheduledTask| {
        new_request(
            &invocation,
            &config(),
            ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task,
            fixtures::now(),
        )
        .unwrap()
        .expires_at
    };
    assert_eq!(
        at(ScheduledTask::from_parameters(
            "{}",
            Some(3600),
            Some(scheduled)
        )),
        scheduled.plus_seconds(3600),
        "the task's clock: a retried or slow invocation does not outlast it"
    );
    let later = fixtures::now().plus_seconds(5);
    assert_eq!(
        at(ScheduledTask::from_parameters(
            "{}",
            Some(3600),
            Some(later)
        )),
        fixtures::now().plus_seconds(3600),
        "a scheduling time after now (another clock) is not believed"
    );
    assert_eq!(
        at(ScheduledTask::from_parameters("{}", Some(3600), None)),
        fixtures::now().plus_seconds(3600)
    );
}

#[test]
fn every_bad_field_is_named() {
    for (approval, says) in [
        (
            json!({"Approvers": ["stranger@example.com"]}),
            "`Approval.Approvers[0]` `stranger@example.com` is not an approver",
        ),
        (json!({"Approvers": ["nope"]}), "`Approval.Approvers[0]`"),
        (json!({"Approvers": []}), "`Approval.Approvers` is empty"),
        (
            json!({"RequiredApprovals": 4}),
            "`Approval.RequiredApprovals` is 4, but must be 1 to 3",
        ),
        (
            json!({"RequiredApprovals": 0}),
            "`Approval.RequiredApprovals` is 0",
        ),
        (
            json!({"RequiredApprovals": 3, "RequestedBy": "approver1@example.com"}),
            "other than the requester",
        ),
        (
            json!({"Approvers": ["approver1@example.com"], "RequestedBy": "approver1@example.com"}),
            "may not approve their own",
        ),
        (json!({"RequestedBy": "carol"}), "`Approval.RequestedBy`"),
        (
            json!({"ExpiresInSeconds": 7200}),
            "beyond the task's own TimeoutSeconds (3600)",
        ),
        (json!({"ExpiresInSeconds": 0}), "at least 1"),
        (
            json!({"Summary": "x".repeat(2049)}),
            "`Approval.Summary` is longer than 2048 bytes",
        ),
    ] {
        let err = asked(approval.clone()).unwrap_err();
        assert!(
            matches!(&err, SendEmailError::InvalidInput(m) if m.contains(says)),
            "{approval}: {err}"
        );
    }
}

#[test]
fn the_stacks_floor_is_the_default_and_no_request_goes_below_it() {
    let mut config = config();
    config.min_required_approvals = 2;
    let ask = |approval: Value| {
        let invocation = Invocation::parse(&fixtures::payload_with(approval)).unwrap();
        new_request(
            &invocation,
            &config,
            ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task(Some(3600)),
            fixtures::now(),
        )
    };
    assert_eq!(
        ask(json!({})).unwrap().required_approvals,
        2,
        "the floor by default"
    );
    assert_eq!(
        ask(json!({"RequiredApprovals": 3}))
            .unwrap()
            .required_approvals,
        3
    );
    for (approval, says) in [
        (
            json!({"RequiredApprovals": 1}),
            "`Approval.RequiredApprovals` is 1, below the stack's MinimumRequiredApprovals (2)",
        ),
        (
            json!({"Approvers": ["approver0@example.com"]}),
            "this request has 1 approver(s), fewer than the stack's MinimumRequiredApprovals (2)",
        ),
        (
            json!({"Approvers": ["approver0@example.com", "approver1@example.com"],
                   "RequestedBy": "approver1@example.com"}),
            "this request has 1 approver(s) other than the requester, fewer than",
        ),
        (
            json!({"RequiredApprovals": 0}),
            "`Approval.RequiredApprovals` is 0, but must be 2 to 3",
        ),
    ] {
        let err = ask(approval.clone()).unwrap_err().to_string();
        assert!(err.contains(says), "{approval}: {err}");
    }
}

#[test]
fn an_approver_no_channel_reaches_is_named_and_nothing_is_opened() {
    let mut config = config();
    config.email = EmailDelivery::Off;
    let invocation = Invocation::parse(&fixtures::payload_with(json!({
        "Approvers": ["approver1@example.com", "approver2@example.com"]
    })))
    .unwrap();
    let err = new_request(
        &invocation,
        &config,
        ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
        &fixtures::state_machine_arn(),
        &task(None),
        fixtures::now(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        SendEmailError::InvalidInput(
            "no channel reaches approver `approver1@example.com`, `approver2@example.com`: email is off (EmailDelivery `none`) and no other channel is on".into()
        )
    );
}

#[test]
fn names_with_hidden_characters_and_odd_tokens_are_refused() {
    let mut payload = fixtures::payload();
    payload["ExecutionContext"]["Execution"]["Name"] = json!("run\u{202E}1");
    let invocation = Invocation::parse(&payload).unwrap();
    let err = new_request(
        &invocation,
        &config(),
        ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
        &fixtures::state_machine_arn(),
        &task(None),
        fixtures::now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("U+202E"), "{err}");
    for token in ["", "has space", &"a".repeat(2049)] {
        let mut payload = fixtures::payload();
        payload["ExecutionContext"]["Task"]["Token"] = json!(token);
        let invocation = Invocation::parse(&payload).unwrap();
        let err = new_request(
            &invocation,
            &config(),
            approval_domain::ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task(None),
            fixtures::now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("ExecutionContext.Task.Token"),
            "{err}"
        );
    }
}

#[test]
fn subjects_are_made_sns_safe() {
    assert_eq!(subject_line(Some("  Déploy\tv42\u{202E} ")), "D ploy v42");
    assert_eq!(subject_line(Some("\u{7}")), DEFAULT_SUBJECT);
    assert_eq!(
        subject_line(Some(&"x".repeat(300))).len(),
        MAX_SUBJECT_CHARS
    );
    assert_eq!(subject_line(None), DEFAULT_SUBJECT);
}
