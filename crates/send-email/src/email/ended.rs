//! The email every approver of a request gets once it has ended: decided (once Step Functions
//! has the decision), expired, or cancelled (its execution ended first). send-email tells it when the record says it is untold
//! ([`approval_domain::telling`]).

use std::fmt;

use approval_domain::{ApprovalRequest, Untold, ports::Message, text::Quoted};
use maud::{Markup, html};

use super::html::{facts, mail_page, note, theirs, verbatim};

/// SNS email subjects are at most 100 characters.
const MAX_SUBJECT_CHARS: usize = 100;

/// One message per approver of `request` who was sent the request, telling them `untold`; with
/// `html`, an HTML part beside the text.
pub fn ending_notices(request: &ApprovalRequest, untold: Untold<'_>, html: bool) -> Vec<Message> {
    let ending = Ending::of(request, untold);
    let subject: String = format!("{}: {}", ending.prefix, request.subject)
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let body = EndedText {
        request,
        ending: &ending,
    }
    .to_string();
    let html = html.then(|| ended_html(request, &ending, &subject).into_string());
    // Only those who were told of the request hear how it ended: an approver whose approval
    // email never went out (the request failed to open for them) gets no notice either.
    request
        .approvers
        .iter()
        .filter(|entry| entry.notified_at.is_some())
        .map(|entry| Message {
            to: entry.address.clone(),
            subject: subject.clone(),
            body: body.clone(),
            html: html.clone(),
        })
        .collect()
}

/// How it ended, as both parts say it: the subject's prefix, one sentence, then the facts.
struct Ending {
    prefix: &'static str,
    sentence: String,
    facts: Vec<(&'static str, String)>,
}

impl Ending {
    fn of(request: &ApprovalRequest, untold: Untold<'_>) -> Self {
        let subject = &request.subject;
        let (prefix, sentence, mut facts) = match untold {
            Untold::Decided(decided) => (
                "Decided",
                format!(
                    "The approval request \"{subject}\" was {}.",
                    decided.decision.as_str()
                ),
                vec![
                    ("Decided by", decided.by.to_string()),
                    ("Decided at", decided.at.to_string()),
                ],
            ),
            Untold::Expired { at } => (
                "Expired",
                format!("The approval request \"{subject}\" expired undecided."),
                vec![
                    ("Expired at", at.to_string()),
                    ("Approvals", approvals_given(request)),
                ],
            ),
            Untold::Cancelled { status, at } => (
                "Cancelled",
                format!(
                    "The approval request \"{subject}\" was cancelled undecided: its execution {}.",
                    status.ended_as()
                ),
                vec![
                    ("Cancelled at", at.to_string()),
                    ("Approvals", approvals_given(request)),
                ],
            ),
        };
        facts.push(("Execution", request.execution_name().to_owned()));
        facts.push(("State machine", request.state_machine_name().to_owned()));
        Self {
            prefix,
            sentence,
            facts,
        }
    }
}

/// How it ended and when, then every vote, each comment quoted as the voter's words.
struct EndedText<'a> {
    request: &'a ApprovalRequest,
    ending: &'a Ending,
}

impl fmt::Display for EndedText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = self.request;
        writeln!(f, "{}", self.ending.sentence)?;
        writeln!(f)?;
        for (label, value) in &self.ending.facts {
            writeln!(f, "{:<15}{value}", format!("{label}:"))?;
        }
        writeln!(f)?;
        if request.votes.is_empty() {
            writeln!(f, "Votes:         none")?;
        } else {
            writeln!(f, "Votes:")?;
        }
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

/// The HTML part: the same facts and votes, each comment in a box marked as the voter's words.
fn ended_html(request: &ApprovalRequest, ending: &Ending, subject: &str) -> Markup {
    mail_page(
        subject,
        html! {
            p style="margin:0 0 16px" { (ending.sentence) }
            (facts(&ending.facts))
            @if request.votes.is_empty() {
                p { "Votes: none." }
            } @else {
                p style="margin:16px 0 4px" { "Votes:" }
                @for vote in &request.votes {
                    p style="margin:4px 0" {
                        (format!("{} {} at {}", vote.approver, vote.choice.as_str(), vote.voted_at))
                    }
                    @if !vote.comment.is_empty() {
                        (theirs("Their comment (the voter's words, not the gate's):", verbatim(&vote.comment)))
                    }
                }
            }
            (note("Your links for this request no longer vote; they show how it ended."))
        },
    )
}

/// "1 of 2 given".
fn approvals_given(request: &ApprovalRequest) -> String {
    format!(
        "{} of {} given",
        request.tally().approvals,
        request.required_approvals
    )
}

