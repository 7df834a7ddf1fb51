//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken`; emails the
//! approver approve/reject links through SNS and leaves the task waiting for the callback.

use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use send_email::{handler, sdk_timeouts};

#[tokio::main]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // Read once; a missing value fails each invocation with a message naming it (visible in
    // the execution history) rather than crashing the runtime at start-up.
    let topic_arn = std::env::var(handler::TOPIC_ARN_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let aws = aws_config::defaults(BehaviorVersion::latest()).timeout_config(sdk_timeouts()).load().await;
    let sns = aws_sdk_sns::Client::new(&aws);
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(&sns, topic_arn.as_deref(), event.payload)
    }))
    .await
}
