//! A request whose execution ended: nobody can act on its answer any more, so it ends too.
//!
//! Step Functions says an execution ended (its status-change event: aborted, failed, timed out,
//! succeeded). Each pending request of that execution then ends by one conditional write: as
//! expired if its time had run out anyway, otherwise cancelled with the status as the reason. A
//! request that a vote decided first keeps its decision: whichever write comes second finds the
//! record changed, reads it again and sees it no longer pending, so a cancelled request never
//! has a decision sent for it, and a decided one is never cancelled.

use crate::{ApprovalRequest, ExecutionStatus, RequestState, Timestamp};

/// What an execution's end did to one of its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It was pending and its time had not run out: cancelled.
    Cancelled,
    /// It was pending and its time had run out: expired.
    Expired,
}

impl ApprovalRequest {
    /// Ends the request because its execution ended with `status`, if it is still pending;
    /// `None` if it is not (decided, closed, already ended) or the execution is still running.
    pub fn end_with_execution(
        &mut self,
        status: ExecutionStatus,
        now: Timestamp,
    ) -> Option<Ending> {
        if self.state != RequestState::Pending || status == ExecutionStatus::Running {
            return None;
        }
        if self.expire(now) {
            return Some(Ending::Expired);
        }
        self.state = RequestState::Cancelled {
            status,
            at: now,
            told_at: None,
        };
        self.version += 1;
        Some(Ending::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Choice, Standing, Untold,
        memory::fixtures::{self, at},
    };

    #[test]
    fn a_pending_request_is_cancelled_with_the_status_and_then_refuses_votes() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        let version = request.version;
        assert_eq!(
            request.end_with_execution(ExecutionStatus::Aborted, at(5)),
            Some(Ending::Cancelled)
        );
        assert_eq!(request.version, version + 1);
        assert_eq!(
            request.standing(0, at(6)),
            Standing::Cancelled {
                status: ExecutionStatus::Aborted,
                at: at(5)
            }
        );
        assert!(
            request
                .cast(0, Choice::Approved, String::new(), at(6))
                .is_err()
        );
        assert_eq!(
            request.untold(),
            Some(Untold::Cancelled {
                status: ExecutionStatus::Aborted,
                at: at(5)
            })
        );
        assert_eq!(
            request.end_with_execution(ExecutionStatus::Failed, at(7)),
            None,
            "ended once"
        );
        request.mark_told(at(8));
        assert_eq!(request.untold(), None);
    }

    #[test]
    fn a_request_whose_time_ran_out_expires_instead() {
        let mut new = fixtures::new_request(1, 1);
        new.expires_at = at(60);
        let (mut request, _) = ApprovalRequest::open(new);
        assert_eq!(
            request.end_with_execution(ExecutionStatus::Failed, at(61)),
            Some(Ending::Expired)
        );
        assert_eq!(request.untold(), Some(Untold::Expired { at: at(60) }));
    }

    #[test]
    fn a_decision_or_a_running_execution_keeps_the_request_as_it_is() {
        let (mut decided, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        decided
            .cast(0, Choice::Approved, String::new(), at(1))
            .unwrap();
        let before = decided.clone();
        assert_eq!(
            decided.end_with_execution(ExecutionStatus::Aborted, at(2)),
            None
        );
        assert_eq!(decided, before, "a decided request is never cancelled");

        let (mut pending, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        assert_eq!(
            pending.end_with_execution(ExecutionStatus::Running, at(2)),
            None
        );
        assert_eq!(pending.state, RequestState::Pending);
    }

    #[test]
    fn the_cancelled_state_round_trips_in_step_functions_spelling() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        request.end_with_execution(ExecutionStatus::TimedOut, at(3));
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["State"]["Name"], "cancelled");
        assert_eq!(json["State"]["Status"], "TIMED_OUT");
        assert_eq!(json["State"]["ToldAt"], serde_json::Value::Null);
        let back: ApprovalRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
    }
}
