//! The approval email: what one approver reads before deciding, with their own two links.

use std::fmt::Write as _;

use approval_domain::{ApprovalRequest, Choice, Credential, LinkMode, ports::Message};
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
    let to = request.approvers[slot].address.clone();
    let mut body = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(
        body,
        "An AWS Step Functions workflow is waiting for your decision.\n"
    );
    if let Some(summary) = &request.summary {
        let _ = writeln!(body, "{summary}\n");
    }
    if let Some(requester) = &request.requested_by {
        let _ = writeln!(body, "Requested by:  {requester}");
    }
    let _ = writeln!(body, "Execution:     {}", request.execution_name());
    let _ = writeln!(body, "State machine: {}", request.state_machine_name());
    let _ = writeln!(
        body,
        "Approvals:     {} of {} needed{}",
        request.required_approvals,
        request.approvers.len(),
        if request.approvers.len() > 1 {
            "; any rejection rejects"
        } else {
            ""
        }
    );
    let _ = writeln!(body, "Expires:       {}", request.expires_at);
    let _ = writeln!(body, "\nDetails:\n{}\n", request.details);
    for choice in Choice::ALL {
        let _ = writeln!(
            body,
            "{}: {}\n",
            choice.label(),
            link(api_url, choice, credential)
        );
    }
    let _ = writeln!(
        body,
        "{}\nThese links are yours alone: each approver gets their own, and each may vote once.\n\
         After the request is decided or expires, they only show how it ended.",
        mode.explain()
    );
    Message {
        to,
        subject: request.subject.clone(),
        body,
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
                 Deploy v42 to prod\n\n\
                 Requested by:  approver9@example.com\n\
                 Execution:     ApprovalTest\n\
                 State machine: HumanApprovalLambdaStateMachine\n\
                 Approvals:     2 of 2 needed; any rejection rejects\n\
                 Expires:       2027-01-15T09:00:00Z\n\n\
                 Details:\n{{\n  \"Comment\": \"Testing the human approval tutorial.\"\n}}\n\n\
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
