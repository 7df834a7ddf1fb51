//! "Is this the gate's decision?": the step a workflow runs after the wait and before it
//! routes (`{"Verify": {"ExecutionId.$": "$$.Execution.Id", "Decision.$": "$"}}`, a plain
//! `lambda:invoke` whose `OutputPath` is `$.Payload`). Anyone who can read the execution's
//! history holds the task token and, with `states:SendTaskSuccess`, can end the wait with any
//! output; only the gate's record says what the approvers decided
//! ([`approval_domain::decision_check`]). The output passes, unchanged, only if it is exactly
//! the decision recorded for this execution's latest request; otherwise the step fails with
//! `SendEmail.DecisionNotRecorded` and the workflow routes nowhere.

use approval_domain::{
    ExecutionArn, RequestId,
    decision_check::{NotTheGates, request_id_of},
    ports::{EventBus, Meter, Notifier, RequestStore, Scheduler, SlackPosts, Tasks},
    text::quote_up_to,
};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::{SendEmail, SendEmailError, handler::within};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyNotice {
    #[serde(rename = "Verify")]
    verify: Verify,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Verify {
    /// `$$.Execution.Id`: the execution whose wait ended.
    execution_id: String,
    /// `$`: the output the wait ended with.
    decision: Value,
}

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    /// The output, unchanged, if it is the gate's decision for this execution's latest request.
    pub(crate) async fn verify_decision(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let notice: VerifyNotice = serde_path_to_error::deserialize(payload).map_err(|err| {
            SendEmailError::InvalidInput(format!(
                "a decision to verify: {}: {}",
                err.path(),
                err.inner()
            ))
        })?;
        let Verify {
            execution_id,
            decision,
        } = notice.verify;
        let execution = ExecutionArn::parse(&execution_id).ok_or_else(|| {
            SendEmailError::InvalidInput(format!(
                "`Verify.ExecutionId` `{}` is not an execution ARN",
                quote_up_to(&execution_id, 2048)
            ))
        })?;
        let checked = self.check(&execution, &decision, deadline).await?;
        match checked {
            Ok(()) => {
                info!(execution = execution.name(), "the decision is the gate's");
                Ok(decision)
            }
            Err(not) => {
                warn!(execution = execution.name(), %not, "the task was completed with a decision the gate did not send");
                Err(SendEmailError::DecisionNotRecorded(not))
            }
        }
    }

    async fn check(
        &self,
        execution: &ExecutionArn,
        decision: &Value,
        deadline: Instant,
    ) -> Result<Result<(), NotTheGates>, SendEmailError> {
        let read = |id: RequestId| async move {
            within(deadline, self.store.get(&id))
                .await
                .map_err(SendEmailError::StoreFailed)
        };
        let raw_id = match request_id_of(decision) {
            Ok(id) => id,
            Err(not) => return Ok(Err(not)),
        };
        let named = || NotTheGates::NoSuchRequest(quote_up_to(raw_id, 64));
        let Ok(id) = RequestId::try_from(raw_id.to_owned()) else {
            return Ok(Err(named()));
        };
        let Some(request) = read(id.clone()).await? else {
            return Ok(Err(named()));
        };
        if &request.execution_arn != execution {
            return Ok(Err(NotTheGates::OtherExecution(id.to_string())));
        }
        if let Err(not) = request.sent(decision) {
            return Ok(Err(not));
        }
        // An earlier decision of the same execution, sent again to end a later wait.
        let ids = within(deadline, self.store.of_execution(execution))
            .await
            .map_err(SendEmailError::StoreFailed)?;
        for other in ids.into_iter().filter(|other| other != &id) {
            if let Some(other) = read(other).await?
                && other.created_at > request.created_at
            {
                return Ok(Err(NotTheGates::Superseded(id.to_string())));
            }
        }
        Ok(Ok(()))
    }
}
