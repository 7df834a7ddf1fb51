//! Property-based tests of what an approver's browser (or anyone) can send: link fields from
//! forms and queries, and whole requests through the handler. 2,000 cases per property per run.

mod support;

use approval_callback::link::LinkFields;
use approval_domain::{
    Choice, Credential, RequestId,
    memory::{StoreOp, fixtures},
};
use lambda_http::{Body, Request, http::Method};
use proptest::prelude::*;
use support::{answer, function, get_query, post};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: fixtures::proptest_cases(),
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes as a form: an answer, never a panic.
    #[test]
    fn any_form_body_parses_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = LinkFields::from_form(&body);
    }

    /// A form as a browser encodes it (any comment text) comes back exactly: decoded once.
    #[test]
    fn forms_round_trip(approve in any::<bool>(), id in any::<[u8; 16]>(), slot in any::<u8>(), comment in "\\PC{0,200}") {
        let choice = if approve { Choice::Approved } else { Choice::Rejected };
        let credential = Credential::issue(&RequestId::from_bytes(id), slot);
        let body = serde_urlencoded::to_string([("action", choice.action()), ("c", &credential.encode()), ("comment", &comment)]).unwrap();
        let link = LinkFields::from_form(body.as_bytes()).unwrap();
        prop_assert_eq!(link.choice, choice);
        prop_assert_eq!(link.credential, credential);
        prop_assert_eq!(link.comment, comment.trim());
    }

    /// Any query or form through the whole handler, any method: a page with the security
    /// headers and a 4xx status; nothing written, nothing sent.
    #[test]
    fn any_request_gets_a_page_and_changes_nothing(
        pairs in proptest::collection::vec(("(action|c|comment|x)", ".{0,50}"), 0..5),
        method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::HEAD), Just(Method::PUT)],
        raw_body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let (function, request, _) = function(2, 1);
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let http_request = match method {
            Method::POST if raw_body.len() % 2 == 0 => post(&serde_urlencoded::to_string(&borrowed).unwrap()),
            Method::POST => {
                let mut r = Request::new(Body::from(raw_body));
                *r.method_mut() = Method::POST;
                r.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
                r
            }
            other => {
                let mut r = get_query(&borrowed);
                *r.method_mut() = other;
                r
            }
        };
        let (status, _, response) = runtime().block_on(answer(&function, http_request));
        prop_assert!(status.is_client_error(), "{}", status);
        prop_assert!(response.headers().contains_key("content-security-policy"));
        prop_assert_eq!(function.store.count(StoreOp::Replace), 0);
        prop_assert_eq!(function.store.record(&request.request_id), Some(request));
        prop_assert!(function.tasks.sends().is_empty());
    }
}
