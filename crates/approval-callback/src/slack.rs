//! `POST /slack/interactions`: what Slack sends when an approver clicks a request's button or
//! submits the vote modal.
//!
//! The signature is checked on the raw body before anything is parsed or read
//! ([`approval_slack::signature`]): a request Slack did not sign, or signed more than 300 s
//! from now, gets 401 and nothing else happens. Then only the user Slack signed for counts: a
//! click opens the vote modal if that user is the Slack identity the record holds for one of
//! the request's approvers and they may still vote (one store read, one Slack call: within
//! Slack's 3 s); anyone else gets a private message saying why, and nothing is recorded. The
//! modal's submission is the vote, under exactly the rules of a link's (the same [`Voting`]):
//! one vote per approver whatever the channel, the veto, the quorum, one `SendTaskSuccess`.

use approval_domain::{
    Standing, Timestamp,
    ports::{PortError, RequestStore, SlackAnswers, Tasks},
};
use approval_slack::{Interaction, SlackUser, signature};
use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode, header::CONTENT_TYPE},
};
use serde_json::json;
use tracing::{info, warn};

use crate::{
    Callback, MAX_BODY_BYTES, answer,
    slack_side::{CLICK_DEADLINE, SlackInbound, SlackSide},
    vote::{Ballot, VoteError, Voted, Voter},
};

impl<S: RequestStore + Sync, T: Tasks + Sync, A: SlackAnswers + Sync> Callback<S, T, A> {
    pub(crate) async fn slack_interaction(&self, request: &Request) -> Response<Body> {
        let unusable = |why: &str| {
            warn!(why, "a Slack interaction, but Slack is not usable");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Slack is not usable here now",
            )
        };
        let slack = match &self.slack {
            SlackSide::Ready(slack) => slack,
            SlackSide::Off => return answer::not_found(),
            SlackSide::Unusable(why) => return unusable(why),
            SlackSide::OnFirstUse(setup) => match setup.get().await {
                Ok(slack) => slack,
                Err(why) => return unusable(&why),
            },
        };
        if request.method() != Method::POST {
            return answer::method_not_allowed(request.method().as_str());
        }
        let body = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "the body is over 16 KiB");
        }
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let now = (self.clock)();
        if let Err(err) = signature::verify(
            &slack.signing_secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now.unix(),
        ) {
            info!(%err, "a request to the Slack route that Slack did not sign: refused");
            return text(
                StatusCode::UNAUTHORIZED,
                &format!("not signed by Slack: {err}"),
            );
        }
        let media_type = header(CONTENT_TYPE.as_str())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Slack sends interactions as application/x-www-form-urlencoded",
            );
        }
        let interaction = match Interaction::parse(body) {
            Ok(interaction) => interaction,
            Err(err) => {
                info!(%err, "a signed Slack request that is not one of the gate's interactions");
                return text(StatusCode::BAD_REQUEST, &err.to_string());
            }
        };
        match interaction {
            Interaction::Click {
                user,
                trigger_id,
                channel,
                request_id,
                choice,
            } => {
                let answering = async {
                    let said = self
                        .click(slack, &user, &trigger_id, &request_id, choice, now)
                        .await;
                    if let (Some(words), Some(channel)) = (said, channel)
                        && let Err(err) = slack.answers.say_privately(&channel, &user, &words).await
                    {
                        warn!(%err, "the private answer to a click did not reach Slack");
                    }
                };
                if tokio::time::timeout(CLICK_DEADLINE, answering)
                    .await
                    .is_err()
                {
                    warn!(%request_id, "a click not answered within Slack's 3 s; the clicker clicks again");
                }
                acknowledged()
            }
            Interaction::Submit {
                user,
                request_id,
                choice,
                comment,
            } => {
                let ballot = Ballot {
                    request_id,
                    voter: Voter::Slack(user.clone()),
                    choice,
                    comment,
                };
                let voted = self.voting().vote(&ballot, now).await;
                log_vote(&ballot, &user, &voted);
                match voted {
                    Ok(Voted::Recorded { .. } | Voted::Decided { .. }) => acknowledged(),
                    Ok(Voted::Refused { standing, .. }) => modal_error(&why_not(&standing)),
                    Err(VoteError::NotFound) => modal_error(NOT_AN_APPROVER),
                    Err(VoteError::Port(_) | VoteError::Contended) => modal_error(
                        "The gate could not record your vote just now; submit again in a moment.",
                    ),
                }
            }
            Interaction::Ignored(kind) => {
                info!(kind, "a Slack interaction the gate does not act on");
                acknowledged()
            }
        }
    }

    /// A click on a button: opens the modal (nothing to say), or what to tell the clicker.
    async fn click(
        &self,
        slack: &SlackInbound<A>,
        user: &SlackUser,
        trigger_id: &str,
        request_id: &approval_domain::RequestId,
        choice: approval_domain::Choice,
        now: Timestamp,
    ) -> Option<String> {
        let record = match self.store.get(request_id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Some("This approval request no longer exists.".into()),
            Err(err) => {
                warn!(%request_id, %err, "could not read the request a Slack click names");
                return Some(
                    "The gate could not read this request just now; click again in a moment."
                        .into(),
                );
            }
        };
        let Some(slot) = record.slack_slot(user) else {
            info!(%request_id, team = user.team_id, user = user.user_id, "a click by someone who is not an approver: refused");
            return Some(NOT_AN_APPROVER.into());
        };
        match record.standing(slot, now) {
            Standing::MayVote => match slack.answers.open_vote(trigger_id, &record, choice).await {
                Ok(()) => None,
                Err(err) => {
                    warn!(%request_id, %err, "the vote modal did not open");
                    Some(match err {
                        PortError::Unavailable(_) => {
                            "Slack could not open the vote in time; click again.".into()
                        }
                        PortError::Failed(_) => {
                            "Slack would not open the vote; click again.".into()
                        }
                    })
                }
            },
            standing => Some(why_not(&standing)),
        }
    }
}

