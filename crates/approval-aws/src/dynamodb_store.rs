//! The request store in DynamoDB: one item per request, written with conditions.
//!
//! The item is the domain's `ApprovalRequest` as `serde_dynamo` writes it. A new record is put
//! only if its id is free; a changed one only if the stored `Version` is the one it was read at.

use approval_domain::{
    ApprovalRequest, ExecutionArn, RequestId,
    ports::{Created, PortError, Replaced, RequestStore},
};
use aws_sdk_dynamodb::{
    Client, error::SdkError, operation::put_item::PutItemError, types::AttributeValue,
    types::ReturnValuesOnConditionCheckFailure,
};

use crate::sdk_error::port_error;

const SERVICE: &str = "DynamoDB";

/// The table's index of requests by their execution (`ExecutionArn`, keys only).
pub const BY_EXECUTION: &str = "ByExecution";

#[derive(Clone, Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(
        request: &ApprovalRequest,
    ) -> Result<std::collections::HashMap<String, AttributeValue>, PortError> {
        serde_dynamo::to_item(request).map_err(|err| {
            PortError::Failed(format!("the record could not be written as an item: {err}"))
        })
    }
}

fn from_item(
    mut item: std::collections::HashMap<String, AttributeValue>,
) -> Result<ApprovalRequest, PortError> {
    let unreadable =
        |err: String| PortError::Failed(format!("a stored record could not be read: {err}"));
    crate::v2_record::upgrade(&mut item).map_err(unreadable)?;
    serde_dynamo::from_item(item).map_err(|err| unreadable(err.to_string()))
}

fn conditional_check_failed(err: &SdkError<PutItemError, impl Sized>) -> Option<&PutItemError> {
    err.as_service_error()
        .filter(|e| e.is_conditional_check_failed_exception())
}

