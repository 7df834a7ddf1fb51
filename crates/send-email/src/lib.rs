//! `send-email` as a library, so its handler can be driven by integration tests and the
//! benchmark exactly as `main` drives it.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

pub mod handler;

/// The function's timeout (`template.yaml`: `Timeout: 25`). The SDK must give up before it.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(25);

/// Bounded so that a hanging SNS fails the invocation well within the function's timeout,
/// leaving the state machine's Retry to try again.
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}
