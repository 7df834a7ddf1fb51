//! Forged and malformed Slack requests through the real handler (CONTRACT.md "Slack"): each
//! gets its answer, and none records a vote, sends anything to Step Functions or writes the
//! store; a request Slack did not sign is not even read (no store or Slack call), nor is one
//! over 16 KiB.

#[path = "slack/support.rs"]
mod support;

use approval_domain::memory::{StoreOp, fixtures};
use lambda_http::http::Method;
use serde_json::{Value, json};
use support::*;

/// What a case must leave behind beside its status.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Then {
    /// Refused before anything is read: no store call, no Slack call.
    Untouched,
    /// Read (it was Slack's), answered privately or in the modal, nothing written.
    ToldWhy,
    /// Acknowledged and ignored.
    Ignored,
}

struct Case {
    name: &'static str,
    request: lambda_http::Request,
    status: u16,
    then: Then,
}

fn case(name: &'static str, request: lambda_http::Request, status: u16, then: Then) -> Case {
    Case {
        name,
        request,
        status,
        then,
    }
}

fn now() -> i64 {
    fixtures::now().unix()
}

/// `body`, signed at `ts` with `secret`, then the headers edited by `edit`.
fn with_headers(
    body: Vec<u8>,
    secret: &[u8],
    ts: i64,
    edit: impl FnOnce(&mut Vec<(&'static str, String)>),
) -> lambda_http::Request {
    let mut headers = signed_headers(secret, &body, ts);
    edit(&mut headers);
    request(Method::POST, body, &headers)
}

fn set(headers: &mut Vec<(&'static str, String)>, name: &'static str, value: &str) {
    headers.retain(|(n, _)| *n != name);
    headers.push((name, value.to_owned()));
}

fn signed_raw(body: &[u8]) -> lambda_http::Request {
    request(
        Method::POST,
        body.to_vec(),
        &signed_headers(SECRET, body, now()),
    )
}

fn cases(f: &Fixture) -> Vec<Case> {
    let open = &f.open.request_id;
    let good = click(TEAM, "U1", open, "approve");
    let body = form(&good);
    let mut cases = Vec::new();
    use Then::*;

    // ---- not signed by Slack: 401, nothing read
    cases.push(case(
        "no signature headers",
        request(
            Method::POST,
            body.clone(),
            &[("content-type", "application/x-www-form-urlencoded".into())],
        ),
        401,
        Untouched,
    ));
    cases.push(case(
        "no timestamp",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "x-slack-request-timestamp")
        }),
        401,
        Untouched,
    ));
    cases.push(case(
        "no signature",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "x-slack-signature")
        }),
        401,
        Untouched,
    ));
    cases.push(case(
        "signed with another secret",
        with_headers(body.clone(), b"another-apps-signing-secret", now(), |_| {}),
        401,
        Untouched,
    ));
    cases.push(case(
        "signed with an empty secret",
        with_headers(body.clone(), b"", now(), |_| {}),
        401,
        Untouched,
    ));
    let altered = |edit: &dyn Fn(&mut Vec<u8>)| {
        let headers = signed_headers(SECRET, &body, now());
        let mut changed = body.clone();
        edit(&mut changed);
        request(Method::POST, changed, &headers)
    };
    cases.push(case(
        "body: a byte appended after signing",
        altered(&|b| b.push(b'x')),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: a byte flipped after signing",
        altered(&|b| b[20] ^= 1),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: truncated after signing",
        altered(&|b| b.truncate(b.len() - 1)),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: another user put in after signing",
        {
            let headers = signed_headers(SECRET, &body, now());
            request(
                Method::POST,
                form(&click(TEAM, "U2", open, "approve")),
                &headers,
            )
        },
        401,
        Untouched,
    ));
    cases.push(case(
        "body: approve turned into reject after signing",
        {
            let headers = signed_headers(SECRET, &body, now());
            request(
                Method::POST,
                form(&click(TEAM, "U1", open, "reject")),
                &headers,
            )
        },
        401,
        Untouched,
    ));
    for (name, ts) in [
        ("timestamp 301 s old", now() - 301),
        ("timestamp 301 s in the future", now() + 301),
        ("timestamp an hour old (a replay)", now() - 3600),
        ("timestamp 0", 0),
    ] {
        cases.push(case(
            name,
            with_headers(body.clone(), SECRET, ts, |_| {}),
            401,
            Untouched,
        ));
    }
    for (name, ts) in [
        ("timestamp negative", "-5"),
        ("timestamp not a number", "abc"),
        ("timestamp in exponent form", "1e9"),
        ("timestamp with a space", " 1800000000"),
        ("timestamp empty", ""),
        ("timestamp with a plus", "+1800000000"),
    ] {
        // Signed over that very timestamp text, so only the timestamp is wrong.
        let sig = approval_slack::signature::sign(SECRET, ts, &body);
        cases.push(case(
            name,
            request(
                Method::POST,
                body.clone(),
                &[
                    ("content-type", "application/x-www-form-urlencoded".into()),
                    ("x-slack-request-timestamp", ts.into()),
                    ("x-slack-signature", sig),
                ],
            ),
            401,
            Untouched,
        ));
    }
    let good_sig = signed_headers(SECRET, &body, now())[2].1.clone();
    for (name, signature) in [
        ("signature without v0=", good_sig[3..].to_owned()),
        ("signature of version v1", format!("v1={}", &good_sig[3..])),
        (
            "signature one digit short",
            good_sig[..good_sig.len() - 1].to_owned(),
        ),
        ("signature not hex", format!("v0={}", "zz".repeat(32))),
        ("signature empty", String::new()),
        ("signature twice", format!("{good_sig},{good_sig}")),
    ] {
        cases.push(case(
            name,
            with_headers(body.clone(), SECRET, now(), |h| {
                set(h, "x-slack-signature", &signature)
            }),
            401,
            Untouched,
        ));
    }
    cases.push(case(
        "a replay of a signed click 301 s later",
        {
            let headers = signed_headers(SECRET, &body, now() - 301);
            request(Method::POST, body.clone(), &headers)
        },
        401,
        Untouched,
    ));

    // ---- too big, wrong method: refused before the signature is read
    let big = [b"payload=".as_slice(), &vec![b'a'; 16 * 1024]].concat();
    cases.push(case(
        "a body over 16 KiB, signed",
        signed_raw(&big),
        413,
        Untouched,
    ));
    cases.push(case(
        "GET on the route",
        request(Method::GET, Vec::new(), &[]),
        405,
        Untouched,
    ));

    // ---- signed, but not a form
    cases.push(case(
        "signed JSON body",
        with_headers(good.to_string().into_bytes(), SECRET, now(), |h| {
            set(h, "content-type", "application/json")
        }),
        415,
        Untouched,
    ));
    cases.push(case(
        "signed text/plain",
        with_headers(body.clone(), SECRET, now(), |h| {
            set(h, "content-type", "text/plain")
        }),
        415,
        Untouched,
    ));
    cases.push(case(
        "signed, no content type",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "content-type")
        }),
        415,
        Untouched,
    ));

    // ---- signed forms that are not one of the gate's interactions: 400
    let malformed: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty body", Vec::new()),
        ("no payload field", b"token=x&team_id=T1".to_vec()),
        (
            "two payload fields",
            [form(&good), b"&".to_vec(), form(&good)].concat(),
        ),
        ("payload not JSON", b"payload=%7Bnot+json".to_vec()),
        ("payload a JSON array", form(&json!([good.clone()]))),
        (
            "payload without a type",
            form(&json!({"user": {"id": "U1"}})),
        ),
        (
            "click without a user",
            form(&{
                let mut p = good.clone();
                p.as_object_mut().unwrap().remove("user");
                p
            }),
        ),
        (
            "click without a team",
            form(&{
                let mut p = good.clone();
                p.as_object_mut().unwrap().remove("team");
                p
            }),
        ),
        (
            "click without a trigger",
            form(&{
                let mut p = good.clone();
                p.as_object_mut().unwrap().remove("trigger_id");
                p
            }),
        ),
        (
            "click with no action",
            form(&{
                let mut p = good.clone();
                p["actions"] = json!([]);
                p
            }),
        ),
        (
            "click with two actions",
            form(&{
                let mut p = good.clone();
                p["actions"] = json!([p["actions"][0], p["actions"][0]]);
                p
            }),
        ),
        (
            "button value of another app",
            form(&click_with_value(TEAM, "U1", "approve", "deploy-42")),
        ),
        (
            "button value with a malformed request id",
            form(&click_with_value(TEAM, "U1", "approve", "abc:approve")),
        ),
        (
            "button value without the action",
            form(&click_with_value(TEAM, "U1", "approve", &open.to_string())),
        ),
        (
            "button value approved (not approve)",
            form(&click_with_value(
                TEAM,
                "U1",
                "approve",
                &format!("{open}:approved"),
            )),
        ),
        (
            "action and value disagree",
            form(&click_with_value(
                TEAM,
                "U1",
                "reject",
                &format!("{open}:approve"),
            )),
        ),
        (
            "user id not a string",
            form(&{
                let mut p = good.clone();
                p["user"]["id"] = json!(7);
                p
            }),
        ),
        (
            "modal with a malformed target",
            form(&submit_with_metadata(TEAM, "U1", "nonsense", Value::Null)),
        ),
        (
            "modal comment over 2,000 characters",
            form(&submit_with_metadata(
                TEAM,
                "U1",
                &format!("{open}:approve"),
                json!("x".repeat(2001)),
            )),
        ),
        (
            "modal comment not text",
            form(&submit_with_metadata(
                TEAM,
                "U1",
                &format!("{open}:approve"),
                json!({"a": 1}),
            )),
        ),
    ];
    for (name, body) in malformed {
        cases.push(case(name, signed_raw(&body), 400, Untouched));
    }

    // ---- Slack's, well formed, but not an approver's vote: told why, nothing written
    let unknown = approval_domain::ApprovalRequest::open(fixtures::new_request_with_token(
        "never-stored",
        1,
        1,
    ))
    .0
    .request_id;
    for (name, payload) in [
        (
            "a click by a user who is no approver",
            click(TEAM, "U9", open, "approve"),
        ),
        (
            "a click by an approver's id in another workspace",
            click("T2", "U1", open, "approve"),
        ),
        (
            "a click on a request the gate does not have",
            click(TEAM, "U1", &unknown, "approve"),
        ),
        (
            "a click on a decided request",
            click(TEAM, "U0", &f.decided.request_id, "reject"),
        ),
        (
            "a click on an expired request",
            click(TEAM, "U0", &f.expired.request_id, "approve"),
        ),
        (
            "a click on a cancelled request",
            click(TEAM, "U0", &f.cancelled.request_id, "approve"),
        ),
        (
            "a click by who decided it already",
            click(TEAM, "U1", &f.decided.request_id, "approve"),
        ),
        (
            "a modal submitted by a user who is no approver",
            submit(TEAM, "U9", open, "approve", None),
        ),
        (
            "a modal submitted from another workspace",
            submit("T2", "U1", open, "approve", None),
        ),
        (
            "a modal on a decided request",
            submit(TEAM, "U0", &f.decided.request_id, "reject", None),
        ),
        (
            "a modal on an expired request",
            submit(TEAM, "U0", &f.expired.request_id, "approve", None),
        ),
        (
            "a modal on a cancelled request",
            submit(TEAM, "U0", &f.cancelled.request_id, "approve", None),
        ),
        (
            "a modal on a request the gate does not have",
            submit(TEAM, "U1", &unknown, "approve", None),
        ),
    ] {
        cases.push(case(name, from_slack(&payload), 200, ToldWhy));
    }
    cases.push(case(
        "another app's modal",
        from_slack(&{
            let mut p = submit(TEAM, "U1", open, "approve", None);
            p["view"]["callback_id"] = json!("other");
            p
        }),
        200,
        Ignored,
    ));
    cases.push(case(
        "a kind the gate does not act on",
        from_slack(&json!({"type": "view_closed", "user": {"id": "U1"}})),
        200,
        Ignored,
    ));
    cases
}

