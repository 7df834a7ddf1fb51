//! Bad input of every kind through the real handler: each gets the contract's answer as a page
//! with the security headers, nothing is written, nothing is sent to Step Functions, nobody is
//! emailed, and no echoed value reaches the page unescaped.

mod support;

use approval_domain::{
    ApprovalRequest, Choice, Credential, LinkCredentials,
    memory::{StoreOp, fixtures},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use lambda_http::{
    Body, Request,
    http::{Method, StatusCode},
};
use support::{Function, answer, function_holding, get_query, post};

#[path = "malformed_requests/fields.rs"]
mod fields;

/// The store of the battery: an open 3-approver request (N = 2) where approver 0 voted already,
/// a decided one and an expired one.
struct Fixture {
    function: Function,
    open: (ApprovalRequest, Vec<LinkCredentials>),
    decided: (ApprovalRequest, Vec<LinkCredentials>),
    expired: (ApprovalRequest, Vec<LinkCredentials>),
}

fn fixture() -> Fixture {
    let (mut open, open_credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
    open.cast(0, Choice::Approved, "first".into(), fixtures::now())
        .unwrap();
    let (mut decided, decided_credentials) =
        ApprovalRequest::open(fixtures::new_request_with_token("decided-token", 3, 1));
    decided
        .cast(1, Choice::Approved, String::new(), fixtures::now())
        .unwrap();
    decided.delivered(fixtures::now());
    let mut expiring = fixtures::new_request_with_token("expired-token", 2, 1);
    expiring.expires_at = fixtures::now();
    let (expired, expired_credentials) = ApprovalRequest::open(expiring);
    let function = function_holding(
        vec![open.clone(), decided.clone(), expired.clone()],
        "confirm",
        Some(support::REDIRECT),
    );
    Fixture {
        function,
        open: (open, open_credentials),
        decided: (decided, decided_credentials),
        expired: (expired, expired_credentials),
    }
}

/// `credential` with its raw bytes changed by `edit`.
fn edited(credential: &Credential, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut raw = URL_SAFE_NO_PAD.decode(credential.encode()).unwrap();
    edit(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn with_method(method: Method, mut request: Request) -> Request {
    *request.method_mut() = method;
    request
}

fn post_typed(content_type: Option<&str>, body: Vec<u8>) -> Request {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = Method::POST;
    if let Some(content_type) = content_type {
        request
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
    }
    request
}

struct Case {
    name: String,
    request: Request,
    status: StatusCode,
    /// A phrase the page must hold.
    says: &'static str,
}

fn case(name: impl Into<String>, request: Request, status: StatusCode, says: &'static str) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        says,
    }
}

fn cases(f: &Fixture) -> Vec<Case> {
    let c = f.open.1[1].approve.encode();
    let mut cases = Vec::new();
    let bad = StatusCode::BAD_REQUEST;

    cases.extend(fields::cases(f));

    // Well-formed credentials that open nothing: altered, of another request or approver.
    let not_found = StatusCode::NOT_FOUND;
    let open = &f.open.1[1].approve;
    for byte in [0usize, 7, 15, 16, 17, 24, 32] {
        let altered = edited(open, |raw| raw[byte] ^= 0x01);
        cases.push(case(
            format!("GET credential byte {byte} altered"),
            get_query(&[("action", "approve"), ("c", &altered)]),
            not_found,
            "Not a link of this approval gate",
        ));
        cases.push(case(
            format!("POST credential byte {byte} altered"),
            post(&format!("action=approve&c={altered}")),
            not_found,
            "Not a link of this approval gate",
        ));
    }
    let foreign_secret = edited(open, |raw| {
        raw[17..].copy_from_slice(
            &URL_SAFE_NO_PAD
                .decode(f.decided.1[1].approve.encode())
                .unwrap()[17..],
        )
    });
    let other_slot = edited(open, |raw| raw[16] = 2);
    let no_such_slot = edited(open, |raw| raw[16] = 9);
    let no_such_request =
        Credential::issue(&approval_domain::RequestId::from_bytes([9; 16]), 0).encode();
    for (label, value) in [
        ("another request's secret", foreign_secret),
        ("another approver's slot", other_slot),
        ("a slot past the approvers", no_such_slot),
        ("no such request", no_such_request),
    ] {
        cases.push(case(
            format!("GET {label}"),
            get_query(&[("action", "approve"), ("c", &value)]),
            not_found,
            "Not a link of this approval gate",
        ));
        cases.push(case(
            format!("POST {label}"),
            post(&format!("action=reject&c={value}")),
            not_found,
            "Not a link of this approval gate",
        ));
    }
    // A genuine credential with the other action: a link votes only its own (a forwarded
    // Reject link can never approve), and says no more than an unknown link.
    for (action, credential) in [
        ("approve", &f.open.1[1].reject),
        ("reject", &f.open.1[1].approve),
    ] {
        let value = credential.encode();
        cases.push(case(
            format!("GET the other action's credential, action={action}"),
            get_query(&[("action", action), ("c", &value)]),
            not_found,
            "Not a link of this approval gate",
        ));
        cases.push(case(
            format!("POST the other action's credential, action={action}"),
            post(&format!("action={action}&c={value}")),
            not_found,
            "Not a link of this approval gate",
        ));
    }
    // Genuine credentials whose request no longer takes this vote.
    for (label, credentials, status, says) in [
        (
            "decided request",
            &f.decided.1[0],
            StatusCode::GONE,
            "approved by approver1@example.com",
        ),
        (
            "expired request",
            &f.expired.1[0],
            StatusCode::GONE,
            "expired",
        ),
        (
            "approver who voted",
            &f.open.1[0],
            StatusCode::CONFLICT,
            "You already voted",
        ),
    ] {
        for choice in Choice::ALL {
            let action = choice.action();
            let value = credentials.of(choice).encode();
            cases.push(case(
                format!("GET {label} ({action})"),
                get_query(&[("action", action), ("c", &value)]),
                status,
                says,
            ));
            cases.push(case(
                format!("POST {label} ({action})"),
                post(&format!("action={action}&c={value}")),
                status,
                says,
            ));
        }
    }
    // Forms that are not what the page posts.
    for (label, content_type) in [
        ("JSON", Some("application/json")),
        ("plain text", Some("text/plain")),
        ("multipart", Some("multipart/form-data; boundary=x")),
        ("no content type", None),
        (
            "an XML lookalike",
            Some("application/x-www-form-urlencoded+xml"),
        ),
    ] {
        let body = format!("action=approve&c={c}").into_bytes();
        cases.push(case(
            format!("POST as {label}"),
            post_typed(content_type, body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/x-www-form-urlencoded",
        ));
    }
    let oversized = format!("action=approve&c={c}&comment={}", "x".repeat(16 * 1024));
    cases.push(case(
        "POST over 16 KiB",
        post(&oversized),
        StatusCode::PAYLOAD_TOO_LARGE,
        "at most 16384 bytes",
    ));
    cases.push(case(
        "POST comment over 2,000 characters",
        post(&format!(
            "action=approve&c={c}&comment={}",
            "x".repeat(2001)
        )),
        bad,
        "longer than 2000",
    ));
    for (label, body) in [
        (
            "comment %FF",
            format!("action=approve&c={c}&comment=%FF").into_bytes(),
        ),
        (
            "comment cut UTF-8",
            format!("action=approve&c={c}&comment=%C3").into_bytes(),
        ),
        (
            "raw Latin-1 byte",
            [
                format!("action=approve&c={c}&comment=").into_bytes(),
                vec![0xE9],
            ]
            .concat(),
        ),
        (
            "credential %FF",
            format!("action=approve&c=%FF{}", &c[1..]).into_bytes(),
        ),
    ] {
        cases.push(case(
            format!("POST not UTF-8: {label}"),
            post_typed(Some("application/x-www-form-urlencoded"), body),
            bad,
            "not UTF-8",
        ));
    }
    for (label, body) in [
        ("lone %", format!("action=approve&c={}%", &c[..43])),
        ("%G1", format!("action=approve&c={}%G1", &c[..41])),
        ("%4", format!("action=approve%4&c={c}")),
    ] {
        cases.push(case(
            format!("POST broken percent-encoding {label}"),
            post(&body),
            bad,
            "cannot be used",
        ));
    }
    // Methods that never vote, whatever they carry.
    for method in [
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::TRACE,
        Method::CONNECT,
    ] {
        let request = with_method(
            method.clone(),
            get_query(&[("action", "approve"), ("c", &c)]),
        );
        cases.push(case(
            format!("{method} of a good link"),
            request,
            StatusCode::METHOD_NOT_ALLOWED,
            "GET and POST only",
        ));
    }
    cases
}

#[tokio::test]
async fn every_malformed_or_unusable_request_gets_its_page_and_changes_nothing() {
    let fixture = fixture();
    let before = fixture.function.store.records();
    let cases = cases(&fixture);
    let total = cases.len();
    let mut failures = Vec::new();
    for Case {
        name,
        request,
        status,
        says,
    } in cases
    {
        let (got, body, response) = answer(&fixture.function, request).await;
        let csp = response
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let problems: Vec<String> = [
            (got != status).then(|| format!("status {got}, expected {status}")),
            (!body.contains(says)).then(|| format!("page lacks {says:?}")),
            (!csp.starts_with("default-src 'none'")).then(|| "no CSP".to_owned()),
            (body.contains("<script>") || body.contains("<b>"))
                .then(|| "unescaped markup".to_owned()),
            (status == StatusCode::METHOD_NOT_ALLOWED
                && response
                    .headers()
                    .get("allow")
                    .is_none_or(|v| v != "GET, POST"))
            .then(|| "no Allow header".to_owned()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    let mut after = fixture.function.store.records();
    let mut before = before;
    after.sort_by_key(|r| r.request_id.to_string());
    before.sort_by_key(|r| r.request_id.to_string());
    assert_eq!(after, before, "nothing written");
    assert_eq!(fixture.function.store.count(StoreOp::Replace), 0);
    assert!(
        fixture.function.tasks.sends().is_empty(),
        "no SendTaskSuccess"
    );
    println!(
        "malformed callback requests: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(total >= 100, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_404_page_is_the_same_whatever_part_was_wrong_or_whichever_action_it_was_for() {
    let fixture = fixture();
    let open = &fixture.open.1[1].approve;
    let mut pages = Vec::new();
    let other_action = fixture.open.1[1].reject.encode();
    let (status, body, _) = answer(
        &fixture.function,
        get_query(&[("action", "approve"), ("c", &other_action)]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the Reject link's credential"
    );
    pages.push(body);
    for byte in 0..33 {
        let altered = edited(open, |raw| raw[byte] = raw[byte].wrapping_add(1));
        let (status, body, _) = answer(
            &fixture.function,
            get_query(&[("action", "approve"), ("c", &altered)]),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "byte {byte}");
        pages.push(body);
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]));
}
