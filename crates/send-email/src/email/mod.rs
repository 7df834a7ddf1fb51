//! The emails the gate writes: the approval email (below), the notice of how a request ended
//! ([`ended`]), and the reminder ([`reminder`]).
//!
//! The approval email: what one approver reads before deciding, with their own two links. One
//! message, two parts written from the same facts: [`text`] (all of an SNS email) and [`html`]
//! (beside it with SES). Both put the gate's own facts first and mark what the workflow wrote
//! as its words.

mod ended;
mod html;
mod reminder;
mod text;

pub use ended::ending_notices;
pub use reminder::reminders;

use approval_domain::{
    ApprovalRequest, Choice, Credential, LinkCredentials, LinkMode, ports::Message,
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

/// What both parts of one approver's email are written from.
struct ApprovalEmail<'a> {
    request: &'a ApprovalRequest,
    approve: String,
    reject: String,
    mode: LinkMode,
}

/// "2 of 3 needed; any rejection rejects".
fn quorum(request: &ApprovalRequest) -> String {
    let veto = if request.approvers.len() > 1 {
        "; any rejection rejects"
    } else {
        ""
    };
    format!(
        "{} of {} needed{veto}",
        request.required_approvals,
        request.approvers.len()
    )
}

/// The email for the approver in `slot`, holding `credentials` (theirs) as the two links; with
/// `html`, an HTML part beside the text.
pub fn approval_email(
    request: &ApprovalRequest,
    slot: usize,
    credentials: &LinkCredentials,
    api_url: &str,
    mode: LinkMode,
    html: bool,
) -> Message {
    let email = ApprovalEmail {
        request,
        approve: link(api_url, Choice::Approved, &credentials.approve),
        reject: link(api_url, Choice::Rejected, &credentials.reject),
        mode,
    };
    Message {
        to: request.approvers[slot].address.clone(),
        subject: request.subject.clone(),
        body: text::ApprovalText(&email).to_string(),
        html: html.then(|| html::approval_html(&email).into_string()),
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;

    /// The HTML part of [`the_whole_email_of_one_approver`] as it must be, with `{approve}` and
    /// `{reject}` for the two links. `UPDATE_GOLDEN=1 cargo test -p send-email` rewrites it
    /// after a deliberate change (then look at it: docs/approval-email.png shows it rendered).
    const GOLDEN_HTML: &str = "tests/golden/approval-email.html";

    fn email_of_approver_1(html: bool) -> (ApprovalRequest, LinkCredentials, Message) {
        let mut new = fixtures::new_request(2, 2);
        new.requested_by = Some(fixtures::approver(9));
        let (request, credentials) = ApprovalRequest::open(new);
        let email = approval_email(
            &request,
            1,
            &credentials[1],
            fixtures::API_URL,
            LinkMode::Confirm,
            html,
        );
        (request, credentials[1].clone(), email)
    }

    #[test]
    fn the_whole_email_of_one_approver() {
        let (request, credentials, email) = email_of_approver_1(true);
        let (approve, reject) = (
            link(fixtures::API_URL, Choice::Approved, &credentials.approve),
            link(fixtures::API_URL, Choice::Rejected, &credentials.reject),
        );
        assert_ne!(
            approve.replace("approve", ""),
            reject.replace("reject", ""),
            "two credentials"
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
                 Approve: {approve}\n\n\
                 Reject: {reject}\n\n\
                 {explain}\n\
                 These links are yours alone: each approver gets their own, and each may vote once.\n\
                 After the request is decided or expires, they only show how it ended.\n",
                explain = LinkMode::Confirm.explain(),
            )
        );
        let html = email.html.expect("an HTML part");
        let generic = html
            .replace(&approve.replace('&', "&amp;"), "{approve}")
            .replace(&reject.replace('&', "&amp;"), "{reject}");
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN_HTML);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &generic).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        assert_eq!(
            generic, expected,
            "the HTML part changed: see {GOLDEN_HTML}"
        );
        for secret in [request.task_token.expose(), request.execution_arn.as_str()] {
            assert!(!email.body.contains(secret) && !html.contains(secret));
        }
    }

    #[test]
    fn sns_mail_is_the_same_text_without_the_html_part() {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(2, 1));
        let write = |html| {
            approval_email(
                &request,
                0,
                &credentials[0],
                fixtures::API_URL,
                LinkMode::Confirm,
                html,
            )
        };
        let (sns, ses) = (write(false), write(true));
        assert_eq!(sns.html, None);
        assert!(ses.html.is_some());
        assert_eq!(
            (sns.to, sns.subject, sns.body),
            (ses.to, ses.subject, ses.body)
        );
    }

    #[test]
    fn the_html_part_fetches_nothing_runs_nothing_and_links_only_the_two_votes() {
        let (_, credentials, email) = email_of_approver_1(true);
        let html = email.html.unwrap();
        for banned in [
            "<script", "<img", "<style", "<link", "<iframe", "<form", " src=", "url(",
        ] {
            assert!(
                !html.to_ascii_lowercase().contains(banned),
                "{banned} in {html}"
            );
        }
        let hrefs: Vec<&str> = html
            .split("href=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert_eq!(
            hrefs,
            [
                link(fixtures::API_URL, Choice::Approved, &credentials.approve)
                    .replace('&', "&amp;"),
                link(fixtures::API_URL, Choice::Rejected, &credentials.reject)
                    .replace('&', "&amp;"),
            ]
        );
    }

    #[test]
    fn no_workflow_text_can_pass_for_a_line_of_the_gate() {
        let mut new = fixtures::new_request(1, 1);
        new.summary =
            Some("Requested by: ceo@example.com\nApprove: https://evil.example/approve".into());
        new.details = "Execution: prod-release\r\nReject: https://evil.example/\n<a href=\"https://evil.example/\">Approve</a>".into();
        let (request, credentials) = ApprovalRequest::open(new);
        let email = approval_email(
            &request,
            0,
            &credentials[0],
            fixtures::API_URL,
            LinkMode::Confirm,
            true,
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
                    link(fixtures::API_URL, Choice::Approved, &credentials[0].approve)
                ),
                format!(
                    "Reject: {}",
                    link(fixtures::API_URL, Choice::Rejected, &credentials[0].reject)
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
        // In the HTML part the workflow's words are text inside the box labelled as theirs:
        // escaped, never markup, never a link.
        let html = email.html.unwrap();
        assert!(!html.contains("evil.example/\">"), "{html}");
        assert!(html.contains("&lt;a href=&quot;https://evil.example/&quot;&gt;Approve&lt;/a&gt;"));
        let theirs = html
            .find("What the workflow says (its words, not the gate")
            .unwrap();
        let evil = html.find("Requested by: ceo@example.com").unwrap();
        assert!(theirs < evil, "the label comes before the workflow's words");
        assert_eq!(html.matches("<a ").count(), 2, "only the two buttons link");
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
            let link = link(&api, choice, credentials[0].of(choice));
            assert!(link.len() <= 200, "{} chars: {link}", link.len());
            assert!(!link.contains(request.execution_name()));
        }
    }
}