const NOT_AN_APPROVER: &str = "You are not an approver of this request: only its approvers can decide it. Nothing was recorded.";

/// Why this approver cannot vote now, for them.
fn why_not(standing: &Standing) -> String {
    match standing {
        Standing::MayVote => "You may vote.".into(),
        Standing::Voted(vote) => format!(
            "You already voted: {} at {}. Each approver votes once, by email or in Slack.",
            vote.choice.as_str(),
            vote.voted_at
        ),
        Standing::Decided { decision, by, at } => format!(
            "This request was already {} by {by} at {at}. Nothing was recorded.",
            decision.as_str()
        ),
        Standing::Closed { at, .. } => format!(
            "This request was closed at {at}: Step Functions closed its task. Nothing was recorded."
        ),
        Standing::Expired { at } => {
            format!("This request expired at {at}. Nothing was recorded.")
        }
        Standing::Cancelled { status, at } => format!(
            "This request was cancelled at {at}: its execution {}. Nothing was recorded.",
            status.ended_as()
        ),
        Standing::NotAnApprover => NOT_AN_APPROVER.into(),
    }
}

fn log_vote(ballot: &Ballot, user: &SlackUser, voted: &Result<Voted, VoteError>) {
    let result = match voted {
        Ok(Voted::Recorded { .. }) => "recorded",
        Ok(Voted::Decided { .. }) => "decided",
        Ok(Voted::Refused { .. }) => "refused",
        Err(VoteError::NotFound) => "not an approver",
        Err(VoteError::Contended) => "contended",
        Err(VoteError::Port(PortError::Unavailable(_))) => "unavailable",
        Err(VoteError::Port(PortError::Failed(_))) => "failed",
    };
    info!(
        request_id = %ballot.request_id,
        team = user.team_id,
        user = user.user_id,
        decision = ballot.choice.as_str(),
        result,
        via = "slack",
        "vote"
    );
}

/// 200, nothing to show: Slack closes the modal, or leaves the message as it is.
fn acknowledged() -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::Empty)
        .expect("a static response")
}

/// The modal stays open with `why` under the comment.
fn modal_error(why: &str) -> Response<Body> {
    let answer = json!({"response_action": "errors", "errors": {"comment": why}});
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(answer.to_string()))
        .expect("a static response")
}

fn text(status: StatusCode, words: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::Text(words.to_owned()))
        .expect("a static response")
}
