//! Property-based tests of send-email's input: random payloads, the seed's payload with one
//! field replaced by random JSON, and the other invocations (nudge, status change, expiry
//! notice, a decision to verify) with random insides. 2,000 cases per property per run.

mod support;

use approval_domain::memory::fixtures;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::function;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: fixtures::proptest_cases(),
        ..ProptestConfig::default()
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::from),
        Just(json!("approver1@example.com")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[A-Za-z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The fields a caller's state machine writes, by path.
const FIELDS: [&[&str]; 16] = [
    &["ExecutionContext", "Execution", "Id"],
    &["ExecutionContext", "Execution", "Name"],
    &["ExecutionContext", "Execution", "Input"],
    &["ExecutionContext", "StateMachine", "Name"],
    &["ExecutionContext", "Task", "Token"],
    &["APIGatewayEndpoint"],
    &["Subject"],
    &["Approval", "Subject"],
    &["Approval", "Summary"],
    &["Approval", "Details"],
    &["Approval", "Approvers"],
    &["Approval", "RequiredApprovals"],
    &["Approval", "RequestedBy"],
    &["Approval", "ExpiresInSeconds"],
    &["Approval", "Reminders"],
    &["Approval", "Escalations"],
];

proptest! {
    #![proptest_config(config())]

    /// Any JSON: an answer, never a panic; refused, nothing is stored or sent.
    #[test]
    fn any_payload_is_answered(payload in json_value()) {
        let function = function(&payload);
        let result = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(function.handle(payload));
        if result.is_err() {
            prop_assert!(function.store.records().is_empty());
            prop_assert!(function.notifier.messages().is_empty());
        }
    }

    /// One field replaced by random JSON (and scheduled so by Step Functions): either accepted,
    /// or refused as invalid input naming that very field (or, for the endpoint and execution,
    /// as untrusted); and nothing stored or sent when refused.
    #[test]
    fn one_bad_field_is_named(field in 0..FIELDS.len(), value in json_value()) {
        let mut payload = fixtures::payload_with(json!({"Summary": "s"}));
        let path = FIELDS[field];
        let mut target = &mut payload;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = value;
        let function = function(&payload);
        let result = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(function.handle(payload));
        if let Err(err) = result {
            let message = err.to_string();
            let named = message.contains(path[path.len() - 1]) || message.contains(&path.join("."));
            let untrusted = err.error_type() == "SendEmail.Untrusted" && matches!(path.last(), Some(&"Id") | Some(&"APIGatewayEndpoint"));
            prop_assert!(named || untrusted, "{} names another field: {}", path.join("."), message);
            prop_assert!(function.store.records().is_empty());
            prop_assert!(function.notifier.messages().is_empty());
            prop_assert!(function.scheduler.as_ref().unwrap().names().is_empty());
        }
    }

    /// The other invocations with random insides (a nudge's schedule, Step Functions' status
    /// change, an expiry notice): an answer, never a panic; refused only as invalid input; and
    /// nothing stored, sent or scheduled (there is no request to touch).
    #[test]
    fn any_nudge_status_change_or_expiry_notice_is_answered(kind in 0..3usize, value in json_value()) {
        let payload = match kind {
            0 => json!({"Nudge": value}),
            1 => json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": value}),
            _ => json!({"Expired": value}),
        };
        let function = function(&fixtures::payload());
        let result = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(function.handle(payload));
        if let Err(err) = result {
            prop_assert_eq!(err.error_type(), "SendEmail.InvalidInput", "{}", err);
        }
        prop_assert!(function.store.records().is_empty());
        prop_assert!(function.notifier.messages().is_empty());
        prop_assert!(function.scheduler.as_ref().unwrap().names().is_empty());
    }

    /// A decision to verify with random insides, or a random output for this execution: never
    /// passed (the gate recorded no decision), refused as invalid input or as not the gate's;
    /// nothing stored or sent.
    #[test]
    fn no_random_decision_passes_verification(whole in any::<bool>(), value in json_value()) {
        let payload = if whole {
            json!({"Verify": value})
        } else {
            json!({"Verify": {"ExecutionId": fixtures::execution_arn(), "Decision": value}})
        };
        let function = function(&fixtures::payload());
        let result = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(function.handle(payload));
        let err = result.expect_err("nothing was decided: nothing passes");
        prop_assert!(
            matches!(err.error_type(), "SendEmail.InvalidInput" | "SendEmail.DecisionNotRecorded"),
            "{}", err
        );
        prop_assert!(function.store.records().is_empty());
        prop_assert!(function.notifier.messages().is_empty());
    }
}
