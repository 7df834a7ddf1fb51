//! A battery of malformed callback requests, each run through the real handler exactly as the
//! Lambda runtime hands it over (a function-URL / HTTP API v2 event parsed by `lambda_http`).
//!
//! Every case must get a 4xx HTML page naming the problem (or, for markup in echoed fields, an
//! escaped confirmation page), must not panic, and must never reach Step Functions: the only
//! Step Functions rule panics if it is called, and its call count is asserted to stay zero.
//! KMS is asked only about well-formed, unexpired signatures.

mod support;

use approval_callback::App;
use aws_sdk_sfn::Client;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use base64::Engine as _;
use lambda_http::Body;
use serde_json::json;

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAR+Xq/9Z0aB+c/Q==";
const GOOD: &str = "action=approve&ex=ApprovalTest&sm=HumanApproval&taskToken=AQCEAAAAKgAAAAMAAAAAAAAAAR%2BXq%2F9Z0aB%2Bc%2FQ%3D%3D";
const FORM: &str = "application/x-www-form-urlencoded";

struct Case {
    name: &'static str,
    /// Sign the case's own link parameters (as send-email would) before sending.
    sign: Signing,
    method: &'static str,
    query: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    /// Text the page must contain (already HTML-escaped where it echoes input).
    says: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Signing {
    /// As given: unsigned, or a parameter error that comes first anyway.
    AsIs,
    /// Signed with this deployment's key, valid for an hour.
    Valid,
    /// Signed with another deployment's key.
    OtherKey,
    /// Signed, but expired a second ago.
    Expired,
}

fn get(name: &'static str, query: impl Into<String>, status: u16, says: &'static str) -> Case {
    Case {
        name,
        sign: Signing::AsIs,
        method: "GET",
        query: query.into(),
        content_type: None,
        body: None,
        status,
        says,
    }
}

fn post(
    name: &'static str,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    says: &'static str,
) -> Case {
    Case {
        name,
        sign: Signing::AsIs,
        method: "POST",
        query: String::new(),
        content_type,
        body: Some(body.into()),
        status,
        says,
    }
}

fn method(name: &'static str, method: &'static str) -> Case {
    Case {
        sign: Signing::Valid,
        ..get(name, GOOD, 405, "Method not allowed")
    }
    .with_method(method)
}

impl Case {
    fn signed(self, sign: Signing) -> Self {
        Case { sign, ..self }
    }

