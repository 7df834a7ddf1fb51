//! HTTP in, page out: method → link fields → look up → check → (vote) → answer. Never an
//! `Err` and never a panic past here: every outcome is a page, so no approver sees a bare 502.

use std::panic::AssertUnwindSafe;

use approval_domain::{
    LinkMode, Standing, Timestamp,
    ports::{Notifier, RequestStore, Tasks},
};
use futures_util::FutureExt as _;
use lambda_http::{
    Body, Error, Request, RequestExt, Response,
    http::{Method, StatusCode, header::CONTENT_TYPE},
    request::RequestContext,
};
use tracing::{error, info, warn};

use crate::{
    ANSWER_DEADLINE, Config, answer, console,
    link::LinkFields,
    pages,
    vote::{Followups, Ports, Voted},
};

/// The largest form a vote may be (a comment of 2,000 characters, encoded, fits easily).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The function: its ports and its settings, read once.
pub struct Callback<S, N, T> {
    pub store: S,
    pub notifier: N,
    pub tasks: T,
    pub config: Result<Config, String>,
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

impl<S: RequestStore + Sync, N: Notifier + Sync, T: Tasks + Sync> Callback<S, N, T> {
    fn ports(&self) -> Ports<'_, S, N, T> {
        Ports {
            store: &self.store,
            notifier: &self.notifier,
            tasks: &self.tasks,
            followups: &self.followups,
        }
    }

    /// What the answers so far left to do, done once they are posted (the runtime calls this
    /// before it takes the next request, within the invocation's time, catching a panic:
    /// [`approval_aws::after_answer`]).
    pub async fn after_answer(&self) {
        let ports = self.ports();
        for delivered in self.followups.take() {
            ports.follow_up(&delivered).await;
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let Ok(config) = &self.config else {
            error!("approval-callback is misconfigured; see the error at start-up");
            return Ok(answer::failed());
        };
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
        let ports = self.ports();
        let caller = Caller::of(request);
        let now = (self.clock)();
        if *method == Method::GET && config.link_mode == LinkMode::Confirm {
            return self.show(&ports, &link, now).await;
        }
        let voted = ports.vote(&link, now).await;
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
        ports: &Ports<'_, S, N, T>,
        link: &LinkFields,
        now: Timestamp,
    ) -> Response<Body> {
        match ports.open(link).await {
            Ok(Some((request, slot))) => match request.standing(slot, now) {
                Standing::MayVote => {
                    let approver = request
                        .approver(slot)
                        .map(|a| a.as_str())
                        .unwrap_or_default();
                    let html =
                        pages::confirm(&request, approver, link.choice, &link.credential.encode());
                    answer::page(StatusCode::OK, html)
                }
                Standing::Voted(vote) => {
                    answer::page(StatusCode::CONFLICT, pages::already_voted(&request, &vote))
                }
                ended => answer::page(StatusCode::GONE, pages::ended(&request, &ended)),
            },
            Ok(None) => answer::not_found(),
            Err(err) => {
                warn!(%err, "could not read the request");
                match err {
                    approval_domain::ports::PortError::Unavailable(_) => answer::unavailable(),
                    approval_domain::ports::PortError::Failed(_) => answer::failed(),
                }
            }
        }
    }
}

fn log_vote(link: &LinkFields, caller: &Caller, voted: &Voted) {
    let (request_id, approver, result) = match voted {
        Voted::Recorded { request, vote, .. } => (
            request.request_id.to_string(),
            vote.approver.to_string(),
            "recorded",
        ),
        Voted::Decided { request } => (request.request_id.to_string(), decider(request), "decided"),
        Voted::Refused { request, .. } => {
            (request.request_id.to_string(), String::new(), "refused")
        }
        Voted::TaskClosed { request } => {
            (request.request_id.to_string(), String::new(), "task closed")
        }
        Voted::NotFound => (
            link.credential.request_id().to_string(),
            String::new(),
            "not found",
        ),
        Voted::Unavailable => (
            link.credential.request_id().to_string(),
            String::new(),
            "unavailable",
        ),
        Voted::Failed => (
            link.credential.request_id().to_string(),
            String::new(),
            "failed",
        ),
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

fn decider(request: &approval_domain::ApprovalRequest) -> String {
    match &request.outcome {
        approval_domain::Outcome::Decided { decided_by, .. } => decided_by.to_string(),
        approval_domain::Outcome::Pending => String::new(),
    }
}

fn render(config: &Config, voted: Voted, redirect_status: StatusCode) -> Response<Body> {
    match voted {
        Voted::Recorded {
            request,
            vote,
            still_needed,
        } => answer::page(
            StatusCode::OK,
            pages::recorded(&request, &vote, still_needed),
        ),
        Voted::Decided { request } => {
            let target = config
                .redirect_url
                .clone()
                .or_else(|| console::execution_page(&request.execution_arn));
            match target {
                Some(target) => answer::redirect(redirect_status, &target),
                None => {
                    warn!(request_id = %request.request_id, "no redirect target: no REDIRECT_URL and no console for this ARN");
                    let standing = request.standing(0, Timestamp::now());
                    answer::page(StatusCode::OK, pages::ended(&request, &standing))
                }
            }
        }
        Voted::Refused {
            request,
            standing: Standing::Voted(vote),
        } => answer::page(StatusCode::CONFLICT, pages::already_voted(&request, &vote)),
        Voted::Refused { request, standing } => {
            answer::page(StatusCode::GONE, pages::ended(&request, &standing))
        }
        Voted::TaskClosed { request } => answer::page(
            StatusCode::GONE,
            pages::ended(&request, &Standing::TaskClosed),
        ),
        Voted::NotFound => answer::not_found(),
        Voted::Unavailable => answer::unavailable(),
        Voted::Failed => answer::failed(),
    }
}
