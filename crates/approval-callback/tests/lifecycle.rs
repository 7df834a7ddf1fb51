//! How a request's life ends as the record says it really did: a decision Step Functions did
//! not take yet stays for the next vote to send; a task Step Functions closed first decides
//! nothing; a re-send that meets a closed task leaves the decision unconfirmed; and the deciding
//! voter always learns that their vote decided it.

mod support;

use approval_domain::{
    ApprovalRequest, Delivery, ExecutionArn, RequestState,
    memory::{StoreOp, fixtures},
    ports::{PortError, Replaced, RequestStore, SendError},
};
use lambda_http::http::StatusCode;
use support::{answer, answer_only, function, function_holding, get, vote, votes_recorded};

/// How handing the stored decision to Step Functions went.
fn delivery(stored: &ApprovalRequest) -> Delivery {
    stored.decided().expect("decided").delivery.clone()
}

#[tokio::test]
async fn step_functions_unreachable_keeps_the_decision_and_the_retry_sends_the_same_output() {
    let (function, request, credentials) = function(1, 1);
    function
        .tasks
        .fail_next_send(SendError::Refused(PortError::Unavailable(
            "Step Functions: ThrottlingException".into(),
        )));
    let (status, _, response) = answer(&function, vote("approve", &credentials[0], "ok")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "30");
    let stored = function.store.record(&request.request_id).unwrap();
    assert_eq!(
        delivery(&stored),
        Delivery::Retry {
            may_have_arrived: false
        },
        "the decision is recorded, and Step Functions said it did not take it"
    );
    assert_eq!(
        function.store.record(&request.request_id).unwrap().untold(),
        None,
        "nobody is to be told before Step Functions is"
    );

    let (status, _, _) = answer(&function, vote("approve", &credentials[0], "ok")).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the retry completes the same vote"
    );
    let sends = function.tasks.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0].1, sends[1].1, "the very same output");
    assert_eq!(votes_recorded(&function, &request), 1);
}

#[tokio::test]
async fn a_vote_on_a_task_step_functions_closed_decides_nothing() {
    // A task with HeartbeatSeconds that timed out before the request expired.
    let (function, request, credentials) = function(2, 1);
    function
        .tasks
        .fail_next_send(SendError::TaskClosed("TaskTimedOut".into()));
    let (status, body, _) = answer(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        body.contains("This request is closed") && body.contains("TaskTimedOut"),
        "{body}"
    );
    let stored = function.store.record(&request.request_id).unwrap();
    assert_eq!(
        stored.state,
        RequestState::Closed {
            reason: "TaskTimedOut".into(),
            at: fixtures::now()
        },
        "closed, not 'approved by approver0'"
    );
    assert_eq!(stored.votes.len(), 1, "the vote is kept, as cast");
    // The other approver learns how it really ended.
    for answered in [
        answer(&function, get("approve", &credentials[1].approve.encode())).await,
        answer(&function, vote("approve", &credentials[1], "")).await,
    ] {
        let (status, body, _) = answered;
        assert_eq!(status, StatusCode::GONE);
        assert!(body.contains("This request is closed"), "{body}");
        assert!(!body.contains("Already approved"), "{body}");
    }
    assert_eq!(function.tasks.sends().len(), 1);
    assert_eq!(
        function.store.record(&request.request_id).unwrap().untold(),
        None,
        "nobody is to be told of a decision Step Functions did not take, after the answer either"
    );
}

#[tokio::test]
async fn a_resend_that_meets_a_closed_task_keeps_the_decision_unconfirmed() {
    // The deciding vote reached Step Functions, but its "sent" mark was lost after the answer.
    let (mut function, request, credentials) = function(2, 1);
    let (status, _, _) = answer_only(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    function.store.fail_next(
        StoreOp::Replace,
        PortError::Unavailable("DynamoDB: throttled".into()),
    );
    function.after_answer().await;
    // 11 s later (past the function's timeout) the other approver's click takes the delivery
    // over; Step Functions, which completed the task, no longer knows the token.
    function.clock = || fixtures::now().plus_seconds(11);
    function
        .tasks
        .fail_next_send(SendError::TaskClosed("TaskTimedOut".into()));
    let (status, body, _) = answer(&function, vote("approve", &credentials[1], "")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        body.contains("Already approved") && body.contains("approved by approver0@example.com"),
        "{body}"
    );
    let stored = function.store.record(&request.request_id).unwrap();
    assert!(
        matches!(delivery(&stored), Delivery::Unconfirmed { reason, .. } if reason == "TaskTimedOut"),
        "{:?}",
        stored.state
    );
    assert_eq!(
        stored.decided().unwrap().by.as_str(),
        "approver0@example.com"
    );
}

#[tokio::test]
async fn the_deciding_voter_sees_their_vote_decided_whatever_the_execution_is_named() {
    for name in ["release-1.2.3", "a~b", "déploiement-ü", "run_1"] {
        let mut new = fixtures::new_request(1, 1);
        new.execution_arn = ExecutionArn::parse(&format!(
            "arn:aws:states:us-east-1:123456789012:execution:{}:{name}",
            fixtures::STATE_MACHINE_NAME
        ))
        .unwrap();
        let (request, credentials) = ApprovalRequest::open(new);
        let function = function_holding(vec![request], "confirm", None);
        let (status, body, response) =
            answer(&function, vote("approve", &credentials[0], "")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{name}: {body}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:"),
            "{name}: {location}"
        );
        let target = url::Url::parse(location).unwrap();
        let fragment = percent_encoding::percent_decode_str(target.fragment().unwrap())
            .decode_utf8()
            .unwrap();
        assert!(
            fragment.ends_with(&format!(":{name}")),
            "{name}: {fragment}"
        );
    }
    // A partition without a public console, and no RedirectUrl: a page that says so.
    let mut new = fixtures::new_request(1, 1);
    new.execution_arn =
        ExecutionArn::parse("arn:aws-iso:states:us-iso-east-1:123456789012:execution:Gate:run-1")
            .unwrap();
    let (request, credentials) = ApprovalRequest::open(new);
    let function = function_holding(vec![request], "confirm", None);
    let (status, body, _) = answer(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Your vote decided this request: approved"),
        "{body}"
    );
}

/// send-email records the events it put on every change of the record, so the write after the
/// answer (the decision was sent) can find the record one version on: it is redone there, and
/// the approvers are told.
#[tokio::test]
async fn the_delivery_is_recorded_over_the_events_send_email_recorded_meanwhile() {
    let (function, request, credentials) = function(1, 1);
    let (status, _, _) = answer_only(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mut stored = function.store.record(&request.request_id).unwrap();
    assert!(stored.mark_events_put(2), "send-email, meanwhile");
    assert_eq!(function.store.replace(&stored).await, Ok(Replaced::Written));
    function.after_answer().await;
    let recorded = function.store.record(&request.request_id).unwrap();
    assert!(
        matches!(delivery(&recorded), Delivery::Sent { .. }),
        "{:?}",
        recorded.state
    );
    assert_eq!(recorded.events_put, 2, "send-email's record kept");
    assert!(recorded.untold().is_some(), "to be told now");
}
