//! The step after the wait (`{"Verify": …}`): a forged `SendTaskSuccess` (anyone who can read
//! the execution's history holds the token) does not pass for the approvers' decision. Only the
//! exact output the gate recorded and sent, for this execution's latest request, passes,
//! unchanged; anything else is `SendEmail.DecisionNotRecorded` and the workflow routes nowhere.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, ExecutionArn,
    memory::{MemoryStore, fixtures},
};
use serde_json::{Value, json};

fn verify(execution: &str, decision: &Value) -> Value {
    json!({"Verify": {"ExecutionId": execution, "Decision": decision}})
}

fn decided(token: &str, choice: Choice, created_at: i64) -> (ApprovalRequest, Value) {
    let mut new = fixtures::new_request_with_token(token, 2, 1);
    new.created_at = fixtures::at(created_at);
    let (mut request, _) = ApprovalRequest::open(new);
    request
        .cast(0, choice, "ok".into(), fixtures::at(created_at + 5))
        .unwrap();
    request.delivered(fixtures::at(created_at + 6));
    let output = serde_json::from_str(&request.decided().unwrap().output).unwrap();
    (request, output)
}

fn function_holding(records: Vec<ApprovalRequest>) -> support::Function {
    let mut f = support::function(&fixtures::payload());
    f.store = MemoryStore::with(records);
    f
}

#[tokio::test]
async fn the_gates_own_decision_passes_unchanged() {
    let (request, output) = decided("t1", Choice::Rejected, 0);
    let f = function_holding(vec![request]);
    let passed = f
        .handle(verify(&fixtures::execution_arn(), &output))
        .await
        .unwrap();
    assert_eq!(passed, output);
}

#[tokio::test]
async fn a_forged_approval_fails_whatever_it_claims() {
    let (pending, _) = ApprovalRequest::open(fixtures::new_request_with_token("waiting", 2, 1));
    let (rejected, genuine) = decided("t2", Choice::Rejected, 0);
    let mut other_execution = decided("t3", Choice::Approved, 0).0;
    other_execution.execution_arn = ExecutionArn::parse(
        "arn:aws:states:us-east-1:123456789012:execution:HumanApprovalLambdaStateMachine:other",
    )
    .unwrap();
    let other_output: Value =
        serde_json::from_str(&other_execution.decided().unwrap().output).unwrap();
    let f = function_holding(vec![pending.clone(), rejected, other_execution]);
    let mut flipped = genuine.clone();
    flipped["Decision"] = json!("approved");
    flipped["Status"] = json!("Approved! Task approved by approver0@example.com");
    let cases = [
        (json!({"Decision": "approved"}), "names no request"),
        (
            json!({"Decision": "approved", "RequestId": pending.request_id.to_string()}),
            "is pending: no decision was recorded",
        ),
        (
            json!({"Decision": "approved", "RequestId": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "has no request",
        ),
        (
            json!({"Decision": "approved", "RequestId": "../x"}),
            "has no request",
        ),
        (flipped, "differs from the decision the gate recorded"),
        (other_output, "is another execution's"),
    ];
    for (forged, expected) in cases {
        let err = f
            .handle(verify(&fixtures::execution_arn(), &forged))
            .await
            .unwrap_err();
        assert_eq!(
            err.error_type(),
            "SendEmail.DecisionNotRecorded",
            "{forged}"
        );
        assert!(!err.is_retryable());
        assert!(err.to_string().contains(expected), "{forged}: {err}");
    }
}

#[tokio::test]
async fn an_earlier_decision_of_the_execution_does_not_end_a_later_wait() {
    let (earlier, earlier_output) = decided("first-wait", Choice::Approved, 0);
    let (later, _) = ApprovalRequest::open({
        let mut new = fixtures::new_request_with_token("second-wait", 2, 1);
        new.created_at = fixtures::at(100);
        new
    });
    let f = function_holding(vec![earlier, later]);
    let err = f
        .handle(verify(&fixtures::execution_arn(), &earlier_output))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not this execution's latest"),
        "{err}"
    );
}

#[tokio::test]
async fn a_malformed_step_is_invalid_input() {
    let f = function_holding(Vec::new());
    for payload in [
        json!({"Verify": {"ExecutionId": fixtures::execution_arn()}}),
        json!({"Verify": {"ExecutionId": "not-an-arn", "Decision": {}}}),
        json!({"Verify": {"ExecutionId": fixtures::execution_arn(), "Decision": {}, "Extra": 1}}),
    ] {
        let err = f.handle(payload.clone()).await.unwrap_err();
        assert_eq!(
            err.error_type(),
            "SendEmail.InvalidInput",
            "{payload}: {err}"
        );
    }
}
