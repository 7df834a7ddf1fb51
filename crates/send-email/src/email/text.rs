//! The plain-text part: the gate's facts, then the workflow's words (every line quoted with
//! `| `, so none of it can pass for a line of the gate's), then the links.

use std::fmt;

use approval_domain::{Choice, text::Quoted};

use super::{ApprovalEmail, quorum};

/// The text of an approval email.
pub(super) struct ApprovalText<'a>(pub &'a ApprovalEmail<'a>);

impl fmt::Display for ApprovalText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let email = self.0;
        let request = email.request;
        writeln!(
            f,
            "An AWS Step Functions workflow is waiting for your decision."
        )?;
        writeln!(f)?;
        if let Some(requester) = &request.requested_by {
            writeln!(f, "Requested by:  {requester} (as the workflow states it)")?;
        }
        writeln!(f, "Execution:     {}", request.execution_name())?;
        writeln!(f, "State machine: {}", request.state_machine_name())?;
        writeln!(f, "Approvals:     {}", quorum(request))?;
        writeln!(f, "Expires:       {}", request.expires_at)?;
        writeln!(f)?;
        writeln!(f, "What the workflow says (its words, not the gate's):")?;
        if let Some(summary) = &request.summary {
            write!(f, "{}", Quoted(summary))?;
            writeln!(f, "|")?;
        }
        write!(f, "{}", Quoted(&format!("Details:\n{}", request.details)))?;
        writeln!(f)?;
        writeln!(f, "{}: {}", Choice::Approved.label(), email.approve)?;
        writeln!(f)?;
        writeln!(f, "{}: {}", Choice::Rejected.label(), email.reject)?;
        writeln!(f)?;
        writeln!(f, "{}", email.mode.explain())?;
        writeln!(
            f,
            "These links are yours alone: each approver gets their own, and each may vote once."
        )?;
        writeln!(
            f,
            "After the request is decided or expires, they only show how it ended."
        )
    }
}
