//! Approvers in Slack: who each one is there, and the messages the gate posted about a request,
//! each with what it last showed.
//!
//! A Slack vote is not a bearer credential: Slack signs every click and names the user who
//! clicked, and the gate takes the vote only from the user its record holds for an approver's
//! slot (their address, looked up in the workspace when the request opened). A button names the
//! request and the action, never a secret.
//!
//! What a message shows follows the record ([`SlackView`]): every change of the record that
//! changes the view (a vote, the decision, an expiry, a cancellation, an escalation) has
//! send-email update every message of the request, and the record keeps what each one last
//! showed ([`SlackPost::shown`]), so a failed update is redone by the next reading of the record.

use serde::{Deserialize, Serialize};

use crate::{
    Address, ApprovalRequest, Choice, ExecutionStatus, RequestState, Timestamp, vote::Vote,
};

/// A Slack user: the workspace (team) and the user in it. Both must match for a click to be
/// that approver's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SlackUser {
    pub team_id: String,
    pub user_id: String,
}

/// A message the gate posted about a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SlackPost {
    /// Where it is (a DM's `D…` channel, or the stack's channel) and its timestamp: what
    /// `chat.update` names it by.
    pub channel: String,
    pub ts: String,
    /// The approver a direct message went to; `None`: the one message in the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<usize>,
    /// What it last showed: a [`SlackView::key`].
    pub shown: String,
}

/// How approvers were just reached, to record: the slots emailed, the Slack users found for
/// slots (an escalation's added approvers), the messages posted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    pub emailed: Vec<usize>,
    pub found: Vec<(usize, SlackUser)>,
    pub posted: Vec<SlackPost>,
}

impl Reached {
    pub fn is_empty(&self) -> bool {
        self.emailed.is_empty() && self.found.is_empty() && self.posted.is_empty()
    }
}

/// What every message of a request should show now, from its record alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlackView<'a> {
    /// Open for votes: who voted so far, of how many approvals needed from how many approvers.
    Open {
        votes: &'a [Vote],
        required: usize,
        approvers: usize,
    },
    Decided {
        decision: Choice,
        /// Whose votes made it: the approvals, or the one rejection.
        by: Vec<&'a Address>,
        at: Timestamp,
    },
    /// Step Functions closed the task before the decision reached it.
    Closed {
        at: Timestamp,
    },
    Expired {
        at: Timestamp,
    },
    Cancelled {
        status: ExecutionStatus,
        at: Timestamp,
    },
}

impl SlackView<'_> {
    /// A short, stable name of what the view shows: equal keys, equal messages.
    pub fn key(&self) -> String {
        match self {
            SlackView::Open {
                votes, approvers, ..
            } => format!("open:{}:{approvers}", votes.len()),
            SlackView::Decided { .. } => "decided".into(),
            SlackView::Closed { .. } => "closed".into(),
            SlackView::Expired { .. } => "expired".into(),
            SlackView::Cancelled { .. } => "cancelled".into(),
        }
    }

    /// Whether votes are still taken: the buttons stay.
    pub fn is_open(&self) -> bool {
        matches!(self, SlackView::Open { .. })
    }
}

impl ApprovalRequest {
    /// The slot of the approver who is `user` in Slack, if one is.
    pub fn slack_slot(&self, user: &SlackUser) -> Option<usize> {
        self.approvers
            .iter()
            .position(|entry| entry.slack.as_ref() == Some(user))
    }

    /// Records who each approver is in Slack (by slot; `None`: not found or Slack off). Only
    /// for a record being opened, before it is stored.
    pub fn with_slack_users(mut self, users: Vec<Option<SlackUser>>) -> Self {
        for (entry, user) in self.approvers.iter_mut().zip(users) {
            entry.slack = user;
        }
        self
    }

