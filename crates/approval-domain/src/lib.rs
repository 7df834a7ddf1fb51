//! The approval gate's domain, free of I/O and of any AWS SDK.
//!
//! An [`ApprovalRequest`] is the record of one waiting Step Functions task: who must decide
//! ([`Address`]es, a quorum), what they are shown, the votes cast ([`Vote`]) and how it ended.
//! Each approver holds two [`Credential`]s, one per action ([`LinkCredentials`]), of which the
//! record keeps only hashes.
//! [`scheduled`] decides whether an invocation is what Step Functions really scheduled. The
//! [`ports`] are the traits the Lambdas' adapters implement: the store, the notifier, the
//! workflow tasks, the event bus and the meter. [`events`] and [`metrics`] say what the gate
//! tells the rest of the system; [`cancellation`] ends a request whose execution ended.

pub mod address;
pub mod approver;
pub mod cancellation;
pub mod credential;
pub mod decision_check;
pub mod delivery;
pub mod details;
pub mod events;
pub mod execution_arn;
pub mod execution_status;
pub mod field;
pub mod link_mode;
pub mod metrics;
pub mod nudge;
pub mod ports;
pub mod request;
pub mod request_id;
pub mod scheduled;
pub mod slack;
pub mod state;
pub mod task_output;
pub mod task_token;
pub mod telling;
pub mod text;
pub mod timestamp;
pub mod vote;
pub mod voting;

#[cfg(any(test, feature = "test-util"))]
pub mod memory;

pub use address::{Address, AddressError};
pub use approver::{ApproverEntry, LinkCredentials, LinkHashes};
pub use cancellation::Ending;
pub use credential::{Credential, CredentialError, CredentialHash};
pub use events::{EventKind, GateEvent};
pub use execution_arn::ExecutionArn;
pub use execution_status::ExecutionStatus;
pub use field::FieldError;
pub use link_mode::LinkMode;
pub use metrics::Measure;
pub use nudge::{Fired, Nudge, NudgeKind, PlannedNudge};
pub use request::{ApprovalRequest, NewRequest};
pub use request_id::RequestId;
pub use slack::{Reached, SlackPost, SlackUser, SlackView};
pub use state::{ClosedTask, Decided, Delivery, RequestState};
pub use task_token::TaskToken;
pub use telling::Untold;
pub use timestamp::Timestamp;
pub use vote::{Choice, Tally, Via, Vote};
pub use voting::{Cast, Refusal, Standing};
