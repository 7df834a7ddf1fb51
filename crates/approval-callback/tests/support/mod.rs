//! What the callback's tests share: a function on in-memory ports holding one open request,
//! and requests as API Gateway hands them over.
#![allow(dead_code)] // each test file uses its own part of it

use std::collections::HashMap;

use approval_callback::{Callback, Config};
use approval_domain::{
    ApprovalRequest, Choice, Credential, LinkCredentials,
    memory::{MemoryStore, MemoryTasks, fixtures},
};
use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{Method, StatusCode},
};

pub type Function = Callback<MemoryStore, MemoryTasks, approval_domain::memory::MemorySlack>;

pub const REDIRECT: &str = "https://example.com/decided";

pub fn function(
    approvers: usize,
    required: usize,
) -> (Function, ApprovalRequest, Vec<LinkCredentials>) {
    function_with_mode(approvers, required, "confirm")
}

pub fn function_with_mode(
    approvers: usize,
    required: usize,
    mode: &str,
) -> (Function, ApprovalRequest, Vec<LinkCredentials>) {
    let (request, credentials) = ApprovalRequest::open(fixtures::new_request(approvers, required));
    let function = function_holding(vec![request.clone()], mode, Some(REDIRECT));
    (function, request, credentials)
}

/// A function whose store holds exactly `records`; `redirect`: its `REDIRECT_URL` (`None`: the
/// template's default, empty: the execution's console page).
pub fn function_holding(
    records: Vec<ApprovalRequest>,
    mode: &str,
    redirect: Option<&str>,
) -> Function {
    let vars = approval_callback::config::test_vars(&[
        ("LINK_MODE", mode),
        ("REDIRECT_URL", redirect.unwrap_or_default()),
    ]);
    Callback {
        store: MemoryStore::with(records),
        slack:
            approval_callback::slack_side::SlackSide::<approval_domain::memory::MemorySlack>::Off,
        tasks: MemoryTasks::default(),
        config: Config::from_vars(vars).expect("the test settings"),
        clock: fixtures::now,
        followups: Default::default(),
    }
}

/// A GET whose query has these (name, value) pairs, repeats allowed.
pub fn get_query(pairs: &[(&str, &str)]) -> Request {
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in pairs {
        query
            .entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    Request::default().with_query_string_parameters(query)
}

pub fn get(action: &str, c: &str) -> Request {
    Request::default().with_query_string_parameters(HashMap::from([
        ("action".to_owned(), action.to_owned()),
        ("c".to_owned(), c.to_owned()),
    ]))
}

pub fn post(body: &str) -> Request {
    let mut request = Request::new(Body::from(body.to_owned()));
    *request.method_mut() = Method::POST;
    request.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    request
}

/// A vote with the approver's link for `action` (their Approve link if `action` is neither).
pub fn vote(action: &str, credentials: &LinkCredentials, comment: &str) -> Request {
    let choice = Choice::from_action(action).unwrap_or(Choice::Approved);
    vote_with(action, credentials.of(choice), comment)
}

/// A vote with exactly this credential, whichever action it was issued for.
pub fn vote_with(action: &str, credential: &Credential, comment: &str) -> Request {
    post(&format!(
        "action={action}&c={}&comment={comment}",
        credential.encode()
    ))
}

/// The request answered, then what the answer left to do done, as the runtime does it.
pub async fn answer(function: &Function, request: Request) -> (StatusCode, String, Response<Body>) {
    let answered = answer_only(function, request).await;
    function.after_answer().await;
    answered
}

/// The request answered; what follows the answer is left undone.
pub async fn answer_only(
    function: &Function,
    request: Request,
) -> (StatusCode, String, Response<Body>) {
    let response = function.handle(request).await.unwrap();
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        other => String::from_utf8_lossy(other.as_ref()).into_owned(),
    };
    (response.status(), body, response)
}

/// How many votes the store holds for `request`.
pub fn votes_recorded(function: &Function, request: &ApprovalRequest) -> usize {
    function
        .store
        .record(&request.request_id)
        .map_or(0, |stored| stored.votes.len())
}
