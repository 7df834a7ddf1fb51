//! The reminder an approver who has not voted gets while the request still waits. It carries no
//! links: their links are in the approval email, and the record keeps only one credential per
//! action (new links would end the old ones).

use std::fmt::Write as _;

use approval_domain::{ApprovalRequest, ports::Message};
use maud::html;

use super::html::{facts, mail_page, note};

/// SNS email subjects are at most 100 characters.
const MAX_SUBJECT_CHARS: usize = 100;

/// One reminder per slot in `slots`; with `html`, an HTML part beside the text.
pub fn reminders(request: &ApprovalRequest, slots: &[usize], html: bool) -> Vec<Message> {
    let subject: String = format!("Reminder: {}", request.subject)
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let sentence = format!(
        "The approval request \"{}\" is still waiting for your decision.",
        request.subject
    );
    let rows = vec![
        (
            "Approvals",
            format!(
                "{} of {} so far",
                request.tally().approvals,
                request.required_approvals
            ),
        ),
        ("Expires at", request.expires_at.to_string()),
        ("Execution", request.execution_name().to_owned()),
        ("State machine", request.state_machine_name().to_owned()),
    ];
    let how = format!(
        "Decide with the Approve or Reject link of the approval email \"{}\" you were sent; this reminder carries no links.",
        request.subject
    );
    let mut body = format!("{sentence}\n\n");
    for (label, value) in &rows {
        let _ = writeln!(body, "{:<15}{value}", format!("{label}:"));
    }
    let _ = write!(body, "\n{how}\n");
    let html = html.then(|| {
        mail_page(
            &subject,
            html! {
                p style="margin:0 0 16px" { (sentence) }
                (facts(&rows))
                (note(&how))
            },
        )
        .into_string()
    });
    slots
        .iter()
        .filter_map(|&slot| request.approvers.get(slot))
        .map(|entry| Message {
            to: entry.address.clone(),
            subject: subject.clone(),
            body: body.clone(),
            html: html.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use approval_domain::{Choice, memory::fixtures};

    use super::*;

    #[test]
    fn says_how_far_it_is_and_when_it_expires_and_carries_no_link() {
        let (mut request, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
        request
            .cast(1, Choice::Approved, String::new(), fixtures::now())
            .unwrap();
        let sent = reminders(&request, &[0, 2], true);
        assert_eq!(
            sent.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
            ["approver0@example.com", "approver2@example.com"]
        );
        let message = &sent[0];
        assert_eq!(
            message.subject,
            "Reminder: Required approval from AWS Step Functions"
        );
        assert!(
            message.body.starts_with(
                "The approval request \"Required approval from AWS Step Functions\" is still waiting for your decision.\n\n\
                 Approvals:     1 of 2 so far\n\
                 Expires at:    2027-01-15T09:00:00Z\n"
            ),
            "{}",
            message.body
        );
        let html = message.html.as_deref().unwrap();
        for part in [message.body.as_str(), html] {
            assert!(!part.contains("http"), "{part}");
            for pair in &credentials {
                assert!(!part.contains(&pair.approve.encode()));
            }
        }
        assert!(html.contains("1 of 2 so far"));
    }
}
