//! Where a request stands, as one value. Whether it is decided, what Step Functions was told and
//! with which output live in one enum, so that "decided with no output", "pending but delivered"
//! or "closed and decided" cannot be written.

use serde::{Deserialize, Serialize};

use crate::{Address, Choice, ExecutionStatus, Timestamp};

/// How the request stands. A pending request past its `ExpiresAt` is expired whether or not
/// that was recorded ([`crate::ApprovalRequest::standing`]); it is recorded ([`Self::Expired`])
/// when its workflow says the task timed out, so that the approvers are told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "Name",
    rename_all = "kebab-case",
    rename_all_fields = "PascalCase"
)]
pub enum RequestState {
    /// Waiting for votes.
    Pending,
    /// A vote decided it; [`Decided::delivery`] says whether Step Functions has the output.
    Decided(Decided),
    /// Step Functions closed the task (it timed out, its execution ended, its token is invalid)
    /// before any decision reached it: the votes cast are kept, and decided nothing.
    Closed { reason: String, at: Timestamp },
    /// Its time ran out undecided (`at`: its `ExpiresAt`), and the gate recorded it.
    /// `told_at`: when the approvers were told, as for [`Decided::told_at`].
    Expired {
        at: Timestamp,
        told_at: Option<Timestamp>,
    },
    /// Its execution ended (`status`: aborted, failed, timed out, succeeded) while it was
    /// pending, before its time ran out ([`crate::ApprovalRequest::end_with_execution`]).
    /// `told_at` as for [`Decided::told_at`].
    Cancelled {
        status: ExecutionStatus,
        at: Timestamp,
        told_at: Option<Timestamp>,
    },
}

/// A decision, and how handing it to Step Functions went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Decided {
    pub decision: Choice,
    /// Whose vote decided.
    pub by: Address,
    pub at: Timestamp,
    /// The `SendTaskSuccess` output, fixed when the decision was recorded, so every attempt
    /// sends the very same bytes.
    pub output: String,
    pub delivery: Delivery,
    /// When the approvers were told how it ended (once Step Functions had it); `None` until
    /// then. Always written, as `null` until told: an item without it was told by the release
    /// before ([`crate::telling`]).
    pub told_at: Option<Timestamp>,
}

/// Whether Step Functions has a decision's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "Name",
    rename_all = "kebab-case",
    rename_all_fields = "PascalCase"
)]
pub enum Delivery {
    /// A callback is sending it (the one that recorded the decision, or one that took over).
    /// `may_have_arrived`: an earlier attempt got no answer, so Step Functions may have it.
    Sending {
        since: Timestamp,
        may_have_arrived: bool,
    },
    /// The last attempt failed in a way worth retrying: the next vote of the request sends it.
    Retry { may_have_arrived: bool },
    /// Step Functions took it.
    Sent { at: Timestamp },
    /// A later attempt found the task closed after an earlier one got no answer: Step Functions
    /// may have taken the decision or not, and no longer says (its execution history does).
    Unconfirmed { reason: String, at: Timestamp },
}

/// What became of a decision whose sending met a closed task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedTask {
    /// No attempt reached Step Functions: the request is [`RequestState::Closed`].
    BeforeTheDecision,
    /// An earlier attempt may have reached it: the decision stands, unconfirmed.
    Unconfirmed,
}

impl Decided {
    /// Takes over sending a decision whose last attempt failed, or whose sender went quiet for
    /// longer than `stale_after_seconds` (the function's timeout). `false`: nothing to take.
    pub(crate) fn claim(&mut self, now: Timestamp, stale_after_seconds: i64) -> bool {
        let may_have_arrived = match self.delivery {
            Delivery::Retry { may_have_arrived } => may_have_arrived,
            // The quiet sender may have sent it before it went quiet.
            Delivery::Sending { since, .. } if now.seconds_since(since) > stale_after_seconds => {
                true
            }
            Delivery::Sending { .. } | Delivery::Sent { .. } | Delivery::Unconfirmed { .. } => {
                return false;
            }
        };
        self.delivery = Delivery::Sending {
            since: now,
            may_have_arrived,
        };
        true
    }

    pub(crate) fn may_have_arrived(&self) -> bool {
        match self.delivery {
            Delivery::Sending {
                may_have_arrived, ..
            }
            | Delivery::Retry { may_have_arrived } => may_have_arrived,
            Delivery::Sent { .. } | Delivery::Unconfirmed { .. } => true,
        }
    }
}
