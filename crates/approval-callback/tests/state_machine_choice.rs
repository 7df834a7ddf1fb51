//! Holds the state machine's Choice and approval-callback's task output together: what the
//! callback emits for approve and reject must route to the approved and rejected states, and
//! anything else to the Choice's Default.
//!
//! The evaluator below implements the few Choice operators the file may use and fails on any
//! other, so a rule this test cannot judge makes the test fail instead of passing silently.

use approval_domain::{ApprovalRequest, Choice, memory::fixtures};
use serde_json::{Value, json};

const ASL: &str = include_str!("../../../statemachine/human-approval.asl.json");
const CHOICE_STATE: &str = "ManualApprovalChoiceState";

/// The file as the template deploys it: placeholders substituted, then parsed.
fn state_machine() -> Value {
    let substituted = ASL
        .replace(
            "${SendEmailFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:send-email",
        )
        .replace(
            "${ApiGatewayEndpoint}",
            "https://abc.execute-api.us-east-1.amazonaws.com/states",
        )
        .replace("${ApprovalTimeoutSeconds}", "3600");
    assert!(
        !substituted.contains("${"),
        "a placeholder the test does not know"
    );
    serde_json::from_str(&substituted).expect("ASL is JSON after substitution")
}

/// `$.A.B` → the value at that path, if present.
fn select<'a>(input: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path
        .strip_prefix('$')
        .unwrap_or_else(|| panic!("unsupported path {path}"));
    rest.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(input, |node, key| node.get(key))
}

fn rule_matches(rule: &Value, input: &Value) -> bool {
    if let Some(all) = rule.get("And") {
        return all
            .as_array()
            .unwrap()
            .iter()
            .all(|r| rule_matches(r, input));
    }
    if let Some(any) = rule.get("Or") {
        return any
            .as_array()
            .unwrap()
            .iter()
            .any(|r| rule_matches(r, input));
    }
    if let Some(not) = rule.get("Not") {
        return !rule_matches(not, input);
    }
    let variable = rule["Variable"].as_str().expect("rule has a Variable");
    let value = select(input, variable);
    if let Some(present) = rule.get("IsPresent") {
        return value.is_some() == present.as_bool().unwrap();
    }
    if let Some(expected) = rule.get("StringEquals") {
        // Step Functions raises States.Runtime when the path is missing; an IsPresent guard
        // must come first. Treat it as a test failure, not a non-match.
        let value = value.unwrap_or_else(|| {
            panic!("rule {rule} reads a missing path: a runtime error in Step Functions")
        });
        return value.as_str().is_some() && value == expected;
    }
    panic!("Choice operator this test cannot evaluate: {rule}");
}

/// The state the Choice sends `output` to.
fn route(output: &Value) -> String {
    let machine = state_machine();
    let choice = &machine["States"][CHOICE_STATE];
    assert_eq!(choice["Type"], "Choice");
    let next = choice["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule_matches(rule, output))
        .map(|rule| &rule["Next"])
        .unwrap_or(&choice["Default"]);
    next.as_str().expect("a Next or Default").to_owned()
}

/// The output of a one-approver request decided with `choice`, exactly as SendTaskSuccess gets it.
fn callback_output(choice: Choice) -> Value {
    let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
    request
        .cast(0, choice, "ok".into(), fixtures::now())
        .unwrap();
    serde_json::from_str(&request.decided().expect("decided").output).unwrap()
}

#[test]
fn approve_output_routes_to_the_approved_state() {
    assert_eq!(
        route(&callback_output(Choice::Approved)),
        "ApprovedPassState"
    );
}

#[test]
fn reject_output_routes_to_the_rejected_state() {
    assert_eq!(
        route(&callback_output(Choice::Rejected)),
        "RejectedPassState"
    );
}
#[test]
fn anything_else_routes_to_the_default() {
    let machine = state_machine();
    let default = machine["States"][CHOICE_STATE]["Default"]
        .as_str()
        .expect("the Choice has a Default")
        .to_owned();
    assert_ne!(default, "ApprovedPassState");
    assert_ne!(default, "RejectedPassState");
    for output in [
        json!({"Status": "Approved! Task approved by approver@example.com"}),
        json!({"Decision": "Approved"}),
        json!({"Decision": "maybe"}),
        json!({"Decision": true}),
        json!({"Decision": null}),
        json!({}),
    ] {
        assert_eq!(route(&output), default, "{output}");
    }
}

#[test]
fn every_next_names_a_state_and_the_seed_names_are_kept() {
    let machine = state_machine();
    let states = machine["States"].as_object().unwrap();
    for name in [
        "Lambda Callback",
        "ManualApprovalChoiceState",
        "ApprovedPassState",
        "RejectedPassState",
    ] {
        assert!(states.contains_key(name), "{name}");
    }
    assert_eq!(machine["StartAt"], "Lambda Callback");
    let mut targets: Vec<&str> = vec![];
    for state in states.values() {
        targets.extend(state.get("Next").and_then(Value::as_str));
        targets.extend(state.get("Default").and_then(Value::as_str));
        for list in ["Choices", "Catch"] {
            targets.extend(
                state
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["Next"].as_str()),
            );
        }
    }
    for target in targets {
        assert!(states.contains_key(target), "Next → unknown state {target}");
    }
}

