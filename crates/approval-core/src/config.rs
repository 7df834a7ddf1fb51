//! Both functions' settings, read once at cold start from the environment.

use std::str::FromStr;

use url::Url;

pub const APPROVER_EMAIL_VAR: &str = "APPROVER_EMAIL";
pub const LINK_MODE_VAR: &str = "LINK_MODE";
pub const REDIRECT_URL_VAR: &str = "REDIRECT_URL";
/// KMS HMAC key (id, ARN or alias) that signs (send-email) and verifies (approval-callback) links.
pub const LINK_KEY_ID_VAR: &str = "LINK_KEY_ID";
pub const TOPIC_ARN_VAR: &str = "TOPIC_ARN";
/// How long links work, in seconds; the template sets it to the approval timeout by default.
pub const LINK_TTL_SECONDS_VAR: &str = "LINK_TTL_SECONDS";
pub const DEFAULT_LINK_TTL_SECONDS: i64 = 3600;
/// Step Functions tasks wait at most a year; a link need not outlive its task.
pub const MAX_LINK_TTL_SECONDS: i64 = 365 * 24 * 3600;

/// How a GET on a link behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkMode {
    /// GET shows a confirmation page; only its POST decides. Safe with mail scanners that open
    /// every link (Microsoft Safe Links, Proofpoint URL Defense, …).
    #[default]
    Confirm,
    /// GET decides at once, as the seed tutorial did. A mail scanner can approve on its own.
    OneClick,
}

impl FromStr for LinkMode {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "confirm" => Ok(LinkMode::Confirm),
            "one-click" => Ok(LinkMode::OneClick),
            other => Err(ConfigError::BadLinkMode(other.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{APPROVER_EMAIL_VAR} is not set")]
    MissingApprover,
    #[error("{APPROVER_EMAIL_VAR} does not look like an email address")]
    BadApprover,
    #[error("{LINK_MODE_VAR} must be `confirm` or `one-click`, not `{0}`")]
    BadLinkMode(String),
    #[error("{REDIRECT_URL_VAR} must be an absolute http or https URL")]
    BadRedirect,
    #[error("{LINK_KEY_ID_VAR} is not set")]
    MissingLinkKey,
    #[error("{TOPIC_ARN_VAR} is not set")]
    MissingTopic,
    #[error(
        "{LINK_TTL_SECONDS_VAR} must be a whole number of seconds from 1 to {MAX_LINK_TTL_SECONDS}"
    )]
    BadLinkTtl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackConfig {
    /// Recorded in the task output as who decided (the seed's behaviour: the subscribed address).
    pub approver: String,
    pub link_mode: LinkMode,
    /// Where to send the approver after a decision; `None` means the execution's console page.
    pub redirect_url: Option<Url>,
    /// The KMS key that verifies link signatures.
    pub link_key_id: String,
}

impl CallbackConfig {
    /// Builds the settings from the raw variable values (`None` = unset). Empty counts as unset
    /// for the optional ones, because CloudFormation cannot leave a variable out conditionally
    /// without ceremony.
    pub fn from_values(
        approver: Option<&str>,
        link_mode: Option<&str>,
        redirect_url: Option<&str>,
        link_key_id: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let approver = required(approver).ok_or(ConfigError::MissingApprover)?;
        if !looks_like_email(&approver) {
            return Err(ConfigError::BadApprover);
        }
        let redirect_url = match redirect_url.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(raw) => Some(
                Url::parse(raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or(ConfigError::BadRedirect)?,
            ),
        };
        let link_key_id = required(link_key_id).ok_or(ConfigError::MissingLinkKey)?;
        Ok(Self {
            link_key_id,
            approver,
            link_mode: link_mode.unwrap_or_default().trim().parse()?,
            redirect_url,
        })
    }

    /// Reads the variables from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name| std::env::var(name).ok();
        Self::from_values(
            var(APPROVER_EMAIL_VAR).as_deref(),
            var(LINK_MODE_VAR).as_deref(),
            var(REDIRECT_URL_VAR).as_deref(),
            var(LINK_KEY_ID_VAR).as_deref(),
        )
    }
}

/// `send-email` settings, read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEmailConfig {
    pub topic_arn: String,
    /// What opening a link does, so the email can say so.
    pub link_mode: LinkMode,
    /// The KMS key that signs links.
    pub link_key_id: String,
    pub link_ttl_seconds: i64,
}

