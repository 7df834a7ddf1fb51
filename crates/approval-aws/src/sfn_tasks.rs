//! The workflow tasks on Step Functions: what an execution scheduled (its history, newest
//! first: one call, which also says whether it still runs), and SendTaskSuccess.

use approval_domain::{
    ExecutionArn, ExecutionStatus, TaskToken, Timestamp,
    ports::{PortError, SendError, Tasks},
    scheduled::{ExecutionView, ScheduledTask},
};
use aws_sdk_sfn::{
    Client,
    operation::{
        get_execution_history::GetExecutionHistoryError, send_task_success::SendTaskSuccessError,
    },
    types::{HistoryEvent, HistoryEventType},
};

use crate::sdk_error::{answered, port_error};

const SERVICE: &str = "Step Functions";
/// Newest events first, this many a page. The task that invoked send-email was scheduled
/// moments ago, so its event is on the first page unless a Map or Parallel state logged a flood
/// of events since.
const HISTORY_PAGE: i32 = 100;
/// Pages read while none of them held a `TaskScheduled` event.
const HISTORY_PAGES: usize = 5;

#[derive(Clone, Debug)]
pub struct StepFunctionsTasks {
    client: Client,
}

impl StepFunctionsTasks {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl Tasks for StepFunctionsTasks {
    /// One GetExecutionHistory (reverse order) tells everything `verify` needs: an ending event
    /// (`ExecutionSucceeded`, …) says the execution has ended, the `TaskScheduled` events carry
    /// the payloads, and the execution's ARN names its state machine. No DescribeExecution: one
    /// AWS call fewer per email, and one permission fewer.
    async fn execution(
        &self,
        execution: &ExecutionArn,
    ) -> Result<Option<ExecutionView>, PortError> {
        let state_machine_arn = execution.state_machine_arn();
        let mut status = Status::default();
        let mut scheduled = Vec::new();
        let mut next_token = None;
        for _ in 0..HISTORY_PAGES {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution.as_str())
                .reverse_order(true)
                .max_results(HISTORY_PAGE)
                .include_execution_data(true)
                .set_next_token(next_token.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(err)
                    if err.as_service_error().is_some_and(|e| {
                        matches!(
                            e,
                            GetExecutionHistoryError::ExecutionDoesNotExist(_)
                                | GetExecutionHistoryError::InvalidArn(_)
                        )
                    }) =>
                {
                    return Ok(None);
                }
                Err(err) => return Err(port_error(SERVICE, &err)),
            };
            page.events().iter().for_each(|event| status.note(event));
            scheduled.extend(page.events().iter().filter_map(scheduled_task));
            next_token = page.next_token().map(str::to_owned);
            if !scheduled.is_empty() || next_token.is_none() {
                break;
            }
        }
        Ok(Some(ExecutionView {
            status: status.status(),
            state_machine_arn,
            scheduled,
        }))
    }

    async fn send_success(&self, token: &TaskToken, output: &str) -> Result<(), SendError> {
        let sent = self
            .client
            .send_task_success()
            .task_token(token.expose())
            .output(output)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(err) => {
                let closed = err.as_service_error().and_then(|e| match e {
                    SendTaskSuccessError::TaskTimedOut(_) => Some("TaskTimedOut"),
                    SendTaskSuccessError::TaskDoesNotExist(_) => Some("TaskDoesNotExist"),
                    SendTaskSuccessError::InvalidToken(_) => Some("InvalidToken"),
                    _ => None,
                });
                match closed {
                    Some(code) => Err(SendError::TaskClosed(code.to_owned())),
                    None if answered(&err) => Err(SendError::Refused(port_error(SERVICE, &err))),
                    None => Err(SendError::NoAnswer(port_error(SERVICE, &err))),
                }
            }
        }
    }
}

/// The execution's status as DescribeExecution would give it, from the latest (highest id)
/// of its ending and redrive events: an ended execution's newest event is its ending, which
/// the first page of a newest-first history holds; a redriven one runs again. By id, not by
/// position, so the order a page comes in does not matter (moto ignores `reverseOrder`).
#[derive(Default)]
struct Status {
    latest: Option<(i64, ExecutionStatus)>,
}

impl Status {
    fn note(&mut self, event: &HistoryEvent) {
        let status = match event.r#type() {
            HistoryEventType::ExecutionSucceeded => ExecutionStatus::Succeeded,
            HistoryEventType::ExecutionFailed => ExecutionStatus::Failed,
            HistoryEventType::ExecutionTimedOut => ExecutionStatus::TimedOut,
            HistoryEventType::ExecutionAborted => ExecutionStatus::Aborted,
            HistoryEventType::ExecutionRedriven => ExecutionStatus::Running,
            _ => return,
        };
        if self.latest.is_none_or(|(id, _)| event.id() > id) {
            self.latest = Some((event.id(), status));
        }
    }

    fn status(&self) -> ExecutionStatus {
        self.latest
            .map_or(ExecutionStatus::Running, |(_, status)| status)
    }
}

