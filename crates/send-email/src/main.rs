//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken`; emails the
//! approver approve/reject links through SNS and leaves the task waiting for the callback.

use std::time::Duration;

use aws_config::{BehaviorVersion, timeout::TimeoutConfig};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

mod handler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // Read once; a missing value fails each invocation with a message naming it (visible in
    // the execution history) rather than crashing the runtime at start-up.
    let topic_arn = std::env::var(handler::TOPIC_ARN_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let aws = aws_config::defaults(BehaviorVersion::latest())
        // Bounded so that a hanging SNS fails the invocation well within the Lambda timeout,
        // leaving the state machine's Retry to try again.
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .load()
        .await;
    let sns = aws_sdk_sns::Client::new(&aws);
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(&sns, topic_arn.as_deref(), event.payload)
    }))
    .await
}
