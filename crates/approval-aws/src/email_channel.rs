//! How approvers' email goes out (`EMAIL_DELIVERY`, set from the template's `EmailDelivery`):
//! through the stack's SNS topic (the default: nothing to verify first), straight from the
//! team's address with SES, or not at all. Both functions read the same three variables.

use approval_domain::{
    Address,
    ports::{Message, Notifier, PortError},
};
use serde::Deserialize;

use crate::{SesMailer, SnsNotifier, settings::ConfigError};

/// The variables, as the template sets them (empty ones count as unset).
#[derive(Debug, Clone, Deserialize)]
pub struct EmailVars {
    #[serde(rename = "EMAIL_DELIVERY", default)]
    email_delivery: Option<String>,
    #[serde(rename = "SENDER_ADDRESS", default)]
    sender_address: Option<String>,
    #[serde(rename = "TOPIC_ARN", default)]
    topic_arn: Option<String>,
}

/// The way email goes, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailDelivery {
    /// One publish per email to the stack's topic; each approver's subscription filters on them.
    Sns { topic_arn: String },
    /// SESv2 `SendEmail` from `sender` (a verified identity) to each approver.
    Ses { sender: Address },
    /// No email at all (`none`): another channel must reach every approver.
    Off,
}

/// How many approvers a stack may have with SES: one `SendEmail` each, no per-approver
/// resources.
pub const MAX_SES_APPROVERS: usize = 50;

/// How many with SNS: the template makes one filtered subscription each, for `Email` and at
/// most 10 `AdditionalApprovers`; an approver past them would never get their email.
pub const MAX_SNS_APPROVERS: usize = 11;

impl EmailDelivery {
    /// How many approvers this way of email can reach (`None`: no email, no limit of its own).
    pub fn max_approvers(&self) -> Option<usize> {
        match self {
            Self::Sns { .. } => Some(MAX_SNS_APPROVERS),
            Self::Ses { .. } => Some(MAX_SES_APPROVERS),
            Self::Off => None,
        }
    }
}

impl EmailVars {
    pub fn delivery(&self) -> Result<EmailDelivery, ConfigError> {
        let set = |value: &Option<String>| value.as_deref().map(str::trim).map(str::to_owned);
        match set(&self.email_delivery).as_deref().unwrap_or("sns") {
            "sns" => set(&self.topic_arn)
                .map(|topic_arn| EmailDelivery::Sns { topic_arn })
                .ok_or_else(|| {
                    ConfigError::new(
                        "TOPIC_ARN: missing environment variable (EMAIL_DELIVERY is sns)",
                    )
                }),
            "ses" => {
                let raw = set(&self.sender_address).ok_or_else(|| {
                    ConfigError::new(
                        "SENDER_ADDRESS: missing environment variable (EMAIL_DELIVERY is ses: the SES-verified address the emails come from)",
                    )
                })?;
                let sender = Address::parse(&raw)
                    .map_err(|err| ConfigError::new(format!("SENDER_ADDRESS `{raw}` {err}")))?;
                Ok(EmailDelivery::Ses { sender })
            }
            "none" => Ok(EmailDelivery::Off),
            other => Err(ConfigError::new(format!(
                "EMAIL_DELIVERY `{other}` is not one of sns, ses, none"
            ))),
        }
    }
}

/// The mailer `EmailDelivery` chose.
#[derive(Clone, Debug)]
pub enum EmailChannel {
    Sns(SnsNotifier),
    Ses(SesMailer),
    Off,
}

impl EmailChannel {
    pub fn new(aws: &aws_config::SdkConfig, delivery: &EmailDelivery) -> Self {
        match delivery {
            EmailDelivery::Sns { topic_arn } => {
                Self::Sns(SnsNotifier::new(aws_sdk_sns::Client::new(aws), topic_arn))
            }
            EmailDelivery::Ses { sender } => Self::Ses(SesMailer::new(
                aws_sdk_sesv2::Client::new(aws),
                sender.clone(),
            )),
            EmailDelivery::Off => Self::Off,
        }
    }
}

impl Notifier for EmailChannel {
    async fn send(&self, message: &Message) -> Result<(), PortError> {
        match self {
            Self::Sns(sns) => sns.send(message).await,
            Self::Ses(ses) => ses.send(message).await,
            // Callers check first (send-email refuses an unreachable approver; the callback
            // sends no notices): reaching this is a bug, and it says so rather than pretend.
            Self::Off => Err(PortError::Failed(
                "email is off (EMAIL_DELIVERY=none): nothing was sent".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(vars: &[(&str, &str)]) -> Result<EmailDelivery, String> {
        let vars: EmailVars = crate::settings::from_vars(
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .map_err(|e| e.to_string())?;
        vars.delivery().map_err(|e| e.to_string())
    }

    #[test]
    fn sns_is_the_default_and_each_way_names_what_it_needs() {
        assert_eq!(
            delivery(&[("TOPIC_ARN", "arn:topic")]),
            Ok(EmailDelivery::Sns {
                topic_arn: "arn:topic".into()
            })
        );
        assert_eq!(
            delivery(&[
                ("EMAIL_DELIVERY", "ses"),
                ("SENDER_ADDRESS", "Approvals@Example.com"),
                ("TOPIC_ARN", "")
            ]),
            Ok(EmailDelivery::Ses {
                sender: Address::parse("approvals@example.com").unwrap()
            })
        );
        assert_eq!(
            delivery(&[("EMAIL_DELIVERY", "none")]),
            Ok(EmailDelivery::Off)
        );
        for (vars, says) in [
            (vec![], "TOPIC_ARN: missing"),
            (
                vec![("EMAIL_DELIVERY", "sns"), ("TOPIC_ARN", " ")],
                "TOPIC_ARN: missing",
            ),
            (vec![("EMAIL_DELIVERY", "ses")], "SENDER_ADDRESS: missing"),
            (
                vec![("EMAIL_DELIVERY", "ses"), ("SENDER_ADDRESS", "team")],
                "SENDER_ADDRESS `team`",
            ),
            (
                vec![("EMAIL_DELIVERY", "smtp")],
                "EMAIL_DELIVERY `smtp` is not one of sns, ses, none",
            ),
        ] {
            let err = delivery(&vars).unwrap_err();
            assert!(err.contains(says), "{vars:?}: {err}");
        }
    }

    #[tokio::test]
    async fn with_email_off_nothing_is_sent_and_the_error_says_so() {
        let message = Message {
            to: Address::parse("a@example.com").unwrap(),
            subject: "s".into(),
            body: "b".into(),
            html: None,
        };
        let err = EmailChannel::Off.send(&message).await.unwrap_err();
        assert!(matches!(&err, PortError::Failed(m) if m.contains("EMAIL_DELIVERY=none")));
    }
}