#[test]
fn the_wait_times_out_into_a_defined_end_state() {
    let machine = state_machine();
    let task = &machine["States"]["Lambda Callback"];
    assert_eq!(
        task["Resource"],
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
    );
    assert_eq!(task["TimeoutSeconds"], 3600);
    let catcher = task["Catch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ErrorEquals"] == json!(["States.Timeout"]))
        .expect("States.Timeout is caught");
    // The timeout first tells send-email (a plain invoke, no token: it records the request
    // expired, and the record's change has the approvers told), then ends in the named failure,
    // whether or not telling worked.
    let states = &machine["States"];
    let tell = &states[catcher["Next"].as_str().unwrap()];
    assert_eq!(tell["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(
        tell["Parameters"],
        json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:send-email",
               "Payload": {"Expired": {"ExecutionId.$": "$$.Execution.Id"}}})
    );
    assert!(
        !ASL.contains(":::sns:") && !ASL.contains(":::aws-sdk:"),
        "the state machine sends no email itself"
    );
    for next in [&tell["Next"], &tell["Catch"][0]["Next"]] {
        let end = &states[next.as_str().unwrap()];
        assert_eq!(end["Type"], "Fail", "{end}");
        assert_eq!(end["Error"], "Approval.TimedOut");
    }
}

#[test]
fn transient_lambda_errors_and_publish_failures_are_retried_but_bad_input_is_not() {
    let machine = state_machine();
    let retried: Vec<&str> = machine["States"]["Lambda Callback"]["Retry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for error in [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "SendEmail.VerifyFailed",
        "SendEmail.StoreFailed",
        "SendEmail.PublishFailed",
    ] {
        assert!(retried.contains(&error), "{error} is not retried");
    }
    for error in [
        "SendEmail.InvalidInput",
        "SendEmail.Untrusted",
        "SendEmail.Misconfigured",
        "States.ALL",
    ] {
        assert!(
            !retried.contains(&error),
            "{error} fails the same way every time: not retried"
        );
    }
}

#[test]
fn the_choice_routes_only_on_a_decision_send_email_verified() {
    let machine = state_machine();
    let states = &machine["States"];
    assert_eq!(states["Lambda Callback"]["Next"], "VerifyDecision");
    let verify = &states["VerifyDecision"];
    assert_eq!(verify["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(
        verify["Parameters"]["Payload"],
        json!({"Verify": {"ExecutionId.$": "$$.Execution.Id", "Decision.$": "$"}})
    );
    assert_eq!(
        verify["OutputPath"], "$.Payload",
        "the Choice sees what send-email returned"
    );
    assert_eq!(verify["Next"], CHOICE_STATE);
    assert!(
        verify.get("Catch").is_none(),
        "a refused decision fails the execution"
    );
    let into_choice: Vec<&str> = states
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, state)| state.get("Next").and_then(Value::as_str) == Some(CHOICE_STATE))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        into_choice,
        ["VerifyDecision"],
        "nothing else leads to the Choice"
    );
}
