//! What send-email was invoked with, told apart by its shape alone (each module then reads its
//! own shape fully, naming what is wrong): the table's changes (Lambda's DynamoDB Streams
//! event), the state machine's expiry notice, Step Functions' status-change event (through the
//! stack's EventBridge rule), a nudge's schedule firing, a decision to verify, or else a waiting
//! task.

use approval_domain::RequestId;
use serde_json::{Value, json};

/// The status-change event's `source`.
pub const STATES_SOURCE: &str = "aws.states";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invoked {
    /// `{"Records": [...]}`: [`crate::changes`].
    TableChanges,
    /// `{"Expired": {...}}`: [`crate::expiry`].
    ExpiryNotice,
    /// `{"source": "aws.states", ...}`: [`crate::execution_ended`].
    StatusChange,
    /// `{"Nudge": {...}}`: [`crate::nudging`].
    Nudge,
    /// `{"Verify": {...}}`: [`crate::verification`].
    Verification,
    /// Anything else is read as a waiting task's payload: [`crate::handler`].
    Task,
}

impl Invoked {
    pub fn of(payload: &Value) -> Self {
        if payload.get("Records").is_some_and(Value::is_array) {
            Invoked::TableChanges
        } else if payload.get("Expired").is_some() {
            Invoked::ExpiryNotice
        } else if payload.get("source").and_then(Value::as_str) == Some(STATES_SOURCE) {
            Invoked::StatusChange
        } else if payload.get("Nudge").is_some() {
            Invoked::Nudge
        } else if payload.get("Verify").is_some() {
            Invoked::Verification
        } else {
            Invoked::Task
        }
    }
}

/// What the schedule of nudge `index` of `request` delivers.
pub fn nudge_input(request: &RequestId, index: usize) -> Value {
    json!({"Nudge": {"RequestId": request.to_string(), "Index": index}})
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;

    #[test]
    fn each_shape_is_told_apart_and_anything_else_is_a_task() {
        let id = RequestId::from_bytes([7; RequestId::BYTES]);
        for (payload, invoked) in [
            (json!({"Records": []}), Invoked::TableChanges),
            (
                json!({"Expired": {"ExecutionId": "x"}}),
                Invoked::ExpiryNotice,
            ),
            (
                json!({"source": "aws.states", "detail": {}}),
                Invoked::StatusChange,
            ),
            (nudge_input(&id, 2), Invoked::Nudge),
            (json!({"Verify": {}}), Invoked::Verification),
            (fixtures::payload(), Invoked::Task),
            (json!({"Records": "not a list"}), Invoked::Task),
            (json!({"source": "approval-gate"}), Invoked::Task),
            (json!([1, 2]), Invoked::Task),
        ] {
            assert_eq!(Invoked::of(&payload), invoked, "{payload}");
        }
    }
}
