//! Votes and the quorum rule: the first rejection rejects (a veto); the request is approved
//! once `required` approvals are in.

use serde::{Deserialize, Serialize};

use crate::{Address, Timestamp};

/// What an approver chose. Spelt as the task output's `Decision` ("approved" / "rejected").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    Approved,
    Rejected,
}

impl Choice {
    pub const ALL: [Choice; 2] = [Choice::Approved, Choice::Rejected];

    /// The link's `action`: exactly `approve` or `reject`.
    pub fn from_action(action: &str) -> Option<Self> {
        match action {
            "approve" => Some(Choice::Approved),
            "reject" => Some(Choice::Rejected),
            _ => None,
        }
    }

    pub fn action(self) -> &'static str {
        match self {
            Choice::Approved => "approve",
            Choice::Rejected => "reject",
        }
    }

    /// "approved" / "rejected", as in the output's `Decision`.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Approved => "approved",
            Choice::Rejected => "rejected",
        }
    }

    /// The button and email label: "Approve" / "Reject".
    pub fn label(self) -> &'static str {
        match self {
            Choice::Approved => "Approve",
            Choice::Rejected => "Reject",
        }
    }
}

/// How a vote reached the gate: by the approver's email link (a bearer credential), or by a
/// click in Slack (a user Slack authenticated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A vote recorded before Slack existed came by link.
    #[default]
    Email,
    Slack,
}

impl Via {
    /// "email" / "slack", as the output's and the events' `Via`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Email => "email",
            Via::Slack => "slack",
        }
    }
}

/// The longest comment a vote may carry, by link or in Slack (characters, after trimming).
pub const MAX_COMMENT_CHARS: usize = 2000;

/// One approver's recorded vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vote {
    pub approver: Address,
    pub choice: Choice,
    pub comment: String,
    pub voted_at: Timestamp,
    /// Absent from a record written before Slack: email.
    #[serde(default)]
    pub via: Via,
}

/// Where the votes stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    pub approvals: usize,
    pub rejections: usize,
    /// The decision the votes make, if they make one yet.
    pub decision: Option<Choice>,
}

/// Counts `votes` against a quorum of `required` approvals.
pub fn tally<'a>(votes: impl IntoIterator<Item = &'a Vote>, required: usize) -> Tally {
    let (mut approvals, mut rejections) = (0, 0);
    for vote in votes {
        match vote.choice {
            Choice::Approved => approvals += 1,
            Choice::Rejected => rejections += 1,
        }
    }
    let decision = if rejections > 0 {
        Some(Choice::Rejected)
    } else if approvals >= required.max(1) {
        Some(Choice::Approved)
    } else {
        None
    };
    Tally {
        approvals,
        rejections,
        decision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(n: usize, choice: Choice) -> Vote {
        Vote {
            approver: Address::parse(&format!("a{n}@example.com")).unwrap(),
            choice,
            comment: String::new(),
            voted_at: Timestamp::from_unix(0).unwrap(),
            via: Via::Email,
        }
    }

    #[test]
    fn actions_are_exactly_approve_and_reject() {
        assert_eq!(Choice::from_action("approve"), Some(Choice::Approved));
        assert_eq!(Choice::from_action("reject"), Some(Choice::Rejected));
        for other in ["Approve", "approve ", "approved", "", "deny"] {
            assert_eq!(Choice::from_action(other), None, "{other:?}");
        }
    }

    /// Every sequence of votes for every quorum with up to four approvers: the decision is made
    /// by the first rejection or the `required`-th approval, and never changes after.
    #[test]
    fn every_order_of_votes_for_up_to_four_approvers() {
        for approvers in 1..=4usize {
            for required in 1..=approvers {
                for length in 0..=approvers {
                    for bits in 0..(1u32 << length) {
                        let votes: Vec<Vote> = (0..length)
                            .map(|i| {
                                vote(
                                    i,
                                    if bits >> i & 1 == 1 {
                                        Choice::Rejected
                                    } else {
                                        Choice::Approved
                                    },
                                )
                            })
                            .collect();
                        let mut expected = None;
                        let mut approvals = 0;
                        for v in &votes {
                            if expected.is_some() {
                                break;
                            }
                            match v.choice {
                                Choice::Rejected => expected = Some(Choice::Rejected),
                                Choice::Approved => {
                                    approvals += 1;
                                    if approvals == required {
                                        expected = Some(Choice::Approved);
                                    }
                                }
                            }
                        }
                        // The record stops taking votes once decided; tally what it would hold.
                        let decided_at = votes
                            .iter()
                            .enumerate()
                            .find(|(i, _)| tally(&votes[..=*i], required).decision.is_some())
                            .map(|(i, _)| i + 1)
                            .unwrap_or(votes.len());
                        let t = tally(&votes[..decided_at], required);
                        assert_eq!(
                            t.decision, expected,
                            "M={approvers} N={required} votes={bits:b}/{length}"
                        );
                        assert_eq!(t.approvals + t.rejections, decided_at);
                    }
                }
            }
        }
    }
}
