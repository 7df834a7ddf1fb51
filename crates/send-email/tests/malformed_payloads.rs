//! Malformed and untrusted payloads through the real handler: each fails with the error the
//! contract names, with a message naming the problem, and nothing is stored or published.

mod support;

use approval_domain::{
    memory::{StoreOp, fixtures},
    scheduled::ExecutionView,
};
use serde_json::{Value, json};
use support::function_for;

/// A payload edited by `edit`, where Step Functions scheduled the edited payload itself (so
/// only the payload's own content is judged), or the original (so the edit is untrusted).
struct Case {
    name: &'static str,
    payload: Value,
    scheduled: ExecutionView,
    error_type: &'static str,
    says: &'static str,
}

fn edited(edit: impl FnOnce(&mut Value)) -> Value {
    let mut payload = fixtures::payload();
    edit(&mut payload);
    payload
}

/// Scheduled as given: the content itself is what is wrong.
fn invalid(name: &'static str, payload: Value, says: &'static str) -> Case {
    let scheduled = fixtures::running_execution(&payload, Some(3600));
    Case {
        name,
        payload,
        scheduled,
        error_type: "SendEmail.InvalidInput",
        says,
    }
}

/// Step Functions scheduled the seed payload; this one differs from it.
fn untrusted(name: &'static str, payload: Value, says: &'static str) -> Case {
    let scheduled = fixtures::running_execution(&fixtures::payload(), Some(3600));
    Case {
        name,
        payload,
        scheduled,
        error_type: "SendEmail.Untrusted",
        says,
    }
}

