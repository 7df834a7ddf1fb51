//! `approval-callback` as a library, so its handler can be driven by integration tests and the
//! benchmark exactly as `main` drives it.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

pub mod handler;

pub use handler::App;

/// The function's timeout (`template.yaml`: `Timeout: 10`). The SDK must give up before it.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempt 2 s, all retries 6 s: a hanging or throttled Step Functions gets the approver the 503
/// page well before the function's timeout would turn into a bare API Gateway error.
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(6))
        .build()
}
