//! What an invocation asks of whom, checked against the stack: the request to open.

use approval_domain::{
    Address, ExecutionArn, NewRequest, TaskToken, Timestamp, details,
    scheduled::ScheduledTask,
    text::{is_deceptive, reveal_deceptive, single_line},
};
use serde_json::Value;

use approval_aws::EmailDelivery;

use crate::{Config, SendEmailError, nudge_plan, payload::Invocation};

pub const DEFAULT_SUBJECT: &str = "Required approval from AWS Step Functions";
/// SNS email subjects must be ASCII and at most 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 100;
pub const MAX_SUMMARY_BYTES: usize = 2048;
/// Step Functions task tokens are at most 2048 characters.
pub const MAX_TOKEN_CHARS: usize = 2048;
pub const MAX_NAME_CHARS: usize = 80;

fn invalid(message: impl Into<String>) -> SendEmailError {
    SendEmailError::InvalidInput(message.into())
}

/// The request `invocation` asks for, of the execution Step Functions vouched for (`execution_arn`,
/// `state_machine_arn`), for its scheduled `task`: the request expires when the task times out
/// (its `TimeoutSeconds` after it was scheduled), or `Approval.ExpiresInSeconds` after that.
pub fn new_request(
    invocation: &Invocation,
    config: &Config,
    execution_arn: ExecutionArn,
    state_machine_arn: &str,
    task: &ScheduledTask,
    now: Timestamp,
) -> Result<NewRequest, SendEmailError> {
    let task_timeout = task.timeout_seconds;
    // The task's clock, not ours: the timeout runs from its scheduling, a moment before this
    // invocation, and an expiry counted from now would outlast the task by that moment.
    let start = task.scheduled_at.filter(|at| *at <= now).unwrap_or(now);
    let context = &invocation.execution_context;
    let token = &context.task.token;
    if token.is_empty()
        || token.len() > MAX_TOKEN_CHARS
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(invalid(format!(
            "`ExecutionContext.Task.Token` must be 1 to {MAX_TOKEN_CHARS} printable ASCII characters"
        )));
    }
    for (field, name) in [
        ("ExecutionContext.Execution.Name", &context.execution.name),
        (
            "ExecutionContext.StateMachine.Name",
            &context.state_machine.name,
        ),
    ] {
        single_line(field, name, MAX_NAME_CHARS).map_err(|e| invalid(e.to_string()))?;
    }
    let block = invocation.approval.clone().unwrap_or_default();

    let subject = subject_line(block.subject.as_deref().or(invocation.subject.as_deref()));
    let summary = block
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() > MAX_SUMMARY_BYTES {
                Err(invalid(format!(
                    "`Approval.Summary` is longer than {MAX_SUMMARY_BYTES} bytes"
                )))
            } else {
                Ok(reveal_deceptive(s))
            }
        })
        .transpose()?;
    let requested_by = block
        .requested_by
        .as_deref()
        .map(|raw| Address::parse(raw).map_err(|e| invalid(format!("`Approval.RequestedBy` {e}"))))
        .transpose()?;
    let approvers = approvers(config, block.approvers.as_deref(), requested_by.as_ref())?;
    let required = required_approvals(
        block.required_approvals,
        config.min_required_approvals,
        approvers.len(),
        requested_by.is_some(),
    )?;
    let limit = task_timeout.unwrap_or(config.default_expiry_seconds);
    let expires_in = match block.expires_in_seconds {
        None => limit,
        Some(0) => return Err(invalid("`Approval.ExpiresInSeconds` must be at least 1")),
        Some(s) if task_timeout.is_some_and(|t| s > t) => {
            return Err(invalid(format!(
                "`Approval.ExpiresInSeconds` is {s}, beyond the task's own TimeoutSeconds ({limit}): links would outlive the task"
            )));
        }
        Some(s) => s,
    };
    let nudges = nudge_plan::plan(
        block.reminders.as_deref(),
        block.escalations.as_deref(),
        config,
        &approvers,
        requested_by.as_ref(),
        expires_in,
    )?;
    let details = block
        .details
        .as_ref()
        .or(context.execution.input.as_ref())
        .map(details::render)
        .unwrap_or_else(|| details::render(&Value::Object(Default::default())));

    Ok(NewRequest {
        task_token: TaskToken::new(token.clone()),
        execution_arn,
        state_machine_arn: state_machine_arn.to_owned(),
        subject,
        summary,
        requested_by,
        details,
        approvers,
        required_approvals: required,
        created_at: now,
        expires_at: start.plus_seconds(expires_in),
        retention_seconds: config.retention_seconds,
        nudges,
    })
}

