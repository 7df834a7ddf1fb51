//! A Secrets Manager secret's string, read once per instance by whoever needs it (the Slack
//! app's secrets). Never logged; an error names the secret's ARN and what went wrong, never its
//! value.

use approval_domain::ports::PortError;
use aws_sdk_secretsmanager::Client;

use crate::sdk_error;

/// The `SecretString` of the secret at `arn`.
pub async fn secret_string(client: &Client, arn: &str) -> Result<String, PortError> {
    let read = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|err| match sdk_error::port_error("Secrets Manager", &err) {
            PortError::Unavailable(why) => PortError::Unavailable(format!("reading {arn}: {why}")),
            PortError::Failed(why) => PortError::Failed(format!("reading {arn}: {why}")),
        })?;
    read.secret_string
        .ok_or_else(|| PortError::Failed(format!("the secret {arn} holds no string (binary?)")))
}

/// [`secret_string`] with a client of `aws`.
pub async fn secret_string_of(aws: &aws_config::SdkConfig, arn: &str) -> Result<String, PortError> {
    secret_string(&Client::new(aws), arn).await
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::{
        operation::get_secret_value::{GetSecretValueError, GetSecretValueOutput},
        types::error::ResourceNotFoundException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC";

    #[tokio::test]
    async fn reads_the_string_and_a_failure_keeps_its_kind_and_names_the_secret() {
        let read = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(ARN))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string(r#"{"botToken":"xoxb-1"}"#)
                    .build()
            });
        let binary =
            mock!(Client::get_secret_value).then_output(|| GetSecretValueOutput::builder().build());
        let missing = mock!(Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no such secret")
                    .build(),
            )
        });
        // As Secrets Manager answers an outage (awsJson1_1: the error's type in the body).
        let internal = mock!(Client::get_secret_value).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(500).unwrap(),
                SdkBody::from(r#"{"__type":"InternalServiceError","message":"oops"}"#),
            )
        });
        let client = mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::Sequential,
            [&read, &binary, &missing, &internal]
        );
        assert_eq!(
            secret_string(&client, ARN).await.unwrap(),
            r#"{"botToken":"xoxb-1"}"#
        );
        let no_string = secret_string(&client, ARN).await.unwrap_err();
        assert!(
            matches!(&no_string, PortError::Failed(m) if m.contains(ARN)),
            "{no_string}"
        );
        let not_found = secret_string(&client, ARN).await.unwrap_err();
        assert!(
            matches!(&not_found, PortError::Failed(m) if m.contains(ARN) && m.contains("ResourceNotFoundException")),
            "{not_found}"
        );
        let failing = secret_string(&client, ARN).await.unwrap_err();
        assert!(matches!(failing, PortError::Unavailable(_)), "{failing}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_secrets_manager_is_worth_retrying_and_ends_in_time() {
        let timeouts = crate::clients::CallTimeouts {
            attempt: std::time::Duration::from_millis(800),
            operation: std::time::Duration::from_millis(1600),
        };
        let hanging = Client::from_conf(
            aws_sdk_secretsmanager::Config::builder()
                .with_test_defaults_v2()
                .http_client(aws_smithy_http_client::test_util::NeverClient::new())
                .timeout_config(timeouts.config())
                .build(),
        );
        let started = tokio::time::Instant::now();
        let err = secret_string(&hanging, ARN).await.unwrap_err();
        assert!(
            matches!(&err, PortError::Unavailable(m) if m.contains(ARN)),
            "{err}"
        );
        assert!(
            started.elapsed() <= timeouts.operation,
            "{:?}",
            started.elapsed()
        );
    }
}