    /// What every message of this request should show now.
    pub fn slack_view(&self) -> SlackView<'_> {
        match &self.state {
            RequestState::Pending => SlackView::Open {
                votes: &self.votes,
                required: self.required_approvals,
                approvers: self.approvers.len(),
            },
            RequestState::Decided(decided) => SlackView::Decided {
                decision: decided.decision,
                by: match decided.decision {
                    Choice::Approved => self
                        .votes
                        .iter()
                        .filter(|v| v.choice == Choice::Approved)
                        .map(|v| &v.approver)
                        .collect(),
                    Choice::Rejected => vec![&decided.by],
                },
                at: decided.at,
            },
            RequestState::Closed { at, .. } => SlackView::Closed { at: *at },
            RequestState::Expired { at, .. } => SlackView::Expired { at: *at },
            RequestState::Cancelled { status, at, .. } => SlackView::Cancelled {
                status: *status,
                at: *at,
            },
        }
    }

    /// The messages that do not show [`Self::slack_view`] yet, by index in `slack_posts`.
    pub fn stale_slack_posts(&self) -> Vec<usize> {
        let key = self.slack_view().key();
        self.slack_posts
            .iter()
            .enumerate()
            .filter(|(_, post)| post.shown != key)
            .map(|(index, _)| index)
            .collect()
    }

    /// Whether the request's one channel message was posted.
    pub fn has_channel_post(&self) -> bool {
        self.slack_posts.iter().any(|post| post.slot.is_none())
    }

    /// Whether the approver in `slot` has their direct message.
    pub fn has_direct_post(&self, slot: usize) -> bool {
        self.slack_posts.iter().any(|post| post.slot == Some(slot))
    }

    /// Records, as one change, how the approvers were just reached ([`Reached`]): a message
    /// recorded already is not recorded twice. Whether anything was recorded.
    pub fn record_reached(&mut self, reached: &Reached, now: Timestamp) -> bool {
        let mut changed = false;
        for &slot in &reached.emailed {
            if let Some(entry) = self.approvers.get_mut(slot) {
                entry.notified_at = Some(now);
                changed = true;
            }
        }
        for (slot, user) in &reached.found {
            if let Some(entry) = self.approvers.get_mut(*slot)
                && entry.slack.as_ref() != Some(user)
            {
                entry.slack = Some(user.clone());
                changed = true;
            }
        }
        for post in &reached.posted {
            let known = self
                .slack_posts
                .iter()
                .any(|p| p.channel == post.channel && p.ts == post.ts);
            if !known {
                self.slack_posts.push(post.clone());
                changed = true;
            }
        }
        if changed {
            self.version += 1;
        }
        changed
    }

    /// Records that the messages at `indices` now show `key`; whether anything changed. Does
    /// not count a version: it goes with the change that records the telling.
    pub(crate) fn mark_shown(&mut self, indices: &[usize], key: &str) -> bool {
        let mut changed = false;
        for &index in indices {
            if let Some(post) = self.slack_posts.get_mut(index)
                && post.shown != key
            {
                post.shown = key.to_owned();
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Via,
        memory::fixtures::{self, at},
    };

    fn user(n: usize) -> SlackUser {
        SlackUser {
            team_id: "T1".into(),
            user_id: format!("U{n}"),
        }
    }

    #[test]
    fn a_slack_user_is_an_approver_only_in_the_same_workspace() {
        let (request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        let request = request.with_slack_users(vec![Some(user(0)), None, Some(user(2))]);
        assert_eq!(request.slack_slot(&user(2)), Some(2));
        assert_eq!(request.slack_slot(&user(1)), None, "slot 1 is not in Slack");
        let other_team = SlackUser {
            team_id: "T2".into(),
            user_id: "U0".into(),
        };
        assert_eq!(request.slack_slot(&other_team), None);
    }

    #[test]
    fn every_change_of_the_view_makes_every_message_stale_until_marked() {
        let (request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        let mut request = request.with_slack_users(vec![Some(user(0)), Some(user(1)), None]);
        let shown = request.slack_view().key();
        let posts: Vec<SlackPost> = (0..2)
            .map(|slot| SlackPost {
                channel: format!("D{slot}"),
                ts: "1.0".into(),
                slot: Some(slot),
                shown: shown.clone(),
            })
            .collect();
        let version = request.version;
        let reached = Reached {
            posted: posts,
            ..Reached::default()
        };
        assert!(request.record_reached(&reached, at(0)));
        assert!(!request.record_reached(&reached, at(0)), "not twice");
        assert_eq!(request.version, version + 1, "one change");
        assert!(request.stale_slack_posts().is_empty());
        request
            .cast_via(0, Choice::Approved, String::new(), Via::Slack, at(1))
            .unwrap();
        assert_eq!(request.stale_slack_posts(), vec![0, 1], "a vote: k of N");
        let key = request.slack_view().key();
        assert!(request.mark_shown(&[0], &key));
        assert_eq!(request.stale_slack_posts(), vec![1]);
        request
            .cast(1, Choice::Approved, String::new(), at(2))
            .unwrap();
        let SlackView::Decided { decision, by, .. } = request.slack_view() else {
            panic!("{:?}", request.slack_view());
        };
        assert_eq!(decision, Choice::Approved);
        assert_eq!(by.len(), 2, "both approvals named");
        assert!(!request.slack_view().is_open());
        assert_eq!(request.stale_slack_posts(), vec![0, 1]);
        assert_eq!(request.votes[0].via, Via::Slack);
        assert_eq!(request.votes[1].via, Via::Email);
    }
}
