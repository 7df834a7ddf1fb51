//! What the gate tells the rest of the system: one event per change of a request, derived from
//! the record alone, so that whoever reads the record (send-email, on each change) puts each
//! event once: [`ApprovalRequest::events_put`] counts those already put.
//!
//! A request's events are a sequence that only grows: `Approval Requested`, one `Approval Vote
//! Recorded` per vote in the order cast, then how it ended (`Approval Decided` once Step
//! Functions has the decision, `Approval Expired`, or `Approval Cancelled`). `Approval Delivery
//! Failed`, `Approval Reminder Sent` and `Approval Escalated` are not in that sequence: they are
//! put by whoever failed to deliver or fired the nudge ([`GateEvent::delivery_failed`],
//! [`GateEvent::nudged`]).
//!
//! The detail is versioned (`version`, now "1") and described by
//! `schemas/approval-event.schema.json`. It never holds a task token, a credential or a link.

use serde::Serialize;

use crate::{
    Address, ApprovalRequest, Choice, Decided, Delivery, ExecutionArn, Fired, RequestId,
    RequestState, Timestamp, Vote,
};

/// The detail's version: a consumer that reads `version` "1" may rely on every field the
/// schema requires. A field is only ever added within a version.
pub const DETAIL_VERSION: &str = "1";

/// The events' source.
pub const SOURCE: &str = "approval-gate";

/// Which change an event tells of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Requested,
    VoteRecorded,
    Decided,
    Expired,
    Cancelled,
    DeliveryFailed,
    ReminderSent,
    Escalated,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Requested,
        EventKind::VoteRecorded,
        EventKind::Decided,
        EventKind::Expired,
        EventKind::Cancelled,
        EventKind::DeliveryFailed,
        EventKind::ReminderSent,
        EventKind::Escalated,
    ];

    /// The EventBridge `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::Requested => "Approval Requested",
            EventKind::VoteRecorded => "Approval Vote Recorded",
            EventKind::Decided => "Approval Decided",
            EventKind::Expired => "Approval Expired",
            EventKind::Cancelled => "Approval Cancelled",
            EventKind::DeliveryFailed => "Approval Delivery Failed",
            EventKind::ReminderSent => "Approval Reminder Sent",
            EventKind::Escalated => "Approval Escalated",
        }
    }
}

/// One event: what changed, when, and the request as it then stood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateEvent {
    pub kind: EventKind,
    /// When the change happened (the vote's time, the decision's, …), not when it was put.
    pub time: Timestamp,
    pub detail: EventDetail,
}

/// The event's `detail`, as its schema describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    pub version: &'static str,
    pub request_id: RequestId,
    pub execution_arn: ExecutionArn,
    pub state_machine_arn: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What the workflow stated, never verified (`null` when it stated nothing).
    pub requested_by: Option<Address>,
    pub required_approvals: usize,
    pub approvers: Vec<Address>,
    pub expires_at: Timestamp,
    /// The votes cast up to this change, in order.
    pub votes: Vec<EventVote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Choice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// Why it was cancelled (the execution's status, or why Step Functions closed the task),
    /// expired, or what could not be delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The channel a delivery failed on (`email`, `schedule`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<&'static str>,
    /// `Approval Reminder Sent`: the approvers reminded (those who had not voted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminded: Option<Vec<Address>>,
    /// `Approval Escalated`: the approvers it added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<Vec<Address>>,
}

/// A vote as events show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventVote {
    pub approver: Address,
    pub decision: Choice,
    pub comment: String,
    pub at: Timestamp,
    /// How the vote came: `email` (a link) or `slack`.
    pub via: &'static str,
}

impl From<&Vote> for EventVote {
    fn from(vote: &Vote) -> Self {
        Self {
            approver: vote.approver.clone(),
            decision: vote.choice,
            comment: vote.comment.clone(),
            at: vote.voted_at,
            via: vote.via.as_str(),
        }
    }
}

