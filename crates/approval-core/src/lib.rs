//! Domain logic of the human-approval gate, free of any AWS SDK.
//!
//! `send-email` uses [`payload`], [`link`] and [`email`] to turn a Step Functions task into an
//! email an approver can act on; `approval-callback` uses [`config`], [`callback`], [`decision`],
//! [`page`] and [`console`] to turn the approver's click into a Step Functions task result and an
//! HTML answer. The binaries only wire the Lambda runtime and the SDK clients to these modules.

pub mod callback;
pub mod config;
pub mod console;
pub mod decision;
pub mod email;
pub mod link;
pub mod logging;
pub mod page;
pub mod payload;
pub mod request;
pub mod signing;

pub use callback::{CallbackOutcome, HttpAnswer, Plan, Verification, Verified, plan};
pub use config::{CallbackConfig, ConfigError, LinkMode};
pub use decision::{Action, Decision};
pub use request::{ApprovalRequest, FieldError, TaskToken};
