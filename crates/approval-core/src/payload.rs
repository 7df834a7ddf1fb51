//! The `send-email` input: the seed's `{ExecutionContext, APIGatewayEndpoint}` payload.
//!
//! Read field by field from JSON (rather than through one `#[derive(Deserialize)]`) so that every
//! error names the exact path of the field that is missing or wrong, which is what the person
//! wiring a state machine to this function needs to see in the execution history.

use serde_json::Value;

use crate::{
    Action, ApprovalRequest, FieldError, TaskToken,
    link::{Endpoint, EndpointError, SignedLinks},
    request::parse_name,
    signing::{self, LinkSignature},
};

pub const TOKEN_FIELD: &str = "ExecutionContext.Task.Token";
pub const EXECUTION_NAME_FIELD: &str = "ExecutionContext.Execution.Name";
pub const STATE_MACHINE_NAME_FIELD: &str = "ExecutionContext.StateMachine.Name";
pub const ENDPOINT_FIELD: &str = "APIGatewayEndpoint";
pub const SUBJECT_FIELD: &str = "Subject";

/// Everything `send-email` needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalTask {
    pub request: ApprovalRequest,
    pub endpoint: Endpoint,
    /// `ExecutionContext.Execution.Input`, shown to the approver as context.
    pub execution_input: Option<Value>,
    /// `ExecutionContext.Execution.StartTime`, shown as is.
    pub started_at: Option<String>,
    /// Optional top-level `Subject` overriding the default email subject.
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    #[error("the payload must be a JSON object with `ExecutionContext` and `APIGatewayEndpoint`")]
    NotAnObject,
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

impl ApprovalTask {
    /// The bytes to MAC for `action`'s link, expiring at `expires_at` (Unix seconds).
    pub fn signed_message(&self, action: Action, expires_at: i64) -> Vec<u8> {
        signing::signed_message(action, &self.request, expires_at)
    }

    /// Both links, with the MACs KMS made for [`Self::signed_message`] of each.
    pub fn signed_links(
        &self,
        expires_at: i64,
        approve_mac: Vec<u8>,
        reject_mac: Vec<u8>,
    ) -> SignedLinks {
        let link = |action, mac| {
            self.endpoint
                .link(action, &self.request, &LinkSignature { expires_at, mac })
        };
        SignedLinks {
            expires_at,
            approve: link(Action::Approve, approve_mac),
            reject: link(Action::Reject, reject_mac),
        }
    }

    pub fn from_payload(payload: &Value) -> Result<Self, PayloadError> {
        if !payload.is_object() {
            return Err(PayloadError::NotAnObject);
        }
        let token = required_str(payload, TOKEN_FIELD)?;
        let execution_name = required_str(payload, EXECUTION_NAME_FIELD)?;
        let state_machine_name = required_str(payload, STATE_MACHINE_NAME_FIELD)?;
        let endpoint = required_str(payload, ENDPOINT_FIELD)?;
        Ok(Self {
            request: ApprovalRequest {
                execution_name: parse_name(EXECUTION_NAME_FIELD, execution_name)?,
                state_machine_name: parse_name(STATE_MACHINE_NAME_FIELD, state_machine_name)?,
                task_token: TaskToken::parse(TOKEN_FIELD, token)?,
            },
            endpoint: Endpoint::parse(endpoint)?,
            execution_input: lookup(payload, "ExecutionContext.Execution.Input").cloned(),
            started_at: optional_str(payload, "ExecutionContext.Execution.StartTime")?
                .map(str::to_owned),
            subject: optional_str(payload, SUBJECT_FIELD)?.map(str::to_owned),
        })
    }
}

/// Follows a dotted path through nested objects.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, key| node.get(key))
}

fn required_str<'a>(payload: &'a Value, path: &'static str) -> Result<&'a str, FieldError> {
    match lookup(payload, path) {
        None | Some(Value::Null) => Err(FieldError::Missing(path)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::WrongType {
            field: path,
            expected: "a string",
        }),
    }
}

