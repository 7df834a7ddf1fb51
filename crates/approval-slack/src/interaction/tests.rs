use approval_domain::{ApprovalRequest, memory::fixtures};
use serde_json::json;

use super::*;

fn form(payload: &serde_json::Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

fn request_id() -> RequestId {
    ApprovalRequest::open(fixtures::new_request(2, 1))
        .0
        .request_id
}

/// A `block_actions` payload as Slack sends it for a click of `action_id` carrying `value`.
pub(crate) fn click(action_id: &str, value: &str) -> serde_json::Value {
    json!({
        "type": "block_actions",
        "user": {"id": "U1", "username": "ana", "name": "ana", "team_id": "T1"},
        "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2.abc",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1", "is_ephemeral": false},
        "team": {"id": "T1", "domain": "acme"}, "enterprise": null, "is_enterprise_install": false,
        "channel": {"id": "D1", "name": "directmessage"},
        "message": {"type": "message", "ts": "1.1", "text": "x"},
        "state": {"values": {}}, "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"action_id": action_id, "block_id": "approval", "value": value,
                     "type": "button", "action_ts": "1.3", "text": {"type": "plain_text", "text": "Approve"}}]
    })
}

#[test]
fn a_click_names_the_request_the_action_and_slacks_user() {
    let id = request_id();
    let parsed = Interaction::parse(&form(&click("approve", &format!("{id}:approve")))).unwrap();
    assert_eq!(
        parsed,
        Interaction::Click {
            user: SlackUser {
                team_id: "T1".into(),
                user_id: "U1".into()
            },
            trigger_id: "1.2.abc".into(),
            channel: Some("D1".into()),
            request_id: id,
            choice: Choice::Approved,
        }
    );
}

#[test]
fn a_submission_is_the_vote_with_its_comment() {
    let id = request_id();
    let payload = json!({
        "type": "view_submission", "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U2", "team_id": "T1"}, "api_app_id": "A1", "trigger_id": "2.3.x",
        "view": {"id": "V1", "type": "modal", "callback_id": VOTE_CALLBACK_ID,
                 "private_metadata": format!("{id}:reject"),
                 "state": {"values": {"comment": {"comment": {"type": "plain_text_input", "value": "  not today  "}}}}},
        "response_urls": []
    });
    assert_eq!(
        Interaction::parse(&form(&payload)).unwrap(),
        Interaction::Submit {
            user: SlackUser {
                team_id: "T1".into(),
                user_id: "U2".into()
            },
            request_id: id.clone(),
            choice: Choice::Rejected,
            comment: "not today".into(),
        }
    );
    let mut empty = payload.clone();
    empty["view"]["state"]["values"]["comment"]["comment"]["value"] = serde_json::Value::Null;
    assert!(
        matches!(Interaction::parse(&form(&empty)).unwrap(), Interaction::Submit { comment, .. } if comment.is_empty())
    );
    let mut long = payload.clone();
    long["view"]["state"]["values"]["comment"]["comment"]["value"] = json!("x".repeat(2001));
    assert_eq!(
        Interaction::parse(&form(&long)),
        Err(InteractionError::CommentTooLong)
    );
    let mut other = payload;
    other["view"]["callback_id"] = json!("something_else");
    assert!(matches!(
        Interaction::parse(&form(&other)).unwrap(),
        Interaction::Ignored(_)
    ));
}

#[test]
fn anything_that_is_not_one_of_our_buttons_is_refused_by_name() {
    let id = request_id();
    let good = format!("{id}:approve");
    for (body, expected) in [
        (b"".to_vec(), "one form field"),
        (b"payload=1&payload=2".to_vec(), "one form field"),
        (b"token=x".to_vec(), "one form field"),
        (b"payload=%7Bnot json".to_vec(), "not an interaction"),
        (
            form(&json!({"type": "block_actions"})),
            "not an interaction",
        ),
        (form(&click("reject", &good)), "disagree"),
        (form(&click("approve", "abc:approve")), "names no request"),
        (
            form(&click("approve", &format!("{id}:approved"))),
            "names no request",
        ),
        (form(&click("approve", &id.to_string())), "names no request"),
    ] {
        let err = Interaction::parse(&body).unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{}: {err}",
            String::from_utf8_lossy(&body)
        );
    }
    let mut two = click("approve", &good);
    two["actions"] = json!([two["actions"][0], two["actions"][0]]);
    assert!(Interaction::parse(&form(&two)).is_err());
    assert!(matches!(
        Interaction::parse(&form(&json!({"type": "view_closed"}))).unwrap(),
        Interaction::Ignored(kind) if kind == "view_closed"
    ));
}
