//! HTTP in, `SendTaskSuccess` when the domain plan says so, HTML out. Never an `Err`: every
//! outcome is a page, so the approver never sees a bare 502.

use approval_core::{
    CallbackConfig, ConfigError, HttpAnswer, Plan,
    callback::{self, CallbackOutcome, Incoming, SECURITY_HEADERS},
    console::execution_console_url,
    plan,
};
use aws_sdk_sfn::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::send_task_success::SendTaskSuccessError,
};
use lambda_http::{Body, Error, Request, RequestExt, Response, http::header::CONTENT_TYPE};
use time::OffsetDateTime;
use tracing::{info, warn};

pub struct App {
    pub sfn: Client,
    pub config: Result<CallbackConfig, ConfigError>,
}

impl App {
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let answer = match &self.config {
            Ok(config) => self.answer(config, &request).await,
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
        let (callback, decision, redirect_status) =
            match plan(config, incoming, OffsetDateTime::now_utc()) {
                Plan::Answer(answer) => {
                    info!(
                        method = incoming.method,
                        status = answer.status,
                        "answered without a decision"
                    );
                    return answer;
                }
                Plan::Decide {
                    request,
                    decision,
                    redirect_status,
                } => (request, decision, redirect_status),
            };
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
                let console = config.redirect_url.is_none().then(|| console_page(request, sm, ex)).flatten();
                callback::answer_decided(config, &callback, redirect_status, console)
            }
            Err(err) => {
                let outcome = classify(&err);
                warn!(execution = %ex, state_machine = %sm, error_code = err.code().unwrap_or("none"), ?outcome, "decision not taken");
                callback::answer_failed(outcome)
            }
        }
    }
}

/// The execution's console page, from the invoked function's ARN as the seed does.
fn console_page(request: &Request, state_machine: &str, execution: &str) -> Option<url::Url> {
    let function_arn = request.lambda_context_ref().map(|c| c.invoked_function_arn.as_str()).unwrap_or_default();
    execution_console_url(function_arn, state_machine, execution)
        .inspect_err(|err| warn!(%err, "no console page to redirect to"))
        .ok()
}

