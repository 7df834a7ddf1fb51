//! Validates the task payload, composes the email, publishes it.

use approval_core::{
    email::{self, Email},
    payload::{ApprovalTask, PayloadError},
};
use aws_sdk_sns::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use tracing::{error, info};

pub const TOPIC_ARN_VAR: &str = "TOPIC_ARN";

/// Why an invocation failed. The `errorType` Step Functions sees is the name a state machine's
/// `Retry`/`Catch` can match: only `SendEmail.PublishFailed` is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum SendEmailError {
    #[error("invalid input: {0}")]
    InvalidInput(#[from] PayloadError),
    #[error("{TOPIC_ARN_VAR} is not set")]
    MissingTopic,
    #[error("publishing to SNS failed: {0}")]
    PublishFailed(String),
}

impl SendEmailError {
    pub fn error_type(&self) -> &'static str {
        match self {
            SendEmailError::InvalidInput(_) => "SendEmail.InvalidInput",
            SendEmailError::MissingTopic => "SendEmail.Misconfigured",
            SendEmailError::PublishFailed(_) => "SendEmail.PublishFailed",
        }
    }
}

impl From<SendEmailError> for Diagnostic {
    fn from(err: SendEmailError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Handles one task: nothing is published unless the whole payload is valid.
pub async fn handle(
    sns: &Client,
    topic_arn: Option<&str>,
    payload: Value,
) -> Result<Value, SendEmailError> {
    let task = ApprovalTask::from_payload(&payload)
        .inspect_err(|err| error!(%err, "refusing the task payload"))?;
    let topic_arn = topic_arn
        .ok_or(SendEmailError::MissingTopic)
        .inspect_err(|err| error!(%err))?;
    let request = &task.request;
    let Email { subject, body } = email::compose(&task);

    let published = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message(body)
        .send()
        .await
        .map_err(|err| {
            let err = SendEmailError::PublishFailed(describe(&err));
            error!(execution = %request.execution_name, %err, "approval email not sent");
            err
        })?;
    let message_id = published.message_id().unwrap_or_default();
    info!(
        execution = %request.execution_name,
        state_machine = %request.state_machine_name,
        message_id,
        "approval email published"
    );
    Ok(json!({ "MessageId": message_id }))
}

/// A short, token-free reason for the execution history: the service's error code and
/// message, or what kept the request from getting an answer (the full error context holds raw
/// HTTP responses and runs to kilobytes).
fn describe<E: ProvideErrorMetadata + std::error::Error>(err: &SdkError<E>) -> String {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                // Modelled errors without metadata still display as "Kind: message".
                _ => Some(e.to_string()).filter(|shown| !shown.is_empty()).unwrap_or_else(|| format!("HTTP {status}")),
            }
        }
        SdkError::TimeoutError(_) => "SNS did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) => "SNS could not be reached".to_owned(),
        SdkError::ResponseError(_) => "SNS sent an unreadable answer".to_owned(),
        _ => "the request could not be built".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::{
        operation::publish::{PublishError, PublishOutput},
        types::error::{InternalErrorException, NotFoundException},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use url::Url;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

    /// A token shaped like a real one: ~700 characters of base64 with `+`, `/` and `=`.
    fn real_shaped_token() -> String {
        let mut token = String::from("AQCEAAAAKgAAAAMAAAAAAAAAAf");
        while token.len() < 696 {
            token.push_str("x+Yz/09+AbC/");
        }
        token.truncate(696);
        token + "a=="
    }

    fn payload(token: &str) -> Value {
        json!({
            "ExecutionContext": {
                "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:HumanApproval:run-1", "Name": "run-1",
                              "Input": {"Comment": "Testing the human approval tutorial."}},
                "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:HumanApproval", "Name": "HumanApproval"},
                "Task": {"Token": token}
            },
            "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
        })
    }

    fn publish_ok() -> Rule {
        mock!(Client::publish).then_output(|| PublishOutput::builder().message_id("msg-1").build())
    }

    /// The token each link carries, decoded once as API Gateway would.
    fn token_in_link(body: &str, label: &str) -> String {
        let line = body
            .lines()
            .find(|l| l.starts_with(label))
            .expect("link line");
        let url = Url::parse(line.trim_start_matches(label)).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "taskToken")
            .unwrap()
            .1
            .into_owned()
    }

    #[tokio::test]
    async fn publishes_one_email_with_both_links_carrying_the_exact_token() {
        let token = real_shaped_token();
        let expected = token.clone();
        let rule = mock!(Client::publish)
            .match_requests(move |req| {
                let body = req.message().unwrap_or_default();
                req.topic_arn() == Some(TOPIC)
                    && req.subject() == Some("Required approval from AWS Step Functions")
                    && body.contains("Execution:     run-1")
                    && body.contains("State machine: HumanApproval")
                    && body.contains("Testing the human approval tutorial.")
                    && token_in_link(body, "Approve: ") == expected
                    && token_in_link(body, "Reject: ") == expected
            })
            .then_output(|| PublishOutput::builder().message_id("msg-1").build());
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);

        let out = handle(&sns, Some(TOPIC), payload(&token)).await.unwrap();

        assert_eq!(out, json!({"MessageId": "msg-1"}));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_sample_event_publishes_links_with_its_exact_token() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/send-email.json");
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let token = event["ExecutionContext"]["Task"]["Token"].as_str().unwrap().to_owned();
        assert!(token.len() > 600 && token.contains('+') && token.contains('/') && token.ends_with('='));
        let rule = mock!(Client::publish)
            .match_requests(move |req| {
                let body = req.message().unwrap_or_default();
                body.contains("Execution:     ApprovalTest")
                    && body.contains("State machine: HumanApprovalLambdaStateMachine")
                    && body.contains("Approve: https://abc123defg.execute-api.us-east-1.amazonaws.com/states/execution?action=approve&")
                    && token_in_link(body, "Approve: ") == token
                    && token_in_link(body, "Reject: ") == token
            })
            .then_output(|| PublishOutput::builder().message_id("msg-2").build());
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        assert_eq!(handle(&sns, Some(TOPIC), event).await.unwrap(), json!({"MessageId": "msg-2"}));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_2048_char_token_fits_and_a_longer_one_is_refused_before_publishing() {
        let rule = publish_ok();
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        let max = "A+/=".repeat(512);
        handle(&sns, Some(TOPIC), payload(&max)).await.unwrap();
        assert_eq!(rule.num_calls(), 1);

        let err = handle(&sns, Some(TOPIC), payload(&format!("{max}A")))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.InvalidInput");
        assert!(
            err.to_string().contains("ExecutionContext.Task.Token"),
            "{err}"
        );
        assert_eq!(rule.num_calls(), 1, "nothing published for a bad payload");
    }

    #[tokio::test]
    async fn missing_fields_fail_naming_the_field_and_publish_nothing() {
        let rule = publish_ok();
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        for (field, mutate) in [
            ("ExecutionContext.Task.Token", "/ExecutionContext/Task"),
            (
                "ExecutionContext.Execution.Name",
                "/ExecutionContext/Execution",
            ),
            (
                "ExecutionContext.StateMachine.Name",
                "/ExecutionContext/StateMachine",
            ),
        ] {
            let mut p = payload("tok");
            *p.pointer_mut(mutate).unwrap() = json!({});
            let err = handle(&sns, Some(TOPIC), p).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid input: `{field}` is missing")
            );
        }
        let err = handle(&sns, Some(TOPIC), json!({"APIGatewayEndpoint": 1}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is missing"), "{err}");
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn missing_topic_fails_without_publishing() {
        let rule = publish_ok();
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        let err = handle(&sns, None, payload("tok")).await.unwrap_err();
        assert_eq!(
            (err.error_type(), err.to_string().as_str()),
            ("SendEmail.Misconfigured", "TOPIC_ARN is not set")
        );
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn sns_errors_fail_the_invocation_as_retryable_publish_failures() {
        let missing = mock!(Client::publish).then_error(|| {
            PublishError::NotFoundException(
                NotFoundException::builder()
                    .message("Topic does not exist")
                    .build(),
            )
        });
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&missing]);
        let err = handle(&sns, Some(TOPIC), payload("tok")).await.unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.PublishFailed");
        let shown = err.to_string();
        assert!(shown.starts_with("publishing to SNS failed: ") && shown.contains("Topic does not exist"), "{shown}");
        assert!(shown.len() < 200, "short enough for the execution history: {shown}");

        let internal = mock!(Client::publish).then_error(|| {
            PublishError::InternalErrorException(InternalErrorException::builder().build())
        });
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&internal]);
        let diagnostic: Diagnostic = handle(&sns, Some(TOPIC), payload("tok"))
            .await
            .unwrap_err()
            .into();
        assert_eq!(diagnostic.error_type, "SendEmail.PublishFailed");
    }

    #[tokio::test]
    async fn error_messages_never_contain_the_token() {
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish_ok()]);
        let token = format!("{}  secret", real_shaped_token());
        let err = handle(&sns, Some(TOPIC), payload(&token))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("secret") && !err.contains("AQCEAAAA"),
            "{err}"
        );
    }
}
