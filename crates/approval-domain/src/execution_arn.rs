//! A Step Functions execution's ARN taken apart:
//! `arn:PARTITION:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME`.

/// The parts of a standard workflow execution's ARN, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecutionArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub state_machine: &'a str,
    pub name: &'a str,
}

impl<'a> ExecutionArn<'a> {
    /// `None` for anything else: a state machine's ARN, an Express execution's, an empty part.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [
            "arn",
            partition,
            "states",
            region,
            account,
            "execution",
            state_machine,
            name,
        ] = parts[..]
        else {
            return None;
        };
        let arn = Self {
            partition,
            region,
            account,
            state_machine,
            name,
        };
        let parts = [partition, region, account, state_machine, name];
        (!parts.iter().any(|part| part.is_empty())).then_some(arn)
    }

    /// The ARN of the state machine the execution belongs to: Step Functions names an
    /// execution after its state machine.
    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:stateMachine:{}",
            self.partition, self.region, self.account, self.state_machine
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures;

    #[test]
    fn an_execution_arn_names_its_state_machine() {
        let arn = fixtures::execution_arn();
        let parsed = ExecutionArn::parse(&arn).unwrap();
        assert_eq!(parsed.state_machine_arn(), fixtures::state_machine_arn());
        assert_eq!(parsed.name, fixtures::EXECUTION_NAME);
        let gov = "arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:Export_2:run-1";
        assert_eq!(
            ExecutionArn::parse(gov).unwrap().state_machine_arn(),
            "arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:Export_2"
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