/// Sorts `SendTaskSuccess` failures into what the approver should be told.
pub fn classify(err: &SdkError<SendTaskSuccessError>) -> CallbackOutcome {
    match err {
        SdkError::ServiceError(service) => match service.err() {
            SendTaskSuccessError::TaskTimedOut(_)
            | SendTaskSuccessError::TaskDoesNotExist(_)
            | SendTaskSuccessError::InvalidToken(_) => CallbackOutcome::AlreadyDecidedOrExpired,
            other => {
                let status = service.raw().status().as_u16();
                let throttled = matches!(
                    other.code(),
                    Some(
                        "ThrottlingException"
                            | "Throttling"
                            | "TooManyRequestsException"
                            | "RequestLimitExceeded"
                            | "ServiceUnavailable"
                    )
                );
                if throttled || status == 429 || status >= 500 {
                    CallbackOutcome::Unavailable
                } else {
                    CallbackOutcome::Failed
                }
            }
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            CallbackOutcome::Unavailable
        }
        _ => CallbackOutcome::Failed,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use approval_core::LinkMode;
    use aws_sdk_sfn::{
        config::retry::RetryConfig,
        operation::send_task_success::SendTaskSuccessOutput,
        types::error::{InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;
    use lambda_http::Context;
    use serde_json::Value;

    const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:approval-callback";
    const CONSOLE: &str = "https://console.aws.amazon.com/states/home?region=us-east-1#/executions/details/\
                           arn:aws:states:us-east-1:123456789012:execution:HumanApprovalLambdaStateMachine:ApprovalTest";

    fn read_event(name: &str) -> String {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// An `events/` file as the runtime hands it to us, with the invoking function's ARN.
    fn event(name: &str) -> Request {
        let request = lambda_http::request::from_str(&read_event(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut context = Context::default();
        context.invoked_function_arn = FUNCTION_ARN.into();
        request.with_lambda_context(context)
    }

    /// The real-shaped (~700 chars, `+ / =`) token all sample events carry.
    fn sample_token() -> String {
        let send: Value = serde_json::from_str(&read_event("send-email.json")).unwrap();
        send["ExecutionContext"]["Task"]["Token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn app(mode: LinkMode, redirect: Option<&str>, rules: &[&Rule]) -> App {
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
        let config = CallbackConfig::from_values(
            Some("approver@example.com"),
            Some(if mode == LinkMode::OneClick {
                "one-click"
            } else {
                "confirm"
            }),
            redirect,
        );
        App { sfn, config }
    }

    /// Accepts only the sample token, and records the output sent with it.
    fn accepting_rule(seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>>) -> Rule {
        let token = sample_token();
        mock!(Client::send_task_success)
            .match_requests(move |req| {
                let exact = req.task_token() == Some(token.as_str());
                if exact {
                    seen.lock()
                        .unwrap()
                        .push(serde_json::from_str(req.output().unwrap_or("null")).unwrap());
                }
                exact
            })
            .then_output(|| SendTaskSuccessOutput::builder().build())
    }

    fn failing_rule(err: fn() -> SendTaskSuccessError) -> Rule {
        mock!(Client::send_task_success).then_error(err)
    }

    fn http_failure_rule(status: u16, body: &'static str) -> Rule {
        mock!(Client::send_task_success).then_http_response(move || {
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
        })
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(t) => t,
            other => panic!("expected an HTML text body, got {other:?}"),
        }
    }

    fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn get_in_confirm_mode_shows_the_confirmation_page_and_calls_nothing() {
        let rule = failing_rule(|| unreachable!());
        for (file, button) in [
            ("approve-get.json", "Approve</button>"),
            ("reject-get.json", "Reject</button>"),
        ] {
            let response = app(LinkMode::Confirm, None, &[&rule])
                .handle(event(file))
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{file}");
            assert_eq!(
                header(&response, "content-type"),
                Some("text/html; charset=utf-8")
            );
            let html = text(&response);
            assert!(html.contains(button), "{file}");
            assert!(html.contains("<dd id=\"execution\">ApprovalTest</dd>"));
            // The form carries the exact token (only `&`, `<`, `>`, `"` would be escaped; base64 has none).
            assert!(html.contains(&format!("name=\"taskToken\" value=\"{}\"", sample_token())));
        }
        assert_eq!(rule.num_calls(), 0, "a GET in confirm mode never decides");
    }

    #[tokio::test]
    async fn post_decides_with_the_exact_token_and_output_then_303s_to_the_console() {
        let seen = Default::default();
        let rule = accepting_rule(std::sync::Arc::clone(&seen));
        let response = app(LinkMode::Confirm, None, &[&rule])
            .handle(event("approve-post.json"))
            .await
            .unwrap();

        assert_eq!(response.status(), 303);
        assert_eq!(header(&response, "location"), Some(CONSOLE));
        assert_eq!(rule.num_calls(), 1);
        let output = &seen.lock().unwrap()[0];
        assert_eq!(
            output["Status"],
            "Approved! Task approved by approver@example.com"
        );
        assert_eq!(output["Decision"], "approved");
        assert_eq!(output["Approver"], "approver@example.com");
        assert_eq!(output["Comment"], "Looks good to me.");
        let decided_at = output["DecidedAt"].as_str().unwrap();
        assert!(
            decided_at.ends_with('Z') && decided_at.len() == 20,
            "{decided_at}"
        );
    }

    #[tokio::test]
    async fn get_in_one_click_mode_decides_and_302s() {
        let seen = Default::default();
        let rule = accepting_rule(std::sync::Arc::clone(&seen));
        let response = app(LinkMode::OneClick, None, &[&rule])
            .handle(event("reject-get.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(header(&response, "location"), Some(CONSOLE));
        assert_eq!(seen.lock().unwrap()[0]["Decision"], "rejected");
        assert_eq!(
            seen.lock().unwrap()[0]["Status"],
            "Rejected! Task rejected by approver@example.com"
        );
    }

    #[tokio::test]
    async fn redirect_url_overrides_the_console() {
        let rule = accepting_rule(Default::default());
        let app = app(
            LinkMode::Confirm,
            Some("https://intranet.example.com/approved"),
            &[&rule],
        );
        let response = app.handle(event("approve-post.json")).await.unwrap();
        assert_eq!(
            (response.status().as_u16(), header(&response, "location")),
            (303, Some("https://intranet.example.com/approved"))
        );
    }

    #[tokio::test]
    async fn function_url_events_decode_the_token_exactly_once() {
        let rule = accepting_rule(Default::default());
        let response = app(LinkMode::OneClick, None, &[&rule])
            .handle(event("approve-get-function-url.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(rule.num_calls(), 1, "the %2B-encoded token arrived intact");
    }

    #[tokio::test]
    async fn unknown_action_gets_400_and_no_call() {
        let rule = failing_rule(|| unreachable!());
        let response = app(LinkMode::OneClick, None, &[&rule])
            .handle(event("unknown-action.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(text(&response).contains("`action` must be `approve` or `reject`"));
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn head_options_and_other_methods_never_decide_even_in_one_click_mode() {
        let rule = failing_rule(|| unreachable!());
        let app = app(LinkMode::OneClick, None, &[&rule]);
        for method in ["HEAD", "OPTIONS", "PUT", "DELETE"] {
            let json = read_event("approve-get.json").replace("\"GET\"", &format!("\"{method}\""));
            let request = lambda_http::request::from_str(&json).unwrap();
            let response = app.handle(request).await.unwrap();
            assert_eq!(response.status(), 405, "{method}");
            assert_eq!(header(&response, "allow"), Some("GET, POST"));
        }
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn late_or_double_clicks_get_410() {
        let errors: [fn() -> SendTaskSuccessError; 3] = [
            || {
                SendTaskSuccessError::TaskTimedOut(
                    TaskTimedOut::builder().message("Task Timed Out").build(),
                )
            },
            || SendTaskSuccessError::TaskDoesNotExist(TaskDoesNotExist::builder().build()),
            || {
                SendTaskSuccessError::InvalidToken(
                    InvalidToken::builder().message("Invalid token").build(),
                )
            },
        ];
        for err in errors {
            let rule = failing_rule(err);
            let response = app(LinkMode::Confirm, None, &[&rule])
                .handle(event("approve-post.json"))
                .await
                .unwrap();
            assert_eq!(response.status(), 410);
            assert!(text(&response).contains("Already decided or expired"));
            assert_eq!(
                rule.num_calls(),
                1,
                "not retried: the answer will not change"
            );
        }
    }

    #[tokio::test]
    async fn throttling_and_5xx_are_retried_then_get_503() {
        for (status, body) in [
            (
                400,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            ),
            (500, r#"{"__type":"InternalFailure"}"#),
            (503, r#"{"__type":"ServiceUnavailable"}"#),
        ] {
            let rule = http_failure_rule(status, body);
            let response = app(LinkMode::Confirm, None, &[&rule])
                .handle(event("approve-post.json"))
                .await
                .unwrap();
            assert_eq!(response.status(), 503, "{body}");
            assert_eq!(header(&response, "retry-after"), Some("60"));
            assert_eq!(
                rule.num_calls(),
                3,
                "the SDK retried before giving up: {body}"
            );
        }
    }

    #[tokio::test]
    async fn other_refusals_get_a_500_page_not_a_502() {
        let rule =
            failing_rule(|| SendTaskSuccessError::InvalidOutput(InvalidOutput::builder().build()));
        let response = app(LinkMode::Confirm, None, &[&rule])
            .handle(event("approve-post.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert!(text(&response).contains("could not be recorded"));
        let denied = http_failure_rule(
            400,
            r#"{"__type":"AccessDeniedException","message":"not authorized"}"#,
        );
        let response = app(LinkMode::Confirm, None, &[&denied])
            .handle(event("approve-post.json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
    }

    #[tokio::test]
    async fn misconfiguration_answers_every_request_with_a_page() {
        let rule = failing_rule(|| unreachable!());
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&rule]);
        let app = App {
            sfn,
            config: CallbackConfig::from_values(None, None, None),
        };
        for file in ["approve-get.json", "approve-post.json"] {
            let response = app.handle(event(file)).await.unwrap();
            assert_eq!(response.status(), 500);
            assert!(text(&response).contains("not set up correctly"));
        }
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers() {
        let rule = accepting_rule(Default::default());
        let app = app(LinkMode::Confirm, None, &[&rule]);
        for file in [
            "approve-get.json",
            "approve-post.json",
            "unknown-action.json",
        ] {
            let response = app.handle(event(file)).await.unwrap();
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(header(&response, name), Some(value), "{file}: {name}");
            }
        }
    }
}
