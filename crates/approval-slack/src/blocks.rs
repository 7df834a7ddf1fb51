//! A request as Slack shows it, in Block Kit: the message posted to approvers (and updated on
//! every change of its view), and the modal a click opens.
//!
//! Every text that comes from the workflow or a voter (subject, summary, addresses, comments)
//! is a `plain_text` object with emoji off: Slack renders it as it is, with no markup, link or
//! mention, so no workflow text can pass for the gate's. Only the gate's own labels are
//! `mrkdwn`. Each text is cut to the length Slack accepts for its place.

use approval_domain::{ApprovalRequest, Choice, SlackView, Vote};
use serde_json::{Value, json};

use crate::interaction::{
    COMMENT_ACTION_ID, COMMENT_BLOCK_ID, MAX_COMMENT_CHARS, VOTE_CALLBACK_ID, target_value,
};

/// The `block_id` of a message's buttons.
pub const ACTIONS_BLOCK_ID: &str = "approval";
/// Slack's limits: a header's text, a section's text, a field, a modal's title.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const TITLE_CHARS: usize = 24;

/// The message: `text` (notifications and screen readers) and `blocks`.
pub fn message(request: &ApprovalRequest) -> (String, Value) {
    let view = request.slack_view();
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&request.subject, HEADER_CHARS)}),
        facts(request),
    ];
    blocks.extend(workflow_words(request));
    blocks.push(json!({"type": "section", "text": plain(&status(request, &view), SECTION_CHARS)}));
    if view.is_open() {
        blocks.push(json!({
            "type": "actions",
            "block_id": ACTIONS_BLOCK_ID,
            "elements": [button(request, Choice::Approved), button(request, Choice::Rejected)],
        }));
    }
    let text = match view {
        SlackView::Open { .. } => format!("Approval requested: {}", request.subject),
        _ => format!("{}: {}", headline(request, &view), request.subject),
    };
    (cut(&text, SECTION_CHARS), Value::Array(blocks))
}

/// The modal a click on `choice` opens: the request again and an optional comment; submitting
/// it is the vote.
pub fn vote_modal(request: &ApprovalRequest, choice: Choice) -> Value {
    let mut blocks = vec![
        json!({"type": "section", "text": plain(&request.subject, SECTION_CHARS)}),
        facts(request),
    ];
    blocks.extend(workflow_words(request));
    blocks.push(json!({
        "type": "input",
        "block_id": COMMENT_BLOCK_ID,
        "optional": true,
        "label": plain("Comment (optional, shown to the other approvers)", FIELD_CHARS),
        "element": {
            "type": "plain_text_input",
            "action_id": COMMENT_ACTION_ID,
            "multiline": true,
            "max_length": MAX_COMMENT_CHARS,
        },
    }));
    json!({
        "type": "modal",
        "callback_id": VOTE_CALLBACK_ID,
        "private_metadata": target_value(&request.request_id, choice),
        "title": plain(&format!("{} request", choice.label()), TITLE_CHARS),
        "submit": plain(choice.label(), TITLE_CHARS),
        "close": plain("Cancel", TITLE_CHARS),
        "blocks": blocks,
    })
}

/// The private answer to a click that cannot vote: why.
pub fn refusal_text(reason: &str) -> String {
    cut(reason, SECTION_CHARS)
}

/// A reminder, posted in the thread of an approver's message.
pub fn reminder_text(request: &ApprovalRequest) -> String {
    let tally = request.tally();
    cut(
        &format!(
            "Still waiting for your decision: {} of {} approvals so far; the request expires at {}.",
            tally.approvals, request.required_approvals, request.expires_at
        ),
        SECTION_CHARS,
    )
}

/// The gate's facts: who asks, how many must approve, until when, which execution.
fn facts(request: &ApprovalRequest) -> Value {
    let requester = request
        .requested_by
        .as_ref()
        .map_or("(not stated by the workflow)", |a| a.as_str());
    let fields = [
        format!("Requested by: {requester}"),
        format!(
            "Needs: {} of {} approvers",
            request.required_approvals,
            request.approvers.len()
        ),
        format!("Expires: {}", request.expires_at),
        format!(
            "Execution: {} ({})",
            request.execution_name(),
            request.state_machine_name()
        ),
    ];
    json!({
        "type": "section",
        "fields": fields.iter().map(|f| plain(f, FIELD_CHARS)).collect::<Vec<_>>(),
    })
}

/// The workflow's own words, marked as theirs; none without a summary.
fn workflow_words(request: &ApprovalRequest) -> Vec<Value> {
    let Some(summary) = request.summary.as_deref().filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    vec![
        json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": "_What the workflow says (its words, not the gate's):_"}
        ]}),
        json!({"type": "section", "text": plain(summary, SECTION_CHARS)}),
    ]
}

fn button(request: &ApprovalRequest, choice: Choice) -> Value {
    json!({
        "type": "button",
        "action_id": choice.action(),
        "text": plain(choice.label(), 75),
        "style": match choice { Choice::Approved => "primary", Choice::Rejected => "danger" },
        "value": target_value(&request.request_id, choice),
    })
}

/// How the request stands, for people.
fn status(request: &ApprovalRequest, view: &SlackView<'_>) -> String {
    match view {
        SlackView::Open {
            votes, required, ..
        } => {
            let approvals = votes
                .iter()
                .filter(|v| v.choice == Choice::Approved)
                .count();
            let mut text = format!("{approvals} of {required} approvals so far");
            if votes.is_empty() {
                text.push_str("; no votes yet.");
            } else {
                text.push(':');
                for vote in *votes {
                    text.push('\n');
                    text.push_str(&vote_line(vote));
                }
            }
            text
        }
        _ => {
            let mut text = headline(request, view);
            if let SlackView::Decided { .. } = view {
                for vote in &request.votes {
                    text.push('\n');
                    text.push_str(&vote_line(vote));
                }
            }
            text
        }
    }
}

/// How it ended, by whom, when.
fn headline(request: &ApprovalRequest, view: &SlackView<'_>) -> String {
    match view {
        SlackView::Open { .. } => format!("Waiting for approval: {}", request.subject),
        SlackView::Decided { decision, by, at } => {
            let by: Vec<&str> = by.iter().map(|a| a.as_str()).collect();
            let how = match decision {
                Choice::Approved => "Approved",
                Choice::Rejected => "Rejected",
            };
            format!("{how} by {} at {at}", by.join(", "))
        }
        SlackView::Closed { at } => {
            format!("Closed at {at}: Step Functions closed the task before a decision reached it")
        }
        SlackView::Expired { at } => format!("Expired at {at}: nobody decided in time"),
        SlackView::Cancelled { status, at } => {
            format!("Cancelled at {at}: the execution {}", status.ended_as())
        }
    }
}

fn vote_line(vote: &Vote) -> String {
    let mut line = format!(
        "• {} {} (by {}, {})",
        vote.approver,
        vote.choice.as_str(),
        vote.via.as_str(),
        vote.voted_at
    );
    if !vote.comment.is_empty() {
        line.push_str(&format!(": \"{}\"", vote.comment));
    }
    line
}

/// A `plain_text` object: shown as it is, no markup, no emoji codes.
fn plain(text: &str, max_chars: usize) -> Value {
    json!({"type": "plain_text", "text": cut(text, max_chars), "emoji": false})
}

fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
