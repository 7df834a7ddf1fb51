//! Nudges: what a request does, unasked, while nobody decides it. A **reminder** tells each
//! approver who has not voted that the request still waits; an **escalation** adds approvers
//! (with their own slots and credentials; the quorum stays). Each is planned when the request
//! opens (`Approval.Reminders`, `Approval.Escalations`), at a time before its expiry, and fired
//! by a one-time schedule named after the request and the nudge's index.
//!
//! Firing reads the record first: a request that has ended, or a nudge already fired, does
//! nothing, so a schedule that fires twice, or late, tells nobody twice. The record says when
//! each nudge fired (and an escalation, whom it added).

use serde::{Deserialize, Serialize};

use crate::{
    Address, ApprovalRequest, LinkCredentials, RequestId, Timestamp, approver::ApproverEntry,
};

/// At most this many reminders, and as many escalations, per request.
pub const MAX_EACH: usize = 5;

/// What a nudge does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "Name",
    rename_all = "kebab-case",
    rename_all_fields = "PascalCase"
)]
pub enum NudgeKind {
    Reminder,
    Escalation { add: Vec<Address> },
}

/// A nudge as the workflow asked for it: so many seconds after the request opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedNudge {
    pub after_seconds: u64,
    pub kind: NudgeKind,
}

/// A nudge in the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Nudge {
    pub kind: NudgeKind,
    /// When it is due.
    pub at: Timestamp,
    /// When it fired; `None` until then.
    pub fired_at: Option<Timestamp>,
}

impl Nudge {
    pub fn planned(plan: PlannedNudge, opened: Timestamp) -> Self {
        Self {
            kind: plan.kind,
            at: opened.plus_seconds(plan.after_seconds),
            fired_at: None,
        }
    }
}

/// The name of the schedule that fires nudge `index` of `request`: derived from the request's
/// id, so a retried invocation asks for the same schedule again, never a second one. (64
/// characters at most, `[0-9A-Za-z_.-]`: a request id is 22 base64url characters.)
pub fn schedule_name(request: &RequestId, index: usize) -> String {
    format!("approval-{request}-{index}")
}

/// What firing a nudge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fired {
    /// Remind these slots (the approvers who have not voted).
    Remind { slots: Vec<usize> },
    /// These approvers were added, each in a new slot with these credentials (mail them).
    Escalate {
        added: Vec<(usize, LinkCredentials)>,
    },
}

impl ApprovalRequest {
    /// Fires nudge `index` at `now`, if it is due, not fired yet, and the request still waits
    /// for votes; what it did. `None` changes nothing.
    pub fn fire_nudge(&mut self, index: usize, now: Timestamp) -> Option<Fired> {
        if self.ending(now).is_some() {
            return None;
        }
        let nudge = self.nudges.get(index)?;
        if nudge.fired_at.is_some() || now < nudge.at {
            return None;
        }
        let fired = match &nudge.kind {
            // Those who were sent the request and have not voted.
            NudgeKind::Reminder => Fired::Remind {
                slots: (0..self.approvers.len())
                    .filter(|&slot| {
                        let entry = &self.approvers[slot];
                        entry.notified_at.is_some() && self.vote_of(&entry.address).is_none()
                    })
                    .collect(),
            },
            NudgeKind::Escalation { add } => {
                let mut added = Vec::new();
                for address in add.clone() {
                    let present = self.approvers.iter().any(|entry| entry.address == address);
                    if present || self.approvers.len() >= usize::from(u8::MAX) {
                        continue;
                    }
                    let slot = self.approvers.len();
                    let credentials = LinkCredentials::issue(&self.request_id, slot as u8);
                    self.approvers
                        .push(ApproverEntry::new(address, &credentials));
                    added.push((slot, credentials));
                }
                Fired::Escalate { added }
            }
        };
        self.nudges[index].fired_at = Some(now);
        self.version += 1;
        Some(fired)
    }

