//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken`; emails the
//! approver signed approve/reject links through SNS and leaves the task waiting for the callback.

use approval_core::config::SendEmailConfig;
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use send_email::{handler::SendEmail, sdk_timeouts};

#[tokio::main]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // Read once. A bad setting fails each invocation with a message naming it (visible in the
    // execution history) rather than crashing the runtime at start-up.
    let config = SendEmailConfig::from_env()
        .inspect_err(|err| tracing::error!(%err, "send-email is misconfigured"));
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    let function = SendEmail {
        sns: aws_sdk_sns::Client::new(&aws),
        kms: aws_sdk_kms::Client::new(&aws),
        config,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        function.handle(event.payload)
    }))
    .await
}