impl GateEvent {
    /// Something the gate owed `request`'s approvers did not reach them on `channel`.
    pub fn delivery_failed(
        request: &ApprovalRequest,
        channel: &'static str,
        reason: String,
        now: Timestamp,
    ) -> Self {
        let mut detail = request.detail(request.votes.len());
        detail.reason = Some(reason);
        detail.channel = Some(channel);
        Self {
            kind: EventKind::DeliveryFailed,
            time: now,
            detail,
        }
    }
}

impl GateEvent {
    /// What firing a nudge did, as an event (put when it fired, not from the record).
    pub fn nudged(request: &ApprovalRequest, fired: &Fired, now: Timestamp) -> Self {
        let mut detail = request.detail(request.votes.len());
        let address = |slot: &usize| request.approvers[*slot].address.clone();
        let kind = match fired {
            Fired::Remind { slots } => {
                detail.reminded = Some(slots.iter().map(address).collect());
                EventKind::ReminderSent
            }
            Fired::Escalate { added } => {
                detail.added = Some(added.iter().map(|(slot, _)| address(slot)).collect());
                EventKind::Escalated
            }
        };
        Self {
            kind,
            time: now,
            detail,
        }
    }
}

impl ApprovalRequest {
    /// Every event of the request so far, in order (see the module's doc).
    pub fn events(&self) -> Vec<GateEvent> {
        let mut events = vec![GateEvent {
            kind: EventKind::Requested,
            time: self.created_at,
            detail: self.detail(0),
        }];
        for (index, vote) in self.votes.iter().enumerate() {
            events.push(GateEvent {
                kind: EventKind::VoteRecorded,
                time: vote.voted_at,
                detail: self.detail(index + 1),
            });
        }
        events.extend(self.ending_event());
        events
    }

    /// The events not put yet.
    pub fn unput_events(&self) -> Vec<GateEvent> {
        let mut events = self.events();
        events.drain(..self.events_put.min(events.len()));
        events
    }

    /// Records that the first `count` events ([`Self::events`]) were put; whether that changed
    /// the record (a count at or below what it says already changes nothing).
    pub fn mark_events_put(&mut self, count: usize) -> bool {
        let count = count.min(self.events().len());
        if count <= self.events_put {
            return false;
        }
        self.events_put = count;
        self.version += 1;
        true
    }

    /// How it ended, as an event, once that is settled: a decision once Step Functions has it
    /// (until then it may still become a closed task).
    fn ending_event(&self) -> Option<GateEvent> {
        let mut detail = self.detail(self.votes.len());
        let (kind, time) = match &self.state {
            RequestState::Pending => return None,
            RequestState::Decided(Decided {
                delivery: Delivery::Sending { .. } | Delivery::Retry { .. },
                ..
            }) => return None,
            RequestState::Decided(decided) => {
                detail.decision = Some(decided.decision);
                detail.decided_by = Some(decided.by.clone());
                detail.decided_at = Some(decided.at);
                (EventKind::Decided, decided.at)
            }
            RequestState::Expired { at, .. } => {
                detail.reason = Some("its time ran out before a decision".into());
                (EventKind::Expired, *at)
            }
            RequestState::Cancelled { status, at, .. } => {
                detail.reason = Some(status.as_str().into());
                (EventKind::Cancelled, *at)
            }
            RequestState::Closed { reason, at } => {
                detail.reason = Some(reason.clone());
                (EventKind::Cancelled, *at)
            }
        };
        Some(GateEvent { kind, time, detail })
    }