impl RequestStore for DynamoDbStore {
    async fn create(&self, request: &ApprovalRequest) -> Result<Created, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(request)?))
            .condition_expression("attribute_not_exists(RequestId)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Created::New),
            Err(err) => match conditional_check_failed(&err) {
                Some(PutItemError::ConditionalCheckFailedException(failed))
                    if failed.item().is_some() =>
                {
                    let item = failed.item().cloned().unwrap_or_default();
                    Ok(Created::Exists(Box::new(from_item(item)?)))
                }
                // An emulator that does not return the old item: read it.
                Some(_) => match self.get(&request.request_id).await? {
                    Some(existing) => Ok(Created::Exists(Box::new(existing))),
                    None => Err(PortError::Unavailable(
                        "the request vanished while being created".into(),
                    )),
                },
                None => Err(port_error(SERVICE, &err)),
            },
        }
    }

    async fn get(&self, id: &RequestId) -> Result<Option<ApprovalRequest>, PortError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("RequestId", AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| port_error(SERVICE, &err))?;
        got.item.map(from_item).transpose()
    }

    async fn of_execution(&self, execution: &ExecutionArn) -> Result<Vec<RequestId>, PortError> {
        let mut ids = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_EXECUTION)
            .key_condition_expression("ExecutionArn = :execution")
            .expression_attribute_values(
                ":execution",
                AttributeValue::S(execution.as_str().to_owned()),
            )
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|err| port_error(SERVICE, &err))?;
            if let Some(AttributeValue::S(id)) = item.get("RequestId")
                && let Ok(id) = RequestId::try_from(id.clone())
            {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    async fn replace(&self, request: &ApprovalRequest) -> Result<Replaced, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(request)?))
            .condition_expression("Version = :read")
            .expression_attribute_values(
                ":read",
                AttributeValue::N(request.version.saturating_sub(1).to_string()),
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(Replaced::Written),
            Err(err) if conditional_check_failed(&err).is_some() => Ok(Replaced::Conflict),
            Err(err) => Err(port_error(SERVICE, &err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use aws_sdk_dynamodb::{
        operation::{get_item::GetItemOutput, put_item::PutItemOutput},
        types::error::ConditionalCheckFailedException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    type Item = std::collections::HashMap<String, AttributeValue>;

    fn record() -> ApprovalRequest {
        ApprovalRequest::open(fixtures::new_request(2, 1)).0
    }

    #[tokio::test]
    async fn create_puts_the_whole_record_only_if_the_id_is_free() {
        let request = record();
        let expected: Item = serde_dynamo::to_item(&request).unwrap();
        let put = mock!(Client::put_item)
            .match_requests(move |r| {
                r.condition_expression() == Some("attribute_not_exists(RequestId)")
                    && r.table_name() == Some("requests")
                    && r.item() == Some(&expected)
            })
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put]);
        let store = DynamoDbStore::new(client, "requests");
        assert_eq!(store.create(&request).await, Ok(Created::New));
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn create_of_an_existing_id_returns_the_stored_record() {
        let stored = record();
        let item: Item = serde_dynamo::to_item(&stored).unwrap();
        let put = mock!(Client::put_item).then_error(move || {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .set_item(Some(item.clone()))
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put]);
        let store = DynamoDbStore::new(client, "requests");
        let mut retry = stored.clone();
        retry.reissue_unnotified();
        assert_eq!(
            store.create(&retry).await,
            Ok(Created::Exists(Box::new(stored)))
        );
    }

    #[tokio::test]
    async fn replace_is_conditional_on_the_version_read_and_reports_a_lost_race() {
        let mut request = record();
        request.mark_notified(&[0], fixtures::now());
        let put = mock!(Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some("Version = :read")
                    && r.expression_attribute_values().and_then(|v| v.get(":read"))
                        == Some(&AttributeValue::N("1".into()))
            })
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                )
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put]);
        let store = DynamoDbStore::new(client, "requests");
        assert_eq!(store.replace(&request).await, Ok(Replaced::Conflict));
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_unavailable_and_access_denied_is_failed() {
        let throttled = mock!(Client::get_item).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&throttled]);
        let store = DynamoDbStore::new(client, "requests");
        assert!(matches!(
            store.get(&record().request_id).await,
            Err(PortError::Unavailable(_))
        ));

        let denied = mock!(Client::get_item).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not allowed"}"#),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&denied]);
        let store = DynamoDbStore::new(client, "requests");
        assert!(
            matches!(store.get(&record().request_id).await, Err(PortError::Failed(reason)) if reason.contains("not allowed"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_put_refused_for_provisioned_throughput_is_unavailable() {
        let throttled = mock!(Client::put_item).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&throttled]);
        let store = DynamoDbStore::new(client, "requests");
        let mut request = record();
        request.mark_notified(&[0], fixtures::now());
        assert!(
            matches!(store.replace(&request).await, Err(PortError::Unavailable(reason)) if reason.starts_with("ProvisionedThroughputExceededException")),
        );
        assert!(throttled.num_calls() > 1, "the SDK retried it first");
    }

    #[tokio::test]
    async fn of_execution_queries_the_index_through_every_page() {
        use aws_sdk_dynamodb::operation::query::QueryOutput;
        let arn = fixtures::execution_arn();
        let ids: Vec<RequestId> = ["a", "b"]
            .iter()
            .map(|t| {
                ApprovalRequest::open(fixtures::new_request_with_token(t, 1, 1))
                    .0
                    .request_id
            })
            .collect();
        let key = |id: &RequestId| {
            std::collections::HashMap::from([
                ("RequestId".to_owned(), AttributeValue::S(id.to_string())),
                ("ExecutionArn".to_owned(), AttributeValue::S(arn.clone())),
            ])
        };
        let (first, second) = (key(&ids[0]), key(&ids[1]));
        let expected_arn = arn.clone();
        let query = mock!(Client::query)
            .match_requests(move |r| {
                r.index_name() == Some(BY_EXECUTION)
                    && r.key_condition_expression() == Some("ExecutionArn = :execution")
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":execution"))
                        == Some(&AttributeValue::S(expected_arn.clone()))
            })
            .sequence()
            .output(move || {
                QueryOutput::builder()
                    .items(first.clone())
                    .set_last_evaluated_key(Some(first.clone()))
                    .build()
            })
            .output(move || QueryOutput::builder().items(second.clone()).build())
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&query]);
        let store = DynamoDbStore::new(client, "requests");
        let found = store
            .of_execution(&ExecutionArn::parse(&arn).unwrap())
            .await
            .unwrap();
        assert_eq!(found, ids);
        assert_eq!(query.num_calls(), 2);
    }

    #[tokio::test]
    async fn get_reads_consistently_and_returns_what_was_written() {
        let stored = record();
        let item: Item = serde_dynamo::to_item(&stored).unwrap();
        let id = stored.request_id.to_string();
        let get = mock!(Client::get_item)
            .match_requests(move |r| {
                r.consistent_read() == Some(true)
                    && r.key().and_then(|k| k.get("RequestId"))
                        == Some(&AttributeValue::S(id.clone()))
            })
            .then_output(move || {
                GetItemOutput::builder()
                    .set_item(Some(item.clone()))
                    .build()
            });
        let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&get, &missing]);
        let store = DynamoDbStore::new(client, "requests");
        assert_eq!(
            store.get(&stored.request_id).await,
            Ok(Some(stored.clone()))
        );
        assert_eq!(store.get(&stored.request_id).await, Ok(None));
    }
}
