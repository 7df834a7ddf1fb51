//! The approval email: what the approver reads before deciding.

use std::fmt::Write as _;

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{Action, LinkMode, link::SignedLinks, payload::ApprovalTask};

pub const DEFAULT_SUBJECT: &str = "Required approval from AWS Step Functions";
/// SNS email subjects must be ASCII and at most 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// How much of the execution input is shown. SNS allows 256 KB per message, but an approver
/// reads a screenful; the full input stays one click away in the console.
pub const MAX_CONTEXT_BYTES: usize = 8 * 1024;

/// An email ready for `sns:Publish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// Builds the email for a task: names, context, and both (signed) links.
pub fn compose(task: &ApprovalTask, links: &SignedLinks, mode: LinkMode) -> Email {
    let request = &task.request;
    let mut body = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(
        body,
        "An AWS Step Functions workflow is waiting for your decision.\n"
    );
    let _ = writeln!(body, "Execution:     {}", request.execution_name);
    let _ = writeln!(body, "State machine: {}", request.state_machine_name);
    if let Some(started) = &task.started_at {
        let _ = writeln!(body, "Started:       {started}");
    }
    if let Some(input) = &task.execution_input {
        let _ = writeln!(body, "\nExecution input:\n{}", render_context(input));
    }
    let _ = writeln!(body, "\nChoose one:\n");
    for action in Action::ALL {
        let _ = writeln!(body, "{}: {}\n", action.label(), links.get(action));
    }
    let expiry = OffsetDateTime::from_unix_timestamp(links.expires_at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| links.expires_at.to_string());
    let what_a_link_does = match mode {
        LinkMode::Confirm => {
            "Each link opens a page where you confirm your choice and may leave a comment."
        }
        LinkMode::OneClick => {
            "Opening a link records that decision at once: open only the one you mean."
        }
    };
    let _ = writeln!(
        body,
        "{what_a_link_does}\n\
         The first decision counts; later clicks are told the task is already decided or expired.\n\
         The links work until {expiry} and only for this request: do not edit them."
    );
    Email {
        subject: subject_line(task.subject.as_deref()),
        body,
    }
}

/// Pretty JSON of the execution input, cut on a character boundary when long.
pub fn render_context(input: &serde_json::Value) -> String {
    let pretty = serde_json::to_string_pretty(input).unwrap_or_else(|_| input.to_string());
    if pretty.len() <= MAX_CONTEXT_BYTES {
        return pretty;
    }
    let cut = (0..=MAX_CONTEXT_BYTES)
        .rev()
        .find(|&i| pretty.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "{}\n… (cut: showing {} of {} bytes; the whole input is in the execution's page in the Step Functions console)",
        &pretty[..cut],
        cut,
        pretty.len()
    )
}

/// An SNS-safe subject: ASCII only, no control characters, at most 100 characters, never empty.
pub fn subject_line(requested: Option<&str>) -> String {
    let cleaned: String = requested
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() {
        return DEFAULT_SUBJECT.to_owned();
    }
    // All ASCII now, so byte and char counts agree.
    cleaned[..cleaned.len().min(MAX_SUBJECT_CHARS)]
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compose(task: &ApprovalTask) -> Email {
        let links = task.signed_links(1_800_000_000, vec![1; 32], vec![2; 32]);
        super::compose(task, &links, LinkMode::Confirm)
    }

    fn task(input: serde_json::Value) -> ApprovalTask {
        ApprovalTask::from_payload(&json!({
            "ExecutionContext": {
                "Execution": {"Name": "run 7 — Zoë", "Input": input},
                "StateMachine": {"Name": "HumanApproval"},
                "Task": {"Token": "AAAA+bb/cc=="}
            },
            "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
        }))
        .unwrap()
    }

    #[test]
    fn email_names_the_execution_shows_the_input_and_lists_both_links() {
        let email = compose(&task(
            json!({"Comment": "Testing the human approval tutorial."}),
        ));
        assert_eq!(email.subject, DEFAULT_SUBJECT);
        assert!(
            email
                .body
                .contains("The links work until 2027-01-15T08:00:00Z"),
            "{}",
            email.body
        );
        assert!(email.body.contains("Execution:     run 7 — Zoë\n"));
        assert!(email.body.contains("State machine: HumanApproval\n"));
        assert!(
            email
                .body
                .contains("\"Comment\": \"Testing the human approval tutorial.\"")
        );
        let links: Vec<&str> = email
            .body
            .lines()
            .filter(|l| l.starts_with("Approve: ") || l.starts_with("Reject: "))
            .collect();
        assert_eq!(links.len(), 2, "{}", email.body);
        assert!(links[0].ends_with("/states/execution?action=approve&ex=run+7+%E2%80%94+Zo%C3%AB&sm=HumanApproval&taskToken=AAAA%2Bbb%2Fcc%3D%3D&exp=1800000000&sig=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"));
        assert!(links[1].starts_with("Reject: https://abc.execute-api.us-east-1.amazonaws.com/states/execution?action=reject&"));
    }

    #[test]
    fn the_email_says_what_opening_a_link_does() {
        let task = task(json!({}));
        let links = task.signed_links(1_800_000_000, vec![1; 32], vec![2; 32]);
        let confirm = super::compose(&task, &links, LinkMode::Confirm).body;
        assert!(
            confirm.contains("opens a page where you confirm"),
            "{confirm}"
        );
        let one_click = super::compose(&task, &links, LinkMode::OneClick).body;
        assert!(
            one_click.contains("records that decision at once"),
            "{one_click}"
        );
        assert!(!one_click.contains("confirm your choice"));
    }

    #[test]
    fn large_input_is_cut_on_a_char_boundary_and_says_so() {
        let big = json!({"items": vec!["é€漢字"; 4000]});
        let email = compose(&task(big));
        assert!(
            email.body.contains("… (cut: showing "),
            "{}",
            &email.body[..200]
        );
        assert!(email.body.len() < MAX_CONTEXT_BYTES + 4096);
        // Links survive the cut.
        assert!(email.body.contains("Approve: https://"));
        assert!(email.body.contains("Reject: https://"));
    }

    #[test]
    fn small_input_is_shown_whole() {
        let rendered = render_context(&json!({"a": 1}));
        assert_eq!(rendered, "{\n  \"a\": 1\n}");
    }

    #[test]
    fn subject_is_ascii_bounded_and_never_empty() {
        assert_eq!(subject_line(None), DEFAULT_SUBJECT);
        assert_eq!(subject_line(Some("  \n ")), DEFAULT_SUBJECT);
        assert_eq!(
            subject_line(Some("Approve\r\nBcc: x Zoë's deploy")),
            "Approve Bcc: x Zo 's deploy"
        );
        let long = subject_line(Some(&"x".repeat(300)));
        assert_eq!(long.len(), MAX_SUBJECT_CHARS);
        assert!(long.is_ascii());
    }
}