    /// The detail with the first `votes` votes.
    fn detail(&self, votes: usize) -> EventDetail {
        EventDetail {
            version: DETAIL_VERSION,
            request_id: self.request_id.clone(),
            execution_arn: self.execution_arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            subject: self.subject.clone(),
            summary: self.summary.clone(),
            requested_by: self.requested_by.clone(),
            required_approvals: self.required_approvals,
            approvers: self.approvers.iter().map(|a| a.address.clone()).collect(),
            expires_at: self.expires_at,
            votes: self.votes[..votes].iter().map(EventVote::from).collect(),
            decision: None,
            decided_by: None,
            decided_at: None,
            reason: None,
            channel: None,
            reminded: None,
            added: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ExecutionStatus,
        memory::fixtures::{self, at},
    };

    fn kinds(events: &[GateEvent]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn each_change_of_a_two_of_three_request_adds_exactly_its_event() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        assert_eq!(kinds(&request.unput_events()), [EventKind::Requested]);
        assert!(request.mark_events_put(1));
        assert!(request.unput_events().is_empty());
        assert!(!request.mark_events_put(1), "nothing new: no write");
        assert!(
            !request.mark_events_put(7),
            "never past the events there are"
        );

        request
            .cast(0, Choice::Approved, "ship it".into(), at(1))
            .unwrap();
        let unput = request.unput_events();
        assert_eq!(kinds(&unput), [EventKind::VoteRecorded]);
        assert_eq!(unput[0].time, at(1));
        assert_eq!(unput[0].detail.votes.len(), 1);
        assert_eq!(unput[0].detail.votes[0].comment, "ship it");
        request.mark_events_put(2);

        request
            .cast(1, Choice::Approved, String::new(), at(2))
            .unwrap();
        assert_eq!(
            kinds(&request.unput_events()),
            [EventKind::VoteRecorded],
            "decided, but Step Functions does not have it yet"
        );
        request.delivered(at(3));
        let unput = request.unput_events();
        assert_eq!(kinds(&unput), [EventKind::VoteRecorded, EventKind::Decided]);
        let decided = &unput[1].detail;
        assert_eq!(decided.decision, Some(Choice::Approved));
        assert_eq!(decided.decided_by, Some(fixtures::approver(1)));
        assert_eq!(decided.decided_at, Some(at(2)));
        assert_eq!(decided.votes.len(), 2);
        request.mark_events_put(4);
        assert_eq!(request.events_put, 4);
        request.mark_told(at(4));
        assert!(request.unput_events().is_empty(), "telling adds no event");
    }

    #[test]
    fn endings_are_events_with_their_reason() {
        let (mut cancelled, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        cancelled.end_with_execution(ExecutionStatus::Aborted, at(5));
        let events = cancelled.events();
        assert_eq!(kinds(&events), [EventKind::Requested, EventKind::Cancelled]);
        assert_eq!(events[1].detail.reason.as_deref(), Some("ABORTED"));
        assert_eq!(events[1].time, at(5));

        let mut new = fixtures::new_request(2, 1);
        new.expires_at = at(60);
        let (mut expired, _) = ApprovalRequest::open(new);
        expired.expire(at(60));
        assert_eq!(
            kinds(&expired.events()),
            [EventKind::Requested, EventKind::Expired]
        );

        let (mut closed, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        closed
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        closed.task_closed("TaskDoesNotExist", at(2));
        let events = closed.events();
        assert_eq!(
            kinds(&events),
            [
                EventKind::Requested,
                EventKind::VoteRecorded,
                EventKind::Cancelled
            ]
        );
        assert_eq!(events[2].detail.reason.as_deref(), Some("TaskDoesNotExist"));
    }

    #[test]
    fn the_detail_is_camel_case_and_holds_no_token_credential_or_link() {
        let (mut request, credentials) = ApprovalRequest::open(fixtures::new_request(2, 1));
        request
            .cast(0, Choice::Rejected, "no".into(), at(1))
            .unwrap();
        request.delivered(at(2));
        let failed = GateEvent::delivery_failed(&request, "email", "SES refused".into(), at(3));
        for event in request.events().iter().chain([&failed]) {
            let json = serde_json::to_string(&event.detail).unwrap();
            assert!(!json.contains(request.task_token.expose()), "{json}");
            for pair in &credentials {
                for choice in Choice::ALL {
                    assert!(!json.contains(&pair.of(choice).encode()), "{json}");
                }
            }
            assert!(!json.contains("http"), "{json}");
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(value["version"], "1");
            assert_eq!(value["requestId"], request.request_id.to_string());
        }
        let decided = serde_json::to_value(&request.events()[2].detail).unwrap();
        assert_eq!(decided["decision"], "rejected");
        assert_eq!(decided["votes"][0]["via"], "email");
        let failed = serde_json::to_value(&failed.detail).unwrap();
        assert_eq!(failed["channel"], "email");
        assert_eq!(failed["reason"], "SES refused");
    }
}
