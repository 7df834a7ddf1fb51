//! The approval request: the record of one waiting task, and the rules of voting on it.
//!
//! Every change is a method here that bumps [`ApprovalRequest::version`]; the store writes the
//! changed record only if it still holds the version it was read at (compare-and-swap), so two
//! callbacks racing on one request can never both win. How the request stands is one value,
//! [`RequestState`].

use serde::{Deserialize, Serialize};

use crate::{
    Address, Credential, CredentialHash, RequestId, TaskToken, Timestamp,
    state::{ClosedTask, Decided, Delivery, RequestState},
    task_output::TaskOutput,
    vote::{Choice, Tally, Vote, tally},
};

/// One approver of a request, in the slot their credential names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApproverEntry {
    pub address: Address,
    pub credential_hash: CredentialHash,
    /// When their approval email was published; `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<Timestamp>,
}

/// Everything needed to open a request; checked by whoever builds it (send-email's payload).
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub task_token: TaskToken,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub subject: String,
    pub summary: Option<String>,
    pub requested_by: Option<Address>,
    /// The details as shown (see [`crate::details::render`]).
    pub details: String,
    pub approvers: Vec<Address>,
    pub required_approvals: usize,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// How long the record stays after it expired, for the audit trail.
    pub retention_seconds: u64,
}

