//! `approval-callback`: an approver's link in, a page out.
//!
//! The request's path, one module a step: [`link`] reads the link's fields from the query or
//! the form; [`handler`] looks the request up and checks the credential and the approver's
//! standing; [`vote`] records the vote and, for the deciding one, completes the task; [`pages`]
//! and [`answer`] say how it went. Once the answer is posted
//! ([`approval_aws::after_answer`]) the deciding vote records that the task has it; that change
//! of the record is what has send-email tell the approvers (the callback only listens: it sends
//! no email). [`config`] is the settings.

use std::time::Duration;

use approval_aws::clients::CallTimeouts;

pub mod answer;
pub mod config;
pub mod console;
pub mod handler;
pub mod link;
pub mod pages;
pub mod slack;
pub mod slack_side;
pub mod vote;

pub use config::Config;
pub use handler::{Callback, Function};

/// The largest body a request may have: a vote's form (a comment of 2,000 characters, encoded,
/// fits easily), or Slack's interaction.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The function's timeout (`template.yaml`: `Timeout: 10`).
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a request does before its answer must be done by then; past it the approver gets
/// the 503 page rather than the bare 502 API Gateway shows when the function is killed. What
/// follows the answer (one write) fits in the rest.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(8);

/// Attempt 0.8 s, all retries 1.6 s, per call. A vote makes at most four rounds of calls before
/// its answer (read, write, SendTaskSuccess, and the write of a failed delivery): 6.4 s at the
/// very worst.
pub const CALL_TIMEOUTS: CallTimeouts = CallTimeouts {
    attempt: Duration::from_millis(800),
    operation: Duration::from_millis(1600),
};
