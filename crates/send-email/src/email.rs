//! The approval email: what one approver reads before deciding, with their own two links.

use std::fmt;

use approval_domain::{
    ApprovalRequest, Choice, Credential, LinkMode, ports::Message, text::Quoted,
};
use url::Url;

/// `{api_url}/execution?action=approve|reject&c=<credential>`.
pub fn link(api_url: &str, choice: Choice, credential: &Credential) -> String {
    let base = format!("{api_url}/execution");
    match Url::parse(&base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("action", choice.action())
                .append_pair("c", &credential.encode());
            url.into()
        }
        // Config checked the URL's scheme; a URL that still does not parse gets the plain form.
        Err(_) => format!(
            "{base}?action={}&c={}",
            choice.action(),
            credential.encode()
        ),
    }
}

/// The email for the approver in `slot`.
pub fn approval_email(
    request: &ApprovalRequest,
    slot: usize,
    credential: &Credential,
    api_url: &str,
    mode: LinkMode,
) -> Message {
    let text = ApprovalText {
        request,
        approve: link(api_url, Choice::Approved, credential),
        reject: link(api_url, Choice::Rejected, credential),
        mode,
    };
    Message {
        to: request.approvers[slot].address.clone(),
        subject: request.subject.clone(),
        body: text.to_string(),
    }
}

/// The text of an approval email: the gate's own facts first, then what the workflow wrote
/// (every line quoted, so none of it can pass for a line of the gate's), then the links.
struct ApprovalText<'a> {
    request: &'a ApprovalRequest,
    approve: String,
    reject: String,
    mode: LinkMode,
}

impl fmt::Display for ApprovalText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = self.request;
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
        let veto = if request.approvers.len() > 1 {
            "; any rejection rejects"
        } else {
            ""
        };
        writeln!(
            f,
            "Approvals:     {} of {} needed{veto}",
            request.required_approvals,
            request.approvers.len()
        )?;
        writeln!(f, "Expires:       {}", request.expires_at)?;
        writeln!(f)?;
        writeln!(f, "What the workflow says (its words, not the gate's):")?;
        if let Some(summary) = &request.summary {
            write!(f, "{}", Quoted(summary))?;
            writeln!(f, "|")?;
        }
        write!(f, "{}", Quoted(&format!("Details:\n{}", request.details)))?;
        writeln!(f)?;
        writeln!(f, "{}: {}", Choice::Approved.label(), self.approve)?;
        writeln!(f)?;
        writeln!(f, "{}: {}", Choice::Rejected.label(), self.reject)?;
        writeln!(f)?;
        writeln!(f, "{}", self.mode.explain())?;
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

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;

    #[test]
    fn the_whole_email_of_one_approver() {
        let mut new = fixtures::new_request(2, 2);
        new.requested_by = Some(fixtures::approver(9));
        let (request, credentials) = ApprovalRequest::open(new);
        let c = credentials[1].encode();
        let email = approval_email(
            &request,
            1,
            &credentials[1],
            fixtures::API_URL,
            LinkMode::Confirm,
        );
        assert_eq!(email.to, fixtures::approver(1));
        assert_eq!(email.subject, "Required approval from AWS Step Functions");
        assert_eq!(
            email.body,
            format!(
                "An AWS Step Functions workflow is waiting for your decision.\n\n\
                 Requested by:  approver9@example.com (as the workflow states it)\n\
                 Execution:     ApprovalTest\n\
                 State machine: HumanApprovalLambdaStateMachine\n\
                 Approvals:     2 of 2 needed; any rejection rejects\n\
                 Expires:       2027-01-15T09:00:00Z\n\n\
                 What the workflow says (its words, not the gate's):\n\
                 | Deploy v42 to prod\n\
                 |\n\
                 | Details:\n\
                 | {{\n\
                 |   \"Comment\": \"Testing the human approval tutorial.\"\n\
                 | }}\n\n\
                 Approve: {api}/execution?action=approve&c={c}\n\n\
                 Reject: {api}/execution?action=reject&c={c}\n\n\
                 {explain}\n\
                 These links are yours alone: each approver gets their own, and each may vote once.\n\
                 After the request is decided or expires, they only show how it ended.\n",
                api = fixtures::API_URL,
                explain = LinkMode::Confirm.explain(),
            )
        );
        assert!(!email.body.contains(request.task_token.expose()));
    }

    #[test]
    fn no_workflow_text_can_pass_for_a_line_of_the_gate() {
        let mut new = fixtures::new_request(1, 1);
        new.summary =
            Some("Requested by: ceo@example.com\nApprove: https://evil.example/approve".into());
        new.details = "Execution: prod-release\r\nReject: https://evil.example/".into();
        let (request, credentials) = ApprovalRequest::open(new);
        let email = approval_email(
            &request,
            0,
            &credentials[0],
            fixtures::API_URL,
            LinkMode::Confirm,
        );
        let gate_lines: Vec<&str> = email
            .body
            .lines()
            .filter(|line| {
                ["Requested by:", "Approve:", "Reject:", "Execution:"]
                    .iter()
                    .any(|label| line.starts_with(label))
            })
            .collect();
        assert_eq!(
            gate_lines,
            [
                "Execution:     ApprovalTest".to_owned(),
                format!(
                    "Approve: {}",
                    link(fixtures::API_URL, Choice::Approved, &credentials[0])
                ),
                format!(
                    "Reject: {}",
                    link(fixtures::API_URL, Choice::Rejected, &credentials[0])
                ),
            ],
            "{}",
            email.body
        );
        assert!(
            email
                .body
                .contains("| Approve: https://evil.example/approve\n"),
            "{}",
            email.body
        );
    }

    #[test]
    fn links_are_short() {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(1, 1));
        // An API URL of 70 characters, as the contract measures.
        let api = format!(
            "https://{}.execute-api.eu-central-1.amazonaws.com/states",
            "a".repeat(10)
        );
        let api = format!("{api}{}", "x".repeat(70 - api.len()));
        assert_eq!(api.len(), 70);
        for choice in Choice::ALL {
            let link = link(&api, choice, &credentials[0]);
            assert!(link.len() <= 200, "{} chars: {link}", link.len());
            assert!(!link.contains(request.execution_name()));
        }
    }
}
