//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken`; emails the
//! approver signed approve/reject links through SNS and leaves the task waiting for the callback.

use approval_core::config::SendEmailConfig;
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use send_email::{handler::SendEmail, sdk_timeouts};
use tokio::sync::OnceCell;

// One thread: Lambda hands a process one event at a time, and at 128 MB it gets a fraction of one
// vCPU. A worker pool only added thread hand-offs (futex and eventfd wake-ups) to every SDK call;
// one thread cut both warm latency and CPU per invocation (docs/bench.md, tuning log). The SDK
// calls still overlap: they wait on I/O, not on threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // Built on the first event, once, and kept for the life of the process. Loading the AWS
    // config and creating the clients reads the system's CA certificates, half of our start-up
    // time; done here, it lets the runtime ask for the first event sooner (docs/bench.md).
    let function: OnceCell<SendEmail> = OnceCell::new();
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let function = &function;
        async move {
            function
                .get_or_init(build)
                .await
                .handle(event.payload)
                .await
        }
    }))
    .await
}

async fn build() -> SendEmail {
    // A bad setting fails each invocation with a message naming it (visible in the execution
    // history) rather than crashing the runtime.
    let config = SendEmailConfig::from_env()
        .inspect_err(|err| tracing::error!(%err, "send-email is misconfigured"));
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    SendEmail {
        sns: aws_sdk_sns::Client::new(&aws),
        kms: aws_sdk_kms::Client::new(&aws),
        config,
    }
}
