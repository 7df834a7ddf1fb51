//! The mailer on SES (v2): each email goes straight to its approver, from the team's verified
//! address, as one multipart message (the plain-text part and, where there is one, the HTML
//! part). No topic, no subscription: nobody else can be sent an approver's links.

use approval_domain::{
    Address,
    ports::{Message, Notifier, PortError},
};
use aws_sdk_sesv2::{
    Client,
    types::{Body, Content, Destination, EmailContent, Message as SesMessage},
};

use crate::sdk_error::port_error;

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    sender: Address,
}

impl SesMailer {
    pub fn new(client: Client, sender: Address) -> Self {
        Self { client, sender }
    }
}

fn utf8(text: &str) -> Result<Content, PortError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|err| PortError::Failed(format!("SES content: {err}")))
}

impl Notifier for SesMailer {
    async fn send(&self, message: &Message) -> Result<(), PortError> {
        let mut body = Body::builder().text(utf8(&message.body)?);
        if let Some(html) = &message.html {
            body = body.html(utf8(html)?);
        }
        let content = EmailContent::builder()
            .simple(
                SesMessage::builder()
                    .subject(utf8(&message.subject)?)
                    .body(body.build())
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(self.sender.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(message.to.as_str())
                    .build(),
            )
            .content(content)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| port_error("SES", &err))
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use aws_sdk_sesv2::operation::send_email::SendEmailOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn sender() -> Address {
        Address::parse("approvals@example.com").unwrap()
    }

    fn message() -> Message {
        Message {
            to: fixtures::approver(1),
            subject: "Deploy v42?".into(),
            body: "Text part".into(),
            html: Some("<p>HTML part</p>".into()),
        }
    }

    #[tokio::test]
    async fn sends_one_multipart_email_from_the_sender_to_the_approver_alone() {
        let send = mock!(Client::send_email)
            .match_requests(|r| {
                let simple = r.content().and_then(|c| c.simple());
                let body = simple.and_then(|s| s.body());
                r.from_email_address() == Some("approvals@example.com")
                    && r.destination().map(|d| d.to_addresses())
                        == Some(&["approver1@example.com".to_owned()][..])
                    && r.destination().is_some_and(|d| {
                        d.cc_addresses().is_empty() && d.bcc_addresses().is_empty()
                    })
                    && simple
                        .and_then(|s| s.subject())
                        .map(|c| (c.data(), c.charset()))
                        == Some(("Deploy v42?", Some("UTF-8")))
                    && body.and_then(|b| b.text()).map(Content::data) == Some("Text part")
                    && body.and_then(|b| b.html()).map(Content::data) == Some("<p>HTML part</p>")
            })
            .then_output(|| SendEmailOutput::builder().message_id("m-1").build());
        let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&send]);
        assert_eq!(
            SesMailer::new(client, sender()).send(&message()).await,
            Ok(())
        );
        assert_eq!(send.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_text_only_email_has_no_html_part() {
        let send = mock!(Client::send_email)
            .match_requests(|r| {
                let body = r.content().and_then(|c| c.simple()).and_then(|s| s.body());
                body.and_then(|b| b.text()).is_some() && body.and_then(|b| b.html()).is_none()
            })
            .then_output(|| SendEmailOutput::builder().build());
        let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&send]);
        let mut text_only = message();
        text_only.html = None;
        assert_eq!(
            SesMailer::new(client, sender()).send(&text_only).await,
            Ok(())
        );
        assert_eq!(send.num_calls(), 1);
    }

    /// An error as SES (restJson1) answers it: the code in `x-amzn-errortype`.
    fn ses_error(status: u16, code: &'static str, message: &'static str) -> HttpResponse {
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(format!(r#"{{"message":"{message}"}}"#)),
        );
        response.headers_mut().insert(
            "x-amzn-errortype",
            format!("{code}:http://internal.amazon.com/"),
        );
        response
            .headers_mut()
            .insert("content-type", "application/json");
        response
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_worth_retrying_and_a_refusal_is_not() {
        let throttled = mock!(Client::send_email).then_http_response(|| {
            ses_error(
                429,
                "TooManyRequestsException",
                "Maximum sending rate exceeded.",
            )
        });
        let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&throttled]);
        let err = SesMailer::new(client, sender())
            .send(&message())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, PortError::Unavailable(m) if m.contains("TooManyRequestsException")),
            "{err}"
        );

        for (code, says) in [
            ("MessageRejected", "Email address is not verified."),
            (
                "MailFromDomainNotVerifiedException",
                "MAIL FROM domain not verified.",
            ),
            (
                "AccessDeniedException",
                "not authorized to perform ses:SendEmail",
            ),
        ] {
            let refused =
                mock!(Client::send_email).then_http_response(move || ses_error(400, code, says));
            let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&refused]);
            let err = SesMailer::new(client, sender())
                .send(&message())
                .await
                .unwrap_err();
            assert_eq!(err, PortError::Failed(format!("{code}: {says}")));
            assert_eq!(refused.num_calls(), 1, "{code} is not retried");
        }
    }
}
