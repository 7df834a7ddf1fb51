//! What the gate counts, for dashboards and alarms: one [`Measure`] per thing that happened.
//! How it is recorded is the adapter's (CloudWatch embedded metric format, `approval-aws`).

use crate::{ApprovalRequest, Choice, events::EventKind, events::GateEvent};

/// One thing counted, with the state machine it concerns when that is known.
#[derive(Clone, Debug, PartialEq)]
pub enum Measure {
    /// A request was opened (`ApprovalsRequested`).
    Requested { state_machine: String },
    /// A request was decided (`Decisions`, by `Decision`; `TimeToDecisionSeconds`).
    Decided {
        state_machine: String,
        decision: Choice,
        seconds: f64,
    },
    /// A request ran out of time (`Expired`).
    Expired { state_machine: String },
    /// A request's execution ended first (`Cancelled`).
    Cancelled { state_machine: String },
    /// Something the gate owed someone did not go out (`DeliveryFailures`): an approver's
    /// email, the gate's events, or a nudge's schedule.
    DeliveryFailed {
        state_machine: Option<String>,
        channel: &'static str,
    },
    /// approval-callback answered with a 5xx (`CallbackErrors`).
    CallbackError { state_machine: Option<String> },
}

impl Measure {
    /// What putting `event` of `request` counts, if anything (a vote counts nothing by itself;
    /// a delivery failure is counted where it happened).
    pub fn of_event(request: &ApprovalRequest, event: &GateEvent) -> Option<Self> {
        let state_machine = request.state_machine_name().to_owned();
        Some(match event.kind {
            EventKind::Requested => Measure::Requested { state_machine },
            EventKind::Decided => Measure::Decided {
                state_machine,
                decision: event.detail.decision?,
                seconds: event.time.seconds_since(request.created_at).max(0) as f64,
            },
            EventKind::Expired => Measure::Expired { state_machine },
            EventKind::Cancelled => Measure::Cancelled { state_machine },
            EventKind::VoteRecorded
            | EventKind::DeliveryFailed
            | EventKind::ReminderSent
            | EventKind::Escalated => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures::{self, at};

    #[test]
    fn a_decision_counts_with_its_time_from_the_request() {
        let mut new = fixtures::new_request(1, 1);
        new.created_at = at(10);
        let (mut request, _) = ApprovalRequest::open(new);
        request
            .cast(0, Choice::Rejected, String::new(), at(70))
            .unwrap();
        request.delivered(at(71));
        let measures: Vec<Measure> = request
            .events()
            .iter()
            .filter_map(|event| Measure::of_event(&request, event))
            .collect();
        let state_machine = request.state_machine_name().to_owned();
        assert_eq!(
            measures,
            [
                Measure::Requested {
                    state_machine: state_machine.clone()
                },
                Measure::Decided {
                    state_machine,
                    decision: Choice::Rejected,
                    seconds: 60.0
                }
            ]
        );
    }
}
