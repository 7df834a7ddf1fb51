//! An execution's status, as Step Functions names it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stored and shown in Step Functions' spelling (`"ABORTED"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 5] = [
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
    ];

    /// Step Functions' own spelling: `RUNNING`, `TIMED_OUT`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// How an execution that ended so ended, for people: "was aborted", "timed out", …
    pub fn ended_as(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "is still running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::TimedOut => "timed out",
            ExecutionStatus::Aborted => "was aborted",
        }
    }

    /// From Step Functions' spelling; `None` for any other text.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

impl TryFrom<String> for ExecutionStatus {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name).ok_or_else(|| format!("`{name}` is not an execution status"))
    }
}

impl From<ExecutionStatus> for &'static str {
    fn from(status: ExecutionStatus) -> Self {
        status.as_str()
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_reads_back_from_its_name_and_nothing_else_reads() {
        for status in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(status.as_str()), Some(status));
        }
        for other in ["running", "PENDING_REDRIVE", ""] {
            assert_eq!(ExecutionStatus::parse(other), None);
        }
    }
}
