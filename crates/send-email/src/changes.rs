//! The request table's changes, as its DynamoDB stream delivers them (`KEYS_ONLY`: only request
//! ids travel, never a token or a hash), each turned into what the approvers are still to be
//! told ([`approval_domain::telling`]): the record is read fresh, so a change seen twice or out of
//! date tells nothing twice.
//!
//! The event is Lambda's for DynamoDB Streams; the answer is a partial batch response
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`): a change whose telling failed in a way
//! worth retrying is named, and Lambda hands it (and what follows it in its shard) over again.

use serde::Deserialize;
use serde_json::{Value, json};

/// Whether `payload` is a stream event rather than a Step Functions task.
pub fn is_stream_event(payload: &Value) -> bool {
    payload.get("Records").is_some_and(Value::is_array)
}

#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    pub dynamodb: Change,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub keys: Keys,
    pub sequence_number: String,
}

#[derive(Debug, Deserialize)]
pub struct Keys {
    #[serde(rename = "RequestId")]
    pub request_id: StringAttribute,
}

/// A string attribute as DynamoDB writes it: `{"S": "…"}`.
#[derive(Debug, Deserialize)]
pub struct StringAttribute {
    #[serde(rename = "S")]
    pub s: String,
}

impl StreamEvent {
    pub fn parse(payload: Value) -> Result<Self, String> {
        serde_path_to_error::deserialize(payload)
            .map_err(|err| format!("a DynamoDB stream event: {}: {}", err.path(), err.inner()))
    }
}

/// The partial batch response naming the changes to hand over again (none: all done).
pub fn batch_response(failed_sequence_numbers: &[String]) -> Value {
    let failures: Vec<Value> = failed_sequence_numbers
        .iter()
        .map(|n| json!({ "itemIdentifier": n }))
        .collect();
    json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lambdas_stream_event_and_nothing_else_passes_for_one() {
        let event = json!({"Records": [{
            "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": 1_700_000_000,
                "Keys": {"RequestId": {"S": "abc"}}, "SequenceNumber": "111",
                "SizeBytes": 26, "StreamViewType": "KEYS_ONLY"},
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/requests/stream/x"
        }]});
        assert!(is_stream_event(&event));
        let parsed = StreamEvent::parse(event).unwrap();
        assert_eq!(parsed.records[0].dynamodb.keys.request_id.s, "abc");
        assert_eq!(parsed.records[0].dynamodb.sequence_number, "111");
        assert!(!is_stream_event(
            &approval_domain::memory::fixtures::payload()
        ));
        let err = StreamEvent::parse(json!({"Records": [{"dynamodb": {"Keys": {}}}]})).unwrap_err();
        assert!(err.contains("Records[0].dynamodb"), "{err}");
        assert_eq!(
            batch_response(&["7".into()]),
            json!({"batchItemFailures": [{"itemIdentifier": "7"}]})
        );
    }
}
