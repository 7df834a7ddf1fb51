//! Handing a decision to Step Functions: who sends it, and what the record says of each attempt.
//! Only the write that records the decision, or one that takes a failed or stale delivery over,
//! may send it; the record says whether Step Functions took it, may have, or closed the task first.

use crate::{
    ApprovalRequest, Timestamp,
    state::{ClosedTask, Decided, Delivery, RequestState},
};

impl ApprovalRequest {
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

    /// This record's delivery outcome, of the claim taken at `claimed_at`, redone on `fresh` (the
    /// record as it is now) when nothing but the gate's own bookkeeping changed it meanwhile:
    /// send-email records the events it put on every change, so a callback's write of how its
    /// delivery went can find the record one version on. `None` when `fresh` no longer holds
    /// that claim or its votes differ: someone else's change, which stands.
    pub fn delivery_on(
        &self,
        fresh: &ApprovalRequest,
        claimed_at: Timestamp,
    ) -> Option<ApprovalRequest> {
        let held = matches!(
            &fresh.state,
            RequestState::Decided(Decided {
                delivery: Delivery::Sending { since, .. },
                ..
            }) if *since == claimed_at
        );
        if !held || fresh.votes != self.votes {
            return None;
        }
        let mut rebased = fresh.clone();
        rebased.state = self.state.clone();
        rebased.version = fresh.version + 1;
        Some(rebased)
    }

    fn set_delivery(&mut self, delivery: impl FnOnce(&Decided) -> Delivery) {
        if let RequestState::Decided(decided) = &mut self.state {
            decided.delivery = delivery(decided);
            self.version += 1;
        }
    }
}

#[cfg(test)]
mod rebase_tests {
    use crate::{
        Choice,
        memory::fixtures::{self, at},
    };

    #[test]
    fn a_delivery_outcome_is_redone_over_bookkeeping_but_never_over_another_change() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(1, 1));
        request
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        let mut fresh = request.clone();
        fresh.mark_events_put(2); // send-email, meanwhile
        request.delivered(at(1));
        let rebased = request
            .delivery_on(&fresh, at(1))
            .expect("only bookkeeping changed");
        assert_eq!(rebased.version, fresh.version + 1);
        assert_eq!(rebased.events_put, 2);
        assert_eq!(rebased.state, request.state);

        let mut taken_over = fresh.clone();
        assert!(taken_over.claim_delivery(at(100), 25));
        assert_eq!(
            request.delivery_on(&taken_over, at(1)),
            None,
            "another claim"
        );
        assert_eq!(request.delivery_on(&fresh, at(2)), None, "not this claim");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Choice, Refusal, Standing,
        memory::fixtures::{self, at},
    };

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
}
