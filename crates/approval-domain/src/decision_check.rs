//! Whether a task's output is the decision the gate sent. The task token is in the caller's
//! execution history (its Task's `$$`), so whoever may read that history and call
//! `states:SendTaskSuccess` can complete the task with any output, `{"Decision": "approved"}`
//! included. The gate's record cannot be forged that way: only approvers' votes decide it, and
//! the output it sends is fixed in it. A step after the wait asks send-email to compare
//! ([`ApprovalRequest::sent`]); the workflow routes only on an output that passed.

use serde_json::Value;

use crate::{ApprovalRequest, RequestState};

/// Why an output is not the gate's decision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotTheGates {
    #[error("the output names no request of the gate (no `RequestId`)")]
    NoRequestId,
    #[error("the gate has no request `{0}`")]
    NoSuchRequest(String),
    #[error("request `{0}` is another execution's")]
    OtherExecution(String),
    #[error("request `{0}` is {1}: no decision was recorded, so the gate sent none")]
    Undecided(String, &'static str),
    #[error("the output differs from the decision the gate recorded for request `{0}`")]
    Differs(String),
    #[error(
        "request `{0}` is not this execution's latest: an earlier decision sent again for a later task"
    )]
    Superseded(String),
}

/// The `RequestId` the output names.
pub fn request_id_of(output: &Value) -> Result<&str, NotTheGates> {
    output
        .get("RequestId")
        .and_then(Value::as_str)
        .ok_or(NotTheGates::NoRequestId)
}

impl ApprovalRequest {
    /// Whether `output` is exactly the decision this request's record holds (and so the one
    /// the gate sent).
    pub fn sent(&self, output: &Value) -> Result<(), NotTheGates> {
        let id = self.request_id.to_string();
        let decided = match &self.state {
            RequestState::Decided(decided) => decided,
            RequestState::Pending => return Err(NotTheGates::Undecided(id, "pending")),
            RequestState::Closed { .. } => return Err(NotTheGates::Undecided(id, "closed")),
            RequestState::Expired { .. } => return Err(NotTheGates::Undecided(id, "expired")),
            RequestState::Cancelled { .. } => {
                return Err(NotTheGates::Undecided(id, "cancelled"));
            }
        };
        let recorded: Value =
            serde_json::from_str(&decided.output).map_err(|_| NotTheGates::Differs(id.clone()))?;
        if &recorded != output {
            return Err(NotTheGates::Differs(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        Choice,
        memory::fixtures::{self, at},
    };

    #[test]
    fn only_the_recorded_output_passes() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 2));
        let id = request.request_id.to_string();
        let forged = json!({"Decision": "approved", "RequestId": id});
        assert_eq!(
            request.sent(&forged),
            Err(NotTheGates::Undecided(id.clone(), "pending"))
        );
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        request
            .cast(1, Choice::Rejected, "no".into(), at(2))
            .unwrap();
        let genuine: Value = serde_json::from_str(&request.decided().unwrap().output).unwrap();
        assert_eq!(request.sent(&genuine), Ok(()));
        assert_eq!(request_id_of(&genuine), Ok(id.as_str()));
        let mut flipped = genuine.clone();
        flipped["Decision"] = json!("approved");
        assert_eq!(
            request.sent(&flipped),
            Err(NotTheGates::Differs(id.clone()))
        );
        let mut extra = genuine;
        extra["Approved"] = json!(true);
        assert_eq!(request.sent(&extra), Err(NotTheGates::Differs(id)));
        assert_eq!(
            request_id_of(&json!({"Decision": "approved"})),
            Err(NotTheGates::NoRequestId)
        );
    }
}
