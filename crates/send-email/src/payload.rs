//! The invocation: the seed's `{ExecutionContext, APIGatewayEndpoint}` payload, with the
//! optional `Subject` and `Approval` block of the contract. Read with serde; every error names
//! the path of the field (`ExecutionContext.Task.Token: missing field …`), which is what the
//! person wiring a state machine to this function sees in the execution history.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invocation {
    pub execution_context: ExecutionContext,
    #[serde(rename = "APIGatewayEndpoint", default)]
    pub api_gateway_endpoint: Option<String>,
    /// The seed-era subject override; `Approval.Subject` wins over it.
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub approval: Option<ApprovalBlock>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionContext {
    pub execution: Execution,
    pub state_machine: StateMachine,
    pub task: Task,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Execution {
    /// The execution ARN.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub input: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    pub token: String,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Task { token: <redacted> }")
    }
}

/// What the caller's state machine says of the approval it asks for; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ApprovalBlock {
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub details: Option<Value>,
    pub approvers: Option<Vec<String>>,
    pub required_approvals: Option<u64>,
    pub requested_by: Option<String>,
    pub expires_in_seconds: Option<u64>,
    pub reminders: Option<Vec<ReminderAsk>>,
    pub escalations: Option<Vec<EscalationAsk>>,
}

/// `Approval.Reminders[]`: remind the approvers who have not voted, so long after the request
/// opened.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ReminderAsk {
    pub after_seconds: u64,
}

/// `Approval.Escalations[]`: add these approvers, so long after the request opened.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EscalationAsk {
    pub after_seconds: u64,
    pub add_approvers: Vec<String>,
}

impl Invocation {
    /// Reads the payload; the error names the field's path and what is wrong with it.
    pub fn parse(payload: &Value) -> Result<Self, String> {
        if !payload.is_object() {
            return Err("the payload must be a JSON object with `ExecutionContext` (\"ExecutionContext.$\": \"$$\")".into());
        }
        serde_path_to_error::deserialize(payload).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner().to_string();
            if path == "." {
                inner
            } else {
                format!("`{path}`: {inner}")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_seed_payload_parses() {
        let invocation = Invocation::parse(&fixtures::payload()).unwrap();
        assert_eq!(
            invocation.execution_context.execution.id,
            fixtures::execution_arn()
        );
        assert_eq!(
            invocation.execution_context.task.token,
            fixtures::task_token()
        );
        assert!(invocation.approval.is_none());
        assert!(!format!("{invocation:?}").contains(&fixtures::task_token()));
    }

    #[test]
    fn errors_name_the_path() {
        let mut no_token = fixtures::payload();
        no_token["ExecutionContext"]["Task"] = json!({});
        assert_eq!(
            Invocation::parse(&no_token).unwrap_err(),
            "`ExecutionContext.Task`: missing field `Token`"
        );
        let mut wrong_type = fixtures::payload();
        wrong_type["ExecutionContext"]["Execution"]["Name"] = json!(7);
        let err = Invocation::parse(&wrong_type).unwrap_err();
        assert!(
            err.starts_with(
                "`ExecutionContext.Execution.Name`: invalid type: integer `7`, expected a string"
            ),
            "{err}"
        );
        let typo = fixtures::payload_with(json!({"Approver": ["a@example.com"]}));
        let err = Invocation::parse(&typo).unwrap_err();
        assert!(
            err.starts_with("`Approval.Approver`: unknown field `Approver`, expected one of"),
            "{err}"
        );
        assert!(
            Invocation::parse(&json!([1]))
                .unwrap_err()
                .contains("JSON object")
        );
    }
}
