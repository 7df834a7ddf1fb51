//! The "decided" email every approver of a request gets once Step Functions has the decision.

use std::fmt::Write as _;

use approval_domain::{ApprovalRequest, Decided, ports::Message};

/// SNS email subjects are at most 100 characters.
const MAX_SUBJECT_CHARS: usize = 100;

/// One message per approver of the decided `request`; none if it is not decided.
pub fn decided(request: &ApprovalRequest) -> Vec<Message> {
    let Some(Decided {
        decision,
        by: decided_by,
        at: decided_at,
        ..
    }) = request.decided()
    else {
        return Vec::new();
    };
    let mut subject = format!("Decided: {}", request.subject);
    subject.truncate(MAX_SUBJECT_CHARS);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "The approval request \"{}\" was {decision_word}.\n",
        request.subject,
        decision_word = decision.as_str()
    );
    let _ = writeln!(body, "Decided by:    {decided_by}");
    let _ = writeln!(body, "Decided at:    {decided_at}");
    let _ = writeln!(body, "Execution:     {}", request.execution_name());
    let _ = writeln!(body, "State machine: {}\n", request.state_machine_name());
    let _ = writeln!(body, "Votes:");
    for vote in &request.votes {
        let comment = if vote.comment.is_empty() {
            String::new()
        } else {
            format!(": \"{}\"", vote.comment)
        };
        let _ = writeln!(
            body,
            "- {} {} at {}{comment}",
            vote.approver,
            vote.choice.as_str(),
            vote.voted_at
        );
    }
    let _ = writeln!(
        body,
        "\nYour links for this request no longer vote; they show how it ended."
    );
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
            body.contains("- approver0@example.com approved at 2027-01-15T08:00:00Z: \"fine\""),
            "{body}"
        );
        assert!(!body.contains(request.task_token.expose()));
    }
}
