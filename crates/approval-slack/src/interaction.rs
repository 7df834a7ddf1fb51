//! What a verified Slack request asks, read from its `application/x-www-form-urlencoded` body
//! (`payload=<JSON>`). Only two kinds are acted on: a click of a request's Approve or Reject
//! button (`block_actions`), and the vote modal submitted (`view_submission`). Either names the
//! request and the action (the button's `value`, the modal's `private_metadata`: both
//! `<request id>:<action>`) and Slack's user who did it; nothing else of the payload is trusted
//! or needed.

use approval_domain::{Choice, RequestId, SlackUser};
use serde::Deserialize;

/// The modal's `callback_id`, so a submission of another view is not taken for a vote.
pub const VOTE_CALLBACK_ID: &str = "approval_vote";
/// The comment's input block and element in the modal.
pub const COMMENT_BLOCK_ID: &str = "comment";
pub const COMMENT_ACTION_ID: &str = "comment";
pub use approval_domain::vote::MAX_COMMENT_CHARS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// A click on a request's button: open the modal, or say why not.
    Click {
        user: SlackUser,
        trigger_id: String,
        /// Where the clicked message is (for a private answer); none outside a message.
        channel: Option<String>,
        request_id: RequestId,
        choice: Choice,
    },
    /// The vote modal submitted: the vote.
    Submit {
        user: SlackUser,
        request_id: RequestId,
        choice: Choice,
        comment: String,
    },
    /// Any other kind Slack sends an app (a modal closed, a shortcut…): acknowledged, ignored.
    Ignored(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    #[error("the body is not one form field `payload`")]
    NotAPayloadForm,
    #[error("the payload is not an interaction: {0}")]
    Malformed(String),
    #[error("the button or modal names no request of the gate: {0}")]
    NotOurs(String),
    #[error("the comment is longer than {MAX_COMMENT_CHARS} characters")]
    CommentTooLong,
}

/// Every payload's `type`, read first: only two kinds are read further.
#[derive(Deserialize)]
struct Kind {
    r#type: String,
}

#[derive(Deserialize)]
struct BlockActions {
    team: Team,
    user: User,
    trigger_id: String,
    #[serde(default)]
    channel: Option<Channel>,
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct ViewSubmission {
    team: Team,
    user: User,
    view: View,
}

#[derive(Deserialize)]
struct Team {
    id: String,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Channel {
    id: String,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct View {
    callback_id: String,
    private_metadata: String,
    state: ViewState,
}

#[derive(Deserialize)]
struct ViewState {
    values: serde_json::Map<String, serde_json::Value>,
}

impl Interaction {
    /// Reads a request body already verified as Slack's.
    pub fn parse(body: &[u8]) -> Result<Self, InteractionError> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| InteractionError::NotAPayloadForm)?;
        let [(name, json)] = fields.as_slice() else {
            return Err(InteractionError::NotAPayloadForm);
        };
        if name != "payload" {
            return Err(InteractionError::NotAPayloadForm);
        }
        let kind: Kind = read(json)?;
        match kind.r#type.as_str() {
            "block_actions" => {
                let click: BlockActions = read(json)?;
                let [action] = click.actions.as_slice() else {
                    return Err(InteractionError::Malformed(format!(
                        "{} actions in one click",
                        click.actions.len()
                    )));
                };
                let (request_id, choice) = target(action.value.as_deref().unwrap_or_default())?;
                if action.action_id != choice.action() {
                    return Err(InteractionError::NotOurs(
                        "the button's action and value disagree".into(),
                    ));
                }
                Ok(Interaction::Click {
                    user: slack_user(click.team, click.user),
                    trigger_id: click.trigger_id,
                    channel: click.channel.map(|c| c.id),
                    request_id,
                    choice,
                })
            }
            "view_submission" => {
                let submitted: ViewSubmission = read(json)?;
                let view = submitted.view;
                if view.callback_id != VOTE_CALLBACK_ID {
                    return Ok(Interaction::Ignored(format!(
                        "view_submission of {}",
                        view.callback_id.chars().take(50).collect::<String>()
                    )));
                }
                let (request_id, choice) = target(&view.private_metadata)?;
                let comment = comment(&view.state.values)?;
                Ok(Interaction::Submit {
                    user: slack_user(submitted.team, submitted.user),
                    request_id,
                    choice,
                    comment,
                })
            }
            other => Ok(Interaction::Ignored(other.chars().take(50).collect())),
        }
    }
}

/// Reads `json` as `T`, naming where it is not one.
fn read<'a, T: Deserialize<'a>>(json: &'a str) -> Result<T, InteractionError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| InteractionError::Malformed(format!("{}: {}", err.path(), err.inner())))
}

/// The value a button carries and the modal keeps: the request and the action.
pub fn target_value(request_id: &RequestId, choice: Choice) -> String {
    format!("{request_id}:{}", choice.action())
}

fn target(value: &str) -> Result<(RequestId, Choice), InteractionError> {
    let not_ours = || InteractionError::NotOurs("not <request id>:approve|reject".into());
    let (id, action) = value.split_once(':').ok_or_else(not_ours)?;
    let request_id = RequestId::try_from(id.to_owned()).map_err(|_| not_ours())?;
    let choice = Choice::from_action(action).ok_or_else(not_ours)?;
    Ok((request_id, choice))
}

fn slack_user(team: Team, user: User) -> SlackUser {
    SlackUser {
        team_id: team.id,
        user_id: user.id,
    }
}

/// The modal's comment: `values.comment.comment.value`, absent or null when left empty.
fn comment(
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, InteractionError> {
    let value = values
        .get(COMMENT_BLOCK_ID)
        .and_then(|block| block.get(COMMENT_ACTION_ID))
        .and_then(|element| element.get("value"));
    let text = match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.trim().to_owned(),
        Some(_) => {
            return Err(InteractionError::Malformed(
                "the comment is not text".into(),
            ));
        }
    };
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(InteractionError::CommentTooLong);
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
