//! Property-based fuzzing of everything that reads untrusted input: request parsing, form
//! decoding, the link round trip, and the `send-email` payload.
//!
//! CI runs the default case count below. For a long run (the figures in README):
//!   PROPTEST_CASES=1000000 cargo test --release -p approval-core --test fuzz

use approval_core::{
    Action, ApprovalRequest, CallbackConfig, Plan, TaskToken, Verified,
    callback::{Incoming, plan},
    link::Endpoint,
    payload::ApprovalTask,
    request::parse_name,
    signing::LinkSignature,
};
use proptest::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;

fn config(mode: &str) -> CallbackConfig {
    CallbackConfig::from_values(
        Some("approver@example.com"),
        Some(mode),
        None,
        Some("alias/links"),
    )
    .unwrap()
}

fn cases() -> ProptestConfig {
    // PROPTEST_CASES overrides this default.
    ProptestConfig {
        cases: 2_000,
        ..ProptestConfig::default()
    }
}

/// Parameter names that matter, mixed with noise, so decisions are actually reached.
fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("action".to_owned()),
        Just("ex".to_owned()),
        Just("sm".to_owned()),
        Just("taskToken".to_owned()),
        Just("comment".to_owned()),
        Just("exp".to_owned()),
        Just("sig".to_owned()),
        ".{0,12}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("approve".to_owned()),
        Just("reject".to_owned()),
        Just("4102444800".to_owned()),
        Just(LinkSignature::encode_mac(&[9; 32])),
        "[0-9]{1,13}",
        "[A-Za-z0-9+/=_-]{1,64}",
        ".{0,100}",
        "\\PC{0,3000}",
    ]
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=_-]{1,2048}"
}

fn name() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,80}"
}

