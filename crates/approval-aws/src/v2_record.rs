//! Items written by earlier releases, read as today's record. Kept for one release: records
//! leave the table through their TTL (the retention period), after which this goes.
//! - v2 kept the state in three attributes (`Outcome`, `Delivery` and `TaskOutput` side by
//!   side): read as today's [`RequestState`].
//! - v2 (and the release after it) gave each approver one credential for both actions
//!   (`CredentialHash`): read as [`LinkHashes`] holding that hash for both, so the links already
//!   mailed keep working as they did. Requests opened from now on get one credential per action.
//! - Before this release the callback told approvers of a decision itself, right after Step
//!   Functions took it; now send-email tells them when the record says it has not
//!   (`Decided.ToldAt`, written as `null` until then). A decided item without `ToldAt` was told
//!   by the release before: it reads as told when it was decided, so nobody is told twice.

use std::collections::HashMap;

use approval_domain::{
    Address, Choice, CredentialHash, Decided, Delivery, LinkHashes, RequestState, Timestamp,
};
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

/// Rewrites an earlier release's item in place as today's; today's items are left alone.
pub fn upgrade(item: &mut Item) -> Result<(), String> {
    upgrade_link_hashes(item)?;
    upgrade_state(item)?;
    upgrade_told(item);
    Ok(())
}

/// A decided state without `ToldAt` gets its own `At`: the callback told the approvers then.
fn upgrade_told(item: &mut Item) {
    let Some(AttributeValue::M(state)) = item.get_mut("State") else {
        return;
    };
    let decided = matches!(state.get("Name"), Some(AttributeValue::S(name)) if name == "decided");
    if decided
        && !state.contains_key("ToldAt")
        && let Some(at) = state.get("At").cloned()
    {
        state.insert("ToldAt".into(), at);
    }
}

/// Each approver's one `CredentialHash` becomes the hash of both of their links.
fn upgrade_link_hashes(item: &mut Item) -> Result<(), String> {
    let Some(AttributeValue::L(approvers)) = item.get_mut("Approvers") else {
        return Ok(());
    };
    for (slot, approver) in approvers.iter_mut().enumerate() {
        let AttributeValue::M(entry) = approver else {
            return Err(format!("`Approvers[{slot}]` is not a map"));
        };
        if entry.contains_key("LinkHashes") {
            continue;
        }
        let hash: CredentialHash =
            take(entry, "CredentialHash").map_err(|err| format!("`Approvers[{slot}]`: {err}"))?;
        let hashes = LinkHashes {
            approve: hash.clone(),
            reject: hash,
        };
        let hashes = serde_dynamo::to_attribute_value(hashes).map_err(|err| err.to_string())?;
        entry.insert("LinkHashes".into(), hashes);
    }
    Ok(())
}

/// A v2 item's three attributes become `State`; an item that has it is left alone.
fn upgrade_state(item: &mut Item) -> Result<(), String> {
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
            told_at: Some(decided_at),
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
    let value = item.remove(name).ok_or_else(|| format!("no `{name}`"))?;
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
        assert_eq!(sent.untold(), None, "the v2 callback told its approvers");

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
    fn one_credential_per_approver_still_opens_both_of_their_links() {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(2, 1));
        let mut item: Item = serde_dynamo::to_item(&request).unwrap();
        let Some(AttributeValue::L(approvers)) = item.get_mut("Approvers") else {
            panic!("no approvers")
        };
        for (entry, pair) in approvers.iter_mut().zip(&credentials) {
            let AttributeValue::M(entry) = entry else {
                panic!("not a map")
            };
            entry.remove("LinkHashes");
            entry.insert(
                "CredentialHash".into(),
                serde_dynamo::to_attribute_value(pair.approve.hash()).unwrap(),
            );
        }
        let upgraded = read(item).unwrap();
        for (slot, pair) in credentials.iter().enumerate() {
            for choice in Choice::ALL {
                assert_eq!(upgraded.authenticate(&pair.approve, choice), Some(slot));
                assert_eq!(upgraded.authenticate(&pair.reject, choice), None);
            }
        }
    }

    #[test]
    fn a_decision_of_the_release_before_reads_as_told_and_one_of_today_does_not() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
        request
            .cast(0, Choice::Approved, String::new(), fixtures::now())
            .unwrap();
        request.delivered(fixtures::now());
        let today: Item = serde_dynamo::to_item(&request).unwrap();
        let Some(AttributeValue::M(state)) = today.get("State") else {
            panic!("no state")
        };
        assert_eq!(state.get("ToldAt"), Some(&AttributeValue::Null(true)));
        assert!(
            read(today.clone()).unwrap().untold().is_some(),
            "not told yet"
        );

        let mut before = today;
        let Some(AttributeValue::M(state)) = before.get_mut("State") else {
            panic!("no state")
        };
        state.remove("ToldAt");
        let upgraded = read(before).unwrap();
        assert_eq!(upgraded.untold(), None);
        assert_eq!(upgraded.decided().unwrap().told_at, Some(fixtures::now()));
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
