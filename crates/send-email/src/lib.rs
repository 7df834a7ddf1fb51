//! `send-email`: everything the gate tells. A waiting Step Functions task becomes an approval
//! request mailed to each approver; each change of a request's record tells its approvers what it
//! left untold (how the request ended) and puts the gate's events; an expiry notice records a
//! request expired; an execution's end cancels its pending requests.
//!
//! The task, one module a step: [`payload`] reads the invocation, [`handler`] has Step Functions
//! vouch for it ([`approval_domain::scheduled`]), stores the request and has [`email`] write each
//! approver their own links, and records who was emailed. [`changes`]: the table's stream;
//! [`expiry`]: the expiry notice; [`execution_ended`]: Step Functions' status-change event. [`config`] is the function's settings, [`error`] what it fails
//! with.

use std::time::Duration;

use approval_aws::clients::CallTimeouts;

pub mod approval;
pub mod changes;
pub mod config;
pub mod email;
pub mod error;
pub mod execution_ended;
pub mod expiry;
pub mod handler;
pub mod invocation;
pub mod nudge_plan;
pub mod nudging;
pub mod payload;
pub mod slack;
pub mod verification;

pub use config::Config;
pub use error::SendEmailError;
pub use handler::{Function, MAX_CONCURRENT_SENDS, SendEmail};

/// The function's timeout (`template.yaml`: `Timeout: 25`).
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(25);

/// Every call of an invocation takes its share of this, counted from the invocation's start;
/// past it, what is left is abandoned as worth retrying, so the invocation ends with a named,
/// retryable error 3 s before Lambda would kill it.
pub const INVOCATION_DEADLINE: Duration = Duration::from_secs(22);

/// Attempt 2 s, all retries 4.5 s, per call: a call that hangs is retried within the
/// invocation's deadline rather than using all of it.
pub const CALL_TIMEOUTS: CallTimeouts = CallTimeouts {
    attempt: Duration::from_secs(2),
    operation: Duration::from_millis(4500),
};