fn with_approval(approval: Value) -> Value {
    fixtures::payload_with(approval)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        invalid("not an object", json!("approve me"), "JSON object"),
        invalid("an array", json!([fixtures::payload()]), "JSON object"),
        invalid("null", Value::Null, "JSON object"),
        invalid(
            "no ExecutionContext",
            edited(|p| _ = p.as_object_mut().unwrap().remove("ExecutionContext")),
            "missing field `ExecutionContext`",
        ),
        invalid(
            "no Task",
            edited(|p| {
                _ = p["ExecutionContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Task")
            }),
            "missing field `Task`",
        ),
        invalid(
            "no token",
            edited(|p| p["ExecutionContext"]["Task"] = json!({})),
            "missing field `Token`",
        ),
        invalid(
            "token a number",
            edited(|p| p["ExecutionContext"]["Task"]["Token"] = json!(7)),
            "ExecutionContext.Task.Token",
        ),
        invalid(
            "token empty",
            edited(|p| p["ExecutionContext"]["Task"]["Token"] = json!("")),
            "ExecutionContext.Task.Token",
        ),
        invalid(
            "token with a space",
            edited(|p| p["ExecutionContext"]["Task"]["Token"] = json!("a b")),
            "ExecutionContext.Task.Token",
        ),
        invalid(
            "token over 2048",
            edited(|p| p["ExecutionContext"]["Task"]["Token"] = json!("a".repeat(2049))),
            "ExecutionContext.Task.Token",
        ),
        invalid(
            "no execution id",
            edited(|p| {
                _ = p["ExecutionContext"]["Execution"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Id")
            }),
            "missing field `Id`",
        ),
        invalid(
            "execution name an object",
            edited(|p| p["ExecutionContext"]["Execution"]["Name"] = json!({})),
            "ExecutionContext.Execution.Name",
        ),
        invalid(
            "execution name with RLO",
            edited(|p| p["ExecutionContext"]["Execution"]["Name"] = json!("run\u{202E}1")),
            "U+202E",
        ),
        invalid(
            "state machine name with LS",
            edited(|p| p["ExecutionContext"]["StateMachine"]["Name"] = json!("Gate\u{2028}")),
            "U+2028",
        ),
        invalid(
            "state machine name with ZWSP",
            edited(|p| p["ExecutionContext"]["StateMachine"]["Name"] = json!("Ga\u{200B}te")),
            "U+200B",
        ),
        invalid(
            "state machine name empty",
            edited(|p| p["ExecutionContext"]["StateMachine"]["Name"] = json!(" ")),
            "is empty",
        ),
        invalid(
            "subject not a string",
            edited(|p| p["Subject"] = json!(["x"])),
            "`Subject`",
        ),
        invalid(
            "Approval not an object",
            edited(|p| p["Approval"] = json!("yes")),
            "`Approval`",
        ),
        invalid(
            "Approval unknown field",
            with_approval(json!({"Approver": "a"})),
            "unknown field `Approver`",
        ),
        invalid(
            "Approvers not a list",
            with_approval(json!({"Approvers": "approver1@example.com"})),
            "`Approval.Approvers`",
        ),
        invalid(
            "Approvers empty",
            with_approval(json!({"Approvers": []})),
            "`Approval.Approvers` is empty",
        ),
        invalid(
            "Approvers stranger",
            with_approval(json!({"Approvers": ["mallory@example.com"]})),
            "mallory@example.com` is not an approver",
        ),
        invalid(
            "Approvers malformed",
            with_approval(json!({"Approvers": ["approver1"]})),
            "`Approval.Approvers[0]`",
        ),
        invalid(
            "Approvers with RLO",
            with_approval(json!({"Approvers": ["approver1@example.com\u{202E}"]})),
            "`Approval.Approvers[0]`",
        ),
        invalid(
            "RequiredApprovals zero",
            with_approval(json!({"RequiredApprovals": 0})),
            "`Approval.RequiredApprovals` is 0",
        ),
        invalid(
            "RequiredApprovals too many",
            with_approval(json!({"RequiredApprovals": 4})),
            "must be 1 to 3",
        ),
        invalid(
            "RequiredApprovals negative",
            with_approval(json!({"RequiredApprovals": -1})),
            "`Approval.RequiredApprovals`",
        ),
        invalid(
            "RequiredApprovals a string",
            with_approval(json!({"RequiredApprovals": "2"})),
            "`Approval.RequiredApprovals`",
        ),
        invalid(
            "RequiredApprovals beyond those left",
            with_approval(json!({"RequiredApprovals": 3, "RequestedBy": "approver0@example.com"})),
            "other than the requester",
        ),
        invalid(
            "requester the only approver",
            with_approval(
                json!({"Approvers": ["approver1@example.com"], "RequestedBy": "approver1@example.com"}),
            ),
            "may not approve their own",
        ),
        invalid(
            "RequestedBy malformed",
            with_approval(json!({"RequestedBy": "carol at example"})),
            "`Approval.RequestedBy`",
        ),
        invalid(
            "ExpiresInSeconds beyond the task",
            with_approval(json!({"ExpiresInSeconds": 3601})),
            "beyond the task's own TimeoutSeconds",
        ),
        invalid(
            "ExpiresInSeconds zero",
            with_approval(json!({"ExpiresInSeconds": 0})),
            "at least 1",
        ),
        invalid(
            "ExpiresInSeconds fractional",
            with_approval(json!({"ExpiresInSeconds": 1.5})),
            "`Approval.ExpiresInSeconds`",
        ),
        invalid(
            "Summary over 2 KiB",
            with_approval(json!({"Summary": "é".repeat(1100)})),
            "longer than 2048 bytes",
        ),
        untrusted(
            "another execution's token",
            edited(|p| {
                p["ExecutionContext"]["Task"]["Token"] = json!("AAAA+another/execution's/token==")
            }),
            "differs from what Step Functions sent",
        ),
        untrusted(
            "renamed execution",
            edited(|p| p["ExecutionContext"]["Execution"]["Name"] = json!("Innocent")),
            "differs from what Step Functions sent",
        ),
        untrusted(
            "renamed state machine",
            edited(|p| p["ExecutionContext"]["StateMachine"]["Name"] = json!("Harmless")),
            "differs from what Step Functions sent",
        ),
        untrusted(
            "other input",
            edited(|p| {
                p["ExecutionContext"]["Execution"]["Input"] = json!({"Comment": "nothing to see"})
            }),
            "differs from what Step Functions sent",
        ),
        untrusted(
            "added Approval",
            with_approval(json!({"Approvers": ["approver2@example.com"]})),
            "differs from what Step Functions sent",
        ),
        untrusted(
            "forged endpoint",
            edited(|p| p["APIGatewayEndpoint"] = json!("https://evil.example.com/states")),
            "not this stack's API",
        ),
        untrusted(
            "forged endpoint, same host other path",
            edited(|p| p["APIGatewayEndpoint"] = json!(format!("{}/../x", fixtures::API_URL))),
            "not this stack's API",
        ),
        untrusted(
            "unknown execution",
            edited(|p| {
                p["ExecutionContext"]["Execution"]["Id"] =
                    json!(format!("{}x", fixtures::execution_arn()))
            }),
            "has no execution",
        ),
    ];
    let mut finished = fixtures::running_execution(&fixtures::payload(), Some(3600));
    finished.status = approval_domain::ExecutionStatus::Succeeded;
    cases.push(Case {
        name: "finished execution",
        payload: fixtures::payload(),
        scheduled: finished,
        error_type: "SendEmail.Untrusted",
        says: "SUCCEEDED, not RUNNING",
    });
    let mut aborted = fixtures::running_execution(&fixtures::payload(), Some(3600));
    aborted.status = approval_domain::ExecutionStatus::Aborted;
    cases.push(Case {
        name: "aborted execution",
        payload: fixtures::payload(),
        scheduled: aborted,
        error_type: "SendEmail.Untrusted",
        says: "ABORTED, not RUNNING",
    });
    let mut foreign = fixtures::running_execution(&fixtures::payload(), Some(3600));
    foreign.state_machine_arn =
        "arn:aws:states:us-east-1:123456789012:stateMachine:SomeoneElses".into();
    cases.push(Case {
        name: "untrusted state machine",
        payload: fixtures::payload(),
        scheduled: foreign,
        error_type: "SendEmail.Untrusted",
        says: "TrustedStateMachineArns",
    });
    let mut nothing_scheduled = fixtures::running_execution(&fixtures::payload(), Some(3600));
    nothing_scheduled.scheduled.clear();
    cases.push(Case {
        name: "nothing scheduled",
        payload: fixtures::payload(),
        scheduled: nothing_scheduled,
        error_type: "SendEmail.Untrusted",
        says: "differs from what Step Functions sent",
    });
    cases.extend(nudge_cases());
    cases
}

