//! The ports around the domain. The AWS adapters (crate `approval-aws`) implement them with
//! DynamoDB, SNS or SES, Step Functions, EventBridge and CloudWatch's embedded metric format;
//! [`crate::memory`] implements them in memory for tests.
//!
//! Every error says whether trying again later may help (`Unavailable`: throttling, 5xx,
//! timeouts, after the SDK's own retries) or not (`Failed`: permissions, bad settings), with a
//! short reason that never holds a token or a credential.

use std::future::Future;

use crate::{
    Address, ApprovalRequest, Choice, ExecutionArn, GateEvent, Measure, RequestId, SlackPost,
    SlackUser, TaskToken, Timestamp, scheduled::ExecutionView,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{0} (worth retrying)")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

/// The request records.
pub trait RequestStore {
    /// Writes a new record unless one with its id exists; then returns that one instead.
    fn create(
        &self,
        request: &ApprovalRequest,
    ) -> impl Future<Output = Result<Created, PortError>> + Send;

    /// The record, read consistently.
    fn get(
        &self,
        id: &RequestId,
    ) -> impl Future<Output = Result<Option<ApprovalRequest>, PortError>> + Send;

    /// The ids of the requests of `execution` (from an index: a moment behind the records; read
    /// each with [`Self::get`]).
    fn of_execution(
        &self,
        execution: &ExecutionArn,
    ) -> impl Future<Output = Result<Vec<RequestId>, PortError>> + Send;

    /// Writes `request` only if the stored record is still at `request.version - 1`.
    fn replace(
        &self,
        request: &ApprovalRequest,
    ) -> impl Future<Output = Result<Replaced, PortError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    Exists(Box<ApprovalRequest>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    Written,
    /// Someone else wrote first: read again and reconsider.
    Conflict,
}

/// An email to one person: what to tell them, written by the function that tells it. How it
/// goes is the adapter's: SNS sends `body` alone, SES both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Address,
    pub subject: String,
    /// The plain-text part (all of an SNS email).
    pub body: String,
    /// The HTML part, where there is one (SES sends it beside `body`).
    pub html: Option<String>,
}

/// Sends emails: through the stack's SNS topic (the `approver` attribute each subscription
/// filters on), or straight to the approver with SES.
pub trait Notifier {
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where a request's Slack message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackTarget {
    /// A direct message to the approver in `slot`, who is `user`.
    Direct { slot: usize, user: SlackUser },
    /// The one message in the stack's channel.
    Channel(String),
}

/// Slack as send-email uses it: finds approvers, posts and updates a request's messages. What a
/// message says is the adapter's to render from the record ([`ApprovalRequest::slack_view`]).
pub trait SlackPosts {
    /// The workspace's user with this address; `Ok(None)` when there is none.
    fn find_user(
        &self,
        address: &Address,
    ) -> impl Future<Output = Result<Option<SlackUser>, PortError>> + Send;

    /// Posts `request`'s message to `to`, showing its view now; where it went.
    fn post(
        &self,
        to: &SlackTarget,
        request: &ApprovalRequest,
    ) -> impl Future<Output = Result<SlackPost, PortError>> + Send;

    /// Has `post` show `request`'s view now.
    fn update(
        &self,
        post: &SlackPost,
        request: &ApprovalRequest,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Posts `text` in the thread of `post` (a reminder).
    fn reply(
        &self,
        post: &SlackPost,
        text: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Slack as approval-callback answers a click.
pub trait SlackAnswers {
    /// Opens the vote's modal for `choice` on `request` with the click's `trigger_id`.
    fn open_vote(
        &self,
        trigger_id: &str,
        request: &ApprovalRequest,
        choice: Choice,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Shows `text` to `user` alone, in `channel` (an ephemeral message).
    fn say_privately(
        &self,
        channel: &str,
        user: &SlackUser,
        text: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where the gate's events go (an EventBridge bus).
pub trait EventBus {
    /// Puts `events`, all of them or fails (`Unavailable`: try again later).
    fn put(&self, events: &[GateEvent]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// One-time schedules that invoke send-email later (EventBridge Scheduler), by name.
pub trait Scheduler {
    /// Schedules `input` for `at` under `name`; one that exists already is kept as it is (a
    /// retried invocation asks again).
    fn schedule(
        &self,
        name: &str,
        at: Timestamp,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Deletes the schedule `name`; one that is not there (fired, deleted) is fine.
    fn unschedule(&self, name: &str) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Counts what happened. Never fails: a count that cannot be recorded is lost, not retried.
pub trait Meter {
    fn count(&self, measure: Measure);
}

/// The workflow engine (Step Functions).
pub trait Tasks {
    /// What Step Functions says of the execution; `Ok(None)` if it has no such execution.
    fn execution(
        &self,
        execution: &ExecutionArn,
    ) -> impl Future<Output = Result<Option<ExecutionView>, PortError>> + Send;

    /// Completes the task with `output` (JSON).
    fn send_success(
        &self,
        token: &TaskToken,
        output: &str,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// TaskTimedOut / TaskDoesNotExist / InvalidToken: the task is gone, nothing will take it.
    #[error("the task is closed: {0}")]
    TaskClosed(String),
    /// Step Functions answered with an error: it did not take the output.
    #[error(transparent)]
    Refused(PortError),
    /// No (readable) answer in time: Step Functions may have taken the output.
    #[error("{0}; Step Functions may have taken it")]
    NoAnswer(PortError),
}
