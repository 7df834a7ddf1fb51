//! `send-email`: turns one waiting Step Functions task into one approval request.
//!
//! The flow, one module a step: [`payload`] reads the invocation, [`handler`] has Step Functions
//! vouch for it ([`approval_domain::scheduled`]), stores the request and has [`email`] write each
//! approver their own links, and once the answer is posted records who was emailed
//! ([`approval_aws::after_answer`]). [`config`] is the function's settings, [`error`] what it
//! fails with.

use std::time::Duration;

use approval_aws::clients::CallTimeouts;

pub mod approval;
pub mod config;
pub mod email;
pub mod error;
pub mod handler;
pub mod payload;

pub use config::Config;
pub use error::SendEmailError;
pub use handler::SendEmail;

/// The function's timeout (`template.yaml`: `Timeout: 25`). The SDK must give up before it.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(25);

/// Attempt 2 s, all retries 4.5 s, per call. An invocation makes at most five rounds of calls
/// (Step Functions' history, DynamoDB put, on a retry of the same task the put of fresh secrets,
/// SNS publishes at once, DynamoDB put: before the answer, or after it once every approver was
/// emailed), so even hanging services end it within 22.5 s, before [`LAMBDA_TIMEOUT`], and the
/// state machine's Retry tries again.
pub const CALL_TIMEOUTS: CallTimeouts = CallTimeouts {
    attempt: Duration::from_secs(2),
    operation: Duration::from_millis(4500),
};
