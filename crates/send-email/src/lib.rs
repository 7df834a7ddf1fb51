//! `send-email` as a library, so its handler can be driven by integration tests and the
//! benchmark exactly as `main` drives it.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

pub mod handler;

/// The function's timeout (`template.yaml`: `Timeout: 25`). The SDK must give up before it.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(25);

/// Attempt 4 s, all retries 10 s, per call. An invocation makes two rounds of calls (KMS
/// `GenerateMac` for both links at once, then SNS `Publish`), so even hanging services fail it
/// within 20 s, before the function's 25 s timeout, leaving the state machine's Retry to try again.
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(4))
        .operation_timeout(Duration::from_secs(10))
        .build()
}