#[tokio::test]
async fn every_forged_or_malformed_slack_request_gets_its_answer_and_changes_nothing() {
    let f = fixture();
    let all = cases(&f);
    assert!(all.len() >= 50, "{} cases", all.len());
    let before: Vec<_> = f.function.store.records();
    let mut count = 0;
    for case in all {
        let reads = f.function.store.count(StoreOp::Get);
        let slack_calls = slack(&f.function).calls.lock().unwrap().len();
        let (status, body) = answer(&f.function, case.request).await;
        assert_eq!(status, case.status, "{}: {body}", case.name);
        let read = f.function.store.count(StoreOp::Get) - reads;
        let called = slack(&f.function).calls.lock().unwrap().len() - slack_calls;
        match case.then {
            Then::Untouched => assert_eq!((read, called), (0, 0), "{}: read or called", case.name),
            Then::ToldWhy => assert!(
                called == 1 || body.contains(r#""response_action":"errors""#),
                "{}: nobody told why ({body})",
                case.name
            ),
            Then::Ignored => assert_eq!((read, called, body.as_str()), (0, 0, ""), "{}", case.name),
        }
        count += 1;
    }
    assert_eq!(
        f.function.store.count(StoreOp::Replace),
        0,
        "nothing written"
    );
    assert!(
        f.function.tasks.sends().is_empty(),
        "nothing sent to Step Functions"
    );
    assert_eq!(
        slack(&f.function).count(approval_domain::memory::SlackCall::OpenVote),
        0,
        "no modal opened"
    );
    let mut after = f.function.store.records();
    let mut before = before;
    after.sort_by_key(|r| r.request_id.to_string());
    before.sort_by_key(|r| r.request_id.to_string());
    assert_eq!(after, before, "every record as it was");
    println!("{count} forged or malformed Slack requests: 0 votes, 0 SendTaskSuccess");
}

#[tokio::test]
async fn the_same_signed_click_once_more_within_the_window_changes_nothing_more() {
    // Slack's signature cannot tell a replay within 300 s from the original; the record can:
    // a second submission of the same vote is refused (one vote per approver).
    let f = fixture();
    let vote = submit(TEAM, "U1", &f.open.request_id, "approve", None);
    answer(&f.function, from_slack(&vote)).await;
    let (status, body) = answer(&f.function, from_slack(&vote)).await;
    assert_eq!(status, 200);
    assert!(body.contains("You already voted"), "{body}");
    assert_eq!(
        f.function
            .store
            .record(&f.open.request_id)
            .unwrap()
            .votes
            .len(),
        1
    );
}
