//! The rules of voting on a request: what an approver may do now ([`Standing`]), and casting a
//! vote, of which the one that decides fixes the task output.

use crate::{
    Address, ApprovalRequest, ExecutionStatus, Timestamp,
    state::{Decided, Delivery, RequestState},
    task_output::TaskOutput,
    vote::{Choice, Tally, Via, Vote},
};

/// What an approver may do with the request right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    MayVote,
    /// They voted already (409), whatever happened since (unless the task was closed).
    Voted(Vote),
    /// Others decided it (410).
    Decided {
        decision: Choice,
        by: Address,
        at: Timestamp,
    },
    /// Step Functions closed the task before any decision reached it (410).
    Closed {
        reason: String,
        at: Timestamp,
    },
    /// Its time ran out undecided (410).
    Expired {
        at: Timestamp,
    },
    /// Its execution ended before anyone decided (410).
    Cancelled {
        status: ExecutionStatus,
        at: Timestamp,
    },
    /// No approver holds this slot (404: a credential never issued).
    NotAnApprover,
}

/// Why a vote was not taken: the standing that forbids it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("vote refused: {0:?}")]
pub struct Refusal(pub Standing);

/// A vote that was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    /// Recorded; the request still waits for `still_needed` approvals.
    Recorded { tally: Tally, still_needed: usize },
    /// This vote decided the request: send its output ([`ApprovalRequest::decided`]).
    Decided(Choice),
}

impl ApprovalRequest {
    /// How the request ended, whoever asks; `None` while it may still be voted on.
    pub fn ending(&self, now: Timestamp) -> Option<Standing> {
        match &self.state {
            RequestState::Decided(decided) => Some(Standing::Decided {
                decision: decided.decision,
                by: decided.by.clone(),
                at: decided.at,
            }),
            RequestState::Closed { reason, at } => Some(Standing::Closed {
                reason: reason.clone(),
                at: *at,
            }),
            RequestState::Expired { at, .. } => Some(Standing::Expired { at: *at }),
            RequestState::Cancelled { status, at, .. } => Some(Standing::Cancelled {
                status: *status,
                at: *at,
            }),
            RequestState::Pending if self.is_expired(now) => Some(Standing::Expired {
                at: self.expires_at,
            }),
            RequestState::Pending => None,
        }
    }

    pub fn standing(&self, slot: usize, now: Timestamp) -> Standing {
        let Some(approver) = self.approver(slot) else {
            return Standing::NotAnApprover;
        };
        // A closed task first: a vote cast on it decided nothing, the voter's own included.
        if let RequestState::Closed { reason, at } = &self.state {
            return Standing::Closed {
                reason: reason.clone(),
                at: *at,
            };
        }
        if let Some(vote) = self.vote_of(approver) {
            return Standing::Voted(vote.clone());
        }
        self.ending(now).unwrap_or(Standing::MayVote)
    }

    /// Records the vote of the approver in `slot`, cast with their email link.
    pub fn cast(
        &mut self,
        slot: usize,
        choice: Choice,
        comment: String,
        now: Timestamp,
    ) -> Result<Cast, Refusal> {
        self.cast_via(slot, choice, comment, Via::Email, now)
    }

    /// Records the vote of the approver in `slot`, cast `via` a channel: one vote per approver
    /// whatever the channel. The vote that decides also fixes the task output and takes the
    /// delivery on (its callback sends it).
    pub fn cast_via(
        &mut self,
        slot: usize,
        choice: Choice,
        comment: String,
        via: Via,
        now: Timestamp,
    ) -> Result<Cast, Refusal> {
        let standing = self.standing(slot, now);
        if standing != Standing::MayVote {
            return Err(Refusal(standing));
        }
        let approver = self.approvers[slot].address.clone();
        self.votes.push(Vote {
            approver: approver.clone(),
            choice,
            comment,
            voted_at: now,
            via,
        });
        self.version += 1;
        let tally = self.tally();
        let Some(decision) = tally.decision else {
            return Ok(Cast::Recorded {
                tally,
                still_needed: self.required_approvals.saturating_sub(tally.approvals),
            });
        };
        let output = TaskOutput::new(self, decision, &approver, now).to_json();
        self.state = RequestState::Decided(Decided {
            decision,
            by: approver,
            at: now,
            output,
            delivery: Delivery::Sending {
                since: now,
                may_have_arrived: false,
            },
            told_at: None,
        });
        Ok(Cast::Decided(decision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures::{self, at};

    #[test]
    fn two_of_three_approve_and_the_second_approval_decides() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        let first = request
            .cast(0, Choice::Approved, "ok".into(), at(1))
            .unwrap();
        assert!(matches!(
            first,
            Cast::Recorded {
                still_needed: 1,
                ..
            }
        ));
        assert_eq!(request.state, RequestState::Pending);
        assert_eq!(
            request.cast(1, Choice::Approved, String::new(), at(2)),
            Ok(Cast::Decided(Choice::Approved))
        );
        let decided = request.decided().unwrap();
        assert_eq!(
            decided.delivery,
            Delivery::Sending {
                since: at(2),
                may_have_arrived: false
            }
        );
        let output: serde_json::Value = serde_json::from_str(&decided.output).unwrap();
        assert_eq!(output["Decision"], "approved");
        assert_eq!(output["Approver"], "approver1@example.com");
        assert_eq!(output["Approvals"].as_array().unwrap().len(), 2);
        // The third approver comes too late.
        assert!(matches!(
            request.cast(2, Choice::Rejected, String::new(), at(3)),
            Err(Refusal(Standing::Decided {
                decision: Choice::Approved,
                ..
            }))
        ));
        assert_eq!(request.votes.len(), 2);
    }

    #[test]
    fn a_rejection_vetoes_and_a_second_vote_is_refused() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        assert!(matches!(
            request.cast(0, Choice::Rejected, String::new(), at(2)),
            Err(Refusal(Standing::Voted(_)))
        ));
        assert_eq!(
            request.cast(2, Choice::Rejected, "no".into(), at(3)),
            Ok(Cast::Decided(Choice::Rejected))
        );
        assert!(
            matches!(request.decided(), Some(Decided { decision: Choice::Rejected, by, .. }) if by.as_str() == "approver2@example.com")
        );
    }

    #[test]
    fn expiry_closes_voting_and_versions_count_every_change() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        let expires = request.expires_at;
        assert_eq!(request.version, 1);
        let late = expires.plus_seconds(0);
        assert_eq!(request.standing(0, late), Standing::Expired { at: expires });
        assert!(
            request
                .cast(0, Choice::Approved, String::new(), late)
                .is_err()
        );
        assert_eq!(request.version, 1, "a refused vote changes nothing");
        request
            .cast(0, Choice::Approved, String::new(), at(0))
            .unwrap();
        assert_eq!(request.version, 2);
    }
}
