//! Slack's Web API: `POST {base}/{method}` with the bot token, JSON or form body, answered with
//! `{"ok": true, …}` or `{"ok": false, "error": "<code>"}`.
//!
//! What is worth trying again is tried again within the call's budget: HTTP 429 / `ratelimited`
//! after the `Retry-After` Slack asks for, a 5xx, Slack's `internal_error`-like codes, and an
//! attempt that does not answer in time. Whatever cannot be done within the budget is
//! [`SlackError::Unavailable`] (the caller's retry comes later); any other error code is
//! [`SlackError::Refused`] with Slack's code, never retried.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{
    Method, Request, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER},
};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::Value;
use tokio::time::Instant;
use tracing::debug;

/// How long one attempt and all of a call's attempts may take.
#[derive(Debug, Clone, Copy)]
pub struct WebApiTimeouts {
    pub attempt: Duration,
    pub operation: Duration,
}

/// How many attempts a call makes at most.
pub const MAX_ATTEMPTS: u32 = 4;

/// Error codes Slack documents as "try again" (beside `ratelimited`).
const TRANSIENT_CODES: [&str; 4] = [
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Not done within the budget (rate limited, 5xx, no answer): worth trying later.
    #[error("Slack {method}: {reason} (worth retrying)")]
    Unavailable {
        method: &'static str,
        reason: String,
    },
    /// Slack refused it with `code` (`invalid_auth`, `users_not_found`, `channel_not_found`…).
    #[error("Slack {method}: {code}")]
    Refused { method: &'static str, code: String },
}

impl SlackError {
    /// Slack's error code, if Slack refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Refused { code, .. } => Some(code),
            SlackError::Unavailable { .. } => None,
        }
    }
}

/// A call's body: Slack takes JSON for its write methods, a form for `users.lookupByEmail`.
pub enum Body {
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// The Web API at `base` (`https://slack.com/api`, or the local stack's emulator).
#[derive(Clone)]
pub struct WebApi {
    base: String,
    token: String,
    timeouts: WebApiTimeouts,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for WebApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApi")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl WebApi {
    /// A client of `base` with `token`; HTTPS with the system's root certificates (plain HTTP
    /// only to a loopback emulator: [`check_base_url`]).
    pub fn new(base: &str, token: &str, timeouts: WebApiTimeouts) -> Result<Self, String> {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|err| format!("no system root certificates to reach Slack with: {err}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            timeouts,
            http: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Calls `method`; Slack's answer when it says `ok`.
    pub async fn call(&self, method: &'static str, body: Body) -> Result<Value, SlackError> {
        let deadline = Instant::now() + self.timeouts.operation;
        let unavailable = |reason: String| SlackError::Unavailable { method, reason };
        let (content_type, bytes) = match body {
            Body::Json(value) => (
                "application/json; charset=utf-8",
                Bytes::from(value.to_string()),
            ),
            Body::Form(fields) => (
                "application/x-www-form-urlencoded",
                Bytes::from(
                    serde_urlencoded::to_string(fields).expect("a form of strings encodes"),
                ),
            ),
        };
        let mut last = String::from("no attempt");
        for attempt in 0..MAX_ATTEMPTS {
            let wait = match self
                .attempt(method, content_type, bytes.clone(), deadline)
                .await
            {
                Attempt::Answered(value) => return Ok(value),
                Attempt::Refused(code) => return Err(SlackError::Refused { method, code }),
                Attempt::Again { reason, after } => {
                    last = reason;
                    after.unwrap_or(Duration::from_millis(200 << attempt))
                }
            };
            if Instant::now() + wait >= deadline {
                return Err(unavailable(format!("{last}; no time left to try again")));
            }
            debug!(
                method,
                attempt,
                wait_ms = wait.as_millis() as u64,
                reason = last,
                "Slack: trying again"
            );
            tokio::time::sleep(wait).await;
        }
        Err(unavailable(format!("{last} ({MAX_ATTEMPTS} attempts)")))
    }

    async fn attempt(
        &self,
        method: &'static str,
        content_type: &'static str,
        body: Bytes,
        deadline: Instant,
    ) -> Attempt {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/{method}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .expect("a request of a checked URL and ASCII headers");
        let until = deadline.min(Instant::now() + self.timeouts.attempt);
        let answered = tokio::time::timeout_at(until, async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, retry_after, body))
        })
        .await;
        let (status, retry_after, body) = match answered {
            Err(_elapsed) => return Attempt::again("no answer in time"),
            Ok(Err(err)) => return Attempt::again(&format!("no answer: {err}")),
            Ok(Ok(answer)) => answer,
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Again {
                reason: "ratelimited".into(),
                after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
            };
        }
        if status.is_server_error() {
            return Attempt::again(&format!("HTTP {status}"));
        }
        let value: Value = match serde_json::from_slice(&body) {
            Ok(value) if status.is_success() => value,
            _ => return Attempt::Refused(format!("HTTP {status} without Slack's JSON answer")),
        };
        if value.get("ok") == Some(&Value::Bool(true)) {
            return Attempt::Answered(value);
        }
        let code = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("an answer with neither ok nor error")
            .chars()
            .take(100)
            .collect::<String>();
        if code == "ratelimited" {
            Attempt::Again {
                reason: code,
                after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
            }
        } else if TRANSIENT_CODES.contains(&code.as_str()) {
            Attempt::Again {
                reason: code,
                after: None,
            }
        } else {
            Attempt::Refused(code)
        }
    }
}

enum Attempt {
    Answered(Value),
    Refused(String),
    Again {
        reason: String,
        after: Option<Duration>,
    },
}

impl Attempt {
    fn again(reason: &str) -> Self {
        Attempt::Again {
            reason: reason.to_owned(),
            after: None,
        }
    }
}

/// Checks the Web API's base URL: HTTPS, or plain HTTP to a loopback address (the local
/// stack's emulator), so the bot token never crosses a network in the clear.
pub fn check_base_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|err| format!("`{raw}` is not a URL: {err}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(raw.trim_end_matches('/').to_owned()),
        "http" if loopback => Ok(raw.trim_end_matches('/').to_owned()),
        _ => Err(format!(
            "`{raw}` must be https:// (plain http only to a loopback emulator)"
        )),
    }
}

#[cfg(test)]
mod tests;