/// How many approvals decide: `Approval.RequiredApprovals`, or the stack's floor
/// (`MIN_REQUIRED_APPROVALS`), which no request goes below, up to the approvers it has.
fn required_approvals(
    asked: Option<u64>,
    floor: usize,
    approvers: usize,
    requester_left_out: bool,
) -> Result<usize, SendEmailError> {
    let who = if requester_left_out {
        " other than the requester"
    } else {
        ""
    };
    if approvers < floor {
        return Err(invalid(format!(
            "this request has {approvers} approver(s){who}, fewer than the stack's MinimumRequiredApprovals ({floor}): no request may be decided by fewer"
        )));
    }
    match asked {
        None => Ok(floor),
        Some(n) if n >= floor as u64 && (n as usize) <= approvers => Ok(n as usize),
        Some(n) if n < floor as u64 && n >= 1 => Err(invalid(format!(
            "`Approval.RequiredApprovals` is {n}, below the stack's MinimumRequiredApprovals ({floor})"
        ))),
        Some(n) => Err(invalid(format!(
            "`Approval.RequiredApprovals` is {n}, but must be {floor} to {approvers} (the approvers{who})"
        ))),
    }
}

/// The request's approvers: `Approval.Approvers` (each one of the stack's) or all of the stack's,
/// without the requester.
fn approvers(
    config: &Config,
    asked: Option<&[String]>,
    requested_by: Option<&Address>,
) -> Result<Vec<Address>, SendEmailError> {
    let chosen: Vec<Address> = match asked {
        None => config.approvers.clone(),
        Some([]) => {
            return Err(invalid(
                "`Approval.Approvers` is empty; leave it out to ask every approver of the stack",
            ));
        }
        Some(list) => {
            let mut chosen: Vec<Address> = Vec::new();
            for (i, raw) in list.iter().enumerate() {
                let address = Address::parse(raw)
                    .map_err(|e| invalid(format!("`Approval.Approvers[{i}]` {e}")))?;
                let Some(known) = config.approvers.iter().find(|a| **a == address) else {
                    return Err(invalid(format!(
                        "`Approval.Approvers[{i}]` `{address}` is not an approver of this stack (Email / AdditionalApprovers)"
                    )));
                };
                if !chosen.contains(known) {
                    chosen.push(known.clone());
                }
            }
            chosen
        }
    };
    let left: Vec<Address> = chosen
        .into_iter()
        .filter(|a| Some(a) != requested_by)
        .collect();
    if left.is_empty() {
        return Err(invalid(
            "no approver is left once `Approval.RequestedBy` is left out: the requester may not approve their own request",
        ));
    }
    reachable(config, left)
}

/// `approvers`, if every one of them may be reachable by a channel that is on. Email (SNS or
/// SES) reaches every approver of the stack; Slack those the workspace has a user for (looked up
/// next: [`crate::slack`]); with both off, no channel is left to reach anyone.
fn reachable(config: &Config, approvers: Vec<Address>) -> Result<Vec<Address>, SendEmailError> {
    if config.email != EmailDelivery::Off || config.slack.is_some() {
        return Ok(approvers);
    }
    let names: Vec<String> = approvers.iter().map(|a| format!("`{a}`")).collect();
    Err(invalid(format!(
        "no channel reaches approver {}: email is off (EmailDelivery `none`) and no other channel is on",
        names.join(", ")
    )))
}

/// An SNS-safe subject: ASCII only, no control or hidden characters, at most 100 characters,
/// never empty.
pub fn subject_line(requested: Option<&str>) -> String {
    let cleaned: String = requested
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && !is_deceptive(c) {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() {
        return DEFAULT_SUBJECT.to_owned();
    }
    let cut: String = cleaned.chars().take(MAX_SUBJECT_CHARS).collect();
    cut.trim_end().to_owned()
}

#[cfg(test)]
mod tests;
