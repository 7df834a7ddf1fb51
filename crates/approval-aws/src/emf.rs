//! The meter on CloudWatch's embedded metric format: each count is one JSON line on stdout,
//! which Lambda's log stream carries to CloudWatch Logs and CloudWatch turns into metrics
//! (namespace `ApprovalGate`). No API call, no permission, nothing to wait for.
//!
//! Dimensions: `Gate` (the stack's name, `GATE_NAME`) alone, which the template's alarms watch,
//! and with `StateMachine` (the state machine's name) when the count concerns a request;
//! `Decisions` also by `Decision`.

use std::io::Write as _;

use approval_domain::{Choice, Measure, Timestamp, ports::Meter};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "ApprovalGate";

/// The `Gate` dimension when `GATE_NAME` is not set (a local run).
pub const DEFAULT_GATE: &str = "approval-gate";

#[derive(Clone, Debug)]
pub struct EmfMeter {
    gate: String,
}

impl EmfMeter {
    /// `gate`: the stack's name (the `Gate` dimension).
    pub fn new(gate: impl Into<String>) -> Self {
        Self { gate: gate.into() }
    }

    /// The meter of the gate `GATE_NAME` names (the template sets the stack's name).
    pub fn from_env() -> Self {
        Self::new(
            std::env::var("GATE_NAME")
                .ok()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_GATE.to_owned()),
        )
    }

    /// The EMF line for `measure` at `now`.
    pub fn line(&self, measure: &Measure, now: Timestamp) -> Value {
        let mut fields = Map::new();
        fields.insert("Gate".into(), json!(self.gate));
        let (metrics, state_machine, decision): (Vec<(&str, &str, Value)>, _, _) = match measure {
            Measure::Requested { state_machine } => (
                vec![("ApprovalsRequested", "Count", json!(1))],
                Some(state_machine),
                None,
            ),
            Measure::Decided {
                state_machine,
                decision,
                seconds,
            } => (
                vec![
                    ("Decisions", "Count", json!(1)),
                    ("TimeToDecisionSeconds", "Seconds", json!(seconds)),
                ],
                Some(state_machine),
                Some(*decision),
            ),
            Measure::Expired { state_machine } => (
                vec![("Expired", "Count", json!(1))],
                Some(state_machine),
                None,
            ),
            Measure::Cancelled { state_machine } => (
                vec![("Cancelled", "Count", json!(1))],
                Some(state_machine),
                None,
            ),
            Measure::DeliveryFailed {
                state_machine,
                channel,
            } => {
                // A property, not a dimension: the alarm counts every channel together.
                fields.insert("Channel".into(), json!(channel));
                (
                    vec![("DeliveryFailures", "Count", json!(1))],
                    state_machine.as_ref(),
                    None,
                )
            }
            Measure::CallbackError { state_machine } => (
                vec![("CallbackErrors", "Count", json!(1))],
                state_machine.as_ref(),
                None,
            ),
        };
        let mut dimensions = vec![json!(["Gate"])];
        if let Some(name) = state_machine {
            fields.insert("StateMachine".into(), json!(name));
            dimensions.push(json!(["Gate", "StateMachine"]));
            if let Some(decision) = decision {
                fields.insert("Decision".into(), json!(Choice::as_str(decision)));
                dimensions.push(json!(["Gate", "StateMachine", "Decision"]));
            }
        }
        let mut definitions = Vec::new();
        for (name, unit, value) in metrics {
            definitions.push(json!({ "Name": name, "Unit": unit }));
            fields.insert(name.into(), value);
        }
        fields.insert(
            "_aws".into(),
            json!({
                "Timestamp": now.unix() * 1000,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": definitions,
                }],
            }),
        );
        Value::Object(fields)
    }
}

impl Meter for EmfMeter {
    fn count(&self, measure: Measure) {
        let line = self.line(&measure, Timestamp::now());
        // One write of one line: Lambda's log stream keeps it whole beside the other logs.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures::at;

    use super::*;

    #[test]
    fn a_decision_is_two_metrics_under_three_dimension_sets() {
        let line = EmfMeter::new("gate").line(
            &Measure::Decided {
                state_machine: "Deploy".into(),
                decision: Choice::Approved,
                seconds: 42.0,
            },
            at(0),
        );
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": at(0).unix() * 1000,
                    "CloudWatchMetrics": [{
                        "Namespace": "ApprovalGate",
                        "Dimensions": [["Gate"], ["Gate", "StateMachine"], ["Gate", "StateMachine", "Decision"]],
                        "Metrics": [
                            {"Name": "Decisions", "Unit": "Count"},
                            {"Name": "TimeToDecisionSeconds", "Unit": "Seconds"}
                        ]
                    }]
                },
                "Gate": "gate",
                "StateMachine": "Deploy",
                "Decision": "approved",
                "Decisions": 1,
                "TimeToDecisionSeconds": 42.0
            })
        );
    }

    #[test]
    fn a_count_with_no_state_machine_has_only_the_gate_dimension() {
        let line = EmfMeter::new("gate").line(
            &Measure::CallbackError {
                state_machine: None,
            },
            at(0),
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Gate"]])
        );
        assert_eq!(line["CallbackErrors"], 1);
        assert!(line.get("StateMachine").is_none());

        let failed = EmfMeter::new("gate").line(
            &Measure::DeliveryFailed {
                state_machine: Some("Deploy".into()),
                channel: "events",
            },
            at(0),
        );
        assert_eq!(failed["DeliveryFailures"], 1);
        assert_eq!(failed["Channel"], "events");
        assert_eq!(
            failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Gate"], ["Gate", "StateMachine"]])
        );
    }
}
