//! Shared by the callback's integration tests: sample events, a KMS stand-in that really
//! computes HMAC-SHA-256 (so tampering really fails), and links signed with its key.

#![allow(dead_code)] // each test file uses its own subset

use std::{collections::HashMap, time::Duration};

use approval_callback::App;
use approval_core::{
    Action, ApprovalRequest, CallbackConfig, TaskToken,
    signing::{LinkSignature, signed_message},
};
use aws_sdk_kms::{
    operation::verify_mac::{VerifyMacError, VerifyMacOutput},
    types::{MacAlgorithmSpec, error::KmsInvalidMacException},
};
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use hmac::{Hmac, Mac};
use lambda_http::{Body, Context, Request, RequestExt};
use sha2::Sha256;
use time::OffsetDateTime;
use url::form_urlencoded;

pub const KEY_ID: &str =
    "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:approval-callback";
pub const APPROVER: &str = "approver@example.com";
/// The stand-in key's secret, and another key's, for "signed with another key".
pub const LINK_KEY: &[u8] = b"the link key of this deployment";
pub const OTHER_KEY: &[u8] = b"the link key of another deployment";

pub fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// `VerifyMac` as KMS answers it for an HMAC key holding [`LINK_KEY`]: `MacValid` for a right MAC,
/// `KMSInvalidMacException` for a wrong one.
pub fn kms_verifying() -> Rule {
    mock!(aws_sdk_kms::Client::verify_mac)
        .match_requests(|req| {
            req.key_id() == Some(KEY_ID)
                && req.mac_algorithm() == Some(&MacAlgorithmSpec::HmacSha256)
        })
        .then_compute_response(|req| {
            let expected = hmac(LINK_KEY, req.message().unwrap().as_ref());
            if req.mac().unwrap().as_ref() == expected.as_slice() {
                MockResponse::Output(
                    VerifyMacOutput::builder()
                        .mac_valid(true)
                        .key_id(KEY_ID)
                        .build(),
                )
            } else {
                MockResponse::Error(VerifyMacError::KmsInvalidMacException(
                    KmsInvalidMacException::builder().build(),
                ))
            }
        })
}

pub fn kms_client(rules: &[&Rule]) -> aws_sdk_kms::Client {
    mock_client!(aws_sdk_kms, RuleMode::MatchAny, rules)
}

/// Step Functions with the standard retry mode (3 attempts) and a 1 ms backoff.
pub fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
    ))
}

pub fn config(
    mode: &str,
    redirect: Option<&str>,
) -> Result<CallbackConfig, approval_core::ConfigError> {
    CallbackConfig::from_values(Some(APPROVER), Some(mode), redirect, Some(KEY_ID))
}

pub fn app(mode: &str, redirect: Option<&str>, sfn_rules: &[&Rule], kms_rules: &[&Rule]) -> App {
    App {
        sfn: sfn_client(sfn_rules),
        kms: kms_client(kms_rules),
        config: config(mode, redirect),
    }
}

pub fn read_event(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An `events/` file as the runtime hands it to us, with the invoking function's ARN.
pub fn event(name: &str) -> Request {
    let request =
        lambda_http::request::from_str(&read_event(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut context = Context::default();
    context.invoked_function_arn = FUNCTION_ARN.into();
    request.with_lambda_context(context)
}

/// The real-shaped (~700 chars, `+ / =`) token all sample events carry.
pub fn sample_token() -> String {
    let send: serde_json::Value = serde_json::from_str(&read_event("send-email.json")).unwrap();
    send["ExecutionContext"]["Task"]["Token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `exp` and `sig` for the link parameters in `pairs`, as send-email would make them with `key`.
pub fn signature_params(
    pairs: &[(String, String)],
    key: &[u8],
    expires_at: i64,
) -> [(String, String); 2] {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let action: Action = get("action")
        .parse()
        .expect("a signable link has a valid action");
    let request = ApprovalRequest {
        execution_name: get("ex").to_owned(),
        state_machine_name: get("sm").to_owned(),
        task_token: TaskToken::parse("taskToken", get("taskToken"))
            .expect("a signable link has a valid token"),
    };
    let mac = hmac(key, &signed_message(action, &request, expires_at));
    [
        ("exp".into(), expires_at.to_string()),
        ("sig".into(), LinkSignature::encode_mac(&mac)),
    ]
}

pub fn in_an_hour() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp() + 3600
}

/// The request with its link signed by `key` (query for GET, form for POST), expiring at `expires_at`.
pub fn signed_with(request: Request, key: &[u8], expires_at: i64) -> Request {
    if request.method() == "POST" {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(request.body().as_ref())
            .into_owned()
            .collect();
        let signature = signature_params(&pairs, key, expires_at);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().chain(&signature))
            .finish();
        let (parts, _) = request.into_parts();
        Request::from_parts(parts, Body::Text(body))
    } else {
        let pairs: Vec<(String, String)> = request
            .query_string_parameters()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let signature = signature_params(&pairs, key, expires_at);
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs.into_iter().chain(signature) {
            map.entry(k).or_default().push(v);
        }
        request.with_query_string_parameters(map)
    }
}

/// The request with its link signed by this deployment's key, valid for an hour.
pub fn signed(request: Request) -> Request {
    signed_with(request, LINK_KEY, in_an_hour())
}

pub fn text(response: &lambda_http::Response<Body>) -> &str {
    match response.body() {
        Body::Text(t) => t,
        other => panic!("expected an HTML text body, got {other:?}"),
    }
}

pub fn header<'a>(response: &'a lambda_http::Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}
