//! "This execution's approval task timed out": what the stack's state machine says from its
//! `States.Timeout` Catch (`{"Expired": {"ExecutionId.$": "$$.Execution.Id"}}`, a plain
//! `lambda:invoke`). send-email records each of the execution's pending requests whose time has
//! run out as expired; that change of the record (the table's stream) then has the approvers
//! told, the way every ending is told.
//!
//! Whoever sends it is believed only by the clock: a request is recorded expired only once its
//! `ExpiresAt` (the task's own timeout) has passed, so this ends nothing early.

use crate::{SendEmail, SendEmailError};
use approval_domain::{
    Ending, ExecutionArn,
    ports::{EventBus, Meter, Notifier, RequestStore, Scheduler, SlackPosts, Tasks},
    text::quote_up_to,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

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

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    /// Records each pending request of the execution whose time has run out as expired (the
    /// stream then has its approvers told); how many it recorded.
    pub(crate) async fn record_expiry(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let notice = ExpiryNotice::parse(payload).map_err(SendEmailError::InvalidInput)?;
        let id = &notice.expired.execution_id;
        let arn = ExecutionArn::parse(id).ok_or_else(|| {
            SendEmailError::InvalidInput(format!(
                "`Expired.ExecutionId` `{}` is not an execution ARN",
                quote_up_to(id, 2048)
            ))
        })?;
        let ended = self
            .end_requests_of(&arn, deadline, |request, now| {
                request.expire(now).then_some(Ending::Expired)
            })
            .await?;
        Ok(json!({ "Expired": ended.expired }))
    }
}
