//! The event bus on EventBridge: `PutEvents` on the stack's bus (`EventBusName`), source
//! `approval-gate`, the detail-type of each [`EventKind`](approval_domain::EventKind), the
//! request's state machine and execution as the entry's resources.
//!
//! `PutEvents` can succeed as a call and still refuse some entries (`FailedEntryCount`): those
//! are put again, a few times, and if EventBridge still refuses them the port fails, worth
//! retrying when EventBridge said it was throttled or failing inside.

use std::time::Duration;

use approval_domain::{
    GateEvent,
    events::SOURCE,
    ports::{EventBus, PortError},
};
use aws_sdk_eventbridge::{Client, types::PutEventsRequestEntry};
use aws_smithy_types::DateTime;

use crate::sdk_error::port_error;

/// EventBridge takes at most 10 entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;

/// How often the entries EventBridge refused are put again (after the SDK's own retries of a
/// failed call), and how long to wait before each.
const ENTRY_ATTEMPTS: u32 = 3;
const ENTRY_BACKOFF: Duration = Duration::from_millis(100);

/// Entry error codes worth putting again: EventBridge's own trouble, not the entry's.
const TRANSIENT_ENTRY_ERRORS: [&str; 2] = ["InternalFailure", "ThrottlingException"];

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// The bus `bus_name`, through a client of `aws`.
    pub fn on(aws: &aws_config::SdkConfig, bus_name: impl Into<String>) -> Self {
        Self::new(Client::new(aws), bus_name)
    }

    fn entry(&self, event: &GateEvent) -> Result<PutEventsRequestEntry, PortError> {
        let detail = serde_json::to_string(&event.detail)
            .map_err(|err| PortError::Failed(format!("an event's detail: {err}")))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(SOURCE)
            .detail_type(event.kind.detail_type())
            .detail(detail)
            .time(DateTime::from_secs(event.time.unix()))
            .resources(&event.detail.state_machine_arn)
            .resources(event.detail.execution_arn.as_str())
            .build())
    }

    /// Puts up to 10 entries, putting again those refused for a transient reason.
    async fn put_batch(&self, mut entries: Vec<PutEventsRequestEntry>) -> Result<(), PortError> {
        for attempt in 1..=ENTRY_ATTEMPTS {
            let answer = self
                .client
                .put_events()
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|err| port_error("EventBridge", &err))?;
            if answer.failed_entry_count() == 0 {
                return Ok(());
            }
            // The answer's entries are in the order of the request's.
            let refused: Vec<(PutEventsRequestEntry, String)> = entries
                .into_iter()
                .zip(answer.entries())
                .filter_map(|(entry, result)| {
                    result.error_code().map(|code| (entry, code.to_owned()))
                })
                .collect();
            if let Some((_, code)) = refused
                .iter()
                .find(|(_, code)| !TRANSIENT_ENTRY_ERRORS.contains(&code.as_str()))
            {
                return Err(PortError::Failed(format!(
                    "EventBridge refused an event: {code}"
                )));
            }
            if attempt == ENTRY_ATTEMPTS {
                let code = refused.first().map_or("", |(_, code)| code.as_str());
                return Err(PortError::Unavailable(format!(
                    "EventBridge refused {} event(s): {code}",
                    refused.len()
                )));
            }
            entries = refused.into_iter().map(|(entry, _)| entry).collect();
            tokio::time::sleep(ENTRY_BACKOFF * attempt).await;
        }
        Ok(())
    }
}

impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[GateEvent]) -> Result<(), PortError> {
        for batch in events.chunks(MAX_ENTRIES_PER_CALL) {
            let entries = batch
                .iter()
                .map(|event| self.entry(event))
                .collect::<Result<Vec<_>, _>>()?;
            self.put_batch(entries).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::{
        ApprovalRequest, Choice,
        memory::fixtures::{self, at},
    };
    use aws_sdk_eventbridge::{
        operation::put_events::{PutEventsError, PutEventsOutput},
        types::PutEventsResultEntry,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn events(votes: usize) -> Vec<GateEvent> {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(12, 12));
        for slot in 0..votes {
            request
                .cast(slot, Choice::Approved, String::new(), at(slot as i64))
                .unwrap();
        }
        request.events()
    }

    fn accepted(count: usize) -> PutEventsOutput {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .set_entries(Some(
                (0..count)
                    .map(|n| {
                        PutEventsResultEntry::builder()
                            .event_id(n.to_string())
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    fn refused_first(count: usize, code: &str) -> PutEventsOutput {
        let mut entries = vec![
            PutEventsResultEntry::builder()
                .error_code(code)
                .error_message("injected")
                .build(),
        ];
        entries.extend((1..count).map(|_| PutEventsResultEntry::builder().event_id("x").build()));
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .set_entries(Some(entries))
            .build()
    }

    #[tokio::test]
    async fn puts_every_entry_on_the_bus_ten_at_a_time_with_source_type_and_resources() {
        let first = mock!(Client::put_events)
            .match_requests(|req| {
                let entries = req.entries();
                entries.len() == 10
                    && entries.iter().all(|e| {
                        e.event_bus_name() == Some("gate-bus")
                            && e.source() == Some("approval-gate")
                            && e.resources().len() == 2
                    })
                    && entries[0].detail_type() == Some("Approval Requested")
                    && entries[1].detail_type() == Some("Approval Vote Recorded")
                    && entries[0]
                        .detail()
                        .is_some_and(|d| d.contains("\"requestId\""))
            })
            .then_output(|| accepted(10));
        let second = mock!(Client::put_events)
            .match_requests(|req| req.entries().len() == 2)
            .then_output(|| accepted(2));
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&first, &second]);
        let bus = EventBridgeBus::new(client, "gate-bus");
        bus.put(&events(11)).await.unwrap();
        assert_eq!(first.num_calls(), 1);
        assert_eq!(second.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_refused_for_a_transient_reason_are_put_again_alone() {
        let refused = mock!(Client::put_events)
            .match_requests(|req| req.entries().len() == 3)
            .then_output(|| refused_first(3, "ThrottlingException"));
        let again = mock!(Client::put_events)
            .match_requests(|req| {
                req.entries().len() == 1
                    && req.entries()[0].detail_type() == Some("Approval Requested")
            })
            .then_output(|| accepted(1));
        let client = mock_client!(
            aws_sdk_eventbridge,
            RuleMode::Sequential,
            [&refused, &again]
        );
        EventBridgeBus::new(client, "b")
            .put(&events(2))
            .await
            .unwrap();
        assert_eq!(again.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bus_that_keeps_refusing_or_fails_is_an_error_of_the_right_kind() {
        let throttled = mock!(Client::put_events)
            .sequence()
            .output(|| refused_first(1, "InternalFailure"))
            .times(3)
            .build();
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&throttled]);
        let err = EventBridgeBus::new(client, "b")
            .put(&events(0))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Unavailable(ref r) if r.contains("InternalFailure")),
            "{err:?}"
        );
        assert_eq!(throttled.num_calls(), 3);

        let malformed =
            mock!(Client::put_events).then_output(|| refused_first(1, "MalformedDetail"));
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&malformed]);
        let err = EventBridgeBus::new(client, "b")
            .put(&events(0))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Failed(ref r) if r.contains("MalformedDetail")),
            "{err:?}"
        );

        let outage = mock!(Client::put_events).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(500).unwrap(),
                SdkBody::from(r#"{"__type":"InternalException","message":"injected"}"#),
            )
        });
        let denied = mock!(Client::put_events)
            .then_error(|| PutEventsError::unhandled("AccessDeniedException"));
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&outage]);
        let err = EventBridgeBus::new(client, "b")
            .put(&events(0))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&denied]);
        let err = EventBridgeBus::new(client, "b")
            .put(&events(0))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Failed(_)), "{err:?}");
    }
}
