//! What `approval-callback` does with an HTTP request, decided without any I/O.
//!
//! [`plan`] turns a request into either an answer (4xx page) or a link whose signature the
//! binary must have verified by KMS ([`Verification`]); once verified, [`Verification::verified`]
//! gives the confirmation page or a decision to send to Step Functions; after the send,
//! [`answer_decided`] and [`answer_failed`] turn the outcome into the approver's answer. The
//! binary only does the `VerifyMac` and `SendTaskSuccess` calls.

use std::borrow::Cow;

use time::OffsetDateTime;
use url::{Url, form_urlencoded};

use crate::{
    Action, ApprovalRequest, CallbackConfig, Decision, FieldError, LinkMode, TaskToken,
    decision::MAX_COMMENT_CHARS,
    link::param,
    page,
    request::parse_name,
    signing::{self, LinkSignature, SignatureProblem},
};

/// Largest form body read. A real form is under 7 KB (a 2048-char token percent-encoded, names,
/// a 2000-char comment); anything bigger is not ours.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
pub const ALLOWED_METHODS: &str = "GET, POST";

/// Headers on every answer: no caching of pages that embed a token, no Referer leaking the link
/// to the redirect target, no framing (click-jacking), no sniffing, no indexing.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-robots-tag", "noindex, nofollow"),
];

/// A validated callback request: which task, which action, and the approver's comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub action: Action,
    pub request: ApprovalRequest,
    pub comment: String,
    /// The link's expiry and MAC (shape checked, not yet verified).
    pub signature: LinkSignature,
}

/// An HTTP answer; the binary adds [`SECURITY_HEADERS`] and the HTML content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub html: String,
    /// Extra headers (`location`, `allow`, `retry-after`).
    pub headers: Vec<(&'static str, String)>,
}

impl HttpAnswer {
    fn page(status: u16, html: String) -> Self {
        Self {
            status,
            html,
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer without touching KMS or Step Functions.
    Answer(HttpAnswer),
    /// A well-formed, unexpired signed link: have KMS verify its MAC before anything else.
    Verify(Verification),
}

/// A parsed link waiting for its MAC to be verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub request: CallbackRequest,
    is_get: bool,
}

/// What a verified link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Answer without touching Step Functions (the confirmation page).
    Answer(HttpAnswer),
    /// Send `decision` for the request's task, then redirect with `redirect_status`.
    Decide {
        request: CallbackRequest,
        decision: Decision,
        redirect_status: u16,
    },
}

impl Verification {
    /// The bytes whose MAC the link carries.
    pub fn signed_message(&self) -> Vec<u8> {
        let r = &self.request;
        signing::signed_message(r.action, &r.request, r.signature.expires_at)
    }

    /// The MAC the link carries.
    pub fn mac(&self) -> &[u8] {
        &self.request.signature.mac
    }

    /// Once KMS said the MAC is right: the confirmation page for a GET in confirm mode, else a
    /// decision (302 for a one-click GET, 303 after the form's POST).
    pub fn verified(self, config: &CallbackConfig, now: OffsetDateTime) -> Verified {
        let request = self.request;
        let redirect_status = match (self.is_get, config.link_mode) {
            (true, LinkMode::Confirm) => {
                return Verified::Answer(HttpAnswer::page(200, page::confirmation(&request)));
            }
            (true, LinkMode::OneClick) => 302,
            (false, _) => 303,
        };
        let decision = Decision {
            action: request.action,
            approver: config.approver.clone(),
            comment: request.comment.clone(),
            decided_at: now,
        };
        Verified::Decide {
            request,
            decision,
            redirect_status,
        }
    }
}

/// The parts of an HTTP request the callback looks at.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// Query parameters, already percent-decoded once (by API Gateway / `lambda_http`).
    pub query: &'a [(&'a str, &'a str)],
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// Why a request was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("`action` must be `approve` or `reject`")]
    UnknownAction,
    #[error("the form must be sent as {FORM_CONTENT_TYPE}")]
    WrongContentType,
    #[error("the form is larger than {MAX_FORM_BYTES} bytes")]
    BodyTooLarge,
    #[error("the link or form is not valid UTF-8 text")]
    NotUtf8,
}