fn optional_str<'a>(payload: &'a Value, path: &'static str) -> Result<Option<&'a str>, FieldError> {
    match lookup(payload, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(FieldError::WrongType {
            field: path,
            expected: "a string",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload() -> Value {
        json!({
            "ExecutionContext": {
                "Execution": {
                    "Id": "arn:aws:states:us-east-1:123456789012:execution:HumanApproval:run-1",
                    "Name": "run-1",
                    "Input": {"Comment": "Testing the human approval tutorial."},
                    "StartTime": "2026-11-26T09:00:00.000Z"
                },
                "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:HumanApproval", "Name": "HumanApproval"},
                "Task": {"Token": "AAAA+bb/cc=="}
            },
            "APIGatewayEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/states"
        })
    }

    fn error_with(mutate: impl FnOnce(&mut Value)) -> String {
        let mut p = payload();
        mutate(&mut p);
        ApprovalTask::from_payload(&p).unwrap_err().to_string()
    }

    #[test]
    fn reads_the_seed_payload() {
        let task = ApprovalTask::from_payload(&payload()).unwrap();
        assert_eq!(task.request.execution_name, "run-1");
        assert_eq!(task.request.state_machine_name, "HumanApproval");
        assert_eq!(task.request.task_token.expose(), "AAAA+bb/cc==");
        assert_eq!(
            task.execution_input,
            Some(json!({"Comment": "Testing the human approval tutorial."}))
        );
        assert_eq!(task.started_at.as_deref(), Some("2026-11-26T09:00:00.000Z"));
        assert_eq!(task.subject, None);
    }

    #[test]
    fn every_required_field_is_named_when_missing() {
        type Mutation = fn(&mut Value);
        let cases: [(&str, Mutation); 4] = [
            (TOKEN_FIELD, |p| {
                drop(
                    p["ExecutionContext"]["Task"]
                        .as_object_mut()
                        .unwrap()
                        .remove("Token"),
                )
            }),
            (EXECUTION_NAME_FIELD, |p| {
                drop(
                    p["ExecutionContext"]["Execution"]
                        .as_object_mut()
                        .unwrap()
                        .remove("Name"),
                )
            }),
            (STATE_MACHINE_NAME_FIELD, |p| {
                p["ExecutionContext"]["StateMachine"] = Value::Null
            }),
            (ENDPOINT_FIELD, |p| {
                drop(p.as_object_mut().unwrap().remove("APIGatewayEndpoint"))
            }),
        ];
        for (field, mutate) in cases {
            assert_eq!(error_with(mutate), format!("`{field}` is missing"));
        }
        assert_eq!(
            error_with(|p| drop(p.as_object_mut().unwrap().remove("ExecutionContext"))),
            format!("`{TOKEN_FIELD}` is missing")
        );
    }

    #[test]
    fn wrong_types_and_bad_values_are_named() {
        assert_eq!(
            error_with(|p| p["ExecutionContext"]["Task"]["Token"] = json!(42)),
            format!("`{TOKEN_FIELD}` must be a string")
        );
        assert_eq!(
            error_with(|p| p["ExecutionContext"]["Task"]["Token"] = json!("")),
            format!("`{TOKEN_FIELD}` is empty")
        );
        assert!(
            error_with(|p| p["APIGatewayEndpoint"] = json!("not a url"))
                .contains("`APIGatewayEndpoint` is not a URL")
        );
        assert!(
            error_with(|p| p["ExecutionContext"]["Execution"]["Name"] = json!("a\u{7}b"))
                .contains(EXECUTION_NAME_FIELD)
        );
        assert_eq!(
            error_with(|p| p["Subject"] = json!(["x"])),
            "`Subject` must be a string"
        );
        assert_eq!(
            ApprovalTask::from_payload(&json!([1])).unwrap_err(),
            PayloadError::NotAnObject
        );
    }
}