/// Reminders and escalations the contract refuses (`Approval.Reminders`, `Approval.Escalations`).
fn nudge_cases() -> Vec<Case> {
    let six: Vec<Value> = (1..=6).map(|n| json!({"AfterSeconds": n * 60})).collect();
    vec![
        invalid(
            "six reminders",
            with_approval(json!({"Reminders": six})),
            "`Approval.Reminders` has 6 entries; at most 5",
        ),
        invalid(
            "a reminder at the expiry",
            with_approval(json!({"Reminders": [{"AfterSeconds": 3600}]})),
            "`Approval.Reminders[0].AfterSeconds` is 3600, but must be 1 to 3599",
        ),
        invalid(
            "a reminder at once",
            with_approval(json!({"Reminders": [{"AfterSeconds": 0}]})),
            "`Approval.Reminders[0].AfterSeconds` is 0",
        ),
        invalid(
            "a negative reminder",
            with_approval(json!({"Reminders": [{"AfterSeconds": -5}]})),
            "Approval.Reminders[0].AfterSeconds",
        ),
        invalid(
            "a reminder with a typo",
            with_approval(json!({"Reminders": [{"AfterSecond": 60}]})),
            "Approval.Reminders[0]",
        ),
        invalid(
            "reminders not a list",
            with_approval(json!({"Reminders": {"AfterSeconds": 60}})),
            "`Approval.Reminders`",
        ),
        invalid(
            "an escalation to nobody",
            with_approval(json!({"Escalations": [{"AfterSeconds": 60, "AddApprovers": []}]})),
            "`Approval.Escalations[0].AddApprovers` is empty",
        ),
        invalid(
            "an escalation to a stranger",
            with_approval(json!({"Approvers": ["approver0@example.com"],
                "Escalations": [{"AfterSeconds": 60, "AddApprovers": ["mallory@example.com"]}]})),
            "`mallory@example.com` is not an approver of this stack",
        ),
        invalid(
            "an escalation to the requester",
            with_approval(
                json!({"Approvers": ["approver0@example.com"], "RequestedBy": "approver1@example.com",
                "Escalations": [{"AfterSeconds": 60, "AddApprovers": ["approver1@example.com"]}]}),
            ),
            "is the requester",
        ),
        invalid(
            "an escalation to an approver already asked",
            with_approval(
                json!({"Escalations": [{"AfterSeconds": 60, "AddApprovers": ["approver2@example.com"]}]}),
            ),
            "is already an approver of this request",
        ),
        invalid(
            "an escalation after the expiry",
            with_approval(json!({"Approvers": ["approver0@example.com"],
                "Escalations": [{"AfterSeconds": 86400, "AddApprovers": ["approver1@example.com"]}]})),
            "`Approval.Escalations[0].AfterSeconds` is 86400",
        ),
        invalid(
            "an escalation without AddApprovers",
            with_approval(json!({"Escalations": [{"AfterSeconds": 60}]})),
            "missing field `AddApprovers`",
        ),
    ]
}

#[tokio::test]
async fn every_malformed_or_untrusted_payload_is_refused_naming_the_problem_and_nothing_is_stored_or_sent()
 {
    let cases = cases();
    let total = cases.len();
    let mut failures = Vec::new();
    for Case {
        name,
        payload,
        scheduled,
        error_type,
        says,
    } in cases
    {
        let function = function_for(scheduled);
        match function.handle(payload).await {
            Ok(answer) => failures.push(format!("{name}: accepted ({answer})")),
            Err(err) => {
                if err.error_type() != error_type || !err.to_string().contains(says) {
                    failures.push(format!(
                        "{name}: {} {err}, expected {error_type} naming {says:?}",
                        err.error_type()
                    ));
                }
            }
        }
        if !function.store.records().is_empty() || function.store.count(StoreOp::Create) > 0 {
            failures.push(format!("{name}: something was stored"));
        }
        if !function.notifier.messages().is_empty() {
            failures.push(format!("{name}: something was published"));
        }
        if !function.scheduler.as_ref().unwrap().names().is_empty() {
            failures.push(format!("{name}: something was scheduled"));
        }
    }
    println!(
        "malformed send-email payloads: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(total >= 30, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