    fn with_method(self, method: &'static str) -> Self {
        Case { method, ..self }
    }
}

/// The good query with one parameter replaced by a raw (already encoded) value.
fn with(param: &str, raw: &str) -> String {
    GOOD.split('&')
        .map(|pair| {
            if pair.split('=').next() == Some(param) {
                format!("{param}={raw}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The good query without one parameter.
fn without(param: &str) -> String {
    GOOD.split('&')
        .filter(|pair| pair.split('=').next() != Some(param))
        .collect::<Vec<_>>()
        .join("&")
}

fn cases() -> Vec<Case> {
    let long_token = "A".repeat(2049);
    let huge_token = "QUJD".repeat(1500);
    let long_name = "n".repeat(81);
    let long_comment = "c".repeat(2001);
    vec![
        // Missing, empty and repeated parameters.
        get("no query at all", "", 400, "`action` is missing"),
        get(
            "action missing",
            without("action"),
            400,
            "`action` is missing",
        ),
        get("ex missing", without("ex"), 400, "`ex` is missing"),
        get("sm missing", without("sm"), 400, "`sm` is missing"),
        get(
            "taskToken missing",
            without("taskToken"),
            400,
            "`taskToken` is missing",
        ),
        get(
            "action empty",
            with("action", ""),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get("ex empty", with("ex", ""), 400, "`ex` is empty"),
        get("sm empty", with("sm", ""), 400, "`sm` is empty"),
        get(
            "taskToken empty",
            with("taskToken", ""),
            400,
            "`taskToken` is empty",
        ),
        get(
            "action repeated",
            format!("{GOOD}&action=reject"),
            400,
            "`action` is given more than once",
        ),
        get(
            "ex repeated",
            format!("{GOOD}&ex=other"),
            400,
            "`ex` is given more than once",
        ),
        get(
            "sm repeated",
            format!("{GOOD}&sm=other"),
            400,
            "`sm` is given more than once",
        ),
        get(
            "taskToken repeated",
            format!("{GOOD}&taskToken=AAAA"),
            400,
            "`taskToken` is given more than once",
        ),
        get(
            "same token repeated",
            format!(
                "{GOOD}&taskToken={}",
                &GOOD[GOOD.find("taskToken=").unwrap() + 10..]
            ),
            400,
            "`taskToken` is given more than once",
        ),
        get(
            "comment repeated",
            format!("{GOOD}&comment=a&comment=b"),
            400,
            "`comment` is given more than once",
        ),
        get(
            "parameter names are case-sensitive",
            GOOD.replace("taskToken", "TaskToken"),
            400,
            "`taskToken` is missing",
        ),
        // Unknown and oddly cased actions.
        get(
            "action upper case",
            with("action", "APPROVE"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action title case",
            with("action", "Approve"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action mixed case",
            with("action", "aPpRoVe"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action leading space",
            with("action", "%20approve"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action trailing plus",
            with("action", "approve+"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action with NUL",
            with("action", "approve%00"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action past tense",
            with("action", "approved"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action yes",
            with("action", "yes"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action list",
            with("action", "approve,reject"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        get(
            "action unicode lookalike",
            with("action", "%D0%B0pprove"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        // Tokens that cannot be tokens.
        get(
            "token 2049 chars",
            with("taskToken", &long_token),
            400,
            "`taskToken` is 2049 characters long; at most 2048",
        ),
        get(
            "token 6000 chars",
            with("taskToken", &huge_token),
            400,
            "`taskToken` is 6000 characters long",
        ),
        get(
            "token plus not encoded",
            with("taskToken", "AQCE+AAA"),
            400,
            "`taskToken` contains a space",
        ),
        get(
            "token broken escape",
            with("taskToken", "AQCE%ZZAAA"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        get(
            "token dangling percent",
            with("taskToken", "AQCEAAA%"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        get(
            "token non-UTF-8",
            with("taskToken", "AQCE%FFAAA"),
            400,
            "not valid UTF-8",
        ),
        get(
            "token NUL",
            with("taskToken", "AQCE%00AAA"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        get(
            "token markup",
            with("taskToken", "%3Cscript%3E"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        get(
            "token non-ASCII",
            with("taskToken", "AQCE%C3%A9"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        get(
            "token with newline",
            with("taskToken", "AQCE%0AAAA"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        // Names and comments.
        get("ex non-UTF-8", with("ex", "%FF%FE"), 400, "not valid UTF-8"),
        get(
            "sm truncated UTF-8",
            with("sm", "abc%C3"),
            400,
            "not valid UTF-8",
        ),
        get(
            "ex 81 chars",
            with("ex", &long_name),
            400,
            "`ex` is 81 characters long; at most 80",
        ),
        get(
            "ex CRLF header injection",
            with("ex", "a%0D%0ALocation:%20https://evil.example"),
            400,
            "`ex` contains control characters",
        ),
        get(
            "sm LF",
            with("sm", "a%0Ab"),
            400,
            "`sm` contains control characters",
        ),
        get(
            "sm escape character",
            with("sm", "a%1B[31m"),
            400,
            "`sm` contains control characters",
        ),
        get(
            "comment too long",
            format!("{GOOD}&comment={long_comment}"),
            400,
            "`comment` is 2001 characters long",
        ),
        get(
            "comment NUL",
            format!("{GOOD}&comment=a%00b"),
            400,
            "`comment` contains control characters",
        ),
        // Markup in every echoed field comes back escaped, on a page that decides nothing.
        get(
            "script in ex",
            with("ex", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            200,
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        )
        .signed(Signing::Valid),
        get(
            "attribute break-out in sm",
            with("sm", "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"),
            200,
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
        )
        .signed(Signing::Valid),
        get(
            "entity in ex",
            with("ex", "%26lt%3Bb%26gt%3B"),
            200,
            "&amp;lt;b&amp;gt;",
        )
        .signed(Signing::Valid),
        get(
            "javascript URL in ex",
            with("ex", "javascript:alert(1)"),
            200,
            "javascript:alert(1)",
        )
        .signed(Signing::Valid),
        // Signatures: missing, malformed, expired, from another key, or over other values.
        get("unsigned", GOOD, 403, "the link is not signed"),
        get(
            "signature without expiry",
            format!("{GOOD}&sig=AAAA"),
            403,
            "the link is not signed",
        ),
        get(
            "expiry without signature",
            format!("{GOOD}&exp=4102444800"),
            403,
            "the link is not signed",
        ),
        get(
            "signature too short",
            format!("{GOOD}&exp=4102444800&sig=AAAA"),
            403,
            "signature is malformed",
        ),
        get(
            "signature not base64url",
            format!("{GOOD}&exp=4102444800&sig={}", "%2B".repeat(43)),
            403,
            "signature is malformed",
        ),
        get(
            "expiry not a number",
            format!("{GOOD}&exp=tomorrow&sig={}", "A".repeat(43)),
            403,
            "signature is malformed",
        ),
        get(
            "expiry negative",
            format!("{GOOD}&exp=-1&sig={}", "A".repeat(43)),
            403,
            "signature is malformed",
        ),
        get(
            "expiry repeated",
            format!("{GOOD}&exp=1&exp=2&sig={}", "A".repeat(43)),
            400,
            "`exp` is given more than once",
        ),
        get(
            "made-up signature",
            format!("{GOOD}&exp=4102444800&sig={}", "A".repeat(43)),
            403,
            "does not match",
        ),
        get("signed by another deployment", GOOD, 403, "does not match").signed(Signing::OtherKey),
        get("expired", GOOD, 410, "This link has expired").signed(Signing::Expired),
        // Forms.
        post(
            "no content type",
            None,
            GOOD,
            415,
            "the form must be sent as application/x-www-form-urlencoded",
        ),
        post(
            "JSON body",
            Some("application/json"),
            json!({"action": "approve", "taskToken": TOKEN}).to_string(),
            415,
            "application/x-www-form-urlencoded",
        ),
        post(
            "plain text",
            Some("text/plain"),
            GOOD,
            415,
            "application/x-www-form-urlencoded",
        ),
        post(
            "multipart",
            Some("multipart/form-data; boundary=x"),
            GOOD,
            415,
            "application/x-www-form-urlencoded",
        ),
        post(
            "look-alike content type",
            Some("application/x-www-form-urlencoded-evil"),
            GOOD,
            415,
            "application/x-www-form-urlencoded",
        ),
        post(
            "oversized body",
            Some(FORM),
            format!("{GOOD}&comment={}", "x".repeat(20_000)),
            413,
            "larger than 16384 bytes",
        ),
        post("empty form", Some(FORM), "", 400, "`action` is missing"),
        post(
            "form token non-UTF-8",
            Some(FORM),
            with("taskToken", "AQ%FF"),
            400,
            "not valid UTF-8",
        ),
        post(
            "form raw non-UTF-8 bytes",
            Some(FORM),
            [GOOD.as_bytes(), b"&comment=\xff\xfe"].concat(),
            400,
            "not valid UTF-8",
        ),
        post(
            "form token broken escape",
            Some(FORM),
            with("taskToken", "AQ%G0"),
            400,
            "`taskToken` contains characters a task token never has",
        ),
        post(
            "form token repeated",
            Some(FORM),
            format!("{GOOD}&taskToken=BBBB"),
            400,
            "`taskToken` is given more than once",
        ),
        post(
            "form action title case",
            Some(FORM),
            with("action", "Approve"),
            400,
            "`action` must be `approve` or `reject`",
        ),
        post(
            "form comment too long",
            Some(FORM),
            format!("{GOOD}&comment={long_comment}"),
            400,
            "`comment` is 2001 characters long",
        ),
        post(
            "form comment control char",
            Some(FORM),
            format!("{GOOD}&comment=%07"),
            400,
            "`comment` contains control characters",
        ),
        post(
            "form ex CRLF",
            Some(FORM),
            with("ex", "x%0D%0ASet-Cookie:%20a=b"),
            400,
            "`ex` contains control characters",
        ),
        // Methods nobody should decide with.
        method("HEAD", "HEAD"),
        method("HEAD unsigned", "HEAD").signed(Signing::AsIs),
        method("OPTIONS", "OPTIONS"),
        method("PUT", "PUT"),
        method("DELETE", "DELETE"),
        method("PATCH", "PATCH"),
        method("TRACE", "TRACE"),
    ]
}

/// The case's query or form with `exp` and `sig` appended as its `sign` says.
fn with_signature(case: &Case, raw: &[u8]) -> Vec<u8> {
    let key_and_expiry = match case.sign {
        Signing::AsIs => return raw.to_vec(),
        Signing::Valid => (support::LINK_KEY, support::in_an_hour()),
        Signing::OtherKey => (support::OTHER_KEY, support::in_an_hour()),
        Signing::Expired => (
            support::LINK_KEY,
            time::OffsetDateTime::now_utc().unix_timestamp() - 1,
        ),
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    let signature = support::signature_params(&pairs, key_and_expiry.0, key_and_expiry.1);
    let extra = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(signature)
        .finish();
    [raw, b"&", extra.as_bytes()].concat()
}

fn event(case: &Case) -> lambda_http::Request {
    let mut headers = serde_json::Map::new();
    headers.insert(
        "host".into(),
        json!("abcdefghij.lambda-url.us-east-1.on.aws"),
    );
    if let Some(ct) = case.content_type {
        headers.insert("content-type".into(), json!(ct));
    }
    // Bodies travel base64-encoded, as Lambda sends any body that is not plain text.
    let body = case
        .body
        .as_deref()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(with_signature(case, b)));
    let query = String::from_utf8(if case.body.is_some() {
        case.query.clone().into_bytes()
    } else {
        with_signature(case, case.query.as_bytes())
    })
    .unwrap();
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/execution", "rawQueryString": query,
        "headers": headers,
        "requestContext": {"accountId": "anonymous", "apiId": "abcdefghij", "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij", "http": {"method": case.method, "path": "/execution", "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9", "userAgent": "battery"}, "requestId": "r", "routeKey": "$default", "stage": "$default",
            "time": "26/Nov/2026:09:00:00 +0000", "timeEpoch": 1795683600000_u64},
        "body": body, "isBase64Encoded": body.is_some()
    });
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

#[tokio::test]
async fn every_malformed_request_gets_a_clear_4xx_and_never_reaches_step_functions() {
    let never = mock!(Client::send_task_success)
        .then_output(|| panic!("Step Functions must not be called"));
    let kms = support::kms_verifying();
    let mut verified = 0;
    for mode in ["confirm", "one-click"] {
        let app = App {
            sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&never]),
            kms: support::kms_client(&[&kms]),
            config: support::config(mode, None),
        };
        let cases = cases();
        assert!(cases.len() >= 50, "the battery has {} cases", cases.len());
        for case in cases {
            // In one-click mode a GET decides, so the escaped-markup cases (valid requests)
            // would rightly reach Step Functions; they are judged in confirm mode only.
            if mode == "one-click" && case.status == 200 {
                continue;
            }
            let reaches_kms = case.status == 200 || case.says == "does not match";
            verified += usize::from(reaches_kms);
            let response = app.handle(event(&case)).await.unwrap();
            let Body::Text(html) = response.body() else {
                panic!("{}: not an HTML text body", case.name)
            };
            assert_eq!(
                response.status().as_u16(),
                case.status,
                "{} ({mode}): {html}",
                case.name
            );
            assert!(
                html.contains(case.says),
                "{} ({mode}): page does not say {:?}:\n{html}",
                case.name,
                case.says
            );
            assert!(
                !html.contains("<script>") && !html.contains("<img"),
                "{}: unescaped markup",
                case.name
            );
            assert_eq!(
                response.headers().get("content-type").unwrap(),
                "text/html; charset=utf-8",
                "{}",
                case.name
            );
        }
    }
    assert_eq!(never.num_calls(), 0);
    assert_eq!(
        kms.num_calls(),
        verified,
        "KMS is asked only about well-formed, unexpired signatures"
    );
}

#[test]
fn the_good_query_of_the_battery_is_itself_valid() {
    // Guards the battery: its cases differ from a request that does decide by one thing each.
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(GOOD.as_bytes())
        .into_owned()
        .collect();
    assert!(
        pairs.contains(&("taskToken".into(), TOKEN.into())),
        "{pairs:?}"
    );
}
