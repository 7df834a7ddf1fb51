//! Items written before the record's state was one value (v2: `Outcome`, `Delivery` and
//! `TaskOutput` side by side), read as today's [`RequestState`]. Kept for one release: records
//! leave the table through their TTL (the retention period), after which this goes.

use std::collections::HashMap;

use approval_domain::{Address, Choice, Decided, Delivery, RequestState, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

type Item = HashMap<String, AttributeValue>;

#[derive(Deserialize)]
#[serde(
    tag = "State",
    rename_all = "lowercase",
    rename_all_fields = "PascalCase"
)]
enum Outcome {
    Pending,
    Decided {
        decision: Choice,
        decided_by: Address,
        decided_at: Timestamp,
    },
}

#[derive(Deserialize)]
#[serde(
    tag = "State",
    rename_all = "kebab-case",
    rename_all_fields = "PascalCase"
)]
enum V2Delivery {
    Waiting,
    Sending { since: Timestamp },
    Retry,
    Sent { at: Timestamp },
    TaskClosed { reason: String },
}

/// Rewrites a v2 item in place to carry `State`; an item that has it is left alone.
pub fn upgrade(item: &mut Item) -> Result<(), String> {
    if item.contains_key("State") {
        return Ok(());
    }
    let outcome: Outcome = take(item, "Outcome")?;
    let delivery: V2Delivery = take(item, "Delivery")?;
    let output: Option<String> = item
        .remove("TaskOutput")
        .map(serde_dynamo::from_attribute_value)
        .transpose()
        .map_err(|err| format!("`TaskOutput`: {err}"))?;
    let state = match (outcome, output) {
        (Outcome::Pending, _) => RequestState::Pending,
        (
            Outcome::Decided {
                decision,
                decided_by,
                decided_at,
            },
            Some(output),
        ) => RequestState::Decided(Decided {
            decision,
            by: decided_by,
            at: decided_at,
            output,
            delivery: match delivery {
                V2Delivery::Sent { at } => Delivery::Sent { at },
                V2Delivery::Sending { since } => Delivery::Sending {
                    since,
                    may_have_arrived: false,
                },
                // v2 did not record whether a failed attempt was answered.
                V2Delivery::Retry | V2Delivery::Waiting => Delivery::Retry {
                    may_have_arrived: true,
                },
                // v2 wrote this for a first attempt and for a re-send alike: whether Step
                // Functions ever had the decision, its history says.
                V2Delivery::TaskClosed { reason } => Delivery::Unconfirmed {
                    reason,
                    at: decided_at,
                },
            },
        }),
        (Outcome::Decided { .. }, None) => {
            return Err("a decided v2 record without its `TaskOutput`".into());
        }
    };
    let state = serde_dynamo::to_attribute_value(state).map_err(|err| err.to_string())?;
    item.insert("State".into(), state);
    Ok(())
}

fn take<T: for<'de> Deserialize<'de>>(item: &mut Item, name: &str) -> Result<T, String> {
    let value = item
        .remove(name)
        .ok_or_else(|| format!("neither `State` nor `{name}`"))?;
    serde_dynamo::from_attribute_value(value).map_err(|err| format!("`{name}`: {err}"))
}

#[cfg(test)]
mod tests {
    use approval_domain::{ApprovalRequest, memory::fixtures};
    use serde_json::json;

    use super::*;

    /// A record as v2 wrote it, from today's: its `State` replaced by the three v2 attributes.
    fn v2_item(
        request: &ApprovalRequest,
        outcome: serde_json::Value,
        delivery: serde_json::Value,
        output: Option<&str>,
    ) -> Item {
        let mut item: Item = serde_dynamo::to_item(request).unwrap();
        item.remove("State");
        item.insert(
            "Outcome".into(),
            serde_dynamo::to_attribute_value(outcome).unwrap(),
        );
        item.insert(
            "Delivery".into(),
            serde_dynamo::to_attribute_value(delivery).unwrap(),
        );
        if let Some(output) = output {
            item.insert("TaskOutput".into(), AttributeValue::S(output.into()));
        }
        item
    }

    fn read(mut item: Item) -> Result<ApprovalRequest, String> {
        upgrade(&mut item)?;
        serde_dynamo::from_item(item).map_err(|err| err.to_string())
    }

    #[test]
    fn v2_items_read_as_the_state_they_meant() {
        let (request, _) = ApprovalRequest::open(fixtures::new_request(2, 1));
        let pending = read(v2_item(
            &request,
            json!({"State": "pending"}),
            json!({"State": "waiting"}),
            None,
        ))
        .unwrap();
        assert_eq!(pending, request);

        let decided = json!({"State": "decided", "Decision": "approved", "DecidedBy": "approver0@example.com", "DecidedAt": "2027-01-15T08:00:01Z"});
        let sent = read(v2_item(
            &request,
            decided.clone(),
            json!({"State": "sent", "At": "2027-01-15T08:00:02Z"}),
            Some("{\"Decision\":\"approved\"}"),
        ))
        .unwrap();
        let Some(Decided {
            decision,
            by,
            output,
            delivery,
            ..
        }) = sent.decided()
        else {
            panic!("{:?}", sent.state)
        };
        assert_eq!(
            (*decision, by.as_str(), output.as_str()),
            (
                Choice::Approved,
                "approver0@example.com",
                "{\"Decision\":\"approved\"}"
            )
        );
        assert!(matches!(delivery, Delivery::Sent { .. }));

        let closed = read(v2_item(
            &request,
            decided.clone(),
            json!({"State": "task-closed", "Reason": "TaskTimedOut"}),
            Some("{}"),
        ))
        .unwrap();
        assert!(
            matches!(&closed.decided().unwrap().delivery, Delivery::Unconfirmed { reason, .. } if reason == "TaskTimedOut")
        );

        let retry = read(v2_item(
            &request,
            decided.clone(),
            json!({"State": "retry"}),
            Some("{}"),
        ))
        .unwrap();
        assert_eq!(
            retry.decided().unwrap().delivery,
            Delivery::Retry {
                may_have_arrived: true
            }
        );

        let broken = read(v2_item(
            &request,
            decided,
            json!({"State": "sent", "At": "2027-01-15T08:00:02Z"}),
            None,
        ))
        .unwrap_err();
        assert!(broken.contains("TaskOutput"), "{broken}");
    }

    #[test]
    fn todays_items_are_left_alone() {
        let (request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        let mut item: Item = serde_dynamo::to_item(&request).unwrap();
        let before = item.clone();
        upgrade(&mut item).unwrap();
        assert_eq!(item, before);
    }
}
