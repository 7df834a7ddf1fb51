//! Slack in memory: a workspace of users by address, the messages posted and how each was last
//! rendered (its view key), the modals opened and the private messages shown.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use super::lock;
use crate::{
    Address, ApprovalRequest, Choice, SlackPost, SlackUser,
    ports::{PortError, SlackAnswers, SlackPosts, SlackTarget},
};

/// Which Slack call a scripted failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlackCall {
    FindUser,
    Post,
    Update,
    Reply,
    OpenVote,
    SayPrivately,
}

/// The workspace `T1`; user `U<n>` is the address given at `n`.
#[derive(Default)]
pub struct MemorySlack {
    users: Mutex<Vec<(Address, SlackUser)>>,
    failures: Mutex<HashMap<SlackCall, VecDeque<PortError>>>,
    /// Every message by (channel, ts): the view key it shows now.
    pub messages: Mutex<Vec<SlackPost>>,
    pub updates: Mutex<Vec<SlackPost>>,
    pub replies: Mutex<Vec<(SlackPost, String)>>,
    /// (trigger id, request id, choice) of each modal opened.
    pub opened: Mutex<Vec<(String, String, Choice)>>,
    /// (channel, user, text) of each private message.
    pub said: Mutex<Vec<(String, SlackUser, String)>>,
    pub calls: Mutex<Vec<SlackCall>>,
}

pub const TEAM: &str = "T1";

impl MemorySlack {
    /// A workspace whose users are `addresses`, `U0`, `U1`, … in order.
    pub fn with_users<'a>(addresses: impl IntoIterator<Item = &'a Address>) -> Self {
        let slack = Self::default();
        lock(&slack.users).extend(
            addresses
                .into_iter()
                .enumerate()
                .map(|(n, address)| (address.clone(), user(n))),
        );
        slack
    }

    pub fn fail_next(&self, call: SlackCall, error: PortError) {
        lock(&self.failures)
            .entry(call)
            .or_default()
            .push_back(error);
    }

    fn called(&self, call: SlackCall) -> Result<(), PortError> {
        lock(&self.calls).push(call);
        match lock(&self.failures)
            .get_mut(&call)
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    pub fn count(&self, call: SlackCall) -> usize {
        lock(&self.calls).iter().filter(|c| **c == call).count()
    }
}

/// User `U<n>` of workspace [`TEAM`].
pub fn user(n: usize) -> SlackUser {
    SlackUser {
        team_id: TEAM.into(),
        user_id: format!("U{n}"),
    }
}

impl SlackPosts for MemorySlack {
    async fn find_user(&self, address: &Address) -> Result<Option<SlackUser>, PortError> {
        self.called(SlackCall::FindUser)?;
        Ok(lock(&self.users)
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, u)| u.clone()))
    }

    async fn post(
        &self,
        to: &SlackTarget,
        request: &ApprovalRequest,
    ) -> Result<SlackPost, PortError> {
        self.called(SlackCall::Post)?;
        let mut messages = lock(&self.messages);
        let (channel, slot) = match to {
            SlackTarget::Direct { slot, user } => (format!("D{}", user.user_id), Some(*slot)),
            SlackTarget::Channel(channel) => (channel.clone(), None),
        };
        let post = SlackPost {
            channel,
            ts: format!("1700000000.{:06}", messages.len() + 1),
            slot,
            shown: request.slack_view().key(),
        };
        messages.push(post.clone());
        Ok(post)
    }

    async fn update(&self, post: &SlackPost, request: &ApprovalRequest) -> Result<(), PortError> {
        self.called(SlackCall::Update)?;
        let shown = request.slack_view().key();
        let mut messages = lock(&self.messages);
        let message = messages
            .iter_mut()
            .find(|m| m.channel == post.channel && m.ts == post.ts)
            .ok_or_else(|| PortError::Failed("message_not_found".into()))?;
        message.shown = shown.clone();
        lock(&self.updates).push(SlackPost {
            shown,
            ..post.clone()
        });
        Ok(())
    }

    async fn reply(&self, post: &SlackPost, text: &str) -> Result<(), PortError> {
        self.called(SlackCall::Reply)?;
        lock(&self.replies).push((post.clone(), text.to_owned()));
        Ok(())
    }
}

impl SlackAnswers for MemorySlack {
    async fn open_vote(
        &self,
        trigger_id: &str,
        request: &ApprovalRequest,
        choice: Choice,
    ) -> Result<(), PortError> {
        self.called(SlackCall::OpenVote)?;
        lock(&self.opened).push((
            trigger_id.to_owned(),
            request.request_id.to_string(),
            choice,
        ));
        Ok(())
    }

    async fn say_privately(
        &self,
        channel: &str,
        user: &SlackUser,
        text: &str,
    ) -> Result<(), PortError> {
        self.called(SlackCall::SayPrivately)?;
        lock(&self.said).push((channel.to_owned(), user.clone(), text.to_owned()));
        Ok(())
    }
}
