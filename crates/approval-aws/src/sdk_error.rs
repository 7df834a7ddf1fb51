//! How the adapters sort AWS SDK errors, so that every port draws the same line between "try
//! again later" and "this will fail the same way every time".

use approval_domain::ports::PortError;
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::{orchestrator::HttpResponse, result::SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Throttled, transient, 5xx, or no (readable) answer in time, after the SDK's own retries:
/// worth trying again later. The error codes are the SDK's own lists (the ones its retry
/// classifier uses: `ProvisionedThroughputExceededException`, `TooManyRequestsException`,
/// `RequestTimeout`, …). Everything else (access denied, not found, disabled key, bad
/// parameter) would fail the same way again.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let retryable_code = service.err().code().is_some_and(|code| {
                THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code)
            });
            retryable_code || status == 429 || status >= 500
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

/// Whether the service answered (with an error): unlike a timeout or a lost connection, it then
/// certainly did not carry the call out.
pub fn answered<E>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(_))
}

/// A short, token-free reason for the execution history or a log line: the service's error
/// code and message, or what kept the request from getting an answer. (The SDK's full error
/// context holds raw HTTP responses and runs to kilobytes.)
pub fn describe<E>(service: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match err {
        SdkError::ServiceError(failure) => {
            let e = failure.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                // Modelled errors without metadata still display as "Kind: message".
                _ => Some(e.to_string())
                    .filter(|shown| !shown.is_empty())
                    .unwrap_or_else(|| format!("HTTP {}", failure.raw().status().as_u16())),
            }
        }
        SdkError::TimeoutError(_) => format!("{service} did not answer in time"),
        SdkError::DispatchFailure(_) => format!("{service} could not be reached"),
        SdkError::ResponseError(_) => format!("{service} sent an unreadable answer"),
        _ => "the request could not be built".to_owned(),
    }
}

/// The port error for `err`: `Unavailable` when worth retrying, `Failed` otherwise.
pub fn port_error<E>(service: &str, err: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let reason = describe(service, err);
    if is_transient(err) {
        PortError::Unavailable(reason)
    } else {
        PortError::Failed(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::{
        Client,
        operation::publish::PublishError,
        types::error::{AuthorizationErrorException, NotFoundException},
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;

    async fn publish_error(rule: aws_smithy_mocks::Rule) -> SdkError<PublishError, HttpResponse> {
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        sns.publish()
            .topic_arn("t")
            .message("m")
            .send()
            .await
            .unwrap_err()
    }

    fn http(status: u16, body: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::publish).then_http_response(move || {
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
        })
    }

    fn query_error(code: &str) -> String {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error></ErrorResponse>"
        )
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_and_5xx_are_transient() {
        for (status, body) in [
            (400, query_error("Throttling")),
            (400, query_error("RequestLimitExceeded")),
            (400, query_error("RequestTimeout")),
            (500, query_error("InternalError")),
            (503, String::new()),
        ] {
            let err = publish_error(http(status, Box::leak(body.into_boxed_str()))).await;
            assert!(is_transient(&err), "{status}: {}", describe("SNS", &err));
        }
    }

    #[tokio::test]
    async fn refusals_are_not_transient_and_are_described_briefly() {
        let denied = publish_error(mock!(Client::publish).then_error(|| {
            PublishError::AuthorizationErrorException(
                AuthorizationErrorException::builder()
                    .message("not authorized")
                    .build(),
            )
        }))
        .await;
        assert!(!is_transient(&denied));
        let missing = publish_error(mock!(Client::publish).then_error(|| {
            PublishError::NotFoundException(
                NotFoundException::builder()
                    .message("Topic does not exist")
                    .build(),
            )
        }))
        .await;
        assert!(!is_transient(&missing));
        let shown = describe("SNS", &missing);
        assert!(
            shown.contains("Topic does not exist") && shown.len() < 120,
            "{shown}"
        );
        let coded = publish_error(http(403, "<ErrorResponse><Error><Code>AuthorizationError</Code><Message>no</Message></Error></ErrorResponse>")).await;
        assert_eq!(describe("SNS", &coded), "AuthorizationError: no");
    }
}
