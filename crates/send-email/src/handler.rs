//! Validates the task payload, signs both links with the KMS key, composes the email,
//! publishes it.

use approval_core::{
    Action,
    config::{ConfigError, SendEmailConfig},
    email::{self, Email},
    payload::{ApprovalTask, PayloadError},
};
use aws_sdk_kms::{primitives::Blob, types::MacAlgorithmSpec};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tracing::{error, info};

/// Why an invocation failed. The `errorType` Step Functions sees is the name a state machine's
/// `Retry`/`Catch` can match. `SendEmail.InvalidInput` and `SendEmail.Misconfigured` fail the
/// same way every time. `SendEmail.SigningFailed` and `SendEmail.PublishFailed` cover every KMS
/// and SNS failure, lasting ones too: from here a refusal that passes (a role or key policy
/// still propagating after a deployment, a topic being recreated) cannot be told from one that
/// stays, so the state machine retries them a bounded number of times.
#[derive(Debug, thiserror::Error)]
pub enum SendEmailError {
    #[error("invalid input: {0}")]
    InvalidInput(#[from] PayloadError),
    #[error("send-email is misconfigured: {0}")]
    Misconfigured(ConfigError),
    #[error("signing the links with KMS failed: {0}")]
    SigningFailed(String),
    #[error("publishing to SNS failed: {0}")]
    PublishFailed(String),
}

impl SendEmailError {
    pub fn error_type(&self) -> &'static str {
        match self {
            SendEmailError::InvalidInput(_) => "SendEmail.InvalidInput",
            SendEmailError::Misconfigured(_) => "SendEmail.Misconfigured",
            SendEmailError::SigningFailed(_) => "SendEmail.SigningFailed",
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

/// The function: its SDK clients, built once, and its settings, read once.
pub struct SendEmail {
    pub sns: aws_sdk_sns::Client,
    pub kms: aws_sdk_kms::Client,
    pub config: Result<SendEmailConfig, ConfigError>,
}

impl SendEmail {
    /// Handles one task: nothing is published unless the payload is valid and both links are
    /// signed.
    pub async fn handle(&self, payload: Value) -> Result<Value, SendEmailError> {
        let task = ApprovalTask::from_payload(&payload)
            .inspect_err(|err| error!(%err, "refusing the task payload"))?;
        let config = self
            .config
            .as_ref()
            .map_err(|err| SendEmailError::Misconfigured(err.clone()))
            .inspect_err(|err| error!(%err))?;
        let request = &task.request;

        let expires_at = OffsetDateTime::now_utc().unix_timestamp() + config.link_ttl_seconds;
        // Both MACs at once: one KMS round trip of latency, not two.
        let (approve_mac, reject_mac) = tokio::try_join!(
            self.mac(
                &config.link_key_id,
                task.signed_message(Action::Approve, expires_at)
            ),
            self.mac(
                &config.link_key_id,
                task.signed_message(Action::Reject, expires_at)
            ),
        )
        .inspect_err(
            |err| error!(execution = %request.execution_name, %err, "approval email not sent"),
        )?;
        let links = task.signed_links(expires_at, approve_mac, reject_mac);
        let Email { subject, body } = email::compose(&task, &links, config.link_mode);

        let published = self
            .sns
            .publish()
            .topic_arn(&config.topic_arn)
            .subject(subject)
            .message(body)
            .send()
            .await
            .map_err(|err| SendEmailError::PublishFailed(sdk_errors::describe("SNS", &err)))
            .inspect_err(
                |err| error!(execution = %request.execution_name, %err, "approval email not sent"),
            )?;
        let message_id = published.message_id().unwrap_or_default();
        info!(
            execution = %request.execution_name,
            state_machine = %request.state_machine_name,
            message_id,
            expires_at,
            "approval email published"
        );
        Ok(json!({ "MessageId": message_id }))
    }

    /// HMAC-SHA-256 of `message` with the link key, made inside KMS.
    async fn mac(&self, key_id: &str, message: Vec<u8>) -> Result<Vec<u8>, SendEmailError> {
        let made = self
            .kms
            .generate_mac()
            .key_id(key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .send()
            .await
            .map_err(|err| SendEmailError::SigningFailed(sdk_errors::describe("KMS", &err)))?;
        made.mac
            .map(Blob::into_inner)
            .ok_or_else(|| SendEmailError::SigningFailed("KMS returned no MAC".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use aws_sdk_kms::{
        operation::generate_mac::{GenerateMacError, GenerateMacOutput},
        types::error::{DisabledException, KmsInternalException},
    };
    use aws_sdk_sns::{
        Client,
        operation::publish::{PublishError, PublishOutput},
        types::error::{InternalErrorException, NotFoundException},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use url::Url;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

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

    /// A stand-in MAC: the message's first 32 bytes, so each link's MAC is checkable here.
    fn fake_mac(message: &[u8]) -> Vec<u8> {
        message
            .iter()
            .copied()
            .chain(std::iter::repeat(0))
            .take(32)
            .collect()
    }

    /// GenerateMac with the configured key and HMAC-SHA-256; records each signed message.
    fn signing(seen: Arc<Mutex<Vec<Vec<u8>>>>) -> Rule {
        mock!(aws_sdk_kms::Client::generate_mac)
            .match_requests(|req| {
                req.key_id() == Some(KEY)
                    && req.mac_algorithm() == Some(&MacAlgorithmSpec::HmacSha256)
            })
            .then_compute_output(move |req| {
                let message = req.message().unwrap().as_ref().to_vec();
                seen.lock().unwrap().push(message.clone());
                GenerateMacOutput::builder()
                    .mac(Blob::new(fake_mac(&message)))
                    .build()
            })
    }

    fn function(sns_rules: &[&Rule], kms_rules: &[&Rule]) -> SendEmail {
        SendEmail {
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules),
            kms: mock_client!(aws_sdk_kms, RuleMode::MatchAny, kms_rules),
            config: SendEmailConfig::from_values(Some(TOPIC), Some(KEY), Some("3600"), None),
        }
    }

    /// A parameter of the link on the line starting with `label`, decoded once as API Gateway would.
    fn link_param(body: &str, label: &str, name: &str) -> String {
        let line = body
            .lines()
            .find(|l| l.starts_with(label))
            .expect("link line");
        let url = Url::parse(line.trim_start_matches(label)).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    }

    #[tokio::test]
    async fn publishes_one_email_with_both_links_signed_and_carrying_the_exact_token() {
        let token = real_shaped_token();
        let expected = token.clone();
        let published = Arc::new(Mutex::new(String::new()));
        let body_seen = Arc::clone(&published);
        let rule = mock!(Client::publish)
            .match_requests(move |req| {
                *body_seen.lock().unwrap() = req.message().unwrap_or_default().to_owned();
                req.topic_arn() == Some(TOPIC)
                    && req.subject() == Some("Required approval from AWS Step Functions")
            })
            .then_output(|| PublishOutput::builder().message_id("msg-1").build());
        let signed = Arc::new(Mutex::new(vec![]));
        let kms = signing(Arc::clone(&signed));
        let before = OffsetDateTime::now_utc().unix_timestamp();

        let out = function(&[&rule], &[&kms])
            .handle(payload(&token))
            .await
            .unwrap();

        assert_eq!(out, json!({"MessageId": "msg-1"}));
        assert_eq!(
            (rule.num_calls(), kms.num_calls()),
            (1, 2),
            "one email, one MAC per link"
        );
        let body = published.lock().unwrap().clone();
        assert!(
            body.contains("Execution:     run-1") && body.contains("State machine: HumanApproval")
        );
        assert!(body.contains("Testing the human approval tutorial."));
        let signed = signed.lock().unwrap();
        for (label, action) in [("Approve: ", "approve"), ("Reject: ", "reject")] {
            assert_eq!(link_param(&body, label, "taskToken"), expected);
            assert_eq!(link_param(&body, label, "action"), action);
            let exp: i64 = link_param(&body, label, "exp").parse().unwrap();
            assert!(
                (before + 3600..=before + 3602).contains(&exp),
                "expires in LINK_TTL_SECONDS: {exp}"
            );
            let message = format!(
                r#"["human-approval-link/v1","{action}","run-1","HumanApproval",{exp},"{expected}"]"#
            );
            assert!(
                signed.contains(&message.as_bytes().to_vec()),
                "KMS signed the {action} link's fields"
            );
            let sig = link_param(&body, label, "sig");
            assert_eq!(
                sig,
                approval_core::signing::LinkSignature::encode_mac(&fake_mac(message.as_bytes()))
            );
        }
    }

    #[tokio::test]
    async fn the_sample_event_publishes_links_with_its_exact_token() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/send-email.json");
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let token = event["ExecutionContext"]["Task"]["Token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            token.len() > 600 && token.contains('+') && token.contains('/') && token.ends_with('=')
        );
        let rule = mock!(Client::publish)
            .match_requests(move |req| {
                let body = req.message().unwrap_or_default();
                body.contains("Execution:     ApprovalTest")
                    && body.contains("State machine: HumanApprovalLambdaStateMachine")
                    && body.contains("Approve: https://abc123defg.execute-api.us-east-1.amazonaws.com/states/execution?action=approve&")
                    && link_param(body, "Approve: ", "taskToken") == token
                    && link_param(body, "Reject: ", "taskToken") == token
            })
            .then_output(|| PublishOutput::builder().message_id("msg-2").build());
        let kms = signing(Default::default());
        assert_eq!(
            function(&[&rule], &[&kms]).handle(event).await.unwrap(),
            json!({"MessageId": "msg-2"})
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_2048_char_token_fits_and_a_longer_one_is_refused_before_signing_or_publishing() {
        let rule = publish_ok();
        let kms = signing(Default::default());
        let f = function(&[&rule], &[&kms]);
        let max = "A+/=".repeat(512);
        f.handle(payload(&max)).await.unwrap();
        assert_eq!((rule.num_calls(), kms.num_calls()), (1, 2));

        let err = f.handle(payload(&format!("{max}A"))).await.unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.InvalidInput");
        assert!(
            err.to_string().contains("ExecutionContext.Task.Token"),
            "{err}"
        );
        assert_eq!(
            (rule.num_calls(), kms.num_calls()),
            (1, 2),
            "nothing signed or published for a bad payload"
        );
    }

    #[tokio::test]
    async fn bad_settings_fail_naming_the_setting_without_signing_or_publishing() {
        let rule = publish_ok();
        let kms = signing(Default::default());
        for (config, says) in [
            (
                SendEmailConfig::from_values(None, Some(KEY), None, None),
                "TOPIC_ARN is not set",
            ),
            (
                SendEmailConfig::from_values(Some(TOPIC), None, None, None),
                "LINK_KEY_ID is not set",
            ),
            (
                SendEmailConfig::from_values(Some(TOPIC), Some(KEY), Some("0"), None),
                "LINK_TTL_SECONDS must be",
            ),
        ] {
            let f = SendEmail {
                config,
                ..function(&[&rule], &[&kms])
            };
            let err = f.handle(payload("tok")).await.unwrap_err();
            assert_eq!(err.error_type(), "SendEmail.Misconfigured");
            assert!(err.to_string().contains(says), "{err}");
        }
        assert_eq!((rule.num_calls(), kms.num_calls()), (0, 0));
    }

    #[tokio::test]
    async fn sns_errors_fail_the_invocation_as_retryable_publish_failures() {
        let kms = signing(Default::default());
        let missing = mock!(Client::publish).then_error(|| {
            PublishError::NotFoundException(
                NotFoundException::builder()
                    .message("Topic does not exist")
                    .build(),
            )
        });
        let err = function(&[&missing], &[&kms])
            .handle(payload("tok"))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "SendEmail.PublishFailed");
        let shown = err.to_string();
        assert!(
            shown.starts_with("publishing to SNS failed: ")
                && shown.contains("Topic does not exist"),
            "{shown}"
        );
        assert!(
            shown.len() < 200,
            "short enough for the execution history: {shown}"
        );

        let internal = mock!(Client::publish).then_error(|| {
            PublishError::InternalErrorException(InternalErrorException::builder().build())
        });
        let diagnostic: Diagnostic = function(&[&internal], &[&kms])
            .handle(payload("tok"))
            .await
            .unwrap_err()
            .into();
        assert_eq!(diagnostic.error_type, "SendEmail.PublishFailed");
    }

    #[tokio::test]
    async fn kms_errors_fail_as_signing_failures_and_publish_nothing() {
        let rule = publish_ok();
        let errors: [fn() -> GenerateMacError; 2] = [
            || {
                GenerateMacError::DisabledException(
                    DisabledException::builder()
                        .message("key is disabled")
                        .build(),
                )
            },
            || GenerateMacError::KmsInternalException(KmsInternalException::builder().build()),
        ];
        for error in errors {
            let kms = mock!(aws_sdk_kms::Client::generate_mac).then_error(error);
            let err = function(&[&rule], &[&kms])
                .handle(payload("tok"))
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), "SendEmail.SigningFailed");
            assert!(
                err.to_string()
                    .starts_with("signing the links with KMS failed: "),
                "{err}"
            );
        }
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn error_messages_never_contain_the_token() {
        let kms = signing(Default::default());
        let token = format!("{}  secret", real_shaped_token());
        let err = function(&[&publish_ok()], &[&kms])
            .handle(payload(&token))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("secret") && !err.contains("AQCEAAAA"),
            "{err}"
        );
    }
}
