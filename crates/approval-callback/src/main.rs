//! `approval-callback`: behind API Gateway (or a function URL). Shows the confirmation page for
//! a link, and sends the approver's decision to Step Functions with `SendTaskSuccess`.

use std::time::Duration;

use approval_core::CallbackConfig;
use aws_config::{BehaviorVersion, timeout::TimeoutConfig};
use lambda_http::{Error, Request, run, service_fn};

mod handler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // A bad setting must not crash the runtime (API Gateway would show a bare 502): log it once
    // here, and answer every request with an explanatory page instead.
    let config = CallbackConfig::from_env()
        .inspect_err(|err| tracing::error!(%err, "approval-callback is misconfigured; every request gets an error page"));
    let aws = aws_config::defaults(BehaviorVersion::latest())
        // Attempt 2 s, all retries 6 s: the approver gets the 503 page well before the
        // function's 10 s timeout would turn into a bare API Gateway error.
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        )
        .load()
        .await;
    let app = handler::App {
        sfn: aws_sdk_sfn::Client::new(&aws),
        config,
    };
    run(service_fn(|request: Request| app.handle(request))).await
}
