//! `approval-callback`: behind API Gateway (or a function URL). Shows the confirmation page for
//! a link, and sends the approver's decision to Step Functions with `SendTaskSuccess`.

use approval_callback::{App, sdk_timeouts};
use approval_core::CallbackConfig;
use aws_config::BehaviorVersion;
use lambda_http::{Error, Request, run, service_fn};
use tokio::sync::OnceCell;

// One thread: Lambda hands a process one request at a time, and at 128 MB it gets a fraction of one
// vCPU. A worker pool only added thread hand-offs (futex and eventfd wake-ups) to every SDK call;
// one thread cut both warm latency and CPU per invocation (docs/bench.md, tuning log). The SDK
// calls still overlap: they wait on I/O, not on threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    approval_core::logging::init();
    // Built on the first request, once, and kept for the life of the process. Loading the AWS
    // config and creating the clients reads the system's CA certificates, half of our start-up
    // time; done here, it lets the runtime ask for the first request sooner (docs/bench.md).
    let app: OnceCell<App> = OnceCell::new();
    run(service_fn(|request: Request| {
        let app = &app;
        async move { app.get_or_init(build).await.handle(request).await }
    }))
    .await
}

async fn build() -> App {
    // A bad setting must not crash the runtime (API Gateway would show a bare 502): it is
    // logged, and every request gets an explanatory page instead.
    let config = CallbackConfig::from_env().inspect_err(|err| {
        tracing::error!(%err, "approval-callback is misconfigured; every request gets an error page")
    });
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    App {
        sfn: aws_sdk_sfn::Client::new(&aws),
        kms: aws_sdk_kms::Client::new(&aws),
        config,
    }
}
