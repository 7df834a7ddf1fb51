//! Voting in Slack through the real handler: a click by an approver's Slack user opens the vote
//! modal (and writes nothing); submitting it is their vote, under the v2 rules and counted once
//! across email and Slack; anyone else is told privately why not.

#[path = "slack/support.rs"]
mod support;

use approval_callback::slack_side::SlackSide;
use approval_domain::{
    Choice, Via,
    memory::{MemorySlack, SlackCall, StoreOp},
};
use lambda_http::http::Method;
use support::*;

#[tokio::test]
async fn an_approvers_click_opens_the_modal_and_records_nothing() {
    let f = fixture();
    let (status, body) = answer(
        &f.function,
        from_slack(&click(TEAM, "U1", &f.open.request_id, "reject")),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    let opened = slack(&f.function).opened.lock().unwrap().clone();
    assert_eq!(
        opened,
        [(
            "1111.2222.trigger".to_owned(),
            f.open.request_id.to_string(),
            Choice::Rejected
        )]
    );
    assert_eq!(f.function.store.count(StoreOp::Replace), 0);
    assert_eq!(
        f.function.store.count(StoreOp::Get),
        1,
        "one read: within Slack's 3 s"
    );
    assert_eq!(
        slack(&f.function).calls.lock().unwrap().len(),
        1,
        "one Slack call"
    );
}

#[tokio::test]
async fn two_slack_votes_decide_two_of_three_and_the_output_says_via_slack() {
    let f = fixture();
    let id = &f.open.request_id;
    let (status, body) = answer(
        &f.function,
        from_slack(&submit(TEAM, "U1", id, "approve", Some("ship it"))),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""), "the modal closes");
    let record = f.function.store.record(id).unwrap();
    assert_eq!(record.votes.len(), 1);
    assert_eq!(record.votes[0].approver.as_str(), "approver1@example.com");
    assert_eq!(record.votes[0].via, Via::Slack);
    assert_eq!(record.votes[0].comment, "ship it");
    assert!(
        f.function.tasks.sends().is_empty(),
        "1 of 2: not decided yet"
    );

    answer(
        &f.function,
        from_slack(&submit(TEAM, "U2", id, "approve", None)),
    )
    .await;
    let sends = f.function.tasks.sends();
    assert_eq!(sends.len(), 1, "exactly one SendTaskSuccess");
    let output: serde_json::Value = serde_json::from_str(&sends[0].1).unwrap();
    assert_eq!(output["Decision"], "approved");
    assert_eq!(output["Approvals"][0]["Via"], "slack");
    assert_eq!(output["Approvals"][1]["Via"], "slack");
    let record = f.function.store.record(id).unwrap();
    assert!(record.decided().is_some());
}