#[cfg(test)]
mod tests {
    use approval_domain::{Choice, memory::fixtures};

    use super::*;

    fn notices(request: &ApprovalRequest) -> Vec<Message> {
        request
            .untold()
            .map(|untold| ending_notices(request, untold, false))
            .unwrap_or_default()
    }

    #[test]
    fn every_approver_is_told_who_decided_and_every_vote() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(3, 2));
        assert!(notices(&request).is_empty());
        request
            .cast(0, Choice::Approved, "fine".into(), fixtures::now())
            .unwrap();
        request
            .cast(1, Choice::Rejected, String::new(), fixtures::now())
            .unwrap();
        assert!(
            notices(&request).is_empty(),
            "not before Step Functions has it"
        );
        request.delivered(fixtures::now());
        let notices = notices(&request);
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
    fn an_approver_never_sent_the_request_is_not_told_how_it_ended() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(3, 1));
        request.approvers[1].notified_at = None;
        request.end_with_execution(approval_domain::ExecutionStatus::Failed, fixtures::now());
        let to: Vec<String> = notices(&request).iter().map(|m| m.to.to_string()).collect();
        assert_eq!(to, ["approver0@example.com", "approver2@example.com"]);
    }

    #[test]
    fn a_comment_cannot_pass_for_a_line_of_the_gate() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(1, 1));
        request
            .cast(
                0,
                Choice::Approved,
                "ok\nDecided by:    ceo@example.com\r\nVotes:".into(),
                fixtures::now(),
            )
            .unwrap();
        request.delivered(fixtures::now());
        let body = &notices(&request)[0].body;
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

    #[test]
    fn the_whole_expiry_notice() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(2, 2));
        request
            .cast(1, Choice::Approved, "ok by me".into(), fixtures::now())
            .unwrap();
        assert!(request.expire(request.expires_at));
        let notices = notices(&request);
        assert_eq!(notices.len(), 2);
        assert_eq!(
            notices[0].subject,
            "Expired: Required approval from AWS Step Functions"
        );
        assert_eq!(
            notices[0].body,
            "The approval request \"Required approval from AWS Step Functions\" expired undecided.\n\n\
             Expired at:    2027-01-15T09:00:00Z\n\
             Approvals:     1 of 2 given\n\
             Execution:     ApprovalTest\n\
             State machine: HumanApprovalLambdaStateMachine\n\n\
             Votes:\n\
             - approver1@example.com approved at 2027-01-15T08:00:00Z, commenting:\n\
             | ok by me\n\n\
             Your links for this request no longer vote; they show how it ended.\n"
        );
    }

    #[test]
    fn a_cancelled_request_says_how_its_execution_ended() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(2, 1));
        request.end_with_execution(approval_domain::ExecutionStatus::Aborted, fixtures::now());
        let notices = notices(&request);
        assert_eq!(notices.len(), 2);
        assert_eq!(
            notices[0].subject,
            "Cancelled: Required approval from AWS Step Functions"
        );
        let body = &notices[0].body;
        assert!(
            body.starts_with(
                "The approval request \"Required approval from AWS Step Functions\" was cancelled undecided: its execution was aborted.\n\n\
                 Cancelled at:  2027-01-15T08:00:00Z\n\
                 Approvals:     0 of 1 given\n"
            ),
            "{body}"
        );
        assert!(body.contains("Votes:         none"), "{body}");
    }

    #[test]
    fn with_ses_the_notice_has_an_html_part_that_escapes_the_comments_and_links_nowhere() {
        let (mut request, _) = fixtures::mailed(fixtures::new_request(1, 1));
        request
            .cast(
                0,
                Choice::Approved,
                "<a href=\"https://evil.example\">ok</a>\nDecided by: ceo".into(),
                fixtures::now(),
            )
            .unwrap();
        request.delivered(fixtures::now());
        let untold = request.untold().unwrap();
        let notices = ending_notices(&request, untold, true);
        let html = notices[0].html.as_deref().expect("an HTML part");
        assert_eq!(
            notices[0].body,
            ending_notices(&request, untold, false)[0].body,
            "the same text"
        );
        assert!(!html.contains("<a "), "{html}");
        assert!(html.contains("&lt;a href=&quot;https://evil.example&quot;&gt;ok&lt;/a&gt;"));
        assert!(
            html.find("Their comment (the voter").unwrap() < html.find("Decided by: ceo").unwrap()
        );
        for banned in ["<script", "<img", "<style", " src=", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("was approved."), "{html}");
    }
}
