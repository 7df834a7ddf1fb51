//! HTTP in, page out: method → link fields → look up → check → (vote) → answer. Never an
//! `Err` and never a panic past here: every outcome is a page, so no approver sees a bare 502.

use std::panic::AssertUnwindSafe;

use approval_aws::settings::ConfigError;
use approval_domain::{
    LinkMode, Standing, Timestamp,
    ports::{PortError, RequestStore, SlackAnswers, Tasks},
};
use futures_util::FutureExt as _;
use lambda_http::{
    Body, Error, Request, RequestExt, Response,
    http::{Method, StatusCode, header::CONTENT_TYPE},
    request::RequestContext,
};
use tracing::{error, info, warn};

use crate::{
    ANSWER_DEADLINE, Config, MAX_BODY_BYTES, answer, console,
    link::LinkFields,
    pages,
    slack_side::{SlackSide, is_interactions_path},
    vote::{Followups, VoteError, Voted, Voting},
};

/// The function as it started: ready, or misconfigured, in which case every request gets the 500
/// page (the setting is named in the log on every request), rather than the runtime crashing
/// into a bare 502.
pub enum Function<S, T, A> {
    /// Boxed: the ready function is large, the misconfigured one a message; built once.
    Ready(Box<Callback<S, T, A>>),
    Misconfigured(ConfigError),
}

impl<S: RequestStore + Sync, T: Tasks + Sync, A: SlackAnswers + Sync> Function<S, T, A> {
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        match self {
            Function::Ready(callback) => callback.handle(request).await,
            Function::Misconfigured(err) => {
                error!(%err, "approval-callback is misconfigured");
                Ok(answer::failed())
            }
        }
    }

    pub async fn after_answer(&self) {
        if let Function::Ready(callback) = self {
            callback.after_answer().await;
        }
    }
}

/// The ready function: its ports and its settings, read once.
pub struct Callback<S, T, A> {
    pub store: S,
    pub tasks: T,
    /// Slack's side of `POST /slack/interactions` ([`crate::slack`]).
    pub slack: SlackSide<A>,
    pub config: Config,
    pub clock: fn() -> Timestamp,
    /// What answers leave behind for [`Callback::after_answer`].
    pub followups: Followups,
}

/// Who is asking, for the log line of every vote: enough to look into a decision made with a
/// forwarded email. Never the credential.
#[derive(Debug, Default, Clone)]
pub struct Caller {
    pub source_ip: String,
    pub user_agent: String,
    pub api_request_id: String,
}

impl Caller {
    pub fn of(request: &Request) -> Self {
        let user_agent = request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let (source_ip, api_request_id) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(c)) => (
                c.identity.source_ip.clone().unwrap_or_default(),
                c.request_id.clone().unwrap_or_default(),
            ),
            Some(RequestContext::ApiGatewayV2(c)) => (
                c.http.source_ip.clone().unwrap_or_default(),
                c.request_id.clone().unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        Self {
            source_ip,
            user_agent,
            api_request_id,
        }
    }
}