impl BadRequest {
    fn answer(&self) -> HttpAnswer {
        let status = match self {
            BadRequest::WrongContentType => 415,
            BadRequest::BodyTooLarge => 413,
            _ => 400,
        };
        HttpAnswer::page(
            status,
            page::message(
                "This link is not valid",
                &format!(
                    "Nothing was decided: {self}. Open the link from the email again, unchanged."
                ),
            ),
        )
    }
}

/// Decides what a request means. Nothing decides before the link's signature is verified, and
/// only a POST (or a GET in one-click mode) decides at all.
pub fn plan(incoming: Incoming<'_>, now: OffsetDateTime) -> Plan {
    let parsed = match incoming.method {
        "GET" => parse_params(
            incoming
                .query
                .iter()
                .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))),
        ),
        "POST" => parse_form(incoming.content_type, incoming.body),
        _ => return Plan::Answer(method_not_allowed()),
    };
    let request = match parsed {
        Ok(request) => request,
        Err(Refusal::BadRequest(bad)) => return Plan::Answer(bad.answer()),
        Err(Refusal::Signature(problem)) => return Plan::Answer(answer_signature_problem(problem)),
    };
    // Checked before asking KMS: an expiry moved into the past gains an attacker nothing, and
    // one moved into the future fails the MAC.
    if request.signature.is_expired(now) {
        return Plan::Answer(answer_signature_problem(SignatureProblem::Expired));
    }
    Plan::Verify(Verification {
        request,
        is_get: incoming.method == "GET",
    })
}

/// The answer for a link whose signature is missing, malformed, wrong (403) or expired (410).
pub fn answer_signature_problem(problem: SignatureProblem) -> HttpAnswer {
    match problem {
        SignatureProblem::Expired => HttpAnswer::page(
            410,
            page::message(
                "This link has expired",
                "Approval links work for a limited time, and this one's time is up. Nothing was decided.",
            ),
        ),
        SignatureProblem::Unsigned | SignatureProblem::Malformed | SignatureProblem::Invalid => {
            HttpAnswer::page(
                403,
                page::message(
                    "This link was not issued by this approval gate",
                    &format!(
                        "Nothing was decided: {problem}. Open the link from the approval email again, unchanged."
                    ),
                ),
            )
        }
    }
}

fn method_not_allowed() -> HttpAnswer {
    HttpAnswer::page(
        405,
        page::message(
            "Method not allowed",
            "This address answers GET (to show a decision page) and POST (to decide) only.",
        ),
    )
    .with_header("allow", ALLOWED_METHODS)
}

/// Why a request is refused before any call.
enum Refusal {
    BadRequest(BadRequest),
    Signature(SignatureProblem),
}

impl From<BadRequest> for Refusal {
    fn from(err: BadRequest) -> Self {
        Refusal::BadRequest(err)
    }
}

impl From<FieldError> for Refusal {
    fn from(err: FieldError) -> Self {
        Refusal::BadRequest(err.into())
    }
}

fn parse_form(content_type: Option<&str>, body: &[u8]) -> Result<CallbackRequest, Refusal> {
    let media_type = content_type
        .and_then(|ct| ct.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|mt| mt.eq_ignore_ascii_case(FORM_CONTENT_TYPE)) {
        return Err(BadRequest::WrongContentType.into());
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(BadRequest::BodyTooLarge.into());
    }
    parse_params(form_urlencoded::parse(body))
}

