//! HTTP in; `VerifyMac`, then `SendTaskSuccess`, when the domain plan says so; HTML out. Never
//! an `Err`: every outcome is a page, so the approver never sees a bare 502.

use std::panic::AssertUnwindSafe;

use approval_core::{
    CallbackConfig, ConfigError, Decision, HttpAnswer, Plan, Verification, Verified,
    callback::{self, CallbackOutcome, CallbackRequest, Incoming, SECURITY_HEADERS},
    console::execution_console_url,
    plan,
    signing::SignatureProblem,
};
use aws_sdk_kms::{
    operation::verify_mac::VerifyMacError, primitives::Blob, types::MacAlgorithmSpec,
};
use aws_sdk_sfn::{
    error::{ProvideErrorMetadata, SdkError},
    operation::send_task_success::SendTaskSuccessError,
};
use futures_util::FutureExt as _;
use lambda_http::{Body, Error, Request, RequestExt, Response, http::header::CONTENT_TYPE};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::ANSWER_DEADLINE;

/// The function: its SDK clients, built once, and its settings, read once.
pub struct App {
    pub sfn: aws_sdk_sfn::Client,
    pub kms: aws_sdk_kms::Client,
    pub config: Result<CallbackConfig, ConfigError>,
}

impl App {
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let answer = match &self.config {
            Ok(config) => {
                // A bug of ours that panics must still reach the approver as a page, never as
                // the bare 502 API Gateway shows for a failed invocation.
                let answering = AssertUnwindSafe(self.answer(config, &request)).catch_unwind();
                match tokio::time::timeout(ANSWER_DEADLINE, answering).await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(_panic)) => {
                        error!("the handler panicked; nothing more is known of the decision");
                        callback::answer_failed(CallbackOutcome::Failed)
                    }
                    Err(_elapsed) => {
                        error!(
                            "no answer within the deadline; the decision may or may not have been recorded"
                        );
                        callback::answer_failed(CallbackOutcome::Unavailable)
                    }
                }
            }
            Err(_) => callback::answer_misconfigured(),
        };
        Ok(into_response(answer))
    }

    async fn answer(&self, config: &CallbackConfig, request: &Request) -> HttpAnswer {
        let query_map = request.query_string_parameters();
        let query: Vec<(&str, &str)> = query_map.iter().collect();
        let incoming = Incoming {
            method: request.method().as_str(),
            query: &query,
            content_type: request
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            body: request.body().as_ref(),
        };
        let verification = match plan(incoming, OffsetDateTime::now_utc()) {
            Plan::Answer(answer) => {
                info!(
                    method = incoming.method,
                    status = answer.status,
                    "answered without a decision"
                );
                return answer;
            }
            Plan::Verify(verification) => verification,
        };
        if let Err(answer) = self.verify(config, &verification).await {
            return answer;
        }
        match verification.verified(config, OffsetDateTime::now_utc()) {
            Verified::Answer(answer) => answer,
            Verified::Decide {
                request: callback,
                decision,
                redirect_status,
            } => {
                self.decide(config, request, &callback, &decision, redirect_status)
                    .await
            }
        }
    }

    /// Sends the decision with `SendTaskSuccess` and answers with the redirect, or with the page
    /// that says why Step Functions did not take it.
    async fn decide(
        &self,
        config: &CallbackConfig,
        request: &Request,
        callback: &CallbackRequest,
        decision: &Decision,
        redirect_status: u16,
    ) -> HttpAnswer {
        let ex = &callback.request.execution_name;
        let sm = &callback.request.state_machine_name;
        let sent = self
            .sfn
            .send_task_success()
            .task_token(callback.request.task_token.expose())
            .output(decision.task_output_json())
            .send()
            .await;
        match sent {
            Ok(_) => {
                info!(execution = %ex, state_machine = %sm, action = %callback.action, "decision sent");
                // The console page is only the fallback target: build it only when needed.
                let console = config
                    .redirect_url
                    .is_none()
                    .then(|| console_page(request, sm, ex))
                    .flatten();
                callback::answer_decided(config, callback, redirect_status, console)
            }
            Err(err) => {
                let outcome = classify_send(&err);
                warn!(execution = %ex, state_machine = %sm, error_code = err.code().unwrap_or("none"), ?outcome, "decision not taken");
                callback::answer_failed(outcome)
            }
        }
    }

    /// Has KMS check the link's MAC with the link key. `Err` is the answer to give instead.
    async fn verify(
        &self,
        config: &CallbackConfig,
        verification: &Verification,
    ) -> Result<(), HttpAnswer> {
        let ex = &verification.request.request.execution_name;
        let checked = self
            .kms
            .verify_mac()
            .key_id(&config.link_key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(verification.signed_message()))
            .mac(Blob::new(verification.mac()))
            .send()
            .await;
        match checked {
            Ok(out) if out.mac_valid => Ok(()),
            Ok(_) => Err(refused(ex)),
            Err(SdkError::ServiceError(service))
                if matches!(service.err(), VerifyMacError::KmsInvalidMacException(_)) =>
            {
                Err(refused(ex))
            }
            Err(err) if sdk_errors::is_transient(&err) => {
                warn!(execution = %ex, error_code = err.code().unwrap_or("none"), "KMS unavailable; link not verified");
                Err(callback::answer_failed(CallbackOutcome::Unavailable))
            }
            Err(err) => {
                error!(execution = %ex, error_code = err.code().unwrap_or("none"), "KMS refused to verify links (key, permissions?)");
                Err(callback::answer_failed(CallbackOutcome::Failed))
            }
        }
    }
}

fn refused(execution: &str) -> HttpAnswer {
    warn!(execution, "link signature does not verify");
    callback::answer_signature_problem(SignatureProblem::Invalid)
}

/// The execution's console page, from the invoked function's ARN as the seed does.
fn console_page(request: &Request, state_machine: &str, execution: &str) -> Option<url::Url> {
    let function_arn = request
        .lambda_context_ref()
        .map(|c| c.invoked_function_arn.as_str())
        .unwrap_or_default();
    execution_console_url(function_arn, state_machine, execution)
        .inspect_err(|err| warn!(%err, "no console page to redirect to"))
        .ok()
}

/// Sorts `SendTaskSuccess` failures into what the approver should be told.
pub fn classify_send(err: &SdkError<SendTaskSuccessError>) -> CallbackOutcome {
    let decided_or_expired = err.as_service_error().is_some_and(|e| {
        matches!(
            e,
            SendTaskSuccessError::TaskTimedOut(_)
                | SendTaskSuccessError::TaskDoesNotExist(_)
                | SendTaskSuccessError::InvalidToken(_)
        )
    });
    if decided_or_expired {
        CallbackOutcome::AlreadyDecidedOrExpired
    } else if sdk_errors::is_transient(err) {
        CallbackOutcome::Unavailable
    } else {
        CallbackOutcome::Failed
    }
}

fn into_response(answer: HttpAnswer) -> Response<Body> {
    let mut builder = Response::builder()
        .status(answer.status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8");
    for (name, value) in SECURITY_HEADERS {
        builder = builder.header(name, value);
    }
    for (name, value) in &answer.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Body::Text(answer.html)).unwrap_or_else(|_| {
        // Only reachable if a header value were invalid; all of ours are built from URLs and
        // constants, but the approver must still get an answer.
        let mut fallback = Response::new(Body::Text(String::from("Internal error")));
        *fallback.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