/// The record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalRequest {
    pub request_id: RequestId,
    pub version: u64,
    pub task_token: TaskToken,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<Address>,
    pub details: String,
    pub approvers: Vec<ApproverEntry>,
    pub required_approvals: usize,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub votes: Vec<Vote>,
    pub state: RequestState,
    /// DynamoDB's TTL attribute: the record goes this long after it expired.
    pub expires_at_epoch: i64,
}

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
    /// The record of a new request, and each approver's credential (in slot order). The
    /// credentials exist only in the returned value: mail them, then forget them.
    pub fn open(new: NewRequest) -> (Self, Vec<Credential>) {
        let request_id = RequestId::for_task(&new.task_token);
        assert!(
            !new.approvers.is_empty() && new.approvers.len() <= usize::from(u8::MAX),
            "a request has 1..=255 approvers"
        );
        let required_approvals = new.required_approvals.clamp(1, new.approvers.len());
        let credentials: Vec<Credential> = (0..new.approvers.len())
            .map(|slot| Credential::issue(&request_id, slot as u8))
            .collect();
        let approvers = new
            .approvers
            .into_iter()
            .zip(&credentials)
            .map(|(address, credential)| ApproverEntry {
                address,
                credential_hash: credential.hash(),
                notified_at: None,
            })
            .collect();
        let record = Self {
            request_id,
            version: 1,
            task_token: new.task_token,
            execution_arn: new.execution_arn,
            state_machine_arn: new.state_machine_arn,
            subject: new.subject,
            summary: new.summary,
            requested_by: new.requested_by,
            details: new.details,
            approvers,
            required_approvals,
            created_at: new.created_at,
            expires_at: new.expires_at,
            votes: Vec::new(),
            state: RequestState::Pending,
            expires_at_epoch: new.expires_at.plus_seconds(new.retention_seconds).unix(),
        };
        (record, credentials)
    }

    /// The execution's name: the last part of its ARN.
    pub fn execution_name(&self) -> &str {
        self.execution_arn.rsplit(':').next().unwrap_or_default()
    }

    pub fn state_machine_name(&self) -> &str {
        self.state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
    }

    /// The slot `credential` opens, if it is one of this request's.
    pub fn authenticate(&self, credential: &Credential) -> Option<usize> {
        let entry = self.approvers.get(credential.slot())?;
        (credential.request_id() == &self.request_id && credential.matches(&entry.credential_hash))
            .then_some(credential.slot())
    }

    pub fn approver(&self, slot: usize) -> Option<&Address> {
        self.approvers.get(slot).map(|entry| &entry.address)
    }

    pub fn tally(&self) -> Tally {
        tally(&self.votes, self.required_approvals)
    }

    pub fn vote_of(&self, approver: &Address) -> Option<&Vote> {
        self.votes.iter().find(|vote| &vote.approver == approver)
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// The decision, if one was made.
    pub fn decided(&self) -> Option<&Decided> {
        match &self.state {
            RequestState::Decided(decided) => Some(decided),
            RequestState::Pending | RequestState::Closed { .. } => None,
        }
    }

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

    /// Records the vote of the approver in `slot`. The vote that decides also fixes the task
    /// output and takes the delivery on (its callback sends it).
    pub fn cast(
        &mut self,
        slot: usize,
        choice: Choice,
        comment: String,
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
        });
        Ok(Cast::Decided(decision))
    }

    /// Takes over sending a decision whose last attempt failed, or whose sender went quiet for
    /// longer than `stale_after_seconds` (the function's timeout). `false`: nothing to take.
    pub fn claim_delivery(&mut self, now: Timestamp, stale_after_seconds: i64) -> bool {
        let RequestState::Decided(decided) = &mut self.state else {
            return false;
        };
        let claimed = decided.claim(now, stale_after_seconds);
        if claimed {
            self.version += 1;
        }
        claimed
    }

    /// Step Functions took the decision.
    pub fn delivered(&mut self, now: Timestamp) {
        self.set_delivery(|_| Delivery::Sent { at: now });
    }

    /// Sending the decision failed in a way worth retrying; `answered`: Step Functions answered
    /// with an error (it did not take it), rather than not answering at all (it may have).
    pub fn not_delivered(&mut self, answered: bool) {
        self.set_delivery(|decided| Delivery::Retry {
            may_have_arrived: decided.may_have_arrived() || !answered,
        });
    }

    /// Sending the decision met a closed task (`reason`: Step Functions' error code). If no
    /// earlier attempt can have reached it, nothing was decided: the request is closed.
    pub fn task_closed(&mut self, reason: &str, now: Timestamp) -> ClosedTask {
        let reason = reason.to_owned();
        let may_have_arrived = self.decided().is_some_and(Decided::may_have_arrived);
        self.version += 1;
        if may_have_arrived {
            if let RequestState::Decided(decided) = &mut self.state {
                decided.delivery = Delivery::Unconfirmed { reason, at: now };
            }
            ClosedTask::Unconfirmed
        } else {
            self.state = RequestState::Closed { reason, at: now };
            ClosedTask::BeforeTheDecision
        }
    }

    fn set_delivery(&mut self, delivery: impl FnOnce(&Decided) -> Delivery) {
        if let RequestState::Decided(decided) = &mut self.state {
            decided.delivery = delivery(decided);
            self.version += 1;
        }
    }

    /// Fresh credentials for the approvers whose email has not gone out yet (a retried
    /// invocation); those already mailed keep theirs, so their links keep working.
    pub fn reissue_unnotified(&mut self) -> Vec<(usize, Credential)> {
        let mut issued = Vec::new();
        for (slot, entry) in self.approvers.iter_mut().enumerate() {
            if entry.notified_at.is_none() {
                let credential = Credential::issue(&self.request_id, slot as u8);
                entry.credential_hash = credential.hash();
                issued.push((slot, credential));
            }
        }
        if !issued.is_empty() {
            self.version += 1;
        }
        issued
    }

    pub fn mark_notified(&mut self, slots: &[usize], now: Timestamp) {
        for &slot in slots {
            if let Some(entry) = self.approvers.get_mut(slot) {
                entry.notified_at = Some(now);
            }
        }
        self.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn the_id_follows_the_token_and_credentials_open_only_their_slot() {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
        assert_eq!(request.request_id, RequestId::for_task(&request.task_token));
        assert_eq!(credentials.len(), 3);
        for (slot, credential) in credentials.iter().enumerate() {
            assert_eq!(request.authenticate(credential), Some(slot));
        }
        let (other, other_credentials) =
            ApprovalRequest::open(fixtures::new_request_with_token("another-token", 3, 2));
        assert_ne!(other.request_id, request.request_id);
        assert_eq!(request.authenticate(&other_credentials[0]), None);
    }

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

    #[test]
    fn delivery_is_claimed_once_after_a_failure_or_a_stale_sender() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        assert!(
            !request.claim_delivery(at(0), 10),
            "nothing to deliver before a decision"
        );
        request
            .cast(0, Choice::Approved, String::new(), at(0))
            .unwrap();
        assert!(
            !request.claim_delivery(at(5), 10),
            "the decider is still sending"
        );
        assert!(request.claim_delivery(at(11), 10), "the decider went quiet");
        request.not_delivered(true);
        assert!(request.claim_delivery(at(12), 10));
        assert!(!request.claim_delivery(at(12), 10), "claimed already");
        request.delivered(at(13));
        assert!(!request.claim_delivery(at(100), 10));
        assert_eq!(
            request.decided().unwrap().delivery,
            Delivery::Sent { at: at(13) }
        );
    }

    #[test]
    fn a_task_closed_before_any_attempt_reached_it_closes_the_request_undecided() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        // The deciding vote's own send, and a retry after Step Functions answered with an error.
        request.not_delivered(true);
        assert!(request.claim_delivery(at(2), 10));
        assert_eq!(
            request.task_closed("TaskTimedOut", at(2)),
            ClosedTask::BeforeTheDecision
        );
        assert_eq!(
            request.state,
            RequestState::Closed {
                reason: "TaskTimedOut".into(),
                at: at(2)
            }
        );
        assert!(request.decided().is_none(), "nothing was decided");
        let closed = Standing::Closed {
            reason: "TaskTimedOut".into(),
            at: at(2),
        };
        assert_eq!(request.standing(1, at(3)), closed, "not 'approved by 0'");
        assert_eq!(
            request.standing(0, at(3)),
            closed,
            "their vote decided nothing"
        );
        assert_eq!(
            request.cast(1, Choice::Approved, String::new(), at(3)),
            Err(Refusal(closed))
        );
    }

    #[test]
    fn a_task_closed_after_an_unanswered_attempt_leaves_the_decision_unconfirmed() {
        // The decider's send got no answer (a timeout): Step Functions may have taken it.
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        request.not_delivered(false);
        assert!(request.claim_delivery(at(2), 10));
        assert_eq!(
            request.task_closed("TaskTimedOut", at(2)),
            ClosedTask::Unconfirmed
        );
        // The decider's answer posted, its "sent" mark lost; a stale claim 11 s later.
        let (mut lost_mark, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        lost_mark
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        assert!(lost_mark.claim_delivery(at(12), 10));
        assert_eq!(
            lost_mark.task_closed("TaskTimedOut", at(12)),
            ClosedTask::Unconfirmed
        );
        for request in [request, lost_mark] {
            let decided = request.decided().expect("the decision stands");
            assert!(matches!(
                &decided.delivery,
                Delivery::Unconfirmed { reason, .. } if reason == "TaskTimedOut"
            ));
            assert!(matches!(
                request.standing(1, at(20)),
                Standing::Decided {
                    decision: Choice::Approved,
                    ..
                }
            ));
        }
    }

    #[test]
    fn reissue_keeps_the_credentials_already_mailed() {
        let (mut request, credentials) = ApprovalRequest::open(fixtures::new_request(2, 1));
        request.mark_notified(&[0], at(0));
        let reissued = request.reissue_unnotified();
        assert_eq!(reissued.len(), 1);
        assert_eq!(reissued[0].0, 1);
        assert_eq!(
            request.authenticate(&credentials[0]),
            Some(0),
            "mailed link still works"
        );
        assert_eq!(
            request.authenticate(&credentials[1]),
            None,
            "unmailed secret replaced"
        );
        assert_eq!(request.authenticate(&reissued[0].1), Some(1));
    }

    #[test]
    fn the_record_round_trips_through_serde_and_never_debug_prints_the_token() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 2));
        request
            .cast(0, Choice::Approved, "fine".into(), at(0))
            .unwrap();
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["State"], serde_json::json!({"Name": "pending"}));
        assert_eq!(json["Votes"][0]["Choice"], "approved");
        let back: ApprovalRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
        request
            .cast(1, Choice::Approved, String::new(), at(1))
            .unwrap();
        request.delivered(at(2));
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["State"]["Name"], "decided");
        assert_eq!(json["State"]["By"], "approver1@example.com");
        assert_eq!(
            json["State"]["Delivery"],
            serde_json::json!({"Name": "sent", "At": "2027-01-15T08:00:02Z"})
        );
        let back: ApprovalRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
        assert!(!format!("{request:?}").contains(request.task_token.expose()));
    }
}