impl<S: RequestStore + Sync, T: Tasks + Sync, A: SlackAnswers + Sync> Callback<S, T, A> {
    pub(crate) fn voting(&self) -> Voting<'_, S, T> {
        Voting {
            store: &self.store,
            tasks: &self.tasks,
            followups: &self.followups,
        }
    }

    /// What the answers so far left to do, done once they are posted (the runtime calls this
    /// before it takes the next request, within the invocation's time, catching a panic:
    /// [`approval_aws::after_answer`]).
    pub async fn after_answer(&self) {
        let voting = self.voting();
        for delivered in self.followups.take() {
            voting.follow_up(&delivered).await;
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let config = &self.config;
        // A bug of ours that panics must still reach the approver as a page.
        let answering = AssertUnwindSafe(self.answer(config, &request)).catch_unwind();
        Ok(
            match tokio::time::timeout(ANSWER_DEADLINE, answering).await {
                Ok(Ok(response)) => response,
                Ok(Err(_panic)) => {
                    error!("the handler panicked");
                    answer::failed()
                }
                Err(_elapsed) => {
                    error!("no answer within the deadline; a recorded vote stays recorded");
                    answer::unavailable()
                }
            },
        )
    }

    async fn answer(&self, config: &Config, request: &Request) -> Response<Body> {
        if is_interactions_path(request.uri().path()) {
            return self.slack_interaction(request).await;
        }
        let method = request.method();
        let link = match *method {
            Method::GET => LinkFields::from_pairs(
                request
                    .query_string_parameters_ref()
                    .map(|q| {
                        q.iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Method::POST => {
                let content_type = request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let media_type = content_type.split(';').next().unwrap_or_default().trim();
                if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                    return answer::page(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        pages::unsupported_type(),
                    );
                }
                let body = request.body().as_ref();
                if body.len() > MAX_BODY_BYTES {
                    return answer::page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        pages::too_large(MAX_BODY_BYTES),
                    );
                }
                LinkFields::from_form(body)
            }
            _ => return answer::method_not_allowed(method.as_str()),
        };
        let link = match link {
            Ok(link) => link,
            Err(err) => {
                info!(method = method.as_str(), %err, "link refused");
                return answer::bad_request(&err.to_string());
            }
        };
        let voting = self.voting();
        let caller = Caller::of(request);
        let now = (self.clock)();
        if *method == Method::GET && config.link_mode == LinkMode::Confirm {
            return self.show(&voting, &link, now).await;
        }
        let voted = voting.vote(&link.ballot(), now).await;
        log_vote(&link, &caller, &voted);
        let redirect_status = if *method == Method::GET {
            StatusCode::FOUND
        } else {
            StatusCode::SEE_OTHER
        };
        render(config, voted, redirect_status)
    }

    /// The confirm-mode GET: the request's page, or why this link no longer votes.
    async fn show(
        &self,
        voting: &Voting<'_, S, T>,
        link: &LinkFields,
        now: Timestamp,
    ) -> Response<Body> {
        let (request, slot) = match voting.open(&link.ballot()).await {
            Ok(found) => found,
            Err(err) => {
                if let VoteError::Port(err) = &err {
                    warn!(%err, "could not read the request");
                }
                return failure(&err);
            }
        };
        match request.standing(slot, now) {
            Standing::MayVote => {
                let approver = request
                    .approver(slot)
                    .map(|a| a.as_str())
                    .unwrap_or_default();
                let html =
                    pages::confirm(&request, approver, link.choice, &link.credential.encode());
                answer::page(StatusCode::OK, html)
            }
            standing => refused(&request, &standing),
        }
    }
}

/// The answer to a vote that could not be judged.
fn failure(err: &VoteError) -> Response<Body> {
    match err {
        VoteError::NotFound => answer::not_found(),
        VoteError::Port(PortError::Unavailable(_)) | VoteError::Contended => answer::unavailable(),
        VoteError::Port(PortError::Failed(_)) => answer::failed(),
    }
}

/// 409 for a second vote, 404 for a slot nobody holds, 410 for a request that ended.
fn refused(request: &approval_domain::ApprovalRequest, standing: &Standing) -> Response<Body> {
    match standing {
        Standing::Voted(vote) => {
            answer::page(StatusCode::CONFLICT, pages::already_voted(request, vote))
        }
        Standing::NotAnApprover => answer::not_found(),
        ended => answer::page(StatusCode::GONE, pages::ended(request, ended)),
    }
}

fn log_vote(link: &LinkFields, caller: &Caller, voted: &Result<Voted, VoteError>) {
    let request_id = link.credential.request_id().to_string();
    let (approver, result) = match voted {
        Ok(Voted::Recorded { vote, .. }) => (vote.approver.to_string(), "recorded"),
        Ok(Voted::Decided { request }) => (
            request
                .decided()
                .map(|d| d.by.to_string())
                .unwrap_or_default(),
            "decided",
        ),
        Ok(Voted::Refused { .. }) => (String::new(), "refused"),
        Err(VoteError::NotFound) => (String::new(), "not found"),
        Err(VoteError::Contended) => (String::new(), "contended"),
        Err(VoteError::Port(PortError::Unavailable(_))) => (String::new(), "unavailable"),
        Err(VoteError::Port(PortError::Failed(_))) => (String::new(), "failed"),
    };
    info!(
        request_id,
        approver,
        slot = link.credential.slot(),
        decision = link.choice.as_str(),
        result,
        source_ip = caller.source_ip,
        user_agent = caller.user_agent,
        api_request_id = caller.api_request_id,
        "vote"
    );
}

fn render(
    config: &Config,
    voted: Result<Voted, VoteError>,
    redirect_status: StatusCode,
) -> Response<Body> {
    match voted {
        Ok(Voted::Recorded {
            request,
            vote,
            still_needed,
        }) => answer::page(
            StatusCode::OK,
            pages::recorded(&request, &vote, still_needed),
        ),
        Ok(Voted::Decided { request }) => {
            let target = config
                .redirect_url
                .clone()
                .or_else(|| console::execution_page(&request.execution_arn));
            match target {
                Some(target) => answer::redirect(redirect_status, &target),
                // A partition without a public console: the voter still learns their vote
                // decided the request.
                None => answer::page(StatusCode::OK, pages::decided(&request)),
            }
        }
        Ok(Voted::Refused { request, standing }) => refused(&request, &standing),
        Err(err) => failure(&err),
    }
}