impl SendEmailConfig {
    pub fn from_values(
        topic_arn: Option<&str>,
        link_key_id: Option<&str>,
        link_ttl_seconds: Option<&str>,
        link_mode: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let link_ttl_seconds = match link_ttl_seconds.map(str::trim).filter(|t| !t.is_empty()) {
            None => DEFAULT_LINK_TTL_SECONDS,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|ttl| (1..=MAX_LINK_TTL_SECONDS).contains(ttl))
                .ok_or(ConfigError::BadLinkTtl)?,
        };
        Ok(Self {
            link_mode: link_mode.unwrap_or_default().trim().parse()?,
            topic_arn: required(topic_arn).ok_or(ConfigError::MissingTopic)?,
            link_key_id: required(link_key_id).ok_or(ConfigError::MissingLinkKey)?,
            link_ttl_seconds,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name| std::env::var(name).ok();
        Self::from_values(
            var(TOPIC_ARN_VAR).as_deref(),
            var(LINK_KEY_ID_VAR).as_deref(),
            var(LINK_TTL_SECONDS_VAR).as_deref(),
            var(LINK_MODE_VAR).as_deref(),
        )
    }
}

/// A set, non-blank value.
fn required(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The template's `Email` parameter already enforces the seed's pattern; this only guards
/// against values that would corrupt the output (white space, control characters).
fn looks_like_email(s: &str) -> bool {
    s.len() <= 254
        && s.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "alias/approval-links";

    fn callback(
        approver: Option<&str>,
        mode: Option<&str>,
        redirect: Option<&str>,
    ) -> Result<CallbackConfig, ConfigError> {
        CallbackConfig::from_values(approver, mode, redirect, Some(KEY))
    }

    #[test]
    fn defaults_to_confirm_mode_and_console_redirect() {
        let c = callback(Some("a@example.com"), None, None).unwrap();
        assert_eq!(
            c,
            CallbackConfig {
                approver: "a@example.com".into(),
                link_mode: LinkMode::Confirm,
                redirect_url: None,
                link_key_id: KEY.into()
            }
        );
        let c = callback(Some("a@example.com"), Some(""), Some("")).unwrap();
        assert_eq!((c.link_mode, c.redirect_url), (LinkMode::Confirm, None));
    }

    #[test]
    fn reads_one_click_and_redirect() {
        let c = callback(
            Some("a@example.com"),
            Some("one-click"),
            Some("https://intranet.example.com/done"),
        )
        .unwrap();
        assert_eq!(c.link_mode, LinkMode::OneClick);
        assert_eq!(
            c.redirect_url.unwrap().as_str(),
            "https://intranet.example.com/done"
        );
    }

    #[test]
    fn names_each_bad_setting() {
        assert_eq!(
            callback(None, None, None),
            Err(ConfigError::MissingApprover)
        );
        assert_eq!(
            callback(Some(" "), None, None),
            Err(ConfigError::MissingApprover)
        );
        assert_eq!(
            callback(Some("nobody"), None, None),
            Err(ConfigError::BadApprover)
        );
        assert_eq!(
            callback(Some("a b@c.d"), None, None),
            Err(ConfigError::BadApprover)
        );
        assert_eq!(
            callback(Some("a@b.c"), Some("OneClick"), None),
            Err(ConfigError::BadLinkMode("OneClick".into()))
        );
        assert_eq!(
            callback(Some("a@b.c"), None, Some("/done")),
            Err(ConfigError::BadRedirect)
        );
        assert_eq!(
            callback(Some("a@b.c"), None, Some("javascript:alert(1)")),
            Err(ConfigError::BadRedirect)
        );
        assert_eq!(
            CallbackConfig::from_values(Some("a@b.c"), None, None, Some(" ")),
            Err(ConfigError::MissingLinkKey)
        );
        assert_eq!(
            ConfigError::BadLinkMode("x".into()).to_string(),
            "LINK_MODE must be `confirm` or `one-click`, not `x`"
        );
    }

    #[test]
    fn send_email_settings_default_the_link_lifetime_and_name_what_is_missing() {
        let c = SendEmailConfig::from_values(Some("arn:topic"), Some(KEY), None, None).unwrap();
        assert_eq!(
            c,
            SendEmailConfig {
                topic_arn: "arn:topic".into(),
                link_mode: LinkMode::Confirm,
                link_key_id: KEY.into(),
                link_ttl_seconds: 3600
            }
        );
        let one_click =
            SendEmailConfig::from_values(Some("t"), Some(KEY), None, Some("one-click")).unwrap();
        assert_eq!(one_click.link_mode, LinkMode::OneClick);
        assert!(SendEmailConfig::from_values(Some("t"), Some(KEY), None, Some("fast")).is_err());
        assert_eq!(
            SendEmailConfig::from_values(Some("t"), Some(KEY), Some("86400"), None)
                .unwrap()
                .link_ttl_seconds,
            86400
        );
        assert_eq!(
            SendEmailConfig::from_values(None, Some(KEY), None, None),
            Err(ConfigError::MissingTopic)
        );
        assert_eq!(
            SendEmailConfig::from_values(Some("t"), None, None, None),
            Err(ConfigError::MissingLinkKey)
        );
        for bad in ["0", "-5", "1h", "31536001"] {
            assert_eq!(
                SendEmailConfig::from_values(Some("t"), Some(KEY), Some(bad), None),
                Err(ConfigError::BadLinkTtl),
                "{bad}"
            );
        }
        assert_eq!(
            ConfigError::MissingTopic.to_string(),
            "TOPIC_ARN is not set"
        );
    }
}
