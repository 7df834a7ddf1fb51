//! What an invocation fails with. The `errorType` Step Functions records is the name a state
//! machine's `Retry` / `Catch` matches (docs/use-in-your-workflow.md lists what each means).
//! Each AWS failure keeps its kind from the port: only one worth retrying (throttling, 5xx, no
//! answer in time) carries a name the state machine retries; any other (access denied, a missing
//! table) is `SendEmail.Failed`, which it does not.

use std::fmt;

use approval_aws::settings::ConfigError;
use approval_domain::{Address, ports::PortError, scheduled::Untrusted};
use lambda_runtime::Diagnostic;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendEmailError {
    /// The payload is wrong; the message names the field. The same every time: not retried.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Not what Step Functions scheduled for a running execution of a trusted state machine.
    #[error("untrusted request: {0}")]
    Untrusted(#[from] Untrusted),
    /// A setting is missing or wrong; the message names it.
    #[error("send-email is misconfigured: {0}")]
    Misconfigured(#[from] ConfigError),
    /// Step Functions could not be asked about the execution (after the SDK's retries).
    #[error("checking the task with Step Functions failed: {0}")]
    VerifyFailed(PortError),
    /// The request could not be stored (after the SDK's retries); nothing was sent.
    #[error("storing the approval request failed: {0}")]
    StoreFailed(PortError),
    /// Some approval emails were not sent (after the SDK's retries); a retry sends those.
    #[error("emailing approvers failed: {}", Unpublished::list(.0))]
    PublishFailed(Vec<Unpublished>),
    /// A waiting task was completed with an output that is not the decision the gate recorded
    /// (a forged `SendTaskSuccess`): the workflow must not route on it.
    #[error("not the gate's decision: {0}")]
    DecisionNotRecorded(approval_domain::decision_check::NotTheGates),
    /// Slack could not be reached (its secret not read, a message not updated, after the
    /// retries): worth trying again, as a message that did not go out (`PublishFailed`).
    #[error("reaching Slack failed: {0}")]
    SlackUnavailable(PortError),
    /// The gate's events of a change were not put (after the retries); the change is handed
    /// over again, and its events are put then.
    #[error("putting the gate's events failed: {0}")]
    EventsFailed(PortError),
}

/// An approver whose email did not go out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpublished {
    pub approver: Address,
    pub error: PortError,
}

impl Unpublished {
    fn list(unpublished: &[Unpublished]) -> String {
        unpublished
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Unpublished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.approver, self.error)
    }
}

impl SendEmailError {
    /// Whether trying the same invocation again later may succeed.
    pub fn is_retryable(&self) -> bool {
        let unavailable = |err: &PortError| matches!(err, PortError::Unavailable(_));
        match self {
            SendEmailError::InvalidInput(_)
            | SendEmailError::Untrusted(_)
            | SendEmailError::Misconfigured(_)
            | SendEmailError::DecisionNotRecorded(_) => false,
            SendEmailError::VerifyFailed(err)
            | SendEmailError::StoreFailed(err)
            | SendEmailError::SlackUnavailable(err)
            | SendEmailError::EventsFailed(err) => unavailable(err),
            SendEmailError::PublishFailed(unpublished) => {
                unpublished.iter().any(|u| unavailable(&u.error))
            }
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            SendEmailError::InvalidInput(_) => "SendEmail.InvalidInput",
            SendEmailError::Untrusted(_) => "SendEmail.Untrusted",
            SendEmailError::Misconfigured(_) => "SendEmail.Misconfigured",
            SendEmailError::DecisionNotRecorded(_) => "SendEmail.DecisionNotRecorded",
            _ if !self.is_retryable() => "SendEmail.Failed",
            SendEmailError::VerifyFailed(_) => "SendEmail.VerifyFailed",
            SendEmailError::StoreFailed(_) => "SendEmail.StoreFailed",
            SendEmailError::PublishFailed(_) | SendEmailError::SlackUnavailable(_) => {
                "SendEmail.PublishFailed"
            }
            SendEmailError::EventsFailed(_) => "SendEmail.EventsFailed",
        }
    }
}

impl From<SendEmailError> for Diagnostic {
    fn from(err: SendEmailError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;

    #[test]
    fn only_a_failure_worth_retrying_carries_a_name_the_state_machine_retries() {
        let throttled = PortError::Unavailable("DynamoDB: ThrottlingException".into());
        let denied = PortError::Failed("AccessDeniedException: not authorized".into());
        for (err, error_type) in [
            (
                SendEmailError::StoreFailed(throttled.clone()),
                "SendEmail.StoreFailed",
            ),
            (
                SendEmailError::StoreFailed(denied.clone()),
                "SendEmail.Failed",
            ),
            (
                SendEmailError::VerifyFailed(throttled.clone()),
                "SendEmail.VerifyFailed",
            ),
            (
                SendEmailError::VerifyFailed(denied.clone()),
                "SendEmail.Failed",
            ),
            (
                SendEmailError::PublishFailed(vec![
                    Unpublished {
                        approver: fixtures::approver(0),
                        error: denied.clone(),
                    },
                    Unpublished {
                        approver: fixtures::approver(1),
                        error: throttled.clone(),
                    },
                ]),
                "SendEmail.PublishFailed",
            ),
            (
                SendEmailError::PublishFailed(vec![Unpublished {
                    approver: fixtures::approver(0),
                    error: denied.clone(),
                }]),
                "SendEmail.Failed",
            ),
        ] {
            assert_eq!(err.error_type(), error_type, "{err}");
            assert_eq!(err.is_retryable(), error_type != "SendEmail.Failed");
        }
    }
}
