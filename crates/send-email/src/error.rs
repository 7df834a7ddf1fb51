//! What an invocation fails with. The `errorType` Step Functions records is the name a state
//! machine's `Retry` / `Catch` matches (docs/use-in-your-workflow.md lists what each means).

use approval_domain::scheduled::Untrusted;
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
    Misconfigured(String),
    /// Step Functions could not be asked about the execution (after the SDK's retries).
    #[error("checking the task with Step Functions failed: {0}")]
    VerifyFailed(String),
    /// The request could not be stored (after the SDK's retries); nothing was sent.
    #[error("storing the approval request failed: {0}")]
    StoreFailed(String),
    /// Some approval emails were not published (after the SDK's retries); a retry sends those.
    #[error("publishing to SNS failed: {0}")]
    PublishFailed(String),
}

impl SendEmailError {
    pub fn error_type(&self) -> &'static str {
        match self {
            SendEmailError::InvalidInput(_) => "SendEmail.InvalidInput",
            SendEmailError::Untrusted(_) => "SendEmail.Untrusted",
            SendEmailError::Misconfigured(_) => "SendEmail.Misconfigured",
            SendEmailError::VerifyFailed(_) => "SendEmail.VerifyFailed",
            SendEmailError::StoreFailed(_) => "SendEmail.StoreFailed",
            SendEmailError::PublishFailed(_) => "SendEmail.PublishFailed",
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