proptest! {
    #![proptest_config(cases())]

    /// Any query, in either mode: no panic; a decision only from a GET in one-click mode, and
    /// only with a well-formed token.
    #[test]
    fn any_query_is_answered_without_panic(pairs in prop::collection::vec((param_name(), param_value()), 0..8), one_click: bool) {
        let query: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mode = if one_click { "one-click" } else { "confirm" };
        let outcome = plan(Incoming { method: "GET", query: &query, content_type: None, body: b"" }, OffsetDateTime::now_utc());
        match outcome {
            Plan::Answer(answer) => prop_assert!(matches!(answer.status, 400 | 403 | 410), "{}", answer.status),
            Plan::Verify(verification) => {
                prop_assert_eq!(verification.mac().len(), 32);
                match verification.verified(&config(mode), OffsetDateTime::now_utc()) {
                    Verified::Answer(answer) => prop_assert!(!one_click && answer.status == 200),
                    Verified::Decide { request, .. } => {
                        prop_assert!(one_click, "confirm mode must never decide on a GET");
                        prop_assert!(TaskToken::parse("t", request.request.task_token.expose()).is_ok());
                    }
                }
            }
        }
    }

    /// Any bytes as a form body: no panic, and a 4xx or a link to verify (random bytes rarely
    /// get that far; `links_round_trip` covers the forms that do).
    #[test]
    fn any_form_body_is_answered_without_panic(body in prop::collection::vec(any::<u8>(), 0..4096), form: bool) {
        let content_type = form.then_some("application/x-www-form-urlencoded");
        let outcome = plan(Incoming { method: "POST", query: &[], content_type, body: &body }, OffsetDateTime::now_utc());
        if let Plan::Answer(answer) = outcome {
            prop_assert!(matches!(answer.status, 400 | 403 | 410 | 413 | 415), "{}", answer.status);
        }
    }

    /// Any well-formed token and names survive link → (one decoding) → callback unchanged.
    #[test]
    fn links_round_trip(token in token(), ex in name(), sm in name(), approve: bool) {
        let endpoint = Endpoint::parse("https://abc.execute-api.us-east-1.amazonaws.com/states").unwrap();
        // What send-email accepts (it validates names the same way) the callback must accept.
        let (Ok(ex), Ok(sm)) = (parse_name("ex", &ex), parse_name("sm", &sm)) else { return Ok(()) };
        let original = ApprovalRequest { execution_name: ex, state_machine_name: sm, task_token: TaskToken::parse("t", &token).unwrap() };
        let action = if approve { Action::Approve } else { Action::Reject };
        let signature = LinkSignature { expires_at: 4_102_444_800, mac: vec![0xFB; 32] };
        let link = endpoint.link(action, &original, &signature);
        let decoded: Vec<(String, String)> = link.query_pairs().into_owned().collect();
        let query: Vec<(&str, &str)> = decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let outcome = plan(Incoming { method: "GET", query: &query, content_type: None, body: b"" }, OffsetDateTime::now_utc());
        let Plan::Verify(verification) = outcome else {
            return Err(TestCaseError::fail(format!("valid link refused: {outcome:?}")));
        };
        prop_assert_eq!(verification.mac(), signature.mac.as_slice());
        let Verified::Decide { request, decision, .. } = verification.verified(&config("one-click"), OffsetDateTime::now_utc()) else {
            return Err(TestCaseError::fail("a verified one-click GET must decide".to_owned()));
        };
        prop_assert_eq!(request.request, original);
        prop_assert_eq!(decision.action, action);
    }

    /// Any JSON as the send-email payload: no panic. (Random JSON rarely has all four
    /// required paths; `one_bad_field_is_named` below starts from a valid payload.)
    #[test]
    fn any_payload_is_judged_without_panic(payload in arbitrary_json()) {
        let _ = ApprovalTask::from_payload(&payload);
    }

    /// A valid payload with one required field replaced by anything: either still valid (and
    /// then carrying exactly that value), or refused with an error that names that field.
    #[test]
    fn one_bad_field_is_named(field in 0..REQUIRED.len(), value in arbitrary_json()) {
        let (path, pointer) = REQUIRED[field];
        let mut payload = valid_payload();
        *payload.pointer_mut(pointer).unwrap() = value.clone();
        match ApprovalTask::from_payload(&payload) {
            Ok(task) => {
                let kept = match field {
                    0 => task.request.task_token.expose().to_owned(),
                    1 => task.request.execution_name.clone(),
                    2 => task.request.state_machine_name.clone(),
                    _ => task.endpoint.link(Action::Approve, &task.request, &LinkSignature { expires_at: 1, mac: vec![0; 32] }).to_string(),
                };
                let given = value.as_str().expect("only a string can be accepted");
                prop_assert!(field == 3 || kept == given, "{path}: {given:?} became {kept:?}");
            }
            Err(err) => prop_assert!(err.to_string().contains(path), "{path} not named in: {err}"),
        }
    }
}

/// The four required fields: their dotted name (as errors say it) and JSON pointer.
const REQUIRED: [(&str, &str); 4] = [
    (
        "ExecutionContext.Task.Token",
        "/ExecutionContext/Task/Token",
    ),
    (
        "ExecutionContext.Execution.Name",
        "/ExecutionContext/Execution/Name",
    ),
    (
        "ExecutionContext.StateMachine.Name",
        "/ExecutionContext/StateMachine/Name",
    ),
    ("APIGatewayEndpoint", "/APIGatewayEndpoint"),
];

fn valid_payload() -> Value {
    serde_json::json!({
        "ExecutionContext": {
            "Execution": {"Name": "run-1", "Input": {"Comment": "hi"}},
            "StateMachine": {"Name": "HumanApproval"},
            "Task": {"Token": "AQCEAAAAKgAAAAMAAAAAAAAAAR+Xq/9Z0aB+c/Q=="}
        },
        "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
    })
}

/// JSON values biased towards the payload's shape, so deep paths get exercised.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("https://abc.example.com/states".into())),
        "[A-Za-z0-9+/=]{1,80}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop_oneof![
            Just("ExecutionContext".to_owned()),
            Just("Execution".to_owned()),
            Just("StateMachine".to_owned()),
            Just("Task".to_owned()),
            Just("Token".to_owned()),
            Just("Name".to_owned()),
            Just("Input".to_owned()),
            Just("APIGatewayEndpoint".to_owned()),
            Just("Subject".to_owned()),
            ".{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
