//! The workflow tasks on Step Functions: what an execution scheduled (DescribeExecution and
//! GetExecutionHistory, at once), and SendTaskSuccess.

use approval_domain::{
    TaskToken,
    ports::{PortError, SendError, Tasks},
    scheduled::{ExecutionView, ScheduledTask},
};
use aws_sdk_sfn::{
    Client,
    operation::{
        describe_execution::DescribeExecutionError, send_task_success::SendTaskSuccessError,
    },
    types::HistoryEventType,
};

use crate::sdk_error::port_error;

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

    async fn scheduled_tasks(&self, execution_arn: &str) -> Result<Vec<ScheduledTask>, PortError> {
        let mut scheduled = Vec::new();
        let mut next_token = None;
        for _ in 0..HISTORY_PAGES {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution_arn)
                .reverse_order(true)
                .max_results(HISTORY_PAGE)
                .include_execution_data(true)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| port_error(SERVICE, &err))?;
            for event in page.events() {
                if event.r#type() != &HistoryEventType::TaskScheduled {
                    continue;
                }
                if let Some(details) = event.task_scheduled_event_details() {
                    let timeout = details
                        .timeout_in_seconds()
                        .and_then(|t| u64::try_from(t).ok());
                    scheduled.push(ScheduledTask::from_parameters(
                        details.parameters(),
                        timeout,
                    ));
                }
            }
            next_token = page.next_token().map(str::to_owned);
            if !scheduled.is_empty() || next_token.is_none() {
                break;
            }
        }
        Ok(scheduled)
    }
}

impl Tasks for StepFunctionsTasks {
    async fn execution(&self, execution_arn: &str) -> Result<Option<ExecutionView>, PortError> {
        let describe = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send();
        let (described, scheduled) = tokio::join!(describe, self.scheduled_tasks(execution_arn));
        let described = match described {
            Ok(described) => described,
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    matches!(
                        e,
                        DescribeExecutionError::ExecutionDoesNotExist(_)
                            | DescribeExecutionError::InvalidArn(_)
                    )
                }) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(port_error(SERVICE, &err)),
        };
        Ok(Some(ExecutionView {
            status: described.status().as_str().to_owned(),
            state_machine_arn: described.state_machine_arn().to_owned(),
            scheduled: scheduled?,
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
                    None => Err(SendError::Port(port_error(SERVICE, &err))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;
    use aws_sdk_sfn::{
        operation::{
            describe_execution::DescribeExecutionOutput,
            get_execution_history::GetExecutionHistoryOutput,
            send_task_success::SendTaskSuccessOutput,
        },
        primitives::DateTime,
        types::{ExecutionStatus, HistoryEvent, TaskScheduledEventDetails, error::TaskTimedOut},
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::{client::orchestrator::HttpResponse, http::StatusCode};
    use aws_smithy_types::body::SdkBody;
    use serde_json::json;

    use super::*;

    fn event(
        id: i64,
        kind: HistoryEventType,
        details: Option<TaskScheduledEventDetails>,
    ) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(0))
            .r#type(kind)
            .set_task_scheduled_event_details(details)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn execution_reads_status_state_machine_and_every_scheduled_payload_newest_first() {
        let payload = fixtures::payload();
        let parameters = json!({"FunctionName": "send-email", "Payload": payload}).to_string();
        let describe = mock!(Client::describe_execution)
            .match_requests(|r| r.execution_arn() == Some(fixtures::execution_arn().as_str()))
            .then_output(|| {
                DescribeExecutionOutput::builder()
                    .execution_arn(fixtures::execution_arn())
                    .state_machine_arn(fixtures::state_machine_arn())
                    .status(ExecutionStatus::Running)
                    .start_date(DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let history = mock!(Client::get_execution_history)
            .match_requests(|r| r.reverse_order() == Some(true))
            .then_output(move || {
                let details = TaskScheduledEventDetails::builder()
                    .resource_type("lambda")
                    .resource("invoke.waitForTaskToken")
                    .region("us-east-1")
                    .parameters(parameters.clone())
                    .timeout_in_seconds(3600)
                    .build()
                    .unwrap();
                GetExecutionHistoryOutput::builder()
                    .events(event(3, HistoryEventType::TaskStarted, None))
                    .events(event(2, HistoryEventType::TaskScheduled, Some(details)))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&describe, &history]);
        let view = StepFunctionsTasks::new(client)
            .execution(&fixtures::execution_arn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            view,
            fixtures::running_execution(&fixtures::payload(), Some(3600))
        );
        assert_eq!((describe.num_calls(), history.num_calls()), (1, 1));
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
            Err(SendError::Port(PortError::Unavailable(_)))
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
