//! `approval-callback`: behind API Gateway (or a function URL). Shows the confirmation page for
//! a link, and sends the approver's decision to Step Functions with `SendTaskSuccess`.

use approval_callback::{App, sdk_timeouts};
use approval_core::CallbackConfig;
use aws_config::BehaviorVersion;
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // A bad setting must not crash the runtime (API Gateway would show a bare 502): log it once
    // here, and answer every request with an explanatory page instead.
    let config = CallbackConfig::from_env()
        .inspect_err(|err| tracing::error!(%err, "approval-callback is misconfigured; every request gets an error page"));
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    let app = App {
        sfn: aws_sdk_sfn::Client::new(&aws),
        kms: aws_sdk_kms::Client::new(&aws),
        config,
    };
    run(service_fn(|request: Request| app.handle(request))).await
}
