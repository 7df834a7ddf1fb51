//! approval-callback's settings, from its environment (template.yaml sets each one).

use approval_aws::settings::ConfigError;
use approval_domain::LinkMode;
use approval_slack::{SlackSettings, SlackVars};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
struct Vars {
    #[serde(rename = "REQUESTS_TABLE")]
    requests_table: String,
    #[serde(rename = "LINK_MODE", default)]
    link_mode: Option<LinkMode>,
    #[serde(rename = "REDIRECT_URL", default)]
    redirect_url: Option<String>,
    #[serde(flatten)]
    slack: SlackVars,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub requests_table: String,
    pub link_mode: LinkMode,
    /// Where the deciding vote's browser goes; `None`: the execution's console page.
    pub redirect_url: Option<Url>,
    /// Slack's settings (`SLACK_DELIVERY`, …); `None`: Slack is off, `/slack/interactions` is
    /// 404.
    pub slack: Option<SlackSettings>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vars = approval_aws::settings::from_vars(vars)?;
        let redirect_url = vars
            .redirect_url
            .as_deref()
            .map(redirect_target)
            .transpose()?;
        Ok(Self {
            requests_table: vars.requests_table,
            link_mode: vars.link_mode.unwrap_or_default(),
            redirect_url,
            slack: vars.slack.settings().map_err(ConfigError::new)?,
        })
    }
}

/// `REDIRECT_URL` must be https; plain http only to this machine (the local stack's page).
fn redirect_target(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|err| ConfigError::new(format!("REDIRECT_URL `{raw}` is not a URL: {err}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(ConfigError::new(format!(
            "REDIRECT_URL `{raw}` must be an https URL"
        ))),
    }
}

/// The settings every test of approval-callback starts from (confirm mode, redirect to
/// `https://example.com/decided`), with `overrides` in place of the variables of those names.
/// Feature `test-util`.
#[cfg(any(test, feature = "test-util"))]
pub fn test_vars(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    approval_aws::settings::overridden(
        [
            ("REQUESTS_TABLE", "requests".to_owned()),
            ("LINK_MODE", "confirm".to_owned()),
            ("REDIRECT_URL", "https://example.com/decided".to_owned()),
        ],
        overrides,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn vars() -> Vec<(String, String)> {
        test_vars(&[("REDIRECT_URL", "")])
    }

    fn with(name: &str, value: &str) -> Result<Config, String> {
        let mut vars = vars();
        vars.push((name.to_owned(), value.to_owned()));
        Config::from_vars(vars).map_err(|err| err.to_string())
    }

    #[test]
    fn redirect_is_https_or_loopback_http_and_empty_means_console() {
        assert_eq!(with("REDIRECT_URL", "").unwrap().redirect_url, None);
        assert_eq!(
            with("REDIRECT_URL", "https://example.com/done")
                .unwrap()
                .redirect_url
                .unwrap()
                .as_str(),
            "https://example.com/done"
        );
        assert!(with("REDIRECT_URL", "http://127.0.0.1:8080/x").is_ok());
        for bad in ["http://example.com/", "javascript:alert(1)", "not a url"] {
            assert!(
                with("REDIRECT_URL", bad)
                    .unwrap_err()
                    .contains("REDIRECT_URL"),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_or_missing_settings_are_named() {
        assert!(
            with("LINK_MODE", "sometimes")
                .unwrap_err()
                .contains("LINK_MODE")
        );
        let missing = Config::from_vars(vars().into_iter().filter(|(k, _)| k != "REQUESTS_TABLE"))
            .unwrap_err();
        assert!(missing.to_string().contains("REQUESTS_TABLE"), "{missing}");
        assert_eq!(
            with("LINK_MODE", "one-click").unwrap().link_mode,
            LinkMode::OneClick
        );
    }
}
