//! The approval request: the record of one waiting task, and the rules of voting on it.
//!
//! Every change is a method here that bumps [`ApprovalRequest::version`]; the store writes the
//! changed record only if it still holds the version it was read at (compare-and-swap), so two
//! callbacks racing on one request can never both win.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Address, Credential, CredentialHash, Timestamp,
    task_output::TaskOutput,
    vote::{Choice, Tally, Vote, tally},
};

/// The id of a request: base64url of 16 bytes derived from the task token, so the same task
/// (an invocation retried by the state machine) always finds the same request.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId([u8; RequestId::BYTES]);

impl RequestId {
    pub const BYTES: usize = 16;

    pub fn for_task(token: &TaskToken) -> Self {
        let digest = Sha256::new()
            .chain_update(b"approval-gate/request/v2\0")
            .chain_update(token.expose().as_bytes())
            .finalize();
        let mut id = [0u8; Self::BYTES];
        id.copy_from_slice(&digest[..Self::BYTES]);
        Self(id)
    }

    pub fn from_bytes(bytes: [u8; Self::BYTES]) -> Self {
        Self(bytes)
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

impl TryFrom<String> for RequestId {
    type Error = String;
    fn try_from(encoded: String) -> Result<Self, Self::Error> {
        URL_SAFE_NO_PAD
            .decode(&encoded)
            .ok()
            .and_then(|raw| <[u8; Self::BYTES]>::try_from(raw).ok())
            .map(Self)
            .ok_or_else(|| format!("`{encoded}` is not a request id"))
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> Self {
        id.to_string()
    }
}

/// A Step Functions task token: a bearer credential for the task's result. Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for `SendTaskSuccess` and the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<{} chars, redacted>)", self.0.len())
    }
}

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

/// How the request ended, or that it has not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "State",
    rename_all = "lowercase",
    rename_all_fields = "PascalCase"
)]
pub enum Outcome {
    Pending,
    Decided {
        decision: Choice,
        decided_by: Address,
        decided_at: Timestamp,
    },
}

/// Whether Step Functions has been told the decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "State",
    rename_all = "kebab-case",
    rename_all_fields = "PascalCase"
)]
pub enum Delivery {
    /// No decision yet.
    Waiting,
    /// A callback is sending it (the one that recorded the decision, or one that took over).
    Sending {
        since: Timestamp,
    },
    /// The last attempt failed in a way worth retrying: the next vote of the request sends it.
    Retry,
    Sent {
        at: Timestamp,
    },
    /// Step Functions no longer has the task (timed out, execution ended).
    TaskClosed {
        reason: String,
    },
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
    pub outcome: Outcome,
    pub delivery: Delivery,
    /// The `SendTaskSuccess` output, fixed when the decision is recorded, so a retry sends the
    /// very same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_output: Option<String>,
    /// DynamoDB's TTL attribute: the record goes this long after it expired.
    pub expires_at_epoch: i64,
}

/// What an approver may do with the request right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    MayVote,
    /// They voted already (409), whatever happened since.
    Voted(Vote),
    /// Others decided it (410).
    Decided {
        decision: Choice,
        by: Address,
        at: Timestamp,
    },
    /// Its time ran out undecided (410).
    Expired {
        at: Timestamp,
    },
    /// Step Functions no longer has its task (410).
    TaskClosed,
}

/// Why a vote was not taken: the standing that forbids it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("vote refused: {0:?}")]
pub struct Refusal(pub Standing);

