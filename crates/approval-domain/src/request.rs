//! The approval request: the record of one waiting task.
//!
//! Every change is a method that bumps [`ApprovalRequest::version`] (here, in [`crate::voting`]
//! and in [`crate::delivery`]); the store writes the changed record only if it still holds the
//! version it was read at (compare-and-swap), so two callbacks racing on one request can never
//! both win. How the request stands is one value, [`RequestState`].

use serde::{Deserialize, Serialize};

use crate::{
    Address, Choice, Credential, ExecutionArn, RequestId, SlackPost, TaskToken, Timestamp,
    approver::{ApproverEntry, LinkCredentials},
    nudge::{Nudge, PlannedNudge},
    state::{Decided, RequestState},
    vote::{Tally, Vote, tally},
};

/// Everything needed to open a request; checked by whoever builds it (send-email's payload).
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub task_token: TaskToken,
    pub execution_arn: ExecutionArn,
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
    /// Reminders and escalations, in the order asked ([`crate::nudge`]).
    pub nudges: Vec<PlannedNudge>,
}

/// The record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalRequest {
    pub request_id: RequestId,
    pub version: u64,
    pub task_token: TaskToken,
    pub execution_arn: ExecutionArn,
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
    /// Reminders and escalations planned when it opened, and when each fired. Absent from a
    /// record written before nudges: none.
    #[serde(default)]
    pub nudges: Vec<Nudge>,
    pub state: RequestState,
    /// How many of the request's events ([`crate::events`]) were put: those after are still
    /// to be put. Absent from a record written before events: none put.
    #[serde(default)]
    pub events_put: usize,
    /// The Slack messages posted about it ([`crate::slack`]). Absent from a record written
    /// before Slack: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_posts: Vec<SlackPost>,
    /// DynamoDB's TTL attribute: the record goes this long after it expired.
    pub expires_at_epoch: i64,
}

impl ApprovalRequest {
    /// The record of a new request, and each approver's two credentials (in slot order). The
    /// credentials exist only in the returned value: mail them, then forget them.
    pub fn open(new: NewRequest) -> (Self, Vec<LinkCredentials>) {
        let request_id = RequestId::for_task(&new.task_token);
        assert!(
            !new.approvers.is_empty() && new.approvers.len() <= usize::from(u8::MAX),
            "a request has 1..=255 approvers"
        );
        let required_approvals = new.required_approvals.clamp(1, new.approvers.len());
        let credentials: Vec<LinkCredentials> = (0..new.approvers.len())
            .map(|slot| LinkCredentials::issue(&request_id, slot as u8))
            .collect();
        let approvers = new
            .approvers
            .into_iter()
            .zip(&credentials)
            .map(|(address, credentials)| ApproverEntry::new(address, credentials))
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
            nudges: new
                .nudges
                .into_iter()
                .map(|plan| Nudge::planned(plan, new.created_at))
                .collect(),
            state: RequestState::Pending,
            events_put: 0,
            slack_posts: Vec::new(),
            expires_at_epoch: new.expires_at.plus_seconds(new.retention_seconds).unix(),
        };
        (record, credentials)
    }

    /// The execution's name: the last part of its ARN.
    pub fn execution_name(&self) -> &str {
        self.execution_arn.name()
    }

    pub fn state_machine_name(&self) -> &str {
        self.state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
    }

    /// The slot whose link for `choice` `credential` is, if it is one of this request's.
    pub fn authenticate(&self, credential: &Credential, choice: Choice) -> Option<usize> {
        let entry = self.approvers.get(credential.slot())?;
        (credential.request_id() == &self.request_id && entry.holds(credential, choice))
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
            RequestState::Pending
            | RequestState::Closed { .. }
            | RequestState::Expired { .. }
            | RequestState::Cancelled { .. } => None,
        }
    }

    /// Fresh credentials for the approvers whose email has not gone out yet (a retried
    /// invocation); those already mailed keep theirs, so their links keep working.
    pub fn reissue_unnotified(&mut self) -> Vec<(usize, LinkCredentials)> {
        let mut issued = Vec::new();
        for (slot, entry) in self.approvers.iter_mut().enumerate() {
            if entry.notified_at.is_none() {
                let credentials = LinkCredentials::issue(&self.request_id, slot as u8);
                entry.link_hashes = credentials.hashes();
                issued.push((slot, credentials));
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
    use crate::{
        Choice,
        memory::fixtures::{self, at},
    };

    #[test]
    fn the_id_follows_the_token_and_credentials_open_only_their_slot() {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
        assert_eq!(request.request_id, RequestId::for_task(&request.task_token));
        assert_eq!(credentials.len(), 3);
        for (slot, pair) in credentials.iter().enumerate() {
            for choice in Choice::ALL {
                assert_eq!(request.authenticate(pair.of(choice), choice), Some(slot));
            }
            assert_eq!(
                request.authenticate(&pair.reject, Choice::Approved),
                None,
                "a Reject link never approves"
            );
            assert_eq!(request.authenticate(&pair.approve, Choice::Rejected), None);
        }
        let (other, other_credentials) =
            ApprovalRequest::open(fixtures::new_request_with_token("another-token", 3, 2));
        assert_ne!(other.request_id, request.request_id);
        assert_eq!(
            request.authenticate(&other_credentials[0].approve, Choice::Approved),
            None
        );
    }

    #[test]
    fn reissue_keeps_the_credentials_already_mailed() {
        let (mut request, credentials) = ApprovalRequest::open(fixtures::new_request(2, 1));
        request.mark_notified(&[0], at(0));
        let reissued = request.reissue_unnotified();
        assert_eq!(reissued.len(), 1);
        assert_eq!(reissued[0].0, 1);
        for choice in Choice::ALL {
            assert_eq!(
                request.authenticate(credentials[0].of(choice), choice),
                Some(0),
                "mailed link still works"
            );
            assert_eq!(
                request.authenticate(credentials[1].of(choice), choice),
                None,
                "unmailed secret replaced"
            );
            assert_eq!(
                request.authenticate(reissued[0].1.of(choice), choice),
                Some(1)
            );
        }
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
