//! A Step Functions execution's ARN, checked once where it comes in:
//! `arn:PARTITION:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A standard workflow execution's ARN; every part non-empty. Stored and shown as the ARN.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExecutionArn(String);

impl ExecutionArn {
    /// `None` for anything else: a state machine's ARN, an Express execution's, an empty part.
    pub fn parse(arn: &str) -> Option<Self> {
        Self::parts_of(arn).map(|_| Self(arn.to_owned()))
    }

    fn parts_of(arn: &str) -> Option<[&str; 5]> {
        let mut split = arn.split(':');
        let mut next = || split.next().unwrap_or_default();
        let (arn_, partition, states, region, account, execution) =
            (next(), next(), next(), next(), next(), next());
        let (state_machine, name) = (next(), next());
        let labels_ok = (arn_, states, execution) == ("arn", "states", "execution");
        let parts = [partition, region, account, state_machine, name];
        (labels_ok && split.next().is_none() && !parts.iter().any(|part| part.is_empty()))
            .then_some(parts)
    }

    fn part(&self, index: usize) -> &str {
        // Checked when it was made: every part is there.
        Self::parts_of(&self.0).map_or("", |parts| parts[index])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn partition(&self) -> &str {
        self.part(0)
    }

    pub fn region(&self) -> &str {
        self.part(1)
    }

    pub fn account(&self) -> &str {
        self.part(2)
    }

    /// The state machine's name.
    pub fn state_machine(&self) -> &str {
        self.part(3)
    }

    /// The execution's name.
    pub fn name(&self) -> &str {
        self.part(4)
    }

    /// The ARN of the state machine the execution belongs to: Step Functions names an
    /// execution after its state machine.
    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:stateMachine:{}",
            self.partition(),
            self.region(),
            self.account(),
            self.state_machine()
        )
    }
}

impl fmt::Display for ExecutionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExecutionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExecutionArn({})", self.0)
    }
}

impl TryFrom<String> for ExecutionArn {
    type Error = String;
    fn try_from(arn: String) -> Result<Self, Self::Error> {
        Self::parse(&arn).ok_or_else(|| format!("`{arn}` is not a standard execution's ARN"))
    }
}

impl From<ExecutionArn> for String {
    fn from(arn: ExecutionArn) -> Self {
        arn.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures;

    #[test]
    fn an_execution_arn_names_its_parts_and_its_state_machine() {
        let arn = fixtures::execution_arn();
        let parsed = ExecutionArn::parse(&arn).unwrap();
        assert_eq!(parsed.state_machine_arn(), fixtures::state_machine_arn());
        assert_eq!(parsed.name(), fixtures::EXECUTION_NAME);
        assert_eq!(parsed.as_str(), arn);
        let gov = ExecutionArn::parse(
            "arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:Export_2:run-1",
        )
        .unwrap();
        assert_eq!(
            (
                gov.partition(),
                gov.region(),
                gov.account(),
                gov.state_machine(),
                gov.name()
            ),
            (
                "aws-us-gov",
                "us-gov-west-1",
                "111122223333",
                "Export_2",
                "run-1"
            )
        );
        assert_eq!(
            gov.state_machine_arn(),
            "arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:Export_2"
        );
    }

    #[test]
    fn it_is_stored_as_the_arn_and_read_back_only_if_it_is_one() {
        let arn = ExecutionArn::parse(&fixtures::execution_arn()).unwrap();
        let json = serde_json::to_value(&arn).unwrap();
        assert_eq!(json, serde_json::json!(fixtures::execution_arn()));
        assert_eq!(serde_json::from_value::<ExecutionArn>(json).unwrap(), arn);
        assert!(
            serde_json::from_value::<ExecutionArn>(serde_json::json!("arn:aws:states:x")).is_err()
        );
    }

    #[test]
    fn anything_but_a_standard_execution_arn_is_none() {
        for not_one in [
            "",
            "arn:aws:states:us-east-1:123456789012:stateMachine:HumanApproval",
            "arn:aws:states:us-east-1:123456789012:express:HumanApproval:run:1",
            "arn:aws:states:us-east-1:123456789012:execution:HumanApproval",
            "arn:aws:states:us-east-1:123456789012:execution::run",
            "arn:aws:states::123456789012:execution:HumanApproval:run",
            "arn:aws:lambda:us-east-1:123456789012:execution:HumanApproval:run",
            "arn:aws:states:us-east-1:123456789012:execution:HumanApproval:run:extra",
        ] {
            assert_eq!(ExecutionArn::parse(not_one), None, "{not_one}");
        }
    }
}
