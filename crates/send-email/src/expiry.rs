//! "This execution's approval task timed out": what the stack's state machine says from its
//! `States.Timeout` Catch (`{"Expired": {"ExecutionId.$": "$$.Execution.Id"}}`, a plain
//! `lambda:invoke`). send-email records each of the execution's pending requests whose time has
//! run out as expired; that change of the record (the table's stream) then has the approvers
//! told, the way every ending is told.
//!
//! Whoever sends it is believed only by the clock: a request is recorded expired only once its
//! `ExpiresAt` (the task's own timeout) has passed, so this ends nothing early.

use serde::Deserialize;
use serde_json::Value;

/// Whether `payload` is an expiry notice rather than a task or a stream event.
pub fn is_expiry_notice(payload: &Value) -> bool {
    payload.get("Expired").is_some()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryNotice {
    #[serde(rename = "Expired")]
    pub expired: Expired,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expired {
    /// The execution's ARN (`$$.Execution.Id`).
    #[serde(rename = "ExecutionId")]
    pub execution_id: String,
}

impl ExpiryNotice {
    pub fn parse(payload: Value) -> Result<Self, String> {
        serde_path_to_error::deserialize(payload)
            .map_err(|err| format!("an expiry notice: {}: {}", err.path(), err.inner()))
    }
}
