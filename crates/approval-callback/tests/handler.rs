//! approval-callback's answers through in-memory ports: the contract's HTTP table, what is
//! written, and how often SendTaskSuccess is called.

mod support;

use approval_domain::{
    ApprovalRequest, Delivery, Untold,
    memory::{StoreOp, fixtures},
    ports::PortError,
};
use lambda_http::http::{Method, StatusCode};
use support::{
    REDIRECT, answer, answer_only, function, function_with_mode, get, post, vote, votes_recorded,
};

/// How handing the stored decision to Step Functions went.
fn delivery(stored: &ApprovalRequest) -> Delivery {
    stored.decided().expect("decided").delivery.clone()
}

#[tokio::test]
async fn a_get_shows_the_request_and_changes_nothing() {
    let (function, request, credentials) = function(1, 1);
    for _ in 0..3 {
        let (status, body, response) =
            answer(&function, get("approve", &credentials[0].approve.encode())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("Deploy v42 to prod") && body.contains("0 of 1 approval so far"),
            "{body}"
        );
        assert_eq!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .split(';')
                .next(),
            Some("default-src 'none'")
        );
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert!(!body.contains(request.task_token.expose()));
    }
    assert_eq!(function.store.record(&request.request_id), Some(request));
    assert_eq!(function.store.count(StoreOp::Replace), 0);
    assert!(function.tasks.sends().is_empty());
}

#[tokio::test]
async fn a_single_approver_post_decides_once_redirects_and_tells_everyone() {
    let (function, request, credentials) = function(1, 1);
    let (status, _, response) = answer(
        &function,
        vote("approve", &credentials[0], "Looks+good+%3Cb%3E"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], REDIRECT);

    let sends = function.tasks.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].0, fixtures::task_token());
    let output: serde_json::Value = serde_json::from_str(&sends[0].1).unwrap();
    assert_eq!(
        output["Status"],
        "Approved! Task approved by approver0@example.com"
    );
    assert_eq!(output["Decision"], "approved");
    assert_eq!(output["Comment"], "Looks good <b>");
    assert_eq!(output["RequestId"], request.request_id.to_string());

    let stored = function.store.record(&request.request_id).unwrap();
    assert!(matches!(delivery(&stored), Delivery::Sent { .. }));
    assert!(
        matches!(stored.untold(), Some(Untold::Decided(_))),
        "the record says the approvers are yet to be told (send-email tells them)"
    );

    // A second POST of the same link: 409, no second SendTaskSuccess.
    let (status, body, _) = answer(&function, vote("reject", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body.contains("You already voted") && body.contains("approved"),
        "{body}"
    );
    assert_eq!(function.tasks.sends().len(), 1);
}

#[tokio::test]
async fn the_deciding_vote_is_answered_once_step_functions_has_it_and_the_rest_follows() {
    let (function, request, credentials) = function(2, 1);
    let (status, _, _) = answer_only(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(function.tasks.sends().len(), 1, "the task has the decision");
    let stored = function.store.record(&request.request_id).unwrap();
    assert!(
        matches!(delivery(&stored), Delivery::Sending { .. }),
        "claimed, not yet marked sent: {:?}",
        stored.state
    );
    assert_eq!(
        stored.untold(),
        None,
        "not told before Step Functions' answer is recorded"
    );
    // A page asked for in between (the redirect, the other approver) already shows the decision.
    let (status, page, _) =
        answer_only(&function, get("approve", &credentials[1].approve.encode())).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("approved by approver0@example.com"), "{page}");

    function.after_answer().await;
    let stored = function.store.record(&request.request_id).unwrap();
    assert!(matches!(delivery(&stored), Delivery::Sent { .. }));
    assert!(matches!(stored.untold(), Some(Untold::Decided(_))));
    function.after_answer().await;
    assert_eq!(
        function.store.count(StoreOp::Replace),
        2,
        "the vote, then the mark"
    );
}

