//! Whether an invocation is what Step Functions really scheduled (DESIGN.md, invariant 2).
//!
//! Anyone allowed to invoke send-email could otherwise hand it a borrowed task token under
//! harmless-looking names and details. So send-email acts only when the execution named in the
//! payload is RUNNING, belongs to a trusted state machine, and its history holds a
//! `TaskScheduled` event whose `Payload` is this very payload, token and all.

use serde_json::Value;

use crate::{ExecutionStatus, Timestamp};

/// What Step Functions says of an execution: its status, its state machine and the
/// `TaskScheduled` events of its history.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionView {
    pub status: ExecutionStatus,
    pub state_machine_arn: String,
    pub scheduled: Vec<ScheduledTask>,
}

/// One `TaskScheduled` event: its parameters' `Payload`, its `timeoutInSeconds` and when it
/// happened (the task's timeout runs from just after it).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledTask {
    pub payload: Option<Value>,
    pub timeout_seconds: Option<u64>,
    pub scheduled_at: Option<Timestamp>,
}

impl ScheduledTask {
    /// From the event's `parameters` (a JSON string, `{"FunctionName": …, "Payload": {…}}`).
    pub fn from_parameters(
        parameters: &str,
        timeout_seconds: Option<u64>,
        scheduled_at: Option<Timestamp>,
    ) -> Self {
        let payload = serde_json::from_str::<Value>(parameters)
            .ok()
            .and_then(|mut p| p.get_mut("Payload").map(Value::take));
        Self {
            payload,
            timeout_seconds,
            scheduled_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("Step Functions has no execution `{0}`")]
    NoSuchExecution(String),
    #[error("the execution is {0}, not RUNNING: nothing waits for an approval")]
    NotRunning(ExecutionStatus),
    #[error(
        "the execution belongs to `{0}`, which is neither this stack's state machine nor one of TrustedStateMachineArns"
    )]
    StateMachine(String),
    #[error(
        "no task of this execution was scheduled with this payload: it differs from what Step Functions sent (edited names, details or token?)"
    )]
    NotScheduled,
    #[error(
        "`APIGatewayEndpoint` is `{0}`, not this stack's API: links always point at this stack's own API"
    )]
    Endpoint(String),
}

/// The scheduled task `payload` came from, if Step Functions vouches for it.
pub fn verify<'a>(
    payload: &Value,
    execution: &'a ExecutionView,
    trusted_state_machines: &[String],
) -> Result<&'a ScheduledTask, Untrusted> {
    if execution.status != ExecutionStatus::Running {
        return Err(Untrusted::NotRunning(execution.status));
    }
    if !trusted_state_machines
        .iter()
        .any(|arn| arn == &execution.state_machine_arn)
    {
        return Err(Untrusted::StateMachine(execution.state_machine_arn.clone()));
    }
    execution
        .scheduled
        .iter()
        .find(|task| task.payload.as_ref() == Some(payload))
        .ok_or(Untrusted::NotScheduled)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Gate";

    fn view(status: ExecutionStatus, payload: Value) -> ExecutionView {
        let parameters = json!({"FunctionName": "send-email", "Payload": payload}).to_string();
        ExecutionView {
            status,
            state_machine_arn: SM.into(),
            scheduled: vec![
                ScheduledTask::from_parameters("{\"FunctionName\":\"x\"}", None, None),
                ScheduledTask::from_parameters(&parameters, Some(3600), None),
            ],
        }
    }

    #[test]
    fn the_scheduled_payload_of_a_running_trusted_execution_passes() {
        let payload = json!({"ExecutionContext": {"Task": {"Token": "t"}}, "APIGatewayEndpoint": "https://x"});
        let execution = view(ExecutionStatus::Running, payload.clone());
        let task = verify(&payload, &execution, &[SM.into()]).unwrap();
        assert_eq!(task.timeout_seconds, Some(3600));
    }

    #[test]
    fn any_difference_status_or_state_machine_is_untrusted() {
        let payload =
            json!({"ExecutionContext": {"Task": {"Token": "t"}, "Execution": {"Name": "a"}}});
        let execution = view(ExecutionStatus::Running, payload.clone());
        let mut edited = payload.clone();
        edited["ExecutionContext"]["Execution"]["Name"] = json!("b");
        assert_eq!(
            verify(&edited, &execution, &[SM.into()]),
            Err(Untrusted::NotScheduled)
        );
        let mut other_token = payload.clone();
        other_token["ExecutionContext"]["Task"]["Token"] = json!("u");
        assert_eq!(
            verify(&other_token, &execution, &[SM.into()]),
            Err(Untrusted::NotScheduled)
        );
        assert_eq!(
            verify(
                &payload,
                &view(ExecutionStatus::Succeeded, payload.clone()),
                &[SM.into()]
            ),
            Err(Untrusted::NotRunning(ExecutionStatus::Succeeded))
        );
        assert_eq!(
            verify(
                &payload,
                &execution,
                &["arn:aws:states:us-east-1:123456789012:stateMachine:Other".into()]
            ),
            Err(Untrusted::StateMachine(SM.into()))
        );
    }
}
