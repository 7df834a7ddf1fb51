//! What a link carries: the action's target task and the names shown to the approver.

use std::fmt;

/// Longest task token Step Functions issues (API limit of `SendTaskSuccess.taskToken`).
pub const MAX_TOKEN_CHARS: usize = 2048;
/// Longest execution or state machine name Step Functions accepts.
pub const MAX_NAME_CHARS: usize = 80;

/// A Step Functions task token.
///
/// It is a bearer credential for the paused task, so it never appears in `Debug` output or logs:
/// the only way to read it is [`TaskToken::expose`], used where it must leave the process
/// (the link, the form, the `SendTaskSuccess` call).
#[derive(Clone, PartialEq, Eq)]
pub struct TaskToken(String);

impl TaskToken {
    /// Checks the token's shape: 1 to 2048 characters of the base64 alphabets.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::Empty(field));
        }
        let chars = raw.chars().count();
        if chars > MAX_TOKEN_CHARS {
            return Err(FieldError::TooLong {
                field,
                max: MAX_TOKEN_CHARS,
                actual: chars,
            });
        }
        if raw.contains(' ') {
            // The classic symptom of a link whose `+` was not percent-encoded (or was decoded twice).
            return Err(FieldError::Invalid {
                field,
                reason: "contains a space; the link was probably altered or copied incompletely",
            });
        }
        // Tokens are base64 (standard or URL-safe alphabet). Anything else, e.g. a `%` left by
        // broken percent-encoding, cannot be a token: refuse it here instead of asking Step Functions.
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
        {
            return Err(FieldError::Invalid {
                field,
                reason: "contains characters a task token never has",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The token itself, for the link, the form and the `SendTaskSuccess` call only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<redacted, {} chars>)", self.0.len())
    }
}

/// A problem with one named input field; the message names the field so the caller can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("`{field}` is {actual} characters long; at most {max} are allowed")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("`{field}` {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("`{0}` is given more than once")]
    Repeated(&'static str),
    #[error("`{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

/// Checks an execution or state machine name: 1 to 80 characters, no control characters.
///
/// Deliberately lenient beyond that (spaces, non-ASCII letters): the names are only displayed
/// (escaped) and used in the console URL (percent-encoded), and Step Functions is the authority
/// on what it accepts.
pub fn parse_name(field: &'static str, raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::Empty(field));
    }
    let chars = raw.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(FieldError::TooLong {
            field,
            max: MAX_NAME_CHARS,
            actual: chars,
        });
    }
    if raw.contains('\u{FFFD}') {
        // What lossy decoding leaves of invalid UTF-8; the callback refuses it, so send-email
        // must not mail a link the callback would refuse.
        return Err(FieldError::Invalid {
            field,
            reason: "contains U+FFFD, the mark of text that was not valid UTF-8",
        });
    }
    if raw.chars().any(char::is_control) {
        return Err(FieldError::Invalid {
            field,
            reason: "contains control characters",
        });
    }
    Ok(raw.to_owned())
}

/// The task an approval link acts on, and the names the approver is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub execution_name: String,
    pub state_machine_name: String,
    pub task_token: TaskToken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_output_never_contains_the_token() {
        let token = TaskToken::parse("taskToken", "AAAA+secret/token==").unwrap();
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown, "TaskToken(<redacted, 19 chars>)");
    }

    #[test]
    fn token_shape_is_checked() {
        assert_eq!(TaskToken::parse("t", ""), Err(FieldError::Empty("t")));
        let long = "A".repeat(MAX_TOKEN_CHARS + 1);
        assert_eq!(
            TaskToken::parse("t", &long),
            Err(FieldError::TooLong {
                field: "t",
                max: 2048,
                actual: 2049
            })
        );
        assert!(TaskToken::parse("t", &"A".repeat(MAX_TOKEN_CHARS)).is_ok());
        let err = TaskToken::parse("t", "abc def").unwrap_err().to_string();
        assert!(err.contains("space"), "{err}");
        assert!(TaskToken::parse("t", "abc\u{e9}").is_err());
        assert!(TaskToken::parse("t", "abc\ndef").is_err());
        assert!(
            TaskToken::parse("t", "abc%2").is_err(),
            "broken percent-encoding"
        );
        assert!(TaskToken::parse("t", "a\"><b").is_err());
        assert!(TaskToken::parse("t", "AZaz09+/=-_").is_ok());
    }

    #[test]
    fn names_allow_spaces_and_non_ascii_but_not_control_characters() {
        assert_eq!(
            parse_name("ex", "Quartalsbericht für Zoë").unwrap(),
            "Quartalsbericht für Zoë"
        );
        assert_eq!(parse_name("ex", ""), Err(FieldError::Empty("ex")));
        assert!(parse_name("ex", "a\r\nb").is_err());
        assert!(
            parse_name("ex", "a\u{FFFD}b")
                .unwrap_err()
                .to_string()
                .contains("U+FFFD")
        );
        assert!(parse_name("ex", &"é".repeat(80)).is_ok());
        assert!(matches!(
            parse_name("ex", &"é".repeat(81)),
            Err(FieldError::TooLong { actual: 81, .. })
        ));
    }
}
