//! The notifier on SNS: one publish per email, with the `approver` message attribute that each
//! approver's subscription filters on (`{"approver": ["<address>"]}`), so each approver gets
//! only their own email and links.

use approval_domain::ports::{Message, Notifier, PortError};
use aws_sdk_sns::{Client, types::MessageAttributeValue};

use crate::sdk_error::port_error;

/// The message attribute the subscriptions' filter policies match.
pub const APPROVER_ATTRIBUTE: &str = "approver";

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn send(&self, message: &Message) -> Result<(), PortError> {
        let approver = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(message.to.as_str())
            .build()
            .map_err(|err| PortError::Failed(format!("message attribute: {err}")))?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&message.subject)
            .message(&message.body)
            .message_attributes(APPROVER_ATTRIBUTE, approver)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| port_error("SNS", &err))
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn message() -> Message {
        Message {
            to: fixtures::approver(1),
            subject: "Subject".into(),
            body: "Body".into(),
            html: Some("<p>Body</p>".into()),
        }
    }

    #[tokio::test]
    async fn publishes_to_the_topic_with_the_approver_attribute() {
        let publish = mock!(Client::publish)
            .match_requests(|r| {
                r.topic_arn() == Some("arn:topic")
                    && r.subject() == Some("Subject")
                    && r.message() == Some("Body")
                    && r.message_attributes()
                        .and_then(|a| a.get(APPROVER_ATTRIBUTE))
                        .is_some_and(|v| {
                            v.data_type() == "String"
                                && v.string_value() == Some("approver1@example.com")
                        })
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
        assert_eq!(
            SnsNotifier::new(client, "arn:topic").send(&message()).await,
            Ok(())
        );
        assert_eq!(publish.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_5xx_is_unavailable() {
        let failing = mock!(Client::publish).then_http_response(|| {
            HttpResponse::new(StatusCode::try_from(503).unwrap(), SdkBody::empty())
        });
        let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&failing]);
        assert!(matches!(
            SnsNotifier::new(client, "arn:topic").send(&message()).await,
            Err(PortError::Unavailable(_))
        ));
    }
}
