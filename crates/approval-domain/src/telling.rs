//! What the gate still has to tell a request's approvers, decided from the record alone, so that
//! whoever reads it (send-email, on each change of the record) tells each thing once: the record
//! says what was already told.
//!
//! Today that is how a request ended: decided, once Step Functions has the decision; expired,
//! once that is recorded ([`ApprovalRequest::expire`]); cancelled, when its execution ended
//! first ([`ApprovalRequest::end_with_execution`]). (The approval request itself is told by
//! the invocation that opens it: [`crate::ApproverEntry::notified_at`].)

use crate::{ApprovalRequest, Decided, Delivery, ExecutionStatus, RequestState, Timestamp};

/// An ending the approvers have not been told of yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Untold<'a> {
    /// Decided, and Step Functions has the decision (or may have it and no longer says).
    Decided(&'a Decided),
    /// Its time ran out undecided (at its `ExpiresAt`).
    Expired { at: Timestamp },
    /// Its execution ended (`status`) before anyone decided.
    Cancelled {
        status: ExecutionStatus,
        at: Timestamp,
    },
}

impl ApprovalRequest {
    /// What is still to be told, if anything. A decision is told once it has reached Step
    /// Functions: until then the workflow has not moved on, and the next change (its delivery)
    /// brings it here again.
    pub fn untold(&self) -> Option<Untold<'_>> {
        match &self.state {
            RequestState::Decided(decided) if decided.told_at.is_none() => match decided.delivery {
                Delivery::Sent { .. } | Delivery::Unconfirmed { .. } => {
                    Some(Untold::Decided(decided))
                }
                Delivery::Sending { .. } | Delivery::Retry { .. } => None,
            },
            RequestState::Expired { at, told_at: None } => Some(Untold::Expired { at: *at }),
            RequestState::Cancelled {
                status,
                at,
                told_at: None,
            } => Some(Untold::Cancelled {
                status: *status,
                at: *at,
            }),
            RequestState::Pending
            | RequestState::Decided(_)
            | RequestState::Closed { .. }
            | RequestState::Expired { .. }
            | RequestState::Cancelled { .. } => None,
        }
    }

    /// Records that the request expired, if it is pending and its time has run out (`now` is at
    /// or past `ExpiresAt`); whether it did. Whoever says so is only believed by the clock.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if self.state != RequestState::Pending || !self.is_expired(now) {
            return false;
        }
        self.state = RequestState::Expired {
            at: self.expires_at,
            told_at: None,
        };
        self.version += 1;
        true
    }

    /// Records that what [`Self::untold`] returned was told at `now`.
    pub fn mark_told(&mut self, now: Timestamp) {
        let told_at = match &mut self.state {
            RequestState::Decided(Decided { told_at, .. })
            | RequestState::Expired { told_at, .. }
            | RequestState::Cancelled { told_at, .. } => told_at,
            RequestState::Pending | RequestState::Closed { .. } => return,
        };
        if told_at.is_none() {
            *told_at = Some(now);
            self.version += 1;
        }
    }
}

impl ApprovalRequest {
    /// Records, as one change of the record (one version), that the ending was told at `told`
    /// (if it was), the first `events_put` events were put and the Slack messages at `shown`
    /// show the view keyed `shown_key`; whether anything changed.
    pub fn mark_told_and_put(
        &mut self,
        told: Option<Timestamp>,
        events_put: usize,
        shown: &[usize],
        shown_key: &str,
    ) -> bool {
        let version = self.version;
        if let Some(now) = told {
            self.mark_told(now);
        }
        self.mark_events_put(events_put);
        let changed = self.mark_shown(shown, shown_key) || self.version != version;
        if changed {
            self.version = version + 1;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        ApprovalRequest, Choice,
        memory::fixtures::{self, at},
    };

    use super::Untold;

    #[test]
    fn a_decision_is_told_once_step_functions_has_it_and_only_once() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        assert_eq!(request.untold(), None, "pending: nothing to tell");
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        assert_eq!(request.untold(), None, "still being sent to Step Functions");
        request.delivered(at(2));
        let Some(Untold::Decided(decided)) = request.untold() else {
            panic!("{:?}", request.state)
        };
        assert_eq!(decided.decision, Choice::Approved);
        let version = request.version;
        request.mark_told(at(3));
        assert_eq!(request.version, version + 1);
        assert_eq!(request.untold(), None, "told");
        request.mark_told(at(4));
        assert_eq!(request.version, version + 1, "told once");
        assert_eq!(request.decided().unwrap().told_at, Some(at(3)));
    }

    #[test]
    fn an_expiry_is_recorded_only_once_its_time_has_come_and_told_once() {
        let mut new = fixtures::new_request(2, 1);
        new.expires_at = at(60);
        let (mut request, _) = ApprovalRequest::open(new);
        assert!(!request.expire(at(59)), "not yet, whoever says so");
        assert_eq!(request.untold(), None);
        assert!(request.expire(at(60)));
        assert!(!request.expire(at(61)), "once");
        assert_eq!(request.untold(), Some(Untold::Expired { at: at(60) }));
        assert!(
            request
                .cast(0, Choice::Approved, String::new(), at(61))
                .is_err(),
            "no vote after it"
        );
        request.mark_told(at(62));
        assert_eq!(request.untold(), None);

        let (mut decided, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        decided
            .cast(0, Choice::Approved, String::new(), at(0))
            .unwrap();
        assert!(
            !decided.expire(at(100_000)),
            "a decided request never expires"
        );
    }

    #[test]
    fn telling_and_putting_are_one_change() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        request.delivered(at(2));
        let version = request.version;
        assert!(request.mark_told_and_put(Some(at(3)), 3, &[], ""));
        assert_eq!(request.version, version + 1, "one write, one version");
        assert_eq!(request.events_put, 3);
        assert_eq!(request.untold(), None);
        assert!(
            !request.mark_told_and_put(Some(at(4)), 3, &[], ""),
            "nothing new"
        );
        assert_eq!(request.version, version + 1);
    }

    #[test]
    fn an_unconfirmed_decision_is_told_too() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        request
            .cast(0, Choice::Rejected, String::new(), at(1))
            .unwrap();
        request.not_delivered(false);
        assert!(request.claim_delivery(at(3), 25));
        request.task_closed("TaskTimedOut", at(4));
        assert!(
            matches!(request.untold(), Some(Untold::Decided(_))),
            "{:?}",
            request.state
        );
    }
}
