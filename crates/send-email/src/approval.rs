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

/// `approvers`, if every one of them is reachable by a channel that is on. Email (SNS or SES)
/// reaches every approver of the stack; with it off, no channel is left to reach anyone.
fn reachable(config: &Config, approvers: Vec<Address>) -> Result<Vec<Address>, SendEmailError> {
    if config.email != EmailDelivery::Off {
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
mod tests {
    use approval_domain::memory::fixtures;
    use serde_json::json;

    use super::*;
    use crate::config::tests::config;

    /// The task as Step Functions scheduled it: at the fixture's now, with this timeout.
    fn task(timeout_seconds: Option<u64>) -> ScheduledTask {
        ScheduledTask::from_parameters("{}", timeout_seconds, Some(fixtures::now()))
    }

    fn asked(approval: Value) -> Result<NewRequest, SendEmailError> {
        let invocation = Invocation::parse(&fixtures::payload_with(approval)).unwrap();
        new_request(
            &invocation,
            &config(),
            ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task(Some(3600)),
            fixtures::now(),
        )
    }

    fn names(request: &NewRequest) -> Vec<&str> {
        request.approvers.iter().map(Address::as_str).collect()
    }

    #[test]
    fn the_seed_payload_asks_every_stack_approver_for_one_approval_until_the_task_times_out() {
        let request = asked(json!({})).unwrap();
        assert_eq!(
            names(&request),
            [
                "approver0@example.com",
                "approver1@example.com",
                "approver2@example.com"
            ]
        );
        assert_eq!(request.required_approvals, 1);
        assert_eq!(request.subject, DEFAULT_SUBJECT);
        assert_eq!(request.expires_at, fixtures::now().plus_seconds(3600));
        assert!(
            request
                .details
                .contains("Testing the human approval tutorial.")
        );
    }

    #[test]
    fn the_approval_block_chooses_approvers_quorum_text_and_expiry() {
        let request = asked(json!({
            "Subject": "Deploy v42 — to prod?", "Summary": "Release notes", "Details": {"change": 42},
            "Approvers": ["APPROVER1@example.com", "approver2@example.com", "approver0@example.com"],
            "RequiredApprovals": 2, "RequestedBy": "approver0@example.com", "ExpiresInSeconds": 600
        }))
        .unwrap();
        assert_eq!(
            names(&request),
            ["approver1@example.com", "approver2@example.com"],
            "stack spelling, requester left out"
        );
        assert_eq!(request.required_approvals, 2);
        assert_eq!(request.subject, "Deploy v42 to prod?");
        assert_eq!(request.summary.as_deref(), Some("Release notes"));
        assert_eq!(request.details, "{\n  \"change\": 42\n}");
        assert_eq!(
            request.requested_by.as_ref().map(Address::as_str),
            Some("approver0@example.com")
        );
        assert_eq!(request.expires_at, fixtures::now().plus_seconds(600));
    }

    #[test]
    fn the_request_expires_when_the_task_times_out_counted_from_its_scheduling() {
        let invocation = Invocation::parse(&fixtures::payload()).unwrap();
        let scheduled = Timestamp::from_unix(fixtures::now().unix() - 7).unwrap();
        let at = |task: ScheduledTask| {
            new_request(
                &invocation,
                &config(),
                ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
                &fixtures::state_machine_arn(),
                &task,
                fixtures::now(),
            )
            .unwrap()
            .expires_at
        };
        assert_eq!(
            at(ScheduledTask::from_parameters(
                "{}",
                Some(3600),
                Some(scheduled)
            )),
            scheduled.plus_seconds(3600),
            "the task's clock: a retried or slow invocation does not outlast it"
        );
        let later = fixtures::now().plus_seconds(5);
        assert_eq!(
            at(ScheduledTask::from_parameters(
                "{}",
                Some(3600),
                Some(later)
            )),
            fixtures::now().plus_seconds(3600),
            "a scheduling time after now (another clock) is not believed"
        );
        assert_eq!(
            at(ScheduledTask::from_parameters("{}", Some(3600), None)),
            fixtures::now().plus_seconds(3600)
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        for (approval, says) in [
            (
                json!({"Approvers": ["stranger@example.com"]}),
                "`Approval.Approvers[0]` `stranger@example.com` is not an approver",
            ),
            (json!({"Approvers": ["nope"]}), "`Approval.Approvers[0]`"),
            (json!({"Approvers": []}), "`Approval.Approvers` is empty"),
            (
                json!({"RequiredApprovals": 4}),
                "`Approval.RequiredApprovals` is 4, but must be 1 to 3",
            ),
            (
                json!({"RequiredApprovals": 0}),
                "`Approval.RequiredApprovals` is 0",
            ),
            (
                json!({"RequiredApprovals": 3, "RequestedBy": "approver1@example.com"}),
                "other than the requester",
            ),
            (
                json!({"Approvers": ["approver1@example.com"], "RequestedBy": "approver1@example.com"}),
                "may not approve their own",
            ),
            (json!({"RequestedBy": "carol"}), "`Approval.RequestedBy`"),
            (
                json!({"ExpiresInSeconds": 7200}),
                "beyond the task's own TimeoutSeconds (3600)",
            ),
            (json!({"ExpiresInSeconds": 0}), "at least 1"),
            (
                json!({"Summary": "x".repeat(2049)}),
                "`Approval.Summary` is longer than 2048 bytes",
            ),
        ] {
            let err = asked(approval.clone()).unwrap_err();
            assert!(
                matches!(&err, SendEmailError::InvalidInput(m) if m.contains(says)),
                "{approval}: {err}"
            );
        }
    }

    #[test]
    fn the_stacks_floor_is_the_default_and_no_request_goes_below_it() {
        let mut config = config();
        config.min_required_approvals = 2;
        let ask = |approval: Value| {
            let invocation = Invocation::parse(&fixtures::payload_with(approval)).unwrap();
            new_request(
                &invocation,
                &config,
                ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
                &fixtures::state_machine_arn(),
                &task(Some(3600)),
                fixtures::now(),
            )
        };
        assert_eq!(
            ask(json!({})).unwrap().required_approvals,
            2,
            "the floor by default"
        );
        assert_eq!(
            ask(json!({"RequiredApprovals": 3}))
                .unwrap()
                .required_approvals,
            3
        );
        for (approval, says) in [
            (
                json!({"RequiredApprovals": 1}),
                "`Approval.RequiredApprovals` is 1, below the stack's MinimumRequiredApprovals (2)",
            ),
            (
                json!({"Approvers": ["approver0@example.com"]}),
                "this request has 1 approver(s), fewer than the stack's MinimumRequiredApprovals (2)",
            ),
            (
                json!({"Approvers": ["approver0@example.com", "approver1@example.com"],
                       "RequestedBy": "approver1@example.com"}),
                "this request has 1 approver(s) other than the requester, fewer than",
            ),
            (
                json!({"RequiredApprovals": 0}),
                "`Approval.RequiredApprovals` is 0, but must be 2 to 3",
            ),
        ] {
            let err = ask(approval.clone()).unwrap_err().to_string();
            assert!(err.contains(says), "{approval}: {err}");
        }
    }

    #[test]
    fn an_approver_no_channel_reaches_is_named_and_nothing_is_opened() {
        let mut config = config();
        config.email = EmailDelivery::Off;
        let invocation = Invocation::parse(&fixtures::payload_with(json!({
            "Approvers": ["approver1@example.com", "approver2@example.com"]
        })))
        .unwrap();
        let err = new_request(
            &invocation,
            &config,
            ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task(None),
            fixtures::now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            SendEmailError::InvalidInput(
                "no channel reaches approver `approver1@example.com`, `approver2@example.com`: email is off (EmailDelivery `none`) and no other channel is on".into()
            )
        );
    }

    #[test]
    fn names_with_hidden_characters_and_odd_tokens_are_refused() {
        let mut payload = fixtures::payload();
        payload["ExecutionContext"]["Execution"]["Name"] = json!("run\u{202E}1");
        let invocation = Invocation::parse(&payload).unwrap();
        let err = new_request(
            &invocation,
            &config(),
            ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &task(None),
            fixtures::now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("U+202E"), "{err}");
        for token in ["", "has space", &"a".repeat(2049)] {
            let mut payload = fixtures::payload();
            payload["ExecutionContext"]["Task"]["Token"] = json!(token);
            let invocation = Invocation::parse(&payload).unwrap();
            let err = new_request(
                &invocation,
                &config(),
                approval_domain::ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
                &fixtures::state_machine_arn(),
                &task(None),
                fixtures::now(),
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("ExecutionContext.Task.Token"),
                "{err}"
            );
        }
    }

    #[test]
    fn subjects_are_made_sns_safe() {
        assert_eq!(subject_line(Some("  Déploy\tv42\u{202E} ")), "D ploy v42");
        assert_eq!(subject_line(Some("\u{7}")), DEFAULT_SUBJECT);
        assert_eq!(
            subject_line(Some(&"x".repeat(300))).len(),
            MAX_SUBJECT_CHARS
        );
        assert_eq!(subject_line(None), DEFAULT_SUBJECT);
    }
}