#[tokio::test]
async fn a_slack_vote_then_that_approvers_email_link_is_409_and_the_reverse_is_refused_too() {
    let f = fixture();
    let id = &f.open.request_id;
    answer(
        &f.function,
        from_slack(&submit(TEAM, "U1", id, "approve", None)),
    )
    .await;
    let link = f.credentials[1].approve.encode();
    let mut request = lambda_http::Request::default();
    *request.method_mut() = Method::POST;
    *request.body_mut() = lambda_http::Body::from(format!("action=approve&c={link}"));
    request.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let response = f.function.handle(request).await.unwrap();
    assert_eq!(
        response.status(),
        409,
        "one vote per approver across email and Slack"
    );

    // Approver 0 votes by link first; their Slack modal is then refused in place.
    let mut request = lambda_http::Request::default();
    *request.method_mut() = Method::POST;
    *request.body_mut() = lambda_http::Body::from(format!(
        "action=reject&c={}",
        f.credentials[0].reject.encode()
    ));
    request.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    f.function.handle(request).await.unwrap();
    f.function.after_answer().await;
    let record = f.function.store.record(id).unwrap();
    assert_eq!(record.votes.len(), 2);
    assert_eq!(record.votes[1].via, Via::Email);
    let (status, body) = answer(
        &f.function,
        from_slack(&submit(TEAM, "U0", id, "approve", None)),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""response_action":"errors""#), "{body}");
    assert_eq!(
        f.function.store.record(id).unwrap().votes.len(),
        2,
        "nothing more recorded"
    );
}

#[tokio::test]
async fn anyone_else_is_told_privately_why_and_nothing_changes() {
    let f = fixture();
    let cases = [
        (
            click(TEAM, "U9", &f.open.request_id, "approve"),
            "not an approver",
        ),
        (
            click("T2", "U1", &f.open.request_id, "approve"),
            "not an approver",
        ),
        (
            click(TEAM, "U0", &f.decided.request_id, "reject"),
            "already approved by approver1@example.com",
        ),
        (
            click(TEAM, "U1", &f.decided.request_id, "reject"),
            "You already voted: approved",
        ),
        (
            click(TEAM, "U0", &f.expired.request_id, "approve"),
            "expired at",
        ),
        (
            click(TEAM, "U0", &f.cancelled.request_id, "approve"),
            "its execution was aborted",
        ),
    ];
    for (payload, expected) in &cases {
        let (status, body) = answer(&f.function, from_slack(payload)).await;
        assert_eq!((status, body.as_str()), (200, ""));
        let said = slack(&f.function)
            .said
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        assert_eq!(said.0, "D0001", "in the channel of the click");
        assert!(said.2.contains(expected), "{}: {}", expected, said.2);
    }
    assert_eq!(slack(&f.function).count(SlackCall::OpenVote), 0);
    assert_eq!(f.function.store.count(StoreOp::Replace), 0);
    assert!(f.function.tasks.sends().is_empty());
}

#[tokio::test]
async fn the_route_is_404_with_slack_off_and_503_when_its_secret_could_not_be_read() {
    let f = fixture();
    let off = function_holding(vec![f.open.clone()], SlackSide::<MemorySlack>::Off);
    let (status, _) = answer(
        &off,
        from_slack(&click(TEAM, "U1", &f.open.request_id, "approve")),
    )
    .await;
    assert_eq!(status, 404);
    let unusable = function_holding(
        vec![f.open.clone()],
        SlackSide::<MemorySlack>::Unusable("no secret".into()),
    );
    let (status, _) = answer(
        &unusable,
        from_slack(&click(TEAM, "U1", &f.open.request_id, "approve")),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(
        off.store.count(StoreOp::Get) + unusable.store.count(StoreOp::Get),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_click_is_answered_within_slacks_3_s_however_slow_the_store() {
    use approval_callback::{Callback, slack_side::SlackInbound};
    use approval_domain::memory::{MemoryTasks, Slow};
    let f = fixture();
    let slow = Callback {
        store: Slow {
            port: approval_domain::memory::MemoryStore::with(vec![f.open.clone()]),
            delay: std::time::Duration::from_secs(10),
        },
        slack: SlackSide::Ready(SlackInbound {
            answers: MemorySlack::default(),
            signing_secret: SECRET.to_vec(),
        }),
        tasks: MemoryTasks::default(),
        config: f.function.config.clone(),
        clock: approval_domain::memory::fixtures::now,
        followups: Default::default(),
    };
    let started = tokio::time::Instant::now();
    let response = slow
        .handle(from_slack(&click(
            TEAM,
            "U1",
            &f.open.request_id,
            "approve",
        )))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() <= approval_callback::slack_side::CLICK_DEADLINE,
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slack_is_set_up_by_the_first_interaction_not_by_a_link_and_retried_if_it_failed_for_now() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use approval_callback::slack_side::{OnFirstUse, SetupError, SlackInbound};

    let f = fixture();
    let setups = Arc::new(AtomicUsize::new(0));
    let counted = setups.clone();
    let lazy = function_holding(
        vec![f.open.clone()],
        SlackSide::OnFirstUse(OnFirstUse::new(Box::new(move || {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if attempt == 0 {
                    return Err(SetupError::Unavailable(
                        "Secrets Manager did not answer".into(),
                    ));
                }
                Ok(SlackInbound {
                    answers: MemorySlack::default(),
                    signing_secret: SECRET.to_vec(),
                })
            })
        }))),
    );
    // A link's GET (the confirmation page): Slack is not set up for it.
    use lambda_http::RequestExt as _;
    let link = lambda_http::Request::default().with_query_string_parameters(
        std::collections::HashMap::from([
            ("action".to_owned(), "approve".to_owned()),
            ("c".to_owned(), f.credentials[0].approve.encode()),
        ]),
    );
    let (status, _) = answer(&lazy, link).await;
    assert_eq!(status, 200, "the link's page");
    assert_eq!(
        setups.load(Ordering::SeqCst),
        0,
        "a link never sets Slack up"
    );

    let click = || from_slack(&click(TEAM, "U1", &f.open.request_id, "approve"));
    assert_eq!(answer(&lazy, click()).await.0, 503, "failed for now");
    assert_eq!(answer(&lazy, click()).await.0, 200, "tried again, set up");
    assert_eq!(answer(&lazy, click()).await.0, 200);
    assert_eq!(setups.load(Ordering::SeqCst), 2, "once set up, never again");

    let broken = function_holding(
        vec![f.open.clone()],
        SlackSide::OnFirstUse(OnFirstUse::new(Box::new(|| {
            Box::pin(async { Err(SetupError::Unusable("the secret is not JSON".into())) })
        }))),
    );
    assert_eq!(answer(&broken, click()).await.0, 503);
    assert_eq!(answer(&broken, click()).await.0, 503);
}
