//! A link built by `send-email` must come back to `approval-callback` unchanged, through every
//! path an approver takes: one-click GET, and GET → confirmation page → form POST.

use approval_core::{
    Action, ApprovalRequest, CallbackConfig, LinkMode, Plan, TaskToken, Verified,
    callback::{Incoming, plan},
    link::Endpoint,
    signing::LinkSignature,
};
use time::OffsetDateTime;
use url::{Url, form_urlencoded};

/// Tokens shaped like Step Functions': base64 with `+ / =`, about 700 characters, and the
/// 2048-character maximum.
fn tokens() -> Vec<String> {
    let mut real_shaped = String::from("AQCEAAAAKgAAAAMAAAAAAAAAAT");
    while real_shaped.len() < 700 {
        real_shaped.push_str("+9/Zq8w+Qk/=");
    }
    vec![
        real_shaped,
        "+/=".repeat(682) + "AB",
        "=".repeat(2048),
        String::from("a"),
    ]
}

fn names() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ApprovalTest", "HumanApprovalLambdaStateMachine"),
        ("run with spaces", "State Machine & Co"),
        ("Zoë-報告-😀", "Genehmigung/für+Anträge"),
        ("a=b&c=d#e?f", "100%"),
    ]
}

fn config(mode: LinkMode) -> CallbackConfig {
    let mode = if mode == LinkMode::Confirm {
        "confirm"
    } else {
        "one-click"
    };
    CallbackConfig::from_values(
        Some("approver@example.com"),
        Some(mode),
        None,
        Some("alias/links"),
    )
    .unwrap()
}

fn request(token: &str, ex: &str, sm: &str) -> ApprovalRequest {
    ApprovalRequest {
        execution_name: ex.into(),
        state_machine_name: sm.into(),
        task_token: TaskToken::parse("taskToken", token).unwrap(),
    }
}

/// The query as API Gateway hands it over: percent-decoded exactly once.
fn decoded_query(link: &Url) -> Vec<(String, String)> {
    link.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A signature an hour from now; its MAC bytes are arbitrary here (KMS checks them, not the
/// domain), but they must come back unchanged.
fn signature() -> LinkSignature {
    LinkSignature {
        expires_at: OffsetDateTime::now_utc().unix_timestamp() + 3600,
        mac: (0..32_u8)
            .map(|b| b.wrapping_mul(7).wrapping_add(250))
            .collect(),
    }
}

/// Plans the request; a link that asks for verification is treated as verified (by KMS in the
/// binary) after checking it carries the MAC it was built with.
fn run(mode: LinkMode, incoming: Incoming<'_>) -> Verified {
    match plan(incoming, OffsetDateTime::now_utc()) {
        Plan::Answer(answer) => Verified::Answer(answer),
        Plan::Verify(verification) => {
            assert_eq!(
                verification.mac(),
                signature().mac.as_slice(),
                "the MAC survived the trip"
            );
            verification.verified(&config(mode), OffsetDateTime::now_utc())
        }
    }
}

fn get(mode: LinkMode, query: &[(String, String)]) -> Verified {
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    run(
        mode,
        Incoming {
            method: "GET",
            query: &query,
            content_type: None,
            body: b"",
        },
    )
}

/// What a browser submits for the confirmation page's form (hidden fields plus a comment).
fn form_body(html: &str, comment: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for input in html.split("<input type=\"hidden\" ").skip(1) {
        let name = input
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = input
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        form.append_pair(name, &html_escape::decode_html_entities(value));
    }
    form.append_pair("comment", comment).finish()
}

#[test]
fn one_click_get_gets_back_the_exact_token_and_names() {
    let endpoint =
        Endpoint::parse("https://abc.execute-api.us-east-1.amazonaws.com/states").unwrap();
    for token in tokens() {
        for (ex, sm) in names() {
            let original = request(&token, ex, sm);
            for action in Action::ALL {
                let link = endpoint.link(action, &original, &signature());
                let Verified::Decide {
                    request: back,
                    decision,
                    ..
                } = get(LinkMode::OneClick, &decoded_query(&link))
                else {
                    panic!("{link}")
                };
                assert_eq!(back.request, original, "{link}");
                assert_eq!(decision.action, action);
            }
        }
    }
}

#[test]
fn confirmation_form_posts_back_the_exact_token_names_and_comment() {
    let endpoint = Endpoint::parse("http://127.0.0.1:9000/lambda-url/approval-callback").unwrap();
    for token in tokens() {
        for (ex, sm) in names() {
            let original = request(&token, ex, sm);
            let link = endpoint.link(Action::Reject, &original, &signature());
            let Verified::Answer(page) = get(LinkMode::Confirm, &decoded_query(&link)) else {
                panic!("confirm mode must not decide")
            };
            assert_eq!(page.status, 200);

            let body = form_body(&page.html, "Nope: <b>budget</b> & \"scope\"");
            let posted = run(
                LinkMode::Confirm,
                Incoming {
                    method: "POST",
                    query: &[],
                    content_type: Some("application/x-www-form-urlencoded"),
                    body: body.as_bytes(),
                },
            );
            let Verified::Decide {
                request: back,
                decision,
                redirect_status,
            } = posted
            else {
                panic!("POST must decide: {posted:?}")
            };
            assert_eq!(back.request, original);
            assert_eq!(decision.action, Action::Reject);
            assert_eq!(decision.comment, "Nope: <b>budget</b> & \"scope\"");
            assert_eq!(redirect_status, 303);
        }
    }
}

#[test]
fn a_plus_decoded_twice_is_refused_with_a_clear_message() {
    let endpoint =
        Endpoint::parse("https://abc.execute-api.us-east-1.amazonaws.com/states").unwrap();
    let link = endpoint.link(
        Action::Approve,
        &request("ab+cd/ef==", "ex", "sm"),
        &signature(),
    );
    // A proxy that decodes the query once more turns `+` into a space.
    let twice: Vec<(String, String)> = decoded_query(&link)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                form_urlencoded::parse(format!("v={v}").as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned(),
            )
        })
        .collect();
    let Verified::Answer(page) = get(LinkMode::OneClick, &twice) else {
        panic!("must not decide")
    };
    assert_eq!(page.status, 400);
    assert!(
        page.html.contains("`taskToken` contains a space"),
        "{}",
        page.html
    );
}