    /// The schedules of the nudges that have not fired (to delete once the request ended).
    pub fn unfired_schedules(&self) -> Vec<String> {
        self.nudges
            .iter()
            .enumerate()
            .filter(|(_, nudge)| nudge.fired_at.is_none())
            .map(|(index, _)| schedule_name(&self.request_id, index))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Choice, ExecutionStatus,
        memory::fixtures::{self, at},
    };

    fn with_nudges(approvers: usize, nudges: Vec<PlannedNudge>) -> ApprovalRequest {
        let mut new = fixtures::new_request(approvers, 2);
        new.created_at = at(0);
        new.nudges = nudges;
        let mut request = ApprovalRequest::open(new).0;
        request.mark_notified(&(0..approvers).collect::<Vec<_>>(), at(0));
        request
    }

    fn reminder(after_seconds: u64) -> PlannedNudge {
        PlannedNudge {
            after_seconds,
            kind: NudgeKind::Reminder,
        }
    }

    #[test]
    fn a_reminder_names_exactly_those_sent_the_request_who_have_not_voted_and_fires_once() {
        let mut request = with_nudges(4, vec![reminder(60)]);
        request.approvers[3].notified_at = None; // their email never went out
        assert_eq!(request.nudges[0].at, at(60));
        request
            .cast(1, Choice::Approved, String::new(), at(10))
            .unwrap();
        assert_eq!(request.fire_nudge(0, at(59)), None, "not due yet");
        let version = request.version;
        assert_eq!(
            request.fire_nudge(0, at(61)),
            Some(Fired::Remind { slots: vec![0, 2] })
        );
        assert_eq!(request.version, version + 1);
        assert_eq!(request.nudges[0].fired_at, Some(at(61)));
        assert_eq!(request.fire_nudge(0, at(62)), None, "fires once");
        assert_eq!(request.fire_nudge(7, at(62)), None, "no such nudge");
        assert!(request.unfired_schedules().is_empty());
    }

    #[test]
    fn an_escalation_adds_new_approvers_who_can_then_decide_and_keeps_the_quorum() {
        let dana = Address::parse("dana@example.com").unwrap();
        let mut request = with_nudges(
            2,
            vec![PlannedNudge {
                after_seconds: 120,
                kind: NudgeKind::Escalation {
                    add: vec![dana.clone(), fixtures::approver(0)],
                },
            }],
        );
        let Some(Fired::Escalate { added }) = request.fire_nudge(0, at(120)) else {
            panic!("escalated")
        };
        assert_eq!(
            added.len(),
            1,
            "an approver already there is not added twice"
        );
        let (slot, credentials) = &added[0];
        assert_eq!(*slot, 2);
        assert_eq!(request.approvers[2].address, dana);
        assert_eq!(request.approvers[2].notified_at, None, "not mailed yet");
        assert_eq!(request.required_approvals, 2, "the quorum stays");
        assert_eq!(
            request.authenticate(&credentials.approve, Choice::Approved),
            Some(2)
        );
        request
            .cast(2, Choice::Approved, String::new(), at(130))
            .unwrap();
        request
            .cast(0, Choice::Approved, String::new(), at(131))
            .unwrap();
        assert!(
            request.decided().is_some(),
            "the added approver's vote counts"
        );
    }

    #[test]
    fn an_ended_request_is_not_nudged_and_names_its_unfired_schedules() {
        let mut request = with_nudges(2, vec![reminder(60), reminder(120)]);
        request.fire_nudge(0, at(60)).unwrap();
        request.end_with_execution(ExecutionStatus::Aborted, at(90));
        assert_eq!(
            request.fire_nudge(1, at(120)),
            None,
            "a late schedule does nothing"
        );
        assert_eq!(
            request.unfired_schedules(),
            [schedule_name(&request.request_id, 1)]
        );
        assert!(schedule_name(&request.request_id, 4).len() <= 64);
    }
}
