//! The approver's decision and the task output Step Functions receives for it.

use std::{fmt, str::FromStr};

use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// `Decision` value for an approval; the state machine's Choice rule matches this string.
pub const APPROVED: &str = "approved";
/// `Decision` value for a rejection; the state machine's Choice rule matches this string.
pub const REJECTED: &str = "rejected";
/// Longest comment kept; longer ones are refused rather than silently cut.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What a link asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Approve,
    Reject,
}

impl Action {
    pub const ALL: [Action; 2] = [Action::Approve, Action::Reject];

    /// The `action` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
        }
    }

    /// The word shown on buttons and headings.
    pub fn label(self) -> &'static str {
        match self {
            Action::Approve => "Approve",
            Action::Reject => "Reject",
        }
    }

    /// The `Decision` value of the task output.
    pub fn decision_value(self) -> &'static str {
        match self {
            Action::Approve => APPROVED,
            Action::Reject => REJECTED,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses exactly `approve` or `reject`. Other spellings (`APPROVE`, `yes`) are refused, not
/// guessed at: a decision must never rest on a guess.
impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAction)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`action` must be `approve` or `reject`")]
pub struct UnknownAction;

/// A decision about to be sent to Step Functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub approver: String,
    pub comment: String,
    pub decided_at: OffsetDateTime,
}

/// The task output, field for field as the contract and the state machine's Choice expect it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskOutput<'a> {
    status: String,
    decision: &'static str,
    approver: &'a str,
    comment: &'a str,
    decided_at: String,
}

impl Decision {
    /// The seed's `Status` strings, kept so state machines written for the tutorial still work.
    pub fn status(&self) -> String {
        match self.action {
            Action::Approve => format!("Approved! Task approved by {}", self.approver),
            Action::Reject => format!("Rejected! Task rejected by {}", self.approver),
        }
    }

    /// The JSON sent as `SendTaskSuccess.output`.
    pub fn task_output_json(&self) -> String {
        let decided_at = self
            .decided_at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(self.decided_at)
            .format(&Rfc3339)
            .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"));
        let output = TaskOutput {
            status: self.status(),
            decision: self.action.decision_value(),
            approver: &self.approver,
            comment: &self.comment,
            decided_at,
        };
        // Serialising plain strings cannot fail.
        serde_json::to_string(&output).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn decision(action: Action) -> Decision {
        Decision {
            action,
            approver: "boss@example.com".into(),
            comment: "ship \"it\" </script>".into(),
            decided_at: datetime!(2026-11-26 10:15:30.123 +01:00),
        }
    }

    #[test]
    fn approve_output_matches_the_contract() {
        let json: serde_json::Value =
            serde_json::from_str(&decision(Action::Approve).task_output_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Status": "Approved! Task approved by boss@example.com",
                "Decision": "approved",
                "Approver": "boss@example.com",
                "Comment": "ship \"it\" </script>",
                "DecidedAt": "2026-11-26T09:15:30Z"
            })
        );
    }

    #[test]
    fn reject_output_matches_the_contract() {
        let json: serde_json::Value =
            serde_json::from_str(&decision(Action::Reject).task_output_json()).unwrap();
        assert_eq!(
            json["Status"],
            "Rejected! Task rejected by boss@example.com"
        );
        assert_eq!(json["Decision"], "rejected");
    }

    #[test]
    fn only_exact_actions_parse() {
        assert_eq!("approve".parse(), Ok(Action::Approve));
        assert_eq!("reject".parse(), Ok(Action::Reject));
        for odd in [
            "Approve", "APPROVE", " approve", "approve ", "yes", "", "approved",
        ] {
            assert_eq!(odd.parse::<Action>(), Err(UnknownAction), "{odd:?}");
        }
    }
}
