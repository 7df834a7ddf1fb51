//! Every row of the contract's HTTP table, through the real handler, with the sample `events/`
//! as the runtime hands them over. SDK calls are aws-smithy-mocks rules; each test asserts the
//! exact token and output sent, or that no call was made where none is allowed.

mod support;

use std::sync::{Arc, Mutex};

use approval_callback::App;
use approval_core::{CallbackConfig, callback::SECURITY_HEADERS};
use aws_sdk_kms::operation::verify_mac::VerifyMacError;
use aws_sdk_sfn::{
    Client,
    operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput},
    types::error::{InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut},
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::Value;
use support::*;

const CONSOLE: &str = "https://console.aws.amazon.com/states/home?region=us-east-1#/executions/details/\
                       arn:aws:states:us-east-1:123456789012:execution:HumanApprovalLambdaStateMachine:ApprovalTest";

/// Accepts only the sample token, and records the output sent with it.
fn accepting(seen: Arc<Mutex<Vec<Value>>>) -> Rule {
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

fn never_decides() -> Rule {
    mock!(Client::send_task_success).then_output(|| panic!("Step Functions must not be called"))
}

fn failing(err: fn() -> SendTaskSuccessError) -> Rule {
    mock!(Client::send_task_success).then_error(err)
}

fn http_failure(status: u16, body: &'static str) -> Rule {
    mock!(Client::send_task_success).then_http_response(move || {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    })
}

#[tokio::test]
async fn get_in_confirm_mode_verifies_the_link_then_shows_the_page_and_decides_nothing() {
    let sfn = never_decides();
    let kms = kms_verifying();
    for (file, button) in [
        ("approve-get.json", "Approve</button>"),
        ("reject-get.json", "Reject</button>"),
    ] {
        let response = app("confirm", None, &[&sfn], &[&kms])
            .handle(signed(event(file)))
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
        // The form carries the exact token and the signature (base64 needs no HTML escaping).
        assert!(html.contains(&format!("name=\"taskToken\" value=\"{}\"", sample_token())));
        assert!(html.contains("name=\"sig\" value=\""));
    }
    assert_eq!(
        (kms.num_calls(), sfn.num_calls()),
        (2, 0),
        "each GET verified, none decided"
    );
}

#[tokio::test]
async fn post_decides_with_the_exact_token_and_output_then_303s_to_the_console() {
    let seen = Arc::default();
    let sfn = accepting(Arc::clone(&seen));
    let kms = kms_verifying();
    let response = app("confirm", None, &[&sfn], &[&kms])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), Some(CONSOLE));
    assert_eq!((kms.num_calls(), sfn.num_calls()), (1, 1));
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
    let seen = Arc::default();
    let sfn = accepting(Arc::clone(&seen));
    let response = app("one-click", None, &[&sfn], &[&kms_verifying()])
        .handle(signed(event("reject-get.json")))
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
    let sfn = accepting(Arc::default());
    let app = app(
        "confirm",
        Some("https://intranet.example.com/approved"),
        &[&sfn],
        &[&kms_verifying()],
    );
    let response = app
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(
        (response.status().as_u16(), header(&response, "location")),
        (303, Some("https://intranet.example.com/approved"))
    );
}