/// Reads the link's parameters. Unknown parameters (tracking tags added by mail systems) are
/// ignored; a known one given twice is refused, since we cannot know which one was meant.
fn parse_params<'a>(
    pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
) -> Result<CallbackRequest, Refusal> {
    let names = [
        param::ACTION,
        param::EXECUTION,
        param::STATE_MACHINE,
        param::TASK_TOKEN,
        param::COMMENT,
        signing::EXPIRES_PARAM,
        signing::SIGNATURE_PARAM,
    ];
    let mut values: [Option<Cow<'a, str>>; 7] = Default::default();
    for (key, value) in pairs {
        // Query strings and forms are decoded lossily (invalid UTF-8 becomes U+FFFD); refuse
        // rather than display or send mangled values.
        if key.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
            return Err(BadRequest::NotUtf8.into());
        }
        if let Some(i) = names.iter().position(|n| *n == key)
            && values[i].replace(value).is_some()
        {
            return Err(FieldError::Repeated(names[i]).into());
        }
    }
    let [
        action,
        execution,
        state_machine,
        token,
        comment,
        expires,
        signature,
    ] = values;
    let action = action.ok_or(FieldError::Missing(param::ACTION))?;
    let action: Action = action
        .parse()
        .map_err(|_| Refusal::BadRequest(BadRequest::UnknownAction))?;
    let execution = parse_name(
        param::EXECUTION,
        &execution.ok_or(FieldError::Missing(param::EXECUTION))?,
    )?;
    let state_machine = parse_name(
        param::STATE_MACHINE,
        &state_machine.ok_or(FieldError::Missing(param::STATE_MACHINE))?,
    )?;
    let task_token = TaskToken::parse(
        param::TASK_TOKEN,
        &token.ok_or(FieldError::Missing(param::TASK_TOKEN))?,
    )?;
    Ok(CallbackRequest {
        action,
        request: ApprovalRequest {
            execution_name: execution,
            state_machine_name: state_machine,
            task_token,
        },
        comment: parse_comment(comment.as_deref().unwrap_or_default())?,
        signature: LinkSignature::parse(expires.as_deref(), signature.as_deref())
            .map_err(Refusal::Signature)?,
    })
}

fn parse_comment(raw: &str) -> Result<String, FieldError> {
    let comment = raw.trim();
    let chars = comment.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(FieldError::TooLong {
            field: param::COMMENT,
            max: MAX_COMMENT_CHARS,
            actual: chars,
        });
    }
    if comment
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::Invalid {
            field: param::COMMENT,
            reason: "contains control characters",
        });
    }
    Ok(comment.to_owned())
}

/// How the `SendTaskSuccess` call ended, as far as the approver is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The task was already decided, timed out, or the token is not one Step Functions knows.
    AlreadyDecidedOrExpired,
    /// Throttled, 5xx or timed out after the SDK's retries: worth trying again.
    Unavailable,
    /// Anything else (e.g. permissions): not the approver's doing, nothing recorded.
    Failed,
}

/// The answer after Step Functions accepted the decision: a redirect to `REDIRECT_URL`, else to
/// the execution's console page, else (no known console) a plain "decided" page.
pub fn answer_decided(
    config: &CallbackConfig,
    request: &CallbackRequest,
    redirect_status: u16,
    console: Option<Url>,
) -> HttpAnswer {
    match config.redirect_url.clone().or(console) {
        Some(target) => HttpAnswer::page(
            redirect_status,
            page::message("Decision recorded", "Redirecting…"),
        )
        .with_header("location", target.to_string()),
        None => HttpAnswer::page(200, page::decided(request)),
    }
}

/// The answer when Step Functions did not take the decision.
pub fn answer_failed(outcome: CallbackOutcome) -> HttpAnswer {
    match outcome {
        CallbackOutcome::AlreadyDecidedOrExpired => HttpAnswer::page(
            410,
            page::message(
                "Already decided or expired",
                "This request has already been decided, or it expired before a decision was made, so this \
                 click changed nothing. (If you had just pressed the button and the network hiccuped, that \
                 first press may be the decision that was recorded: the execution shows it.)",
            ),
        ),
        CallbackOutcome::Unavailable => HttpAnswer::page(
            503,
            page::message(
                "Please try again in a minute",
                "The approval service is busy or did not answer in time, so this request may not have gone \
                 through. Open the link from the email again in a minute: if your decision was recorded \
                 meanwhile, you will be told so.",
            ),
        )
        .with_header("retry-after", "60"),
        CallbackOutcome::Failed => HttpAnswer::page(500, page::message(
            "Your decision could not be recorded",
            "Something went wrong on our side and nothing was decided. Please tell the workflow's operators; \
             the details are in the approval function's logs.",
        )),
    }
}

