//! Every page approval-callback answers with, as maud templates: every value is escaped by
//! the template engine, nothing is written as raw HTML but the fixed style sheet.

use approval_domain::{ApprovalRequest, Choice, Delivery, Standing, Vote};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:1.5rem;\
color:#1a1a1a;background:#f6f7f9}main{max-width:40rem;margin:0 auto;background:#fff;border-radius:8px;\
padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin:0 0 1rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}dt{color:#555}\
dd{margin:0;overflow-wrap:anywhere}pre{background:#f3f3f3;padding:.75rem;overflow:auto;max-height:24rem;white-space:pre-wrap}\
textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit}\
button{font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:6px;color:#fff;cursor:pointer;width:100%}\
.approve{background:#1d7a35}.reject{background:#b3261e}.note{color:#555;font-size:.9rem}";

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex,nofollow";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    }
}

/// "1 of 2 approvals so far, by alice@example.com".
pub fn progress(request: &ApprovalRequest) -> String {
    let tally = request.tally();
    let by: Vec<&str> = request
        .votes
        .iter()
        .filter(|v| v.choice == Choice::Approved)
        .map(|v| v.approver.as_str())
        .collect();
    let mut text = format!(
        "{} of {} approval{} so far",
        tally.approvals,
        request.required_approvals,
        if request.required_approvals == 1 {
            ""
        } else {
            "s"
        }
    );
    if !by.is_empty() {
        text.push_str(&format!(", by {}", by.join(", ")));
    }
    text
}

fn summary(request: &ApprovalRequest) -> Markup {
    html! {
        dl {
            dt { "Request" } dd { (request.subject) }
            @if let Some(requester) = &request.requested_by { dt { "Requested by" } dd { (requester) } }
            dt { "Execution" } dd { (request.execution_name()) }
            dt { "State machine" } dd { (request.state_machine_name()) }
            dt { "Progress" } dd { (progress(request)) }
            dt { "Expires" } dd { (request.expires_at) }
        }
        @if let Some(text) = &request.summary { p { (text) } }
        p.note { "Details:" }
        pre { (request.details) }
    }
}

/// The confirm-mode page of a GET: what is asked, and one form that POSTs to this very URL.
pub fn confirm(
    request: &ApprovalRequest,
    approver: &str,
    choice: Choice,
    credential: &str,
) -> Markup {
    let verb = match choice {
        Choice::Approved => "approve",
        Choice::Rejected => "reject",
    };
    document(
        &format!("{}: {}", choice.label(), request.subject),
        html! {
            h1 { (choice.label()) "?" }
            (summary(request))
            form method="post" {
                input type="hidden" name="action" value=(choice.action());
                input type="hidden" name="c" value=(credential);
                p {
                    label for="comment" { "Comment (optional)" }
                    textarea id="comment" name="comment" maxlength="2000" {}
                }
                button type="submit" class=(choice.action()) { (choice.label()) }
            }
            p.note { "You are voting as " (approver) ". Nothing is recorded until you press the button; you may " (verb) " once." }
        },
    )
}

/// A vote that was recorded but did not decide.
pub fn recorded(request: &ApprovalRequest, vote: &Vote, still_needed: usize) -> Markup {
    document(
        "Vote recorded",
        html! {
            h1 { "Vote recorded — waiting for " (still_needed) " more" }
            p { "Your " (vote.choice.as_str()) " vote is recorded (" (vote.voted_at) "). "
                "The request is decided once " (request.required_approvals) " approvals are in, or at the first rejection." }
            (summary(request))
        },
    )
}

/// The deciding vote, when there is no page to send the browser on to (a partition without a
/// public console, and no `RedirectUrl`).
pub fn decided(request: &ApprovalRequest) -> Markup {
    let (decision, at) = request
        .decided()
        .map(|d| (d.decision.as_str(), d.at.to_string()))
        .unwrap_or_default();
    document(
        "Your vote decided this request",
        html! {
            h1 { "Your vote decided this request: " (decision) }
            p { "Step Functions has the decision (" (at) "); the workflow goes on." }
            (summary(request))
        },
    )
}

/// 409: this approver voted already.
pub fn already_voted(request: &ApprovalRequest, vote: &Vote) -> Markup {
    document(
        "You already voted",
        html! {
            h1 { "You already voted" }
            p { "You " (vote.choice.as_str()) " this request at " (vote.voted_at) "; each approver votes once." }
            (summary(request))
        },
    )
}

/// 410: how the request ended.
pub fn ended(request: &ApprovalRequest, standing: &Standing) -> Markup {
    let (heading, text) = match standing {
        Standing::Decided { decision, by, at } => (
            format!("Already {}", decision.as_str()),
            match request.decided().map(|d| &d.delivery) {
                Some(Delivery::Unconfirmed { reason, .. }) => format!(
                    "This request was {} by {by} at {at}, but Step Functions closed its task \
                     ({reason}) without confirming it took the decision: the execution's \
                     history says whether it did. Your link no longer votes.",
                    decision.as_str()
                ),
                _ => format!(
                    "This request was {} by {by} at {at}. Your link no longer votes.",
                    decision.as_str()
                ),
            },
        ),
        Standing::Expired { at } => (
            "This request has expired".to_owned(),
            format!("It expired undecided at {at}."),
        ),
        Standing::Cancelled { status, at } => (
            "This request was cancelled".to_owned(),
            format!(
                "cancelled: the execution {} ({at}) before anyone decided. \
                 Your link no longer votes.",
                status.ended_as()
            ),
        ),
        Standing::Closed { reason, at } => (
            "This request is closed".to_owned(),
            format!(
                "Step Functions closed its task ({reason}) at {at}, before any decision reached it: \
                 the task timed out, its execution ended, or its token is no longer valid. \
                 Votes cast on it decided nothing."
            ),
        ),
        Standing::MayVote | Standing::Voted(_) | Standing::NotAnApprover => (
            "This link no longer votes".to_owned(),
            "This request does not take a vote from this link.".to_owned(),
        ),
    };
    document(
        &heading,
        html! { h1 { (heading) } p { (text) } (summary(request)) },
    )
}

/// 404: no such request, slot, or secret; the same page for each, saying nothing of which.
pub fn not_found() -> Markup {
    document(
        "Not a link of this approval gate",
        html! {
            h1 { "Not a link of this approval gate" }
            p { "This link does not open any approval request here. Copy the whole link from your approval email; it may have been cut or changed." }
        },
    )
}

/// The body of a redirect, for a browser that does not follow it.
pub fn continue_to(target: &url::Url) -> Markup {
    document(
        "Vote recorded",
        html! { h1 { "Vote recorded" } p { "The request is decided. " a href=(target.as_str()) { "Continue" } } },
    )
}

pub fn bad_request(problem: &str) -> Markup {
    document(
        "This link cannot be used",
        html! { h1 { "This link cannot be used" } p { (problem) } },
    )
}

pub fn method_not_allowed(method: &str) -> Markup {
    document(
        "Method not allowed",
        html! { h1 { "Method not allowed" } p { "Approval links answer GET and POST only, not " (method) "." } },
    )
}

pub fn too_large(limit: usize) -> Markup {
    document(
        "Too large",
        html! { h1 { "Too large" } p { "A vote is at most " (limit) " bytes." } },
    )
}

pub fn unsupported_type() -> Markup {
    document(
        "Unsupported form",
        html! { h1 { "Unsupported form" } p { "A vote is posted as application/x-www-form-urlencoded, by the page's own form." } },
    )
}

pub fn unavailable(retry_after_seconds: u64) -> Markup {
    document(
        "Try again in a minute",
        html! {
            h1 { "Try again in a minute" }
            p { "The approval service is busy or briefly unreachable. Nothing you did is lost: a vote already recorded stays recorded. "
                "Reload this page (or press the button again) in " (retry_after_seconds) " seconds." }
        },
    )
}

pub fn failed() -> Markup {
    document(
        "Something went wrong",
        html! {
            h1 { "Something went wrong" }
            p { "The approval service could not handle this link. The details are in its log; tell whoever runs it." }
        },
    )
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;

    #[test]
    fn the_confirm_page_escapes_everything_and_posts_its_own_form() {
        let mut new = fixtures::new_request(2, 2);
        new.subject = "<script>alert(1)</script>".into();
        new.details = "{\"x\": \"</pre><b>bold</b>\"}".into();
        let (mut request, credentials) = ApprovalRequest::open(new);
        request
            .cast(0, Choice::Approved, String::new(), fixtures::now())
            .unwrap();
        let html = confirm(
            &request,
            "approver1@example.com",
            Choice::Rejected,
            &credentials[1].reject.encode(),
        )
        .into_string();
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>bold</b>"));
        assert_eq!(html.matches("<form").count(), 1);
        assert!(
            html.contains("<form method=\"post\">"),
            "no action attribute: posts to its own URL"
        );
        assert!(html.contains("<input type=\"hidden\" name=\"action\" value=\"reject\">"));
        assert!(html.contains(&format!(
            "<input type=\"hidden\" name=\"c\" value=\"{}\">",
            credentials[1].reject.encode()
        )));
        assert_eq!(html.matches("<button").count(), 1);
        assert!(
            html.contains("1 of 2 approvals so far, by approver0@example.com"),
            "{html}"
        );
        assert!(!html.contains(request.task_token.expose()));
    }

    #[test]
    fn progress_reads_naturally() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        assert_eq!(progress(&request), "0 of 1 approval so far");
        request
            .cast(0, Choice::Approved, String::new(), fixtures::now())
            .unwrap();
        assert_eq!(
            progress(&request),
            "1 of 1 approval so far, by approver0@example.com"
        );
    }
}
