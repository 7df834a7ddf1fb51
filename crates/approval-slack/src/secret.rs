//! The Slack app's two secrets, as one Secrets Manager secret holds them:
//! `{"botToken": "xoxb-…", "signingSecret": "…"}`. Read once per instance; never logged (its
//! `Debug` names neither).

use std::fmt;

use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlackSecret {
    /// What the gate calls Slack's Web API with (a bot token, `xoxb-`).
    pub bot_token: String,
    /// What Slack signs every request to the gate with.
    pub signing_secret: String,
}

impl fmt::Debug for SlackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlackSecret { bot_token: <redacted>, signing_secret: <redacted> }")
    }
}

impl SlackSecret {
    /// The secret's string, checked: both fields, non-empty, a bot token. The error names what
    /// is wrong, never a value.
    pub fn parse(secret_string: &str) -> Result<Self, String> {
        let secret: SlackSecret = serde_json::from_str(secret_string).map_err(|err| {
            format!(
                "the Slack secret must be JSON {{\"botToken\": \"xoxb-…\", \"signingSecret\": \"…\"}} \
                 (line {}, column {}: {})",
                err.line(),
                err.column(),
                classify(&err)
            )
        })?;
        if !secret.bot_token.starts_with("xoxb-") {
            return Err("the Slack secret's botToken is not a bot token (xoxb-…)".into());
        }
        if secret.signing_secret.trim().is_empty() {
            return Err("the Slack secret's signingSecret is empty".into());
        }
        Ok(secret)
    }
}

/// What kind of JSON error, without quoting the input (which holds the secrets).
fn classify(err: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match err.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "not JSON",
        Category::Data => "a field is missing, unknown or not a string",
        Category::Eof => "it ends too early",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_secrets_and_never_shows_them() {
        let secret = SlackSecret::parse(
            r#"{"botToken": "xoxb-1-2-abc", "signingSecret": "8f742231b10e8888abcd99yyyzzz85a5"}"#,
        )
        .unwrap();
        assert_eq!(secret.bot_token, "xoxb-1-2-abc");
        let shown = format!("{secret:?}");
        assert!(
            !shown.contains("xoxb") && !shown.contains("8f74"),
            "{shown}"
        );
    }

    #[test]
    fn a_wrong_secret_is_named_without_its_value() {
        for (input, expected) in [
            ("xoxb-secret-value", "not JSON"),
            (r#"{"botToken": "xoxb-secret-value"}"#, "missing"),
            (
                r#"{"botToken": "xoxp-user", "signingSecret": "s"}"#,
                "not a bot token",
            ),
            (
                r#"{"botToken": "xoxb-1", "signingSecret": " "}"#,
                "signingSecret is empty",
            ),
            (
                r#"{"botToken": "xoxb-1", "signingSecret": "s", "x": 1}"#,
                "unknown",
            ),
        ] {
            let err = SlackSecret::parse(input).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
            assert!(!err.contains("secret-value"), "{err}");
        }
    }
}
