//! The scheduler on EventBridge Scheduler: one-time schedules (`at(…)`, UTC, no flexible
//! window, deleted after they fire) in the stack's schedule group, each invoking send-email
//! with its input through the stack's scheduler role.
//!
//! A schedule that exists already (`ConflictException`: a retried invocation asking for the same
//! name) is kept; deleting one that is gone (`ResourceNotFoundException`: fired, deleted) is fine.

use approval_domain::{
    Timestamp,
    ports::{PortError, Scheduler},
};
use aws_sdk_scheduler::{
    Client,
    types::{
        ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
    },
};
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::Value;

use crate::sdk_error::port_error;

/// How often Scheduler retries invoking send-email, and for how long (its own defaults are 185
/// attempts over a day: a nudge a day late is no nudge).
const TARGET_ATTEMPTS: i32 = 3;
const TARGET_MAX_AGE_SECONDS: i32 = 900;

/// Where the schedules go and what they invoke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleTarget {
    /// The stack's schedule group.
    pub group: String,
    /// send-email's ARN (as it was invoked).
    pub function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
}

#[derive(Clone, Debug)]
pub struct EventBridgeScheduler {
    client: Client,
    target: ScheduleTarget,
}

impl EventBridgeScheduler {
    pub fn new(client: Client, target: ScheduleTarget) -> Self {
        Self { client, target }
    }

    pub fn on(aws: &aws_config::SdkConfig, target: ScheduleTarget) -> Self {
        Self::new(Client::new(aws), target)
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)`, UTC.
pub fn at_expression(at: Timestamp) -> String {
    format!("at({})", at.to_string().trim_end_matches('Z'))
}

fn built<T>(built: Result<T, impl std::fmt::Display>) -> Result<T, PortError> {
    built.map_err(|err| PortError::Failed(format!("a schedule: {err}")))
}

impl Scheduler for EventBridgeScheduler {
    async fn schedule(&self, name: &str, at: Timestamp, input: &Value) -> Result<(), PortError> {
        let target = built(
            Target::builder()
                .arn(&self.target.function_arn)
                .role_arn(&self.target.role_arn)
                .input(input.to_string())
                .retry_policy(
                    RetryPolicy::builder()
                        .maximum_retry_attempts(TARGET_ATTEMPTS)
                        .maximum_event_age_in_seconds(TARGET_MAX_AGE_SECONDS)
                        .build(),
                )
                .build(),
        )?;
        let window = built(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build(),
        )?;
        let created = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.target.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conflict_exception() => Ok(()),
            Err(err) => Err(port_error("EventBridge Scheduler", &err)),
        }
    }

    async fn unschedule(&self, name: &str) -> Result<(), PortError> {
        let deleted = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.target.group)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => Ok(()),
            Err(err) => Err(port_error("EventBridge Scheduler", &err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures::at;
    use aws_sdk_scheduler::{
        operation::{
            create_schedule::{CreateScheduleError, CreateScheduleOutput},
            delete_schedule::{DeleteScheduleError, DeleteScheduleOutput},
        },
        types::error::{ConflictException, ResourceNotFoundException, ValidationException},
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    use super::*;

    fn target() -> ScheduleTarget {
        ScheduleTarget {
            group: "gate-nudges".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:send-email".into(),
            role_arn: "arn:aws:iam::123456789012:role/gate-scheduler".into(),
        }
    }

    #[tokio::test]
    async fn a_one_time_schedule_in_the_group_invoking_send_email_deleted_after_it_fires() {
        let create = mock!(Client::create_schedule)
            .match_requests(|req| {
                let target = req.target().unwrap();
                req.name() == Some("approval-x-0")
                    && req.group_name() == Some("gate-nudges")
                    && req.schedule_expression() == Some("at(2027-01-15T08:01:00)")
                    && req.schedule_expression_timezone() == Some("UTC")
                    && req.flexible_time_window().unwrap().mode() == &FlexibleTimeWindowMode::Off
                    && req.action_after_completion() == Some(&ActionAfterCompletion::Delete)
                    && target.arn().ends_with(":function:send-email")
                    && target.role_arn().ends_with("role/gate-scheduler")
                    && target.input() == Some(r#"{"Nudge":{"Index":0}}"#)
            })
            .then_output(|| {
                CreateScheduleOutput::builder()
                    .schedule_arn("a")
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_scheduler, RuleMode::Sequential, [&create]);
        EventBridgeScheduler::new(client, target())
            .schedule("approval-x-0", at(60), &json!({"Nudge": {"Index": 0}}))
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
    }

    #[tokio::test]
    async fn one_that_exists_is_kept_one_that_is_gone_is_fine_and_others_keep_their_kind() {
        let exists = mock!(Client::create_schedule).then_error(|| {
            CreateScheduleError::ConflictException(
                ConflictException::builder()
                    .message("exists")
                    .build()
                    .unwrap(),
            )
        });
        let invalid = mock!(Client::create_schedule).then_error(|| {
            CreateScheduleError::ValidationException(
                ValidationException::builder()
                    .message("bad role")
                    .build()
                    .unwrap(),
            )
        });
        let gone = mock!(Client::delete_schedule).then_error(|| {
            DeleteScheduleError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("gone")
                    .build()
                    .unwrap(),
            )
        });
        let deleted =
            mock!(Client::delete_schedule).then_output(|| DeleteScheduleOutput::builder().build());
        let client = mock_client!(
            aws_sdk_scheduler,
            RuleMode::Sequential,
            [&exists, &invalid, &gone, &deleted]
        );
        let scheduler = EventBridgeScheduler::new(client, target());
        scheduler.schedule("n", at(1), &json!({})).await.unwrap();
        let err = scheduler
            .schedule("n", at(1), &json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Failed(ref r) if r.contains("bad role")),
            "{err:?}"
        );
        scheduler.unschedule("n").await.unwrap();
        scheduler.unschedule("n").await.unwrap();
        assert_eq!(deleted.num_calls(), 1);
    }

    /// Scheduler throttled (HTTP 429 `ThrottlingException`, restJson1) past the SDK's retries,
    /// and Scheduler never answering: both worth retrying, within the call's budget.
    #[tokio::test(start_paused = true)]
    async fn throttled_or_hanging_is_worth_retrying_and_ends_in_time() {
        use aws_smithy_http_client::test_util::NeverClient;
        use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
        use aws_smithy_types::body::SdkBody;

        let throttled = mock!(Client::create_schedule).then_http_response(|| {
            let mut response = HttpResponse::new(
                StatusCode::try_from(429).unwrap(),
                SdkBody::from(r#"{"Message":"Rate exceeded"}"#),
            );
            response
                .headers_mut()
                .insert("x-amzn-errortype", "ThrottlingException");
            response
        });
        let client = mock_client!(aws_sdk_scheduler, RuleMode::MatchAny, [&throttled]);
        let err = EventBridgeScheduler::new(client, target())
            .schedule("n", at(1), &json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        assert!(throttled.num_calls() > 1, "the SDK retried it first");

        let timeouts = crate::clients::CallTimeouts {
            attempt: std::time::Duration::from_secs(2),
            operation: std::time::Duration::from_millis(4500),
        };
        let hanging = Client::from_conf(
            aws_sdk_scheduler::Config::builder()
                .with_test_defaults_v2()
                .http_client(NeverClient::new())
                .timeout_config(timeouts.config())
                .build(),
        );
        let started = tokio::time::Instant::now();
        let err = EventBridgeScheduler::new(hanging, target())
            .unschedule("n")
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        assert!(
            started.elapsed() <= timeouts.operation,
            "{:?}",
            started.elapsed()
        );
    }
}
