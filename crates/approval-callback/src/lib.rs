//! `approval-callback` as a library, so its handler can be driven by integration tests and the
//! benchmark exactly as `main` drives it.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

pub mod handler;

pub use handler::App;

/// The function's timeout (`template.yaml`: `Timeout: 10`). The SDK must give up before it.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a request does must be done by then; past it the approver gets the 503 page
/// rather than the bare error API Gateway shows when the function is killed.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(9);

/// Attempt 2 s, all retries 4 s, per call. A request makes at most two calls (KMS `VerifyMac`,
/// then Step Functions `SendTaskSuccess`), so even two hanging services leave time to answer
/// within [`ANSWER_DEADLINE`].
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}
