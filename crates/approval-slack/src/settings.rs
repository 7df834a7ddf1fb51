//! How approvers are reached in Slack (`SLACK_DELIVERY`, from the template's `SlackDelivery`),
//! read the same way by both functions: `none` (the default), `dm` (a direct message to each
//! approver) or `channel` (one message in `SLACK_CHANNEL_ID`); the app's secrets are in
//! Secrets Manager at `SLACK_SECRET_ARN`; `SLACK_API_URL` is Slack's Web API (the local stack
//! points it at its emulator).

use serde::Deserialize;

use crate::web_api::check_base_url;

/// Slack's Web API, where the functions call it unless told otherwise.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// The variables, as the template sets them (empty ones count as unset).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SlackVars {
    #[serde(rename = "SLACK_DELIVERY", default)]
    delivery: Option<String>,
    #[serde(rename = "SLACK_CHANNEL_ID", default)]
    channel_id: Option<String>,
    #[serde(rename = "SLACK_SECRET_ARN", default)]
    secret_arn: Option<String>,
    #[serde(rename = "SLACK_API_URL", default)]
    api_url: Option<String>,
}

/// Where a request's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackDelivery {
    /// One direct message to each approver found in the workspace.
    Direct,
    /// One message in this channel (`C…`), for all approvers.
    Channel(String),
}

/// Slack switched on, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackSettings {
    pub delivery: SlackDelivery,
    /// The Secrets Manager secret of the app's bot token and signing secret.
    pub secret_arn: String,
    /// The Web API's base URL, without a trailing slash.
    pub api_url: String,
}

impl SlackVars {
    /// `None`: Slack is off. The error names the variable and what is wrong with it.
    pub fn settings(&self) -> Result<Option<SlackSettings>, String> {
        let set = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let delivery = match set(&self.delivery).as_deref().unwrap_or("none") {
            "none" => return Ok(None),
            "dm" => SlackDelivery::Direct,
            "channel" => {
                let channel = set(&self.channel_id)
                    .ok_or("SLACK_DELIVERY is channel, but SLACK_CHANNEL_ID is not set")?;
                let id_like = channel.len() <= 20
                    && channel.starts_with(['C', 'G'])
                    && channel
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if !id_like {
                    return Err(format!(
                        "SLACK_CHANNEL_ID `{}` is not a channel id (C… or G…, as Slack shows in the channel's details; not its name)",
                        channel.chars().take(40).collect::<String>()
                    ));
                }
                SlackDelivery::Channel(channel)
            }
            other => {
                return Err(format!(
                    "SLACK_DELIVERY `{}` is not one of none, dm, channel",
                    other.chars().take(40).collect::<String>()
                ));
            }
        };
        let secret_arn = set(&self.secret_arn)
            .filter(|arn| arn.starts_with("arn:") && arn.contains(":secretsmanager:"))
            .ok_or("SLACK_DELIVERY is on, but SLACK_SECRET_ARN is not a Secrets Manager ARN")?;
        let api_url =
            check_base_url(&set(&self.api_url).unwrap_or_else(|| DEFAULT_API_URL.to_owned()))
                .map_err(|err| format!("SLACK_API_URL {err}"))?;
        Ok(Some(SlackSettings {
            delivery,
            secret_arn,
            api_url,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(delivery: &str, channel: &str, arn: &str, url: &str) -> SlackVars {
        let some = |v: &str| Some(v.to_owned());
        SlackVars {
            delivery: some(delivery),
            channel_id: some(channel),
            secret_arn: some(arn),
            api_url: some(url),
        }
    }

    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:approval-gate/slack-AbCdEf";

    #[test]
    fn off_by_default_and_on_with_a_secret() {
        assert_eq!(SlackVars::default().settings(), Ok(None));
        assert_eq!(vars("none", "", "", "").settings(), Ok(None));
        let on = vars("dm", "", ARN, "").settings().unwrap().unwrap();
        assert_eq!(on.delivery, SlackDelivery::Direct);
        assert_eq!(on.api_url, DEFAULT_API_URL);
        let channel = vars("channel", "C0GATE0001", ARN, "http://127.0.0.1:9/api/").settings();
        assert_eq!(
            channel.unwrap().unwrap(),
            SlackSettings {
                delivery: SlackDelivery::Channel("C0GATE0001".into()),
                secret_arn: ARN.into(),
                api_url: "http://127.0.0.1:9/api".into(),
            }
        );
    }

    #[test]
    fn each_wrong_setting_is_named() {
        for (v, expected) in [
            (vars("slack", "", ARN, ""), "SLACK_DELIVERY `slack`"),
            (vars("channel", "", ARN, ""), "SLACK_CHANNEL_ID is not set"),
            (vars("channel", "#approvals", ARN, ""), "not a channel id"),
            (vars("dm", "", "", ""), "SLACK_SECRET_ARN"),
            (vars("dm", "", "arn:aws:ssm:x", ""), "SLACK_SECRET_ARN"),
            (
                vars("dm", "", ARN, "http://slack.example/api"),
                "SLACK_API_URL",
            ),
        ] {
            let err = v.settings().unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}
