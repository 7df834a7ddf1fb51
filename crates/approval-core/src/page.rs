//! The HTML the approver sees. Plain, readable on a phone, no external assets, every echoed
//! value escaped with `html-escape`.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::{
    Action,
    callback::CallbackRequest,
    decision::MAX_COMMENT_CHARS,
    link::param,
    signing::{EXPIRES_PARAM, LinkSignature, SIGNATURE_PARAM},
};

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:1.5rem;\
color:#1a1a1a;background:#f6f7f9}main{max-width:36rem;margin:0 auto;background:#fff;border-radius:8px;\
padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin:0 0 1rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}dt{color:#555}\
dd{margin:0;overflow-wrap:anywhere}textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit}\
button{font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:6px;color:#fff;cursor:pointer;width:100%}\
.approve{background:#1d7a35}.reject{background:#b3261e}.note{color:#555;font-size:.9rem}";

/// Wraps a page body in the shared document shell.
fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex,nofollow\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        text(title)
    )
}

fn details(execution: &str, state_machine: &str) -> String {
    format!(
        "<dl><dt>Execution</dt><dd id=\"execution\">{}</dd><dt>State machine</dt><dd id=\"state-machine\">{}</dd></dl>",
        text(execution),
        text(state_machine)
    )
}

/// The page a GET shows in confirm mode: what is about to be decided, and one button that POSTs.
///
/// The form has no `action` attribute, so it posts to the page's own URL: that works behind an
/// API Gateway stage, a custom domain or a `cargo lambda watch` prefix alike.
pub fn confirmation(request: &CallbackRequest) -> String {
    let action = request.action;
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            attr(value)
        )
    };
    let body = format!(
        "<h1>{label} this request?</h1>{details}\
         <form method=\"post\">{a}{ex}{sm}{tok}{exp}{sig}\
         <p><label for=\"comment\">Comment (optional)</label><br>\
         <textarea id=\"comment\" name=\"{comment}\" maxlength=\"{max}\"></textarea></p>\
         <button type=\"submit\" class=\"{class}\">{label}</button></form>\
         <p class=\"note\">Opening this page decided nothing. Your decision is recorded only when you press \
         the button, and only the first decision counts.</p>",
        label = action.label(),
        details = details(
            &request.request.execution_name,
            &request.request.state_machine_name
        ),
        a = hidden(param::ACTION, action.as_str()),
        ex = hidden(param::EXECUTION, &request.request.execution_name),
        sm = hidden(param::STATE_MACHINE, &request.request.state_machine_name),
        tok = hidden(param::TASK_TOKEN, request.request.task_token.expose()),
        // The form carries the link's signature through, so the POST is verified like the GET.
        exp = hidden(EXPIRES_PARAM, &request.signature.expires_at.to_string()),
        sig = hidden(
            SIGNATURE_PARAM,
            &LinkSignature::encode_mac(&request.signature.mac)
        ),
        comment = param::COMMENT,
        max = MAX_COMMENT_CHARS,
        class = action.as_str(),
    );
    document(&format!("{} this request?", action.label()), &body)
}

/// Shown after a decision when there is nowhere to redirect to.
pub fn decided(request: &CallbackRequest) -> String {
    let verb = match request.action {
        Action::Approve => "Approved",
        Action::Reject => "Rejected",
    };
    let body = format!(
        "<h1>{verb}</h1>{}<p>Your decision was sent to AWS Step Functions. You can close this page.</p>",
        details(
            &request.request.execution_name,
            &request.request.state_machine_name
        )
    );
    document(verb, &body)
}

/// A page with a heading and one paragraph: why nothing was decided, what went wrong, or
/// that a decision was recorded.
pub fn message(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p id=\"message\">{}</p>",
        text(title),
        text(message)
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApprovalRequest, TaskToken};

    const XSS: &str = "\"><script>alert('x')</script><img src=x onerror=alert(1)>";

    fn request(action: Action, name: &str) -> CallbackRequest {
        CallbackRequest {
            action,
            request: ApprovalRequest {
                execution_name: name.into(),
                state_machine_name: format!("sm-{name}"),
                task_token: TaskToken::parse("taskToken", "AAAA+bb/cc==").unwrap(),
            },
            comment: String::new(),
            signature: LinkSignature {
                expires_at: 1_800_000_000,
                mac: vec![0xFB; 32],
            },
        }
    }

    #[test]
    fn confirmation_page_shows_what_is_decided_and_posts_to_itself() {
        let html = confirmation(&request(Action::Approve, "run-1"));
        assert!(html.contains("<h1>Approve this request?</h1>"));
        assert!(html.contains("<dd id=\"execution\">run-1</dd>"));
        assert!(html.contains("<dd id=\"state-machine\">sm-run-1</dd>"));
        assert!(
            html.contains("<form method=\"post\">"),
            "form must post to its own URL"
        );
        assert!(!html.contains("action=\""), "no action attribute");
        assert!(html.contains("<input type=\"hidden\" name=\"action\" value=\"approve\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"taskToken\" value=\"AAAA+bb/cc==\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"exp\" value=\"1800000000\">"));
        let sig = LinkSignature::encode_mac(&[0xFB; 32]);
        assert!(html.contains(&format!(
            "<input type=\"hidden\" name=\"sig\" value=\"{sig}\">"
        )));
        assert!(html.contains("<textarea id=\"comment\" name=\"comment\" maxlength=\"2000\">"));
        assert_eq!(html.matches("<button").count(), 1);
        assert!(html.contains("<button type=\"submit\" class=\"approve\">Approve</button>"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external assets"
        );
    }

    #[test]
    fn reject_page_has_the_reject_button() {
        let html = confirmation(&request(Action::Reject, "run-1"));
        assert!(html.contains("<button type=\"submit\" class=\"reject\">Reject</button>"));
        assert!(html.contains("name=\"action\" value=\"reject\""));
    }

    #[test]
    fn echoed_values_are_escaped_everywhere() {
        for html in [
            confirmation(&request(Action::Approve, XSS)),
            decided(&request(Action::Reject, XSS)),
            message(XSS, XSS),
        ] {
            assert!(!html.contains("<script>"), "{html}");
            assert!(!html.contains("<img"), "{html}");
            assert!(
                html.contains("&lt;script&gt;") || html.contains("&quot;&gt;&lt;script"),
                "{html}"
            );
        }
    }
}