#[tokio::test]
async fn two_of_three_with_progress_then_the_third_link_is_gone() {
    let (function, request, credentials) = function(3, 2);
    let (status, body, _) = answer(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("waiting for 1 more"), "{body}");
    assert!(function.tasks.sends().is_empty());
    let (_, page, _) = answer(&function, get("approve", &credentials[1].approve.encode())).await;
    assert!(
        page.contains("1 of 2 approvals so far, by approver0@example.com"),
        "{page}"
    );

    let (status, _, _) = answer(&function, vote("approve", &credentials[1], "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let output: serde_json::Value = serde_json::from_str(&function.tasks.sends()[0].1).unwrap();
    assert_eq!(output["Approvals"].as_array().unwrap().len(), 2);
    assert_eq!(output["Approver"], "approver1@example.com");
    let stored = function.store.record(&request.request_id).unwrap();
    assert!(matches!(stored.untold(), Some(Untold::Decided(_))));

    for (status, body) in [
        answer(&function, get("reject", &credentials[2].reject.encode())).await,
        answer(&function, vote("reject", &credentials[2], "")).await,
    ]
    .map(|(s, b, _)| (s, b))
    {
        assert_eq!(status, StatusCode::GONE);
        assert!(body.contains("approved by approver1@example.com"), "{body}");
    }
    assert_eq!(function.tasks.sends().len(), 1);
    assert_eq!(votes_recorded(&function, &request), 2);
}

#[tokio::test]
async fn a_rejection_vetoes() {
    let (function, _, credentials) = function(3, 2);
    answer(&function, vote("approve", &credentials[0], "")).await;
    let (status, _, _) = answer(&function, vote("reject", &credentials[2], "no")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let output: serde_json::Value = serde_json::from_str(&function.tasks.sends()[0].1).unwrap();
    assert_eq!(output["Decision"], "rejected");
    assert_eq!(
        output["Status"],
        "Rejected! Task rejected by approver2@example.com"
    );
}

#[tokio::test]
async fn altered_credentials_are_404_alike_and_malformed_ones_400() {
    let (function, request, credentials) = function(2, 1);
    let good = credentials[0].approve.encode();
    let mut pages = Vec::new();
    for position in [0, 15, 16, 17, 43] {
        let mut bytes = good.clone().into_bytes();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        let (status, body, _) = answer(&function, get("approve", &altered)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "position {position}");
        pages.push(body);
        let (status, _, _) = answer(&function, post(&format!("action=approve&c={altered}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST, position {position}");
    }
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "no hint which part was wrong"
    );
    for (request_to_send, says) in [
        (get("approve", &good[1..]), "`c`"),
        (get("approve", &format!("{good}A")), "`c`"),
        (get("maybe", &good), "`action`"),
        (post("action=approve"), "missing field `c`"),
        (
            post(&format!("action=approve&action=reject&c={good}")),
            "duplicate field `action`",
        ),
    ] {
        let (status, body, _) = answer(&function, request_to_send).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(says), "{body}");
    }
    assert_eq!(function.store.record(&request.request_id), Some(request));
    assert!(function.tasks.sends().is_empty());
}

#[tokio::test]
async fn methods_types_and_sizes_outside_the_contract_change_nothing() {
    let (function, request, credentials) = function(1, 1);
    for method in [
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ] {
        let mut r = get("approve", &credentials[0].approve.encode());
        *r.method_mut() = method.clone();
        let (status, _, response) = answer(&function, r).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.headers()["allow"], "GET, POST");
    }
    let mut json_post = vote("approve", &credentials[0], "");
    json_post
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_eq!(
        answer(&function, json_post).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let big = format!(
        "action=approve&c={}&comment={}",
        credentials[0].approve.encode(),
        "x".repeat(17 * 1024)
    );
    assert_eq!(
        answer(&function, post(&big)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(function.store.record(&request.request_id), Some(request));
    assert_eq!(
        function.store.count(StoreOp::Get),
        0,
        "refused before any read"
    );
}

#[tokio::test]
async fn an_expired_request_is_gone() {
    let (mut function, _, credentials) = function(1, 1);
    function.clock = || fixtures::now().plus_seconds(3600);
    let (status, body, _) = answer(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(body.contains("expired"), "{body}");
    assert!(function.tasks.sends().is_empty());
}

#[tokio::test]
async fn a_lost_race_is_read_again_and_a_store_outage_is_503() {
    let (function, request, credentials) = function(1, 1);
    function.store.conflict_next(2);
    let (status, _, _) = answer(&function, vote("approve", &credentials[0], "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(function.tasks.sends().len(), 1);
    let stored = function.store.record(&request.request_id).unwrap();
    assert_eq!(
        (stored.votes.len(), stored.version),
        (1, 3),
        "the vote, then the delivery"
    );

    let (function, request, credentials) = self::function(1, 1);
    function.store.fail_next(
        StoreOp::Get,
        PortError::Unavailable("DynamoDB: ThrottlingException".into()),
    );
    assert_eq!(
        answer(&function, get("approve", &credentials[0].approve.encode()))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    function.store.fail_next(
        StoreOp::Replace,
        PortError::Unavailable("DynamoDB: InternalServerError".into()),
    );
    assert_eq!(
        answer(&function, vote("approve", &credentials[0], ""))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        function.tasks.sends().is_empty(),
        "nothing sent for an unrecorded vote"
    );
    assert_eq!(
        answer(&function, vote("approve", &credentials[0], ""))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        votes_recorded(&function, &request),
        1,
        "the retried vote recorded once"
    );
}

#[tokio::test]
async fn one_click_mode_votes_on_get_with_a_302() {
    let (function, _, credentials) = function_with_mode(1, 1, "one-click");
    let (status, _, response) =
        answer(&function, get("reject", &credentials[0].reject.encode())).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(response.headers()["location"], REDIRECT);
    assert_eq!(function.tasks.sends().len(), 1);
}

#[tokio::test]
async fn a_bad_setting_is_a_500_page_for_everyone() {
    let (_, _, credentials) = function(1, 1);
    let misconfigured: approval_callback::Function<
        approval_domain::memory::MemoryStore,
        approval_domain::memory::MemoryTasks,
        approval_domain::memory::MemorySlack,
    > = approval_callback::Function::Misconfigured(
        approval_callback::Config::from_vars(Vec::new()).unwrap_err(),
    );
    for request in [
        get("approve", &credentials[0].approve.encode()),
        vote("approve", &credentials[0], ""),
    ] {
        let response = misconfigured.handle(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(body.contains("Something went wrong"), "{body}");
    }
    misconfigured.after_answer().await;
}
