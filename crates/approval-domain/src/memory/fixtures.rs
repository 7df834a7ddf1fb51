//! Values the tests of every crate share.

use serde_json::{Value, json};

use crate::{
    Address, NewRequest, TaskToken, Timestamp,
    scheduled::{ExecutionView, ScheduledTask},
};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const STATE_MACHINE_NAME: &str = "HumanApprovalLambdaStateMachine";
pub const EXECUTION_NAME: &str = "ApprovalTest";
pub const API_URL: &str = "https://abc123defg.execute-api.us-east-1.amazonaws.com/states";
/// 2027-01-15T08:00:00Z: before every fixture's expiry.
pub const NOW: i64 = 1_800_000_000;

pub fn state_machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}")
}

pub fn execution_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{EXECUTION_NAME}")
}

pub fn now() -> Timestamp {
    Timestamp::from_unix(NOW).unwrap()
}

/// `seconds` after [`now`].
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(NOW + seconds).unwrap()
}

/// A task token of the real shape: ~700 base64 characters with `+`, `/` and `=`.
pub fn task_token() -> String {
    let mut token = String::from("AQCEAAAAKgAAAAMAAAAAAAAAAb+/");
    while token.len() < 696 {
        token.push_str("uCRNAomB1pOve0Vq+O+kytY9KC4Z/xSULCRuUNk1");
    }
    token.truncate(696);
    token.push_str("==");
    token
}

pub fn approver(n: usize) -> Address {
    Address::parse(&format!("approver{n}@example.com")).unwrap()
}

/// A request opened from `new` whose approval email went out to every approver (as
/// send-email leaves it): the one every ending is told to.
pub fn mailed(new: NewRequest) -> (crate::ApprovalRequest, Vec<crate::LinkCredentials>) {
    let (mut request, credentials) = crate::ApprovalRequest::open(new);
    let slots: Vec<usize> = (0..request.approvers.len()).collect();
    request.mark_notified(&slots, now());
    (request, credentials)
}

pub fn new_request(approvers: usize, required: usize) -> NewRequest {
    new_request_with_token(&task_token(), approvers, required)
}

pub fn new_request_with_token(token: &str, approvers: usize, required: usize) -> NewRequest {
    NewRequest {
        task_token: TaskToken::new(token),
        execution_arn: crate::ExecutionArn::parse(&execution_arn()).unwrap(),
        state_machine_arn: state_machine_arn(),
        subject: "Required approval from AWS Step Functions".into(),
        summary: Some("Deploy v42 to prod".into()),
        requested_by: None,
        details: "{\n  \"Comment\": \"Testing the human approval tutorial.\"\n}".into(),
        approvers: (0..approvers).map(approver).collect(),
        required_approvals: required,
        created_at: now(),
        expires_at: now().plus_seconds(3600),
        retention_seconds: 90 * 86_400,
        nudges: Vec::new(),
    }
}

/// The seed's payload, as the tutorial's state machine sends it.
pub fn payload() -> Value {
    payload_with(json!({}))
}

/// The seed's payload with an `Approval` block.
pub fn payload_with(approval: Value) -> Value {
    let mut payload = json!({
        "ExecutionContext": {
            "Execution": {
                "Id": execution_arn(),
                "Name": EXECUTION_NAME,
                "Input": {"Comment": "Testing the human approval tutorial."},
                "StartTime": "2027-01-15T07:59:58.123Z",
                "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/StepFunctions")
            },
            "State": {"EnteredTime": "2027-01-15T07:59:59.001Z", "Name": "Lambda Callback", "RetryCount": 0},
            "StateMachine": {"Id": state_machine_arn(), "Name": STATE_MACHINE_NAME},
            "Task": {"Token": task_token()}
        },
        "APIGatewayEndpoint": API_URL
    });
    if approval.as_object().is_some_and(|o| !o.is_empty()) {
        payload["Approval"] = approval;
    }
    payload
}

/// Cases per property of the fuzz tests: `PROPTEST_CASES`, else 2,000.
pub fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// What Step Functions says of the fixture execution after scheduling `payload`.
pub fn running_execution(payload: &Value, timeout_seconds: Option<u64>) -> ExecutionView {
    let parameters = json!({"FunctionName": "send-email", "Payload": payload}).to_string();
    ExecutionView {
        status: crate::ExecutionStatus::Running,
        state_machine_arn: state_machine_arn(),
        scheduled: vec![ScheduledTask::from_parameters(
            &parameters,
            timeout_seconds,
            Some(now()),
        )],
    }
}
