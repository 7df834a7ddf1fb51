//! The request table's changes, as its DynamoDB stream delivers them (`KEYS_ONLY`: only request
//! ids travel, never a token or a hash), each turned into what the approvers are still to be
//! told ([`approval_domain::telling`]) and the gate's events not yet put
//! ([`approval_domain::events`]), each counted ([`approval_domain::metrics`]): the record is read
//! fresh, so a change seen twice or out of date tells nothing twice.
//!
//! The event is Lambda's for DynamoDB Streams; the answer is a partial batch response
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`): a change whose telling failed in a way
//! worth retrying is named, and Lambda hands it (and what follows it in its shard) over again.

use std::collections::HashSet;

use approval_aws::EmailDelivery;
use approval_domain::{
    ApprovalRequest, Measure, RequestId, Untold,
    ports::{
        EventBus, Meter, Notifier, PortError, Replaced, RequestStore, Scheduler, SlackPosts, Tasks,
    },
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::{
    SendEmail, SendEmailError, email,
    error::Unpublished,
    handler::{MAX_WRITE_ATTEMPTS, within},
};

/// What one reading of a changed record told: the ending (if it was), the first
/// `events_through` events put, and the Slack messages (by index) that now show `shown_key`.
struct Told<'a> {
    ending: bool,
    events_through: usize,
    shown: &'a [usize],
    shown_key: &'a str,
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

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    /// Tells the approvers of each changed request what its record says is still untold; names
    /// the first change whose telling is worth retrying (Lambda hands it over again, with what
    /// follows it). A change that can never be told (SES refusing the mail) is logged, not
    /// retried.
    pub(crate) async fn tell_changes(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let event = StreamEvent::parse(payload).map_err(SendEmailError::InvalidInput)?;
        let mut seen = HashSet::new();
        for record in event.records {
            let change = record.dynamodb;
            let raw_id = change.keys.request_id.s;
            if !seen.insert(raw_id.clone()) {
                continue;
            }
            let Ok(id) = RequestId::try_from(raw_id) else {
                warn!("a changed item whose RequestId is not one of the gate's: skipped");
                continue;
            };
            match self.tell(&id, deadline).await {
                Ok(()) => {}
                Err(err) if err.is_retryable() => {
                    warn!(request_id = %id, %err, "not told yet; the stream hands this change over again");
                    return Ok(batch_response(&[change.sequence_number]));
                }
                Err(err) => {
                    error!(request_id = %id, error_type = err.error_type(), %err, "cannot be told; not retried");
                }
            }
        }
        Ok(batch_response(&[]))
    }

    /// Tells the approvers of request `id` what its record says is untold and puts its events
    /// not put yet, then records both. Approvers are told before events are put, so a bus that
    /// fails delays no notice; a change whose events were not put is handed over again.
    async fn tell(&self, id: &RequestId, deadline: Instant) -> Result<(), SendEmailError> {
        let read = |id| async move {
            within(deadline, self.store.get(id))
                .await
                .map_err(SendEmailError::StoreFailed)
        };
        let Some(mut request) = read(id).await? else {
            return Ok(()); // gone (its TTL): nothing to tell
        };
        let untold = request.untold();
        let unput = request.unput_events();
        if untold.is_none() && unput.is_empty() && request.stale_slack_posts().is_empty() {
            return Ok(());
        }
        let told = match untold {
            Some(untold) => {
                self.tell_ending(&request, untold, deadline).await?;
                self.unschedule_nudges(&request, deadline).await;
                true
            }
            None => false,
        };
        // Every Slack message follows the record: a vote, the decision, the end.
        let shown_key = request.slack_view().key();
        let (shown, slack_retry) = self.update_slack(&request, deadline).await;
        let put = self.put_events(&request, &unput, deadline).await;
        let events_through = match put {
            Ok(()) => {
                for event in &unput {
                    if let Some(measure) = Measure::of_event(&request, event) {
                        self.meter.count(measure);
                    }
                }
                request.events_put + unput.len()
            }
            Err(_) => request.events_put,
        };
        self.record_told(
            id,
            &mut request,
            Told {
                ending: told,
                events_through,
                shown: &shown,
                shown_key: &shown_key,
            },
            deadline,
        )
        .await?;
        if let Some(err) = slack_retry {
            return Err(SendEmailError::SlackUnavailable(err));
        }
        match put {
            Err(err @ PortError::Unavailable(_)) => Err(SendEmailError::EventsFailed(err)),
            // Refused for good (the bus's policy, a malformed event): logged and counted.
            Ok(()) | Err(PortError::Failed(_)) => Ok(()),
        }
    }

    /// Deletes the schedules of the nudges that never fired, now that the request ended (best
    /// effort: a schedule left behind fires into a record that says there is nothing to do).
    async fn unschedule_nudges(&self, request: &ApprovalRequest, deadline: Instant) {
        let Some(scheduler) = &self.scheduler else {
            return;
        };
        for name in request.unfired_schedules() {
            if let Err(err) = within(deadline, scheduler.unschedule(&name)).await {
                warn!(request_id = %request.request_id, schedule = name, %err, "a schedule of an ended request is left; it will find nothing to do");
            }
        }
    }

    /// Sends the approvers' notices of how the request ended.
    async fn tell_ending(
        &self,
        request: &ApprovalRequest,
        untold: Untold<'_>,
        deadline: Instant,
    ) -> Result<(), SendEmailError> {
        let messages = if self.config.email == EmailDelivery::Off {
            Vec::new()
        } else {
            let html = matches!(self.config.email, EmailDelivery::Ses { .. });
            email::ending_notices(request, untold, html)
        };
        let results = self
            .send_all(messages.into_iter().map(|m| (m.to.clone(), m)), deadline)
            .await;
        let failed: Vec<Unpublished> = results
            .into_iter()
            .filter_map(|(approver, r)| r.err().map(|error| Unpublished { approver, error }))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        self.delivery_failed(request, &failed, deadline).await;
        if failed
            .iter()
            .any(|u| matches!(u.error, PortError::Unavailable(_)))
        {
            // Told again from the start on the retry: some approvers may get it twice, nobody never.
            return Err(SendEmailError::PublishFailed(failed));
        }
        for unsent in &failed {
            error!(request_id = %request.request_id, approver = %unsent.approver, error = %unsent.error, "an approver cannot be told how the request ended");
        }
        Ok(())
    }

    /// Records what was told, on the record as it now is: a change written meanwhile (a vote)
    /// is kept, and its own telling comes with its own change.
    async fn record_told(
        &self,
        id: &RequestId,
        request: &mut ApprovalRequest,
        told: Told<'_>,
        deadline: Instant,
    ) -> Result<(), SendEmailError> {
        let Told {
            ending: told,
            events_through,
            shown,
            shown_key,
        } = told;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let now = (self.clock)();
            if !request.mark_told_and_put(told.then_some(now), events_through, shown, shown_key) {
                return Ok(());
            }
            match within(deadline, self.store.replace(request)).await {
                Ok(Replaced::Written) => {
                    info!(request_id = %id, told, events_put = request.events_put, approvers = request.approvers.len(), "told");
                    return Ok(());
                }
                Ok(Replaced::Conflict) => {
                    let fresh = within(deadline, self.store.get(id))
                        .await
                        .map_err(SendEmailError::StoreFailed)?;
                    match fresh {
                        Some(fresh) => *request = fresh,
                        None => return Ok(()),
                    }
                }
                Err(err) => return Err(SendEmailError::StoreFailed(err)),
            }
        }
        Err(SendEmailError::StoreFailed(PortError::Unavailable(
            "the request kept changing while its approvers were told".into(),
        )))
    }
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
        let parsed = StreamEvent::parse(event).unwrap();
        assert_eq!(parsed.records[0].dynamodb.keys.request_id.s, "abc");
        assert_eq!(parsed.records[0].dynamodb.sequence_number, "111");
        let err = StreamEvent::parse(json!({"Records": [{"dynamodb": {"Keys": {}}}]})).unwrap_err();
        assert!(err.contains("Records[0].dynamodb"), "{err}");
        assert_eq!(
            batch_response(&["7".into()]),
            json!({"batchItemFailures": [{"itemIdentifier": "7"}]})
        );
    }
}
