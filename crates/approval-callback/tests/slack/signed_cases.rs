//! Requests Slack signed that are not an approver's vote: malformed interactions (400), and
//! well-formed clicks and submissions by someone who may not vote now (told why).

use approval_domain::memory::fixtures;
use serde_json::{Value, json};

use crate::{cases::*, support::*};

pub fn signed_cases(f: &Fixture) -> Vec<Case> {
    let open = &f.open.request_id;
    let good = click(TEAM, "U1", open, "approve");
    let mut cases = Vec::new();
    use Then::*;

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
