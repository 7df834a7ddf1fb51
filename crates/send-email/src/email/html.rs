//! The HTML part, as a maud template: every value escaped by the template engine. Written for
//! mail clients: a table layout, inline styles only, no script, no style sheet to strip, no
//! image or anything else fetched from anywhere. Approve and Reject are buttons that are the
//! approver's two links. The workflow's words (the Summary, already with hidden characters made
//! visible, and the Details as JSON) sit in a box labelled as theirs, after the gate's facts.

use approval_domain::Choice;
use maud::{DOCTYPE, Markup, html};

use super::{ApprovalEmail, quorum};

const BODY: &str = "margin:0;padding:24px 12px;background:#f6f7f9;color:#1a1a1a;\
font:16px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const CARD: &str = "max-width:600px;width:100%;background:#ffffff;border-radius:8px;\
border:1px solid #e1e4e8;padding:24px";
const FACT_NAME: &str =
    "padding:2px 16px 2px 0;color:#555555;vertical-align:top;white-space:nowrap";
const FACT: &str = "padding:2px 0;vertical-align:top;word-break:break-word";
const THEIRS: &str =
    "margin:20px 0;padding:12px 16px;background:#f3f4f6;border-left:4px solid #9aa0a6";
const THEIRS_LABEL: &str = "margin:0 0 8px;font-size:13px;color:#555555";
const PRE: &str = "margin:0;white-space:pre-wrap;word-break:break-word;\
font:13px/1.45 SFMono-Regular,Consolas,'Liberation Mono',monospace";
const NOTE: &str = "margin:16px 0 0;font-size:13px;color:#555555";

fn button_style(choice: Choice) -> &'static str {
    match choice {
        Choice::Approved => {
            "display:inline-block;padding:12px 28px;border-radius:6px;background:#1d7a35;\
             color:#ffffff;font-weight:600;text-decoration:none"
        }
        Choice::Rejected => {
            "display:inline-block;padding:12px 28px;border-radius:6px;background:#b3261e;\
             color:#ffffff;font-weight:600;text-decoration:none"
        }
    }
}

/// A whole email page: `title` as its heading, `content` under it, on a white card.
pub(super) fn mail_page(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) }
            }
            body style=(BODY) {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" {
                    tr { td align="center" {
                        table role="presentation" cellpadding="0" cellspacing="0" style=(CARD) {
                            tr { td {
                                h1 style="margin:0 0 8px;font-size:20px" { (title) }
                                (content)
                            } }
                        }
                    } }
                }
            }
        }
    }
}

/// The gate's own facts, one row each.
pub(super) fn facts(rows: &[(&str, String)]) -> Markup {
    html! {
        table role="presentation" cellpadding="0" cellspacing="0" {
            @for (name, value) in rows {
                tr {
                    td style=(FACT_NAME) { (name) }
                    td style=(FACT) { (value) }
                }
            }
        }
    }
}

/// Someone else's words (the workflow's, a voter's) in a grey box under `label`.
pub(super) fn theirs(label: &str, content: Markup) -> Markup {
    html! {
        div style=(THEIRS) {
            p style=(THEIRS_LABEL) { (label) }
            (content)
        }
    }
}

/// Text kept as written (line breaks included), escaped.
pub(super) fn verbatim(text: &str) -> Markup {
    html! { pre style=(PRE) { (text) } }
}

pub(super) fn note(text: &str) -> Markup {
    html! { p style=(NOTE) { (text) } }
}

pub(super) fn approval_html(email: &ApprovalEmail<'_>) -> Markup {
    let request = email.request;
    let rows: Vec<(&str, String)> = [
        request
            .requested_by
            .as_ref()
            .map(|r| ("Requested by", format!("{r} (as the workflow states it)"))),
        Some(("Execution", request.execution_name().to_owned())),
        Some(("State machine", request.state_machine_name().to_owned())),
        Some(("Approvals", quorum(request))),
        Some(("Expires", request.expires_at.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect();
    let links = [
        (Choice::Approved, &email.approve),
        (Choice::Rejected, &email.reject),
    ];
    let workflow_says = html! {
        @if let Some(summary) = &request.summary {
            (verbatim(summary))
            br;
        }
        (verbatim(&format!("Details:\n{}", request.details)))
    };
    mail_page(
        &request.subject,
        html! {
            p style="margin:0 0 16px" {
                "An AWS Step Functions workflow is waiting for your decision."
            }
            (facts(&rows))
            (theirs("What the workflow says (its words, not the gate's):", workflow_says))
            table role="presentation" cellpadding="0" cellspacing="0" {
                tr {
                    @for (choice, link) in links {
                        td style="padding:0 12px 0 0" {
                            a href=(link) style=(button_style(choice)) {
                                (choice.label())
                            }
                        }
                    }
                }
            }
            (note(email.mode.explain()))
            (note("These links are yours alone: each approver gets their own, and each may vote once. \
                   After the request is decided or expires, they only show how it ended."))
        },
    )
}
