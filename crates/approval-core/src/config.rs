//! `approval-callback` settings, read once at cold start from the environment.

use std::str::FromStr;

use url::Url;

pub const APPROVER_EMAIL_VAR: &str = "APPROVER_EMAIL";
pub const LINK_MODE_VAR: &str = "LINK_MODE";
pub const REDIRECT_URL_VAR: &str = "REDIRECT_URL";

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackConfig {
    /// Recorded in the task output as who decided (the seed's behaviour: the subscribed address).
    pub approver: String,
    pub link_mode: LinkMode,
    /// Where to send the approver after a decision; `None` means the execution's console page.
    pub redirect_url: Option<Url>,
}

impl CallbackConfig {
    /// Builds the settings from the raw variable values (`None` = unset). Empty counts as unset
    /// for the optional ones, because CloudFormation cannot leave a variable out conditionally
    /// without ceremony.
    pub fn from_values(
        approver: Option<&str>,
        link_mode: Option<&str>,
        redirect_url: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let approver = approver
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or(ConfigError::MissingApprover)?;
        if !looks_like_email(approver) {
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
        Ok(Self {
            approver: approver.to_owned(),
            link_mode: link_mode.unwrap_or_default().trim().parse()?,
            redirect_url,
        })
    }

    /// Reads the three variables from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name| std::env::var(name).ok();
        Self::from_values(
            var(APPROVER_EMAIL_VAR).as_deref(),
            var(LINK_MODE_VAR).as_deref(),
            var(REDIRECT_URL_VAR).as_deref(),
        )
    }
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

    #[test]
    fn defaults_to_confirm_mode_and_console_redirect() {
        let c = CallbackConfig::from_values(Some("a@example.com"), None, None).unwrap();
        assert_eq!(
            c,
            CallbackConfig {
                approver: "a@example.com".into(),
                link_mode: LinkMode::Confirm,
                redirect_url: None
            }
        );
        let c = CallbackConfig::from_values(Some("a@example.com"), Some(""), Some("")).unwrap();
        assert_eq!(c.link_mode, LinkMode::Confirm);
        assert_eq!(c.redirect_url, None);
    }

    #[test]
    fn reads_one_click_and_redirect() {
        let c = CallbackConfig::from_values(
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
            CallbackConfig::from_values(None, None, None),
            Err(ConfigError::MissingApprover)
        );
        assert_eq!(
            CallbackConfig::from_values(Some(" "), None, None),
            Err(ConfigError::MissingApprover)
        );
        assert_eq!(
            CallbackConfig::from_values(Some("nobody"), None, None),
            Err(ConfigError::BadApprover)
        );
        assert_eq!(
            CallbackConfig::from_values(Some("a b@c.d"), None, None),
            Err(ConfigError::BadApprover)
        );
        assert_eq!(
            CallbackConfig::from_values(Some("a@b.c"), Some("OneClick"), None),
            Err(ConfigError::BadLinkMode("OneClick".into()))
        );
        assert_eq!(
            CallbackConfig::from_values(Some("a@b.c"), None, Some("/done")),
            Err(ConfigError::BadRedirect)
        );
        assert_eq!(
            CallbackConfig::from_values(Some("a@b.c"), None, Some("javascript:alert(1)")),
            Err(ConfigError::BadRedirect)
        );
        assert_eq!(
            ConfigError::BadLinkMode("x".into()).to_string(),
            "LINK_MODE must be `confirm` or `one-click`, not `x`"
        );
    }
}
