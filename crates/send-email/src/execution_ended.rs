//! "This execution ended": Step Functions' "Step Functions Execution Status Change" event
//! (source `aws.states`), which the stack's EventBridge rule sends here for the stack's and the
//! trusted state machines when an execution is aborted, fails, times out or succeeds. Each
//! pending request of that execution ends by one conditional write
//! ([`approval_domain::cancellation`]): expired if its time had run out, cancelled otherwise;
//! that change of the record (the table's stream) then has the approvers told and the events put.
//!
//! The event is believed as it comes: only EventBridge's rule (and whoever may invoke the
//! function) can send it, and all it can do is end a request early, never decide one: a
//! request that ends is one nobody can approve.

use approval_domain::{
    ApprovalRequest, Ending, ExecutionArn, ExecutionStatus, Timestamp,
    ports::{EventBus, Meter, Notifier, Replaced, RequestStore, Scheduler, SlackPosts, Tasks},
    text::quote_up_to,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::info;

use crate::{
    SendEmail, SendEmailError,
    handler::{MAX_WRITE_ATTEMPTS, within},
};

/// The event's `detail-type` (its `source`: [`crate::invocation::STATES_SOURCE`]).
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The parts of the event read here (EventBridge's envelope, Step Functions' detail).
#[derive(Debug, Deserialize)]
pub struct StatusChange {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: StatusDetail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetail {
    pub execution_arn: String,
    pub status: String,
}

impl StatusChange {
    /// The event's execution and status, or what is wrong with it.
    pub fn parse(payload: Value) -> Result<(ExecutionArn, ExecutionStatus), String> {
        let event: StatusChange = serde_path_to_error::deserialize(payload).map_err(|err| {
            format!(
                "a Step Functions status-change event: {}: {}",
                err.path(),
                err.inner()
            )
        })?;
        if event.detail_type != DETAIL_TYPE {
            return Err(format!(
                "an `aws.states` event of detail-type `{}`: only `{DETAIL_TYPE}` is read",
                quote_up_to(&event.detail_type, 128)
            ));
        }
        let arn = ExecutionArn::parse(&event.detail.execution_arn).ok_or_else(|| {
            format!(
                "`detail.executionArn` `{}` is not an execution ARN",
                quote_up_to(&event.detail.execution_arn, 2048)
            )
        })?;
        let status = ExecutionStatus::parse(&event.detail.status).ok_or_else(|| {
            format!(
                "`detail.status` `{}` is not an execution status",
                quote_up_to(&event.detail.status, 64)
            )
        })?;
        Ok((arn, status))
    }
}

/// How many of an execution's requests ended, by how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    pub cancelled: usize,
    pub expired: usize,
}

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    /// Ends each pending request of the event's execution; how many, by how.
    pub(crate) async fn end_with_execution(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let (arn, status) = StatusChange::parse(payload).map_err(SendEmailError::InvalidInput)?;
        let ended = self
            .end_requests_of(&arn, deadline, |request, now| {
                request.end_with_execution(status, now)
            })
            .await?;
        Ok(json!({ "Cancelled": ended.cancelled, "Expired": ended.expired }))
    }

    /// Applies `end` to each request of `execution`, by conditional write: a request that
    /// changed meanwhile (a vote) is read again and `end` asked again.
    pub(crate) async fn end_requests_of(
        &self,
        execution: &ExecutionArn,
        deadline: Instant,
        end: impl Fn(&mut ApprovalRequest, Timestamp) -> Option<Ending>,
    ) -> Result<Ended, SendEmailError> {
        let ids = within(deadline, self.store.of_execution(execution))
            .await
            .map_err(SendEmailError::StoreFailed)?;
        let mut ended = Ended::default();
        for request_id in ids {
            for _ in 0..MAX_WRITE_ATTEMPTS {
                let read = within(deadline, self.store.get(&request_id)).await;
                let Some(mut request) = read.map_err(SendEmailError::StoreFailed)? else {
                    break;
                };
                let Some(ending) = end(&mut request, (self.clock)()) else {
                    break;
                };
                match within(deadline, self.store.replace(&request)).await {
                    Ok(Replaced::Written) => {
                        info!(%request_id, execution = execution.name(), ?ending, "approval request ended with its execution");
                        match ending {
                            Ending::Cancelled => ended.cancelled += 1,
                            Ending::Expired => ended.expired += 1,
                        }
                        break;
                    }
                    Ok(Replaced::Conflict) => continue,
                    Err(err) => return Err(SendEmailError::StoreFailed(err)),
                }
            }
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(status: &str) -> Value {
        json!({
            "version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
            "detail-type": DETAIL_TYPE, "source": crate::invocation::STATES_SOURCE,
            "account": "123456789012", "time": "2019-02-26T19:42:21Z", "region": "us-east-1",
            "resources": ["arn:aws:states:us-east-1:123456789012:execution:Gate-HumanApproval:run-1"],
            "detail": {
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:Gate-HumanApproval:run-1",
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Gate-HumanApproval",
                "name": "run-1", "status": status,
                "startDate": 1_551_225_014_968_i64, "stopDate": 1_551_225_017_576_i64,
                "input": "{}", "output": null, "error": null, "cause": null
            }
        })
    }

    #[test]
    fn reads_the_documented_event_and_names_what_is_wrong_with_any_other() {
        let payload = event("ABORTED");
        let (arn, status) = StatusChange::parse(payload).unwrap();
        assert_eq!(arn.name(), "run-1");
        assert_eq!(status, ExecutionStatus::Aborted);

        let err = StatusChange::parse(event("PENDING_REDRIVE")).unwrap_err();
        assert!(err.contains("`detail.status` `PENDING_REDRIVE`"), "{err}");
        let mut other = event("FAILED");
        other["detail-type"] = json!("Step Functions State Machine Deleted");
        assert!(
            StatusChange::parse(other)
                .unwrap_err()
                .contains("detail-type")
        );
        let mut bad_arn = event("FAILED");
        bad_arn["detail"]["executionArn"] = json!("arn:aws:states:us-east-1:1:stateMachine:x");
        assert!(
            StatusChange::parse(bad_arn)
                .unwrap_err()
                .contains("not an execution ARN")
        );
        let err = StatusChange::parse(json!({"source": "aws.states"})).unwrap_err();
        assert!(err.contains("detail-type"), "{err}");
    }
}