/// The answer to every request when the function's settings are wrong.
pub fn answer_misconfigured() -> HttpAnswer {
    HttpAnswer::page(
        500,
        page::message(
            "This approval page is not set up correctly",
            "Nothing was decided. The workflow's operators can find the reason in the approval function's logs.",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);
    const TOKEN: &str = "AAAAKgAAAAIAAAAAAAAAAc+x/y=";
    /// NOW + 1 h.
    const EXP: &str = "1795690800";

    fn sig() -> String {
        LinkSignature::encode_mac(&[7; 32])
    }

    fn config(mode: LinkMode) -> CallbackConfig {
        CallbackConfig {
            approver: "boss@example.com".into(),
            link_mode: mode,
            redirect_url: None,
            link_key_id: "alias/links".into(),
        }
    }

    fn query(action: &str) -> Vec<(String, String)> {
        [
            ("action", action),
            ("ex", "run-1"),
            ("sm", "HumanApproval"),
            ("taskToken", TOKEN),
            ("exp", EXP),
            ("sig", &sig()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn without(mut q: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
        q.retain(|(k, _)| k != name);
        q
    }

    fn with(q: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
        let mut q = without(q, name);
        q.push((name.to_owned(), value.to_owned()));
        q
    }

    /// Plans the request and, where it asks, treats the signature as verified by KMS.
    fn run(
        mode: LinkMode,
        method: &str,
        q: &[(String, String)],
        content_type: Option<&str>,
        body: &[u8],
    ) -> Verified {
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        match plan(
            Incoming {
                method,
                query: &q,
                content_type,
                body,
            },
            NOW,
        ) {
            Plan::Answer(a) => Verified::Answer(a),
            Plan::Verify(v) => v.verified(&config(mode), NOW),
        }
    }

    fn get(mode: LinkMode, q: &[(String, String)]) -> Verified {
        run(mode, "GET", q, None, b"")
    }

    fn post(content_type: Option<&str>, body: &[u8]) -> Verified {
        run(LinkMode::Confirm, "POST", &[], content_type, body)
    }

    fn form(q: &[(String, String)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish()
    }

    fn answer(outcome: Verified) -> HttpAnswer {
        match outcome {
            Verified::Answer(a) => a,
            Verified::Decide { .. } => panic!("expected no decision, got {outcome:?}"),
        }
    }

    #[test]
    fn a_signed_link_must_be_verified_before_anything_else() {
        let query = query("approve");
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let Plan::Verify(verification) = plan(
            Incoming {
                method: "POST",
                query: &[],
                content_type: Some(FORM_CONTENT_TYPE),
                body: form(&query).as_bytes(),
            },
            NOW,
        ) else {
            panic!("a well-formed signed link goes to verification")
        };
        assert_eq!(verification.mac(), &[7; 32]);
        assert_eq!(
            String::from_utf8(verification.signed_message()).unwrap(),
            format!(
                r#"["human-approval-link/v1","approve","run-1","HumanApproval",{EXP},"{TOKEN}"]"#
            )
        );
        assert!(matches!(
            plan(
                Incoming {
                    method: "GET",
                    query: &pairs,
                    content_type: None,
                    body: b""
                },
                NOW
            ),
            Plan::Verify(_)
        ));
    }

    #[test]
    fn get_in_confirm_mode_shows_the_page_and_decides_nothing() {
        let a = answer(get(LinkMode::Confirm, &query("approve")));
        assert_eq!(a.status, 200);
        assert!(a.html.contains("Approve this request?"));
        assert!(
            a.html
                .contains(&format!("name=\"sig\" value=\"{}\"", sig())),
            "the form carries the signature"
        );
    }

    #[test]
    fn get_in_one_click_mode_decides_with_302() {
        let Verified::Decide {
            request,
            decision,
            redirect_status,
        } = get(LinkMode::OneClick, &query("reject"))
        else {
            panic!("one-click GET must decide")
        };
        assert_eq!(redirect_status, 302);
        assert_eq!(request.request.task_token.expose(), TOKEN);
        assert_eq!(decision.action, Action::Reject);
        assert_eq!(decision.approver, "boss@example.com");
        assert_eq!(decision.decided_at, NOW);
    }

    #[test]
    fn post_form_decides_with_303_and_keeps_the_comment() {
        let body = form(&with(
            query("approve"),
            "comment",
            "  Looks good — ship it\n ",
        ));
        let Verified::Decide {
            request,
            decision,
            redirect_status,
        } = post(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            body.as_bytes(),
        )
        else {
            panic!("POST must decide")
        };
        assert_eq!(redirect_status, 303);
        assert_eq!(
            request.request.task_token.expose(),
            TOKEN,
            "the + and / survive the form round trip"
        );
        assert_eq!(decision.comment, "Looks good — ship it");
    }

    #[test]
    fn unsigned_malformed_and_expired_links_are_refused_before_verification() {
        let cases = [
            (
                without(query("approve"), "sig"),
                403,
                "the link is not signed",
            ),
            (
                without(query("approve"), "exp"),
                403,
                "the link is not signed",
            ),
            (
                with(query("approve"), "sig", "short"),
                403,
                "signature is malformed",
            ),
            (
                with(query("approve"), "exp", "soon"),
                403,
                "signature is malformed",
            ),
            (
                with(query("approve"), "exp", "1795683600"),
                410,
                "This link has expired",
            ),
            (
                with(query("approve"), "exp", "1"),
                410,
                "This link has expired",
            ),
        ];
        for (q, status, says) in cases {
            let pairs: Vec<(&str, &str)> =
                q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let Plan::Answer(a) = plan(
                Incoming {
                    method: "GET",
                    query: &pairs,
                    content_type: None,
                    body: b"",
                },
                NOW,
            ) else {
                panic!("{q:?} must be answered without asking KMS")
            };
            assert_eq!(a.status, status, "{q:?}");
            assert!(a.html.contains(says), "{q:?}: {}", a.html);
            let body = form(&q);
            let Plan::Answer(a) = plan(
                Incoming {
                    method: "POST",
                    query: &[],
                    content_type: Some(FORM_CONTENT_TYPE),
                    body: body.as_bytes(),
                },
                NOW,
            ) else {
                panic!("{q:?} must be answered without asking KMS")
            };
            assert_eq!(a.status, status, "POST {q:?}");
        }
        assert_eq!(
            answer_signature_problem(SignatureProblem::Invalid).status,
            403
        );
    }

    #[test]
    fn other_methods_get_405_with_allow() {
        for method in ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "get"] {
            let a = answer(run(
                LinkMode::OneClick,
                method,
                &query("approve"),
                None,
                b"",
            ));
            assert_eq!(a.status, 405, "{method}");
            assert_eq!(a.header("allow"), Some("GET, POST"));
        }
    }

    #[test]
    fn bad_parameters_get_400_naming_the_problem() {
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (vec![], "`action` is missing"),
            (query("APPROVE"), "`action` must be `approve` or `reject`"),
            (query("maybe"), "`action` must be `approve` or `reject`"),
            (without(query("approve"), "ex"), "`ex` is missing"),
            (with(query("approve"), "ex", ""), "`ex` is empty"),
            (without(query("approve"), "sm"), "`sm` is missing"),
            (
                without(query("approve"), "taskToken"),
                "`taskToken` is missing",
            ),
            (
                with(query("approve"), "taskToken", "a b"),
                "`taskToken` contains a space",
            ),
            (
                [query("approve"), vec![("taskToken".into(), "other".into())]].concat(),
                "`taskToken` is given more than once",
            ),
            (
                [query("approve"), vec![("action".into(), "reject".into())]].concat(),
                "`action` is given more than once",
            ),
            (
                [query("approve"), vec![("sig".into(), sig())]].concat(),
                "`sig` is given more than once",
            ),
        ];
        for (q, expected) in cases {
            let a = answer(get(LinkMode::OneClick, &q));
            assert_eq!(a.status, 400, "{q:?}");
            assert!(a.html.contains(expected), "{q:?}: {}", a.html);
        }
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let q = [
            query("approve"),
            vec![
                ("utm_source".into(), "mail".into()),
                ("safelinks".into(), "1".into()),
            ],
        ]
        .concat();
        assert!(matches!(
            get(LinkMode::OneClick, &q),
            Verified::Decide { .. }
        ));
    }

    #[test]
    fn bad_forms_are_refused_before_any_decision() {
        let good = form(&query("approve"));
        assert_eq!(answer(post(None, good.as_bytes())).status, 415);
        assert_eq!(
            answer(post(Some("application/json"), good.as_bytes())).status,
            415
        );
        assert_eq!(
            answer(post(
                Some(FORM_CONTENT_TYPE),
                &vec![b'a'; MAX_FORM_BYTES + 1]
            ))
            .status,
            413
        );
        let a = answer(post(
            Some(FORM_CONTENT_TYPE),
            format!("{good}&comment=%FF%FE").as_bytes(),
        ));
        assert_eq!(a.status, 400);
        assert!(a.html.contains("not valid UTF-8"));
        let long = format!("{good}&comment={}", "x".repeat(MAX_COMMENT_CHARS + 1));
        assert!(
            answer(post(Some(FORM_CONTENT_TYPE), long.as_bytes()))
                .html
                .contains("`comment` is 2001 characters long")
        );
        let ctrl = format!("{good}&comment=a%00b");
        assert!(
            answer(post(Some(FORM_CONTENT_TYPE), ctrl.as_bytes()))
                .html
                .contains("`comment` contains control characters")
        );
    }

    #[test]
    fn decided_answer_redirects_to_redirect_url_then_console_then_a_page() {
        let Verified::Decide { request, .. } = get(LinkMode::OneClick, &query("approve")) else {
            panic!()
        };
        let console =
            Url::parse("https://console.aws.amazon.com/states/home?region=us-east-1#/x").unwrap();

        let a = answer_decided(
            &config(LinkMode::Confirm),
            &request,
            303,
            Some(console.clone()),
        );
        assert_eq!(
            (a.status, a.header("location")),
            (303, Some(console.as_str()))
        );

        let mut with_redirect = config(LinkMode::Confirm);
        with_redirect.redirect_url = Some(Url::parse("https://intranet.example.com/done").unwrap());
        let a = answer_decided(&with_redirect, &request, 302, Some(console));
        assert_eq!(
            (a.status, a.header("location")),
            (302, Some("https://intranet.example.com/done"))
        );

        let a = answer_decided(&config(LinkMode::Confirm), &request, 303, None);
        assert_eq!((a.status, a.header("location")), (200, None));
        assert!(a.html.contains("<h1>Approved</h1>"));
    }

    #[test]
    fn failures_map_to_friendly_pages() {
        assert_eq!(
            answer_failed(CallbackOutcome::AlreadyDecidedOrExpired).status,
            410
        );
        let busy = answer_failed(CallbackOutcome::Unavailable);
        assert_eq!((busy.status, busy.header("retry-after")), (503, Some("60")));
        assert_eq!(answer_failed(CallbackOutcome::Failed).status, 500);
        assert_eq!(answer_misconfigured().status, 500);
    }
}
