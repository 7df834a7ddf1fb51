//! HTTP answers: a page with the security headers, or a redirect. Plain `http` types.

use approval_domain::{Measure, ports::Meter};
use lambda_http::{
    Body, Response,
    http::{
        HeaderValue, StatusCode,
        header::{ALLOW, CONTENT_TYPE, LOCATION, RETRY_AFTER},
    },
};
use maud::Markup;
use url::Url;

use crate::pages;

/// On every answer: nothing cached, no referrer (the link's credential must not travel to the
/// redirect target), no framing, no script at all.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    // No form-action: Chromium applies it to the redirect that follows the form's POST, and the
    // redirect target (the console, RedirectUrl) is another origin.
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-robots-tag", "noindex, nofollow"),
];

/// Counts an answer that is a server error (`CallbackErrors`: an approver saw the error page),
/// whichever request it answered.
pub fn count_if_failed(response: &Response<Body>, meter: &impl Meter) {
    if response.status().is_server_error() {
        meter.count(Measure::CallbackError {
            state_machine: None,
        });
    }
}

/// How long a 503 asks the browser to wait.
pub const RETRY_AFTER_SECONDS: u64 = 30;

pub fn page(status: StatusCode, markup: Markup) -> Response<Body> {
    let mut response = Response::new(Body::Text(markup.into_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

pub fn redirect(status: StatusCode, to: &Url) -> Response<Body> {
    let mut response = page(status, pages::continue_to(to));
    match HeaderValue::from_str(to.as_str()) {
        Ok(location) => {
            response.headers_mut().insert(LOCATION, location);
        }
        // A URL is always a valid header value; if not, the page says the vote counted.
        Err(_) => *response.status_mut() = StatusCode::OK,
    }
    response
}

pub fn method_not_allowed(method: &str) -> Response<Body> {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        pages::method_not_allowed(method),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

pub fn unavailable() -> Response<Body> {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::unavailable(RETRY_AFTER_SECONDS),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

pub fn failed() -> Response<Body> {
    page(StatusCode::INTERNAL_SERVER_ERROR, pages::failed())
}

pub fn not_found() -> Response<Body> {
    page(StatusCode::NOT_FOUND, pages::not_found())
}

pub fn bad_request(problem: &str) -> Response<Body> {
    page(StatusCode::BAD_REQUEST, pages::bad_request(problem))
}