fn scheduled_task(event: &HistoryEvent) -> Option<ScheduledTask> {
    if event.r#type() != &HistoryEventType::TaskScheduled {
        return None;
    }
    let details = event.task_scheduled_event_details()?;
    let timeout = details
        .timeout_in_seconds()
        .and_then(|t| u64::try_from(t).ok());
    Some(ScheduledTask::from_parameters(
        details.parameters(),
        timeout,
        Timestamp::from_unix(event.timestamp().secs()),
    ))
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use aws_sdk_sfn::{
        operation::{
            get_execution_history::GetExecutionHistoryOutput,
            send_task_success::SendTaskSuccessOutput,
        },
        primitives::DateTime,
        types::{
            TaskScheduledEventDetails,
            error::{ExecutionDoesNotExist, TaskTimedOut},
        },
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;
    use serde_json::json;

    fn execution_arn() -> ExecutionArn {
        ExecutionArn::parse(&fixtures::execution_arn()).unwrap()
    }

    use super::*;

    fn event(
        id: i64,
        kind: HistoryEventType,
        details: Option<TaskScheduledEventDetails>,
    ) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            // When it happened: a scheduled task's timeout runs from it.
            .timestamp(DateTime::from_secs(fixtures::now().unix()))
            .r#type(kind)
            .set_task_scheduled_event_details(details)
            .build()
            .unwrap()
    }

    fn scheduled_event(id: i64) -> HistoryEvent {
        let parameters = json!({"FunctionName": "send-email", "Payload": fixtures::payload()});
        let details = TaskScheduledEventDetails::builder()
            .resource_type("lambda")
            .resource("invoke.waitForTaskToken")
            .region("us-east-1")
            .parameters(parameters.to_string())
            .timeout_in_seconds(3600)
            .build()
            .unwrap();
        event(id, HistoryEventType::TaskScheduled, Some(details))
    }

    #[tokio::test]
    async fn one_history_call_gives_status_state_machine_and_every_scheduled_payload() {
        let history = mock!(Client::get_execution_history)
            .match_requests(|r| {
                r.execution_arn() == Some(fixtures::execution_arn().as_str())
                    && r.reverse_order() == Some(true)
                    && r.include_execution_data() == Some(true)
            })
            .then_output(|| {
                GetExecutionHistoryOutput::builder()
                    .events(event(3, HistoryEventType::TaskStarted, None))
                    .events(scheduled_event(2))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&history]);
        let view = StepFunctionsTasks::new(client)
            .execution(&execution_arn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            view,
            fixtures::running_execution(&fixtures::payload(), Some(3600))
        );
        assert_eq!(history.num_calls(), 1);
    }

    /// What `execution` makes of a history page holding `events`.
    async fn view_of(events: Vec<HistoryEvent>) -> ExecutionView {
        let history = mock!(Client::get_execution_history).then_output(move || {
            GetExecutionHistoryOutput::builder()
                .set_events(Some(events.clone()))
                .build()
                .unwrap()
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&history]);
        StepFunctionsTasks::new(client)
            .execution(&execution_arn())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn an_ended_execution_says_so_by_its_newest_event() {
        for (ending, status) in [
            (
                HistoryEventType::ExecutionSucceeded,
                ExecutionStatus::Succeeded,
            ),
            (HistoryEventType::ExecutionFailed, ExecutionStatus::Failed),
            (
                HistoryEventType::ExecutionTimedOut,
                ExecutionStatus::TimedOut,
            ),
            (HistoryEventType::ExecutionAborted, ExecutionStatus::Aborted),
        ] {
            let view = view_of(vec![
                event(4, ending, None),
                event(3, HistoryEventType::TaskStarted, None),
                scheduled_event(2),
            ])
            .await;
            assert_eq!(view.status, status);
            assert_eq!(
                view.scheduled.len(),
                1,
                "the payloads are read all the same"
            );
        }
    }

    #[tokio::test]
    async fn the_latest_ending_or_redrive_counts_in_whatever_order_the_page_comes() {
        let started = || event(1, HistoryEventType::ExecutionStarted, None);
        let failed = |id| event(id, HistoryEventType::ExecutionFailed, None);
        let redriven = |id| event(id, HistoryEventType::ExecutionRedriven, None);
        for (events, status) in [
            // Oldest first (as moto answers, whatever `reverseOrder` says): still ended.
            (
                vec![started(), scheduled_event(2), failed(3)],
                ExecutionStatus::Failed,
            ),
            // Failed, then redriven: it runs again.
            (
                vec![redriven(5), failed(4), scheduled_event(2)],
                ExecutionStatus::Running,
            ),
            // Redriven, then failed again.
            (
                vec![failed(6), redriven(5), failed(4), scheduled_event(2)],
                ExecutionStatus::Failed,
            ),
        ] {
            assert_eq!(view_of(events).await.status, status);
        }
    }

    #[tokio::test]
    async fn no_such_execution_is_none() {
        let missing = mock!(Client::get_execution_history).then_error(|| {
            GetExecutionHistoryError::ExecutionDoesNotExist(
                ExecutionDoesNotExist::builder().build(),
            )
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&missing]);
        let tasks = StepFunctionsTasks::new(client);
        assert_eq!(tasks.execution(&execution_arn()).await, Ok(None));
        assert_eq!(missing.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_closed_task_is_told_apart_from_an_outage() {
        let timed_out = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::TaskTimedOut(TaskTimedOut::builder().build()));
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&timed_out]);
        let token = TaskToken::new(fixtures::task_token());
        assert_eq!(
            StepFunctionsTasks::new(client)
                .send_success(&token, "{}")
                .await,
            Err(SendError::TaskClosed("TaskTimedOut".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_unavailable_and_success_sends_token_and_output() {
        let throttled = mock!(Client::send_task_success).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            )
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&throttled]);
        let token = TaskToken::new(fixtures::task_token());
        assert!(matches!(
            StepFunctionsTasks::new(client)
                .send_success(&token, "{}")
                .await,
            Err(SendError::Refused(PortError::Unavailable(_)))
        ));

        let ok = mock!(Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some(fixtures::task_token().as_str())
                    && r.output() == Some("{\"a\":1}")
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&ok]);
        assert_eq!(
            StepFunctionsTasks::new(client)
                .send_success(&token, "{\"a\":1}")
                .await,
            Ok(())
        );
        assert_eq!(ok.num_calls(), 1);
    }
}