/// A vote that was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// Recorded; the request still waits for `still_needed` approvals.
    Recorded { tally: Tally, still_needed: usize },
    /// This vote decided the request: send the task output.
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
            outcome: Outcome::Pending,
            delivery: Delivery::Waiting,
            task_output: None,
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

    pub fn standing(&self, slot: usize, now: Timestamp) -> Standing {
        let Some(approver) = self.approver(slot) else {
            return Standing::TaskClosed;
        };
        if let Some(vote) = self.vote_of(approver) {
            return Standing::Voted(vote.clone());
        }
        if let Outcome::Decided {
            decision,
            decided_by,
            decided_at,
        } = &self.outcome
        {
            return Standing::Decided {
                decision: *decision,
                by: decided_by.clone(),
                at: *decided_at,
            };
        }
        if matches!(self.delivery, Delivery::TaskClosed { .. }) {
            return Standing::TaskClosed;
        }
        if self.is_expired(now) {
            return Standing::Expired {
                at: self.expires_at,
            };
        }
        Standing::MayVote
    }

    /// Records the vote of the approver in `slot`. The vote that decides also fixes the task
    /// output and takes the delivery on (its callback sends it).
    pub fn cast(
        &mut self,
        slot: usize,
        choice: Choice,
        comment: String,
        now: Timestamp,
    ) -> Result<VoteResult, Refusal> {
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
        match tally.decision {
            None => Ok(VoteResult::Recorded {
                tally,
                still_needed: self.required_approvals.saturating_sub(tally.approvals),
            }),
            Some(decision) => {
                self.outcome = Outcome::Decided {
                    decision,
                    decided_by: approver,
                    decided_at: now,
                };
                self.task_output = Some(TaskOutput::of(self).to_json());
                self.delivery = Delivery::Sending { since: now };
                Ok(VoteResult::Decided(decision))
            }
        }
    }

    /// Takes over sending a decision whose last attempt failed, or whose sender went quiet for
    /// longer than `stale_after_seconds` (the function's timeout). `false`: nothing to take.
    pub fn claim_delivery(&mut self, now: Timestamp, stale_after_seconds: i64) -> bool {
        if !matches!(self.outcome, Outcome::Decided { .. }) {
            return false;
        }
        let claimable = match self.delivery {
            Delivery::Retry => true,
            Delivery::Sending { since } => now.seconds_since(since) > stale_after_seconds,
            Delivery::Waiting | Delivery::Sent { .. } | Delivery::TaskClosed { .. } => false,
        };
        if claimable {
            self.delivery = Delivery::Sending { since: now };
            self.version += 1;
        }
        claimable
    }

    pub fn delivered(&mut self, now: Timestamp) {
        self.delivery = Delivery::Sent { at: now };
        self.version += 1;
    }

    pub fn delivery_failed(&mut self) {
        self.delivery = Delivery::Retry;
        self.version += 1;
    }

    pub fn task_closed(&mut self, reason: impl Into<String>) {
        self.delivery = Delivery::TaskClosed {
            reason: reason.into(),
        };
        self.version += 1;
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
            VoteResult::Recorded {
                still_needed: 1,
                ..
            }
        ));
        assert_eq!(request.delivery, Delivery::Waiting);
        assert_eq!(
            request.cast(1, Choice::Approved, String::new(), at(2)),
            Ok(VoteResult::Decided(Choice::Approved))
        );
        assert_eq!(request.delivery, Delivery::Sending { since: at(2) });
        let output: serde_json::Value =
            serde_json::from_str(request.task_output.as_deref().unwrap()).unwrap();
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
            Ok(VoteResult::Decided(Choice::Rejected))
        );
        assert!(
            matches!(&request.outcome, Outcome::Decided { decision: Choice::Rejected, decided_by, .. } if decided_by.as_str() == "approver2@example.com")
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
        request.delivery_failed();
        assert!(request.claim_delivery(at(12), 10));
        assert!(!request.claim_delivery(at(12), 10), "claimed already");
        request.delivered(at(13));
        assert!(!request.claim_delivery(at(100), 10));
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
        assert_eq!(json["Outcome"], serde_json::json!({"State": "pending"}));
        assert_eq!(json["Delivery"], serde_json::json!({"State": "waiting"}));
        assert_eq!(json["Votes"][0]["Choice"], "approved");
        let back: ApprovalRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
        assert!(!format!("{request:?}").contains(request.task_token.expose()));
    }
}