#[tokio::test]
async fn function_url_events_decode_the_token_exactly_once() {
    let sfn = accepting(Arc::default());
    let app = app("one-click", None, &[&sfn], &[&kms_verifying()]);
    let response = app
        .handle(signed(event("approve-get-function-url.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(sfn.num_calls(), 1, "the %2B-encoded token arrived intact");
}

#[tokio::test]
async fn unknown_action_gets_400_and_no_call() {
    let (sfn, kms) = (never_decides(), kms_verifying());
    let response = app("one-click", None, &[&sfn], &[&kms])
        .handle(event("unknown-action.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("`action` must be `approve` or `reject`"));
    assert_eq!((kms.num_calls(), sfn.num_calls()), (0, 0));
}

#[tokio::test]
async fn unsigned_sample_links_get_403_without_asking_anyone() {
    // The callback files in events/ carry no `exp` or `sig`: no sample can be signed by every
    // deployment's own key.
    let (sfn, kms) = (never_decides(), kms_verifying());
    let app = app("one-click", None, &[&sfn], &[&kms]);
    for file in [
        "approve-get.json",
        "reject-get.json",
        "approve-post.json",
        "approve-get-function-url.json",
    ] {
        let response = app.handle(event(file)).await.unwrap();
        assert_eq!(response.status(), 403, "{file}");
        assert!(
            text(&response).contains("not issued by this approval gate"),
            "{file}"
        );
    }
    assert_eq!(sfn.num_calls(), 0);
}

#[tokio::test]
async fn links_signed_with_another_key_or_tampered_get_403_and_no_decision() {
    let (sfn, kms) = (never_decides(), kms_verifying());
    let app = app("one-click", None, &[&sfn], &[&kms]);
    let response = app
        .handle(signed_with(
            event("approve-get.json"),
            OTHER_KEY,
            in_an_hour(),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "another deployment's key");

    // Sign a reject link, then turn it into an approval, or point it at another execution or
    // state machine. (That the MAC covers the expiry too is a unit test of signing.rs.)
    let tamperings: [(&str, &str, &str); 3] = [
        ("action", "reject", "approve"),
        ("ex", "ApprovalTest", "OtherRun"),
        ("sm", "HumanApprovalLambdaStateMachine", "Other"),
    ];
    for (name, from, to) in tamperings {
        let request = signed(event("reject-get.json"));
        let mut query: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (k, v) in request.query_string_parameters().iter() {
            let v = if k == name && v == from { to } else { v };
            query.entry(k.to_owned()).or_default().push(v.to_owned());
        }
        use lambda_http::RequestExt;
        let response = app
            .handle(request.with_query_string_parameters(query))
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name} changed");
    }
    assert_eq!(sfn.num_calls(), 0);
    assert_eq!(
        kms.num_calls(),
        4,
        "each well-formed signature was checked by KMS"
    );
}

#[tokio::test]
async fn expired_links_get_410_without_asking_anyone() {
    let (sfn, kms) = (never_decides(), kms_verifying());
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let response = app("one-click", None, &[&sfn], &[&kms])
        .handle(signed_with(event("approve-post.json"), LINK_KEY, past))
        .await
        .unwrap();
    assert_eq!(response.status(), 410);
    assert!(text(&response).contains("This link has expired"));
    assert_eq!((kms.num_calls(), sfn.num_calls()), (0, 0));
}

#[tokio::test]
async fn kms_trouble_gets_503_or_500_and_no_decision() {
    let sfn = never_decides();
    let throttled = mock!(aws_sdk_kms::Client::verify_mac).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
        )
    });
    let response = app("confirm", None, &[&sfn], &[&throttled])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let disabled = mock!(aws_sdk_kms::Client::verify_mac).then_error(|| {
        VerifyMacError::DisabledException(
            aws_sdk_kms::types::error::DisabledException::builder().build(),
        )
    });
    let response = app("confirm", None, &[&sfn], &[&disabled])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(sfn.num_calls(), 0);
}

#[tokio::test]
async fn head_options_and_other_methods_never_decide_even_in_one_click_mode() {
    let (sfn, kms) = (never_decides(), kms_verifying());
    let app = app("one-click", None, &[&sfn], &[&kms]);
    for method in ["HEAD", "OPTIONS", "PUT", "DELETE"] {
        let json = read_event("approve-get.json").replace("\"GET\"", &format!("\"{method}\""));
        let response = app
            .handle(signed(lambda_http::request::from_str(&json).unwrap()))
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(header(&response, "allow"), Some("GET, POST"));
    }
    assert_eq!((kms.num_calls(), sfn.num_calls()), (0, 0));
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
        let sfn = failing(err);
        let response = app("confirm", None, &[&sfn], &[&kms_verifying()])
            .handle(signed(event("approve-post.json")))
            .await
            .unwrap();
        assert_eq!(response.status(), 410);
        assert!(text(&response).contains("Already decided or expired"));
        assert_eq!(
            sfn.num_calls(),
            1,
            "not retried: the answer will not change"
        );
    }
}

// Throttling and 5xx from Step Functions (retried, then 503) are in tests/faults.rs.

#[tokio::test]
async fn other_refusals_get_a_500_page_not_a_502() {
    let sfn = failing(|| SendTaskSuccessError::InvalidOutput(InvalidOutput::builder().build()));
    let response = app("confirm", None, &[&sfn], &[&kms_verifying()])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(text(&response).contains("could not be recorded"));
    let denied = http_failure(
        400,
        r#"{"__type":"AccessDeniedException","message":"not authorized"}"#,
    );
    let response = app("confirm", None, &[&denied], &[&kms_verifying()])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn misconfiguration_answers_every_request_with_a_page() {
    let (sfn, kms) = (never_decides(), kms_verifying());
    for config in [
        CallbackConfig::from_values(None, None, None, Some(KEY_ID)),
        CallbackConfig::from_values(Some(APPROVER), None, None, None),
    ] {
        let app = App {
            sfn: sfn_client(&[&sfn]),
            kms: kms_client(&[&kms]),
            config,
        };
        for file in ["approve-get.json", "approve-post.json"] {
            let response = app.handle(signed(event(file))).await.unwrap();
            assert_eq!(response.status(), 500);
            assert!(text(&response).contains("not set up correctly"));
        }
    }
    assert_eq!((kms.num_calls(), sfn.num_calls()), (0, 0));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let sfn = accepting(Arc::default());
    let app = app("confirm", None, &[&sfn], &[&kms_verifying()]);
    for request in [
        signed(event("approve-get.json")),
        signed(event("approve-post.json")),
        event("unknown-action.json"),
        event("approve-get.json"),
    ] {
        let response = app.handle(request).await.unwrap();
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                header(&response, name),
                Some(value),
                "{name} on a {} answer",
                response.status()
            );
        }
    }
}

#[tokio::test]
async fn a_panic_inside_the_handler_still_gets_an_html_page_not_a_502() {
    let exploding =
        mock!(Client::send_task_success).then_output(|| panic!("a bug in a dependency"));
    let response = app("confirm", None, &[&exploding], &[&kms_verifying()])
        .handle(signed(event("approve-post.json")))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(text(&response).contains("could not be recorded"));
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
}
