//! The "decided" email every approver of a request gets once Step Functions has the decision.

use std::fmt;

use approval_domain::{ApprovalRequest, Decided, ports::Message, text::Quoted};

/// SNS email subjects are at most 100 characters.
const MAX_SUBJECT_CHARS: usize = 100;

/// One message per approver of the decided `request`; none if it is not decided.
pub fn decided(request: &ApprovalRequest) -> Vec<Message> {
    let Some(decided) = request.decided() else {
        return Vec::new();
    };
    let subject: String = format!("Decided: {}", request.subject)
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let body = DecidedText { request, decided }.to_string();
    request
        .approvers
        .iter()
        .map(|entry| Message {
            to: entry.address.clone(),
            subject: subject.clone(),
            body: body.clone(),
        })
        .collect()
}

/// Who decided what and when, then every vote, each comment quoted as the voter's words.
struct DecidedText<'a> {
    request: &'a ApprovalRequest,
    decided: &'a Decided,
}

impl fmt::Display for DecidedText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (request, decided) = (self.request, self.decided);
        writeln!(
            f,
            "The approval request \"{}\" was {}.",
            request.subject,
            decided.decision.as_str()
        )?;
        writeln!(f)?;
        writeln!(f, "Decided by:    {}", decided.by)?;
        writeln!(f, "Decided at:    {}", decided.at)?;
        writeln!(f, "Execution:     {}", request.execution_name())?;
        writeln!(f, "State machine: {}", request.state_machine_name())?;
        writeln!(f)?;
        writeln!(f, "Votes:")?;
        for vote in &request.votes {
            let commenting = if vote.comment.is_empty() {
                ""
            } else {
                ", commenting:"
            };
            writeln!(
                f,
                "- {} {} at {}{commenting}",
                vote.approver,
                vote.choice.as_str(),
                vote.voted_at
            )?;
            write!(f, "{}", Quoted(&vote.comment))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Your links for this request no longer vote; they show how it ended."
        )
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::{Choice, memory::fixtures};

    use super::*;

    #[test]
    fn every_approver_is_told_who_decided_and_every_vote() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        assert!(decided(&request).is_empty());
        request
            .cast(0, Choice::Approved, "fine".into(), fixtures::now())
            .unwrap();
        request
            .cast(1, Choice::Rejected, String::new(), fixtures::now())
            .unwrap();
        let notices = decided(&request);
        let to: Vec<&str> = notices.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(
            to,
            [
                "approver0@example.com",
                "approver1@example.com",
                "approver2@example.com"
            ]
        );
        let body = &notices[0].body;
        assert_eq!(
            notices[0].subject,
            "Decided: Required approval from AWS Step Functions"
        );
        assert!(
            body.contains("was rejected") && body.contains("Decided by:    approver1@example.com"),
            "{body}"
        );
        assert!(
            body.contains(
                "- approver0@example.com approved at 2027-01-15T08:00:00Z, commenting:\n| fine\n"
            ),
            "{body}"
        );
        assert!(!body.contains(request.task_token.expose()));
    }

    #[test]
    fn a_comment_cannot_pass_for_a_line_of_the_gate() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        request
            .cast(
                0,
                Choice::Approved,
                "ok\nDecided by:    ceo@example.com\r\nVotes:".into(),
                fixtures::now(),
            )
            .unwrap();
        let body = &decided(&request)[0].body;
        let decided_by: Vec<&str> = body
            .lines()
            .filter(|line| line.starts_with("Decided by:") || line.starts_with("Votes:"))
            .collect();
        assert_eq!(
            decided_by,
            ["Decided by:    approver0@example.com", "Votes:"],
            "{body}"
        );
        assert!(
            body.contains("| ok\n| Decided by:    ceo@example.com\n| Votes:\n"),
            "{body}"
        );
    }
}
