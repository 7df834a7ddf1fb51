//! What the forged and malformed Slack requests share: a case (the request, the answer it must
//! get, what it must leave behind) and the ways to build a request Slack did or did not sign.

use approval_domain::memory::fixtures;
use lambda_http::http::Method;

use crate::support::*;

/// What a case must leave behind beside its status.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Then {
    /// Refused before anything is read: no store call, no Slack call.
    Untouched,
    /// Read (it was Slack's), answered privately or in the modal, nothing written.
    ToldWhy,
    /// Acknowledged and ignored.
    Ignored,
}

pub struct Case {
    pub name: &'static str,
    pub request: lambda_http::Request,
    pub status: u16,
    pub then: Then,
}

pub fn case(name: &'static str, request: lambda_http::Request, status: u16, then: Then) -> Case {
    Case {
        name,
        request,
        status,
        then,
    }
}

pub fn now() -> i64 {
    fixtures::now().unix()
}

/// `body`, signed at `ts` with `secret`, then the headers edited by `edit`.
pub fn with_headers(
    body: Vec<u8>,
    secret: &[u8],
    ts: i64,
    edit: impl FnOnce(&mut Vec<(&'static str, String)>),
) -> lambda_http::Request {
    let mut headers = signed_headers(secret, &body, ts);
    edit(&mut headers);
    request(Method::POST, body, &headers)
}

pub fn set(headers: &mut Vec<(&'static str, String)>, name: &'static str, value: &str) {
    headers.retain(|(n, _)| *n != name);
    headers.push((name, value.to_owned()));
}

pub fn signed_raw(body: &[u8]) -> lambda_http::Request {
    request(
        Method::POST,
        body.to_vec(),
        &signed_headers(SECRET, body, now()),
    )
}
