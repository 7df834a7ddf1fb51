//! The Step Functions task token a request completes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Step Functions task token: a bearer credential for the task's result. Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for `SendTaskSuccess` and the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<{} chars, redacted>)", self.0.len())
    }
}
