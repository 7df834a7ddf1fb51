//! What the Slack tests share: a function with Slack on (in memory) holding an open request
//! (3 approvers, 2 needed, each a user of workspace T1), a decided, an expired and a cancelled
//! one; interaction payloads as Slack sends them, signed as Slack signs them.

#![allow(dead_code)] // each test file uses its own part of it

use approval_callback::{
    Callback, Config,
    slack_side::{SlackInbound, SlackSide},
};
use approval_domain::{
    ApprovalRequest, Choice, ExecutionStatus, LinkCredentials, RequestId,
    memory::{MemorySlack, MemoryStore, MemoryTasks, fixtures},
};
use approval_slack::signature::sign;
use lambda_http::{
    Body, Request,
    http::{Method, Uri},
};
use serde_json::{Value, json};

pub type Function = Callback<MemoryStore, MemoryTasks, MemorySlack>;

pub const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
pub const TEAM: &str = "T1";
pub const PATH: &str = "/states/slack/interactions";

pub struct Fixture {
    pub function: Function,
    pub open: ApprovalRequest,
    pub credentials: Vec<LinkCredentials>,
    pub decided: ApprovalRequest,
    pub expired: ApprovalRequest,
    pub cancelled: ApprovalRequest,
}

/// Approver `n` of every fixture request is user `U<n>` of T1; U9 is a user who is not.
fn in_slack(request: ApprovalRequest) -> ApprovalRequest {
    let users = (0..request.approvers.len())
        .map(|n| Some(approval_domain::memory::slack::user(n)))
        .collect();
    request.with_slack_users(users)
}

pub fn fixture() -> Fixture {
    let (open, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
    let open = in_slack(open);
    let (decided, _) =
        ApprovalRequest::open(fixtures::new_request_with_token("decided-token", 3, 1));
    let mut decided = in_slack(decided);
    decided
        .cast(1, Choice::Approved, String::new(), fixtures::now())
        .unwrap();
    decided.delivered(fixtures::now());
    let mut expiring = fixtures::new_request_with_token("expired-token", 2, 1);
    expiring.expires_at = fixtures::now();
    let expired = in_slack(ApprovalRequest::open(expiring).0);
    let (cancelled, _) =
        ApprovalRequest::open(fixtures::new_request_with_token("cancelled-token", 2, 1));
    let mut cancelled = in_slack(cancelled);
    cancelled.end_with_execution(ExecutionStatus::Aborted, fixtures::now());
    let records = vec![
        open.clone(),
        decided.clone(),
        expired.clone(),
        cancelled.clone(),
    ];
    Fixture {
        function: function_holding(
            records,
            SlackSide::Ready(SlackInbound {
                answers: MemorySlack::default(),
                signing_secret: SECRET.to_vec(),
            }),
        ),
        open,
        credentials,
        decided,
        expired,
        cancelled,
    }
}

pub fn function_holding(records: Vec<ApprovalRequest>, slack: SlackSide<MemorySlack>) -> Function {
    let vars =
        approval_callback::config::test_vars(&[("REDIRECT_URL", "https://example.com/decided")]);
    Callback {
        store: MemoryStore::with(records),
        slack,
        tasks: MemoryTasks::default(),
        config: Config::from_vars(vars).expect("the test settings"),
        clock: fixtures::now,
        followups: Default::default(),
    }
}

pub fn slack(function: &Function) -> &MemorySlack {
    match &function.slack {
        SlackSide::Ready(inbound) => &inbound.answers,
        _ => panic!("Slack is on in these tests"),
    }
}

/// A click of `action` on request `id`'s message by `user` of `team`, as Slack sends it.
pub fn click(team: &str, user: &str, id: &RequestId, action: &str) -> Value {
    click_with_value(team, user, action, &format!("{id}:{action}"))
}

pub fn click_with_value(team: &str, user: &str, action: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "api_app_id": "A0GATE", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "D0001", "is_ephemeral": false},
        "trigger_id": "1111.2222.trigger", "team": {"id": team, "domain": "acme"},
        "enterprise": null, "is_enterprise_install": false,
        "channel": {"id": "D0001", "name": "directmessage"},
        "message": {"type": "message", "ts": "1700000000.000100", "text": "Approval requested"},
        "state": {"values": {}}, "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": [{"action_id": action, "block_id": "approval", "value": value, "type": "button",
                     "style": "primary", "action_ts": "1700000001.000200",
                     "text": {"type": "plain_text", "text": "Approve", "emoji": false}}]
    })
}

/// The vote modal of `action` on request `id` submitted by `user` of `team` with `comment`.
pub fn submit(
    team: &str,
    user: &str,
    id: &RequestId,
    action: &str,
    comment: Option<&str>,
) -> Value {
    submit_with_metadata(team, user, &format!("{id}:{action}"), json!(comment))
}

pub fn submit_with_metadata(team: &str, user: &str, metadata: &str, comment: Value) -> Value {
    json!({
        "type": "view_submission", "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "api_app_id": "A0GATE", "token": "legacy-verification-token", "trigger_id": "3333.4444.trigger",
        "view": {"id": "V0001", "team_id": team, "type": "modal", "callback_id": "approval_vote",
                 "private_metadata": metadata, "hash": "1.abc",
                 "state": {"values": {"comment": {"comment": {"type": "plain_text_input", "value": comment}}}}},
        "response_urls": [], "is_enterprise_install": false
    })
}

/// The form Slack posts: `payload=<JSON>`.
pub fn form(payload: &Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

/// `body` posted to the interactions route with `headers`.
pub fn request(method: Method, body: Vec<u8>, headers: &[(&'static str, String)]) -> Request {
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = method;
    *request.uri_mut() = Uri::from_static(PATH);
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    request
}

/// The headers Slack sends with `body` signed with `secret` at `timestamp`.
pub fn signed_headers(secret: &[u8], body: &[u8], timestamp: i64) -> Vec<(&'static str, String)> {
    let ts = timestamp.to_string();
    vec![
        ("content-type", "application/x-www-form-urlencoded".into()),
        ("x-slack-request-timestamp", ts.clone()),
        ("x-slack-signature", sign(secret, &ts, body)),
    ]
}

/// `payload` as Slack posts it now: signed with the app's secret.
pub fn from_slack(payload: &Value) -> Request {
    let body = form(payload);
    let headers = signed_headers(SECRET, &body, fixtures::now().unix());
    request(Method::POST, body, &headers)
}

/// The answer's status and body.
pub async fn answer(function: &Function, request: Request) -> (u16, String) {
    let response = function.handle(request).await.unwrap();
    function.after_answer().await;
    let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    (response.status().as_u16(), body)
}
