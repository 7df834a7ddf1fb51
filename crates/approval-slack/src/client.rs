//! The domain's Slack ports on Slack's Web API: `users.lookupByEmail` finds an approver,
//! `chat.postMessage` posts a request's message (a DM to a user id opens the conversation),
//! `chat.update` has it show the record's view, `views.open` opens the vote modal with a click's
//! trigger, `chat.postEphemeral` answers one user privately.

use approval_domain::{
    Address, ApprovalRequest, Choice, SlackPost, SlackUser,
    ports::{PortError, SlackAnswers, SlackPosts, SlackTarget},
};
use serde_json::{Value, json};

use crate::{
    blocks,
    web_api::{Body, SlackError, WebApi},
};

/// The code Slack answers `users.lookupByEmail` with when the workspace has no such user.
pub const USERS_NOT_FOUND: &str = "users_not_found";

#[derive(Debug, Clone)]
pub struct SlackClient {
    api: WebApi,
}

impl SlackClient {
    pub fn new(api: WebApi) -> Self {
        Self { api }
    }
}

impl From<SlackError> for PortError {
    fn from(err: SlackError) -> Self {
        match err {
            SlackError::Unavailable { .. } => PortError::Unavailable(err.to_string()),
            SlackError::Refused { .. } => PortError::Failed(err.to_string()),
        }
    }
}

fn text_of(value: &Value, field: &str, method: &'static str) -> Result<String, PortError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| PortError::Failed(format!("Slack {method}: its answer has no `{field}`")))
}

impl SlackPosts for SlackClient {
    async fn find_user(&self, address: &Address) -> Result<Option<SlackUser>, PortError> {
        let method = "users.lookupByEmail";
        let answer = self
            .api
            .call(method, Body::Form(vec![("email", address.to_string())]))
            .await;
        let answer = match answer {
            Err(err) if err.code() == Some(USERS_NOT_FOUND) => return Ok(None),
            other => other?,
        };
        let user = answer.get("user").cloned().unwrap_or_default();
        if user.get("deleted") == Some(&Value::Bool(true)) {
            return Ok(None);
        }
        Ok(Some(SlackUser {
            team_id: text_of(&user, "team_id", method)?,
            user_id: text_of(&user, "id", method)?,
        }))
    }

    async fn post(
        &self,
        to: &SlackTarget,
        request: &ApprovalRequest,
    ) -> Result<SlackPost, PortError> {
        let method = "chat.postMessage";
        let (channel, slot) = match to {
            SlackTarget::Direct { slot, user } => (user.user_id.clone(), Some(*slot)),
            SlackTarget::Channel(channel) => (channel.clone(), None),
        };
        let (text, blocks) = blocks::message(request);
        let answer = self
            .api
            .call(
                method,
                Body::Json(json!({"channel": channel, "text": text, "blocks": blocks, "unfurl_links": false})),
            )
            .await?;
        Ok(SlackPost {
            channel: text_of(&answer, "channel", method)?,
            ts: text_of(&answer, "ts", method)?,
            slot,
            shown: request.slack_view().key(),
        })
    }

    async fn update(&self, post: &SlackPost, request: &ApprovalRequest) -> Result<(), PortError> {
        let (text, blocks) = blocks::message(request);
        self.api
            .call(
                "chat.update",
                Body::Json(
                    json!({"channel": post.channel, "ts": post.ts, "text": text, "blocks": blocks}),
                ),
            )
            .await?;
        Ok(())
    }

    async fn reply(&self, post: &SlackPost, text: &str) -> Result<(), PortError> {
        self.api
            .call(
                "chat.postMessage",
                Body::Json(json!({"channel": post.channel, "thread_ts": post.ts, "text": text})),
            )
            .await?;
        Ok(())
    }
}

impl SlackAnswers for SlackClient {
    async fn open_vote(
        &self,
        trigger_id: &str,
        request: &ApprovalRequest,
        choice: Choice,
    ) -> Result<(), PortError> {
        self.api
            .call(
                "views.open",
                Body::Json(
                    json!({"trigger_id": trigger_id, "view": blocks::vote_modal(request, choice)}),
                ),
            )
            .await?;
        Ok(())
    }

    async fn say_privately(
        &self,
        channel: &str,
        user: &SlackUser,
        text: &str,
    ) -> Result<(), PortError> {
        self.api
            .call(
                "chat.postEphemeral",
                Body::Json(json!({"channel": channel, "user": user.user_id, "text": blocks::refusal_text(text)})),
            )
            .await?;
        Ok(())
    }
}
