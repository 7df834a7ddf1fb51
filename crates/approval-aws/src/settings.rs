//! A Lambda's settings from its environment, through serde: each function declares a struct
//! whose field names are the variables (`#[serde(rename = "TOPIC_ARN")]`), and a missing or
//! malformed one is named in the error.

use serde::de::DeserializeOwned;

/// A setting that is missing or wrong, named with what is wrong with it. A function holding one
/// answers every request with the misconfiguration error until it is redeployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(problem: impl Into<String>) -> Self {
        Self(problem.into())
    }
}

/// Reads `T` from `vars` (the process environment in `main`, a list in tests). Variables that
/// are set but empty count as unset, as the template writes an empty string for "none".
pub fn from_vars<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let map: serde_json::Map<String, serde_json::Value> = vars
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, value)| (name, serde_json::Value::String(value)))
        .collect();
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|err| {
        let variable = err.path().to_string();
        // serde names a missing variable itself: "missing field `TOPIC_ARN`".
        let problem = err
            .into_inner()
            .to_string()
            .replace("missing field", "missing environment variable");
        ConfigError(if variable == "." {
            problem
        } else {
            format!("{variable}: {problem}")
        })
    })
}

/// `vars` with each of `overrides` in place of the variable of that name (or added): the
/// settings a test starts from, changed where it says. Feature `test-util`.
#[cfg(any(test, feature = "test-util"))]
pub fn overridden<'a>(
    vars: impl IntoIterator<Item = (&'a str, String)>,
    overrides: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| !overrides.iter().any(|(o, _)| o == name))
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    vars.extend(
        overrides
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    vars
}

pub fn from_env<T: DeserializeOwned>() -> Result<T, ConfigError> {
    from_vars(std::env::vars())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Settings {
        #[serde(rename = "TOPIC_ARN")]
        topic_arn: String,
        #[serde(rename = "REDIRECT_URL", default)]
        redirect_url: Option<String>,
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_named_variables_and_treats_empty_as_unset() {
        let settings: Settings = from_vars(vars(&[
            ("TOPIC_ARN", "arn:t"),
            ("REDIRECT_URL", ""),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                topic_arn: "arn:t".into(),
                redirect_url: None
            }
        );
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = from_vars::<Settings>(vars(&[("TOPIC_ARN", " ")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing environment variable `TOPIC_ARN`"),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_variable_is_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        enum Mode {
            #[serde(rename = "confirm")]
            Confirm,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct WithMode {
            #[serde(rename = "LINK_MODE")]
            link_mode: Mode,
        }
        let err = from_vars::<WithMode>(vars(&[("LINK_MODE", "twice")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("LINK_MODE: unknown variant `twice`"),
            "{err}"
        );
    }
}
