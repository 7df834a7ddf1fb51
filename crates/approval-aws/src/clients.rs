//! The SDK configuration both Lambdas load, once, on their first event.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};

/// How long one AWS call may take: each attempt, and all attempts with the SDK's retries.
#[derive(Debug, Clone, Copy)]
pub struct CallTimeouts {
    pub attempt: Duration,
    pub operation: Duration,
}

impl CallTimeouts {
    pub fn config(self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// Loads region, credentials and endpoints (`AWS_ENDPOINT_URL*` too) from the environment.
pub async fn load(timeouts: CallTimeouts) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts.config())
        .load()
        .await
}

/// The adapters both Lambdas run on, over one SDK configuration (kept for those only one of
/// them needs: send-email's mailer, [`crate::EmailChannel::new`]).
pub struct Adapters {
    pub aws: SdkConfig,
    pub store: crate::DynamoDbStore,
    pub tasks: crate::StepFunctionsTasks,
}

/// Loads the SDK configuration and builds the adapters for `table`.
pub async fn adapters(timeouts: CallTimeouts, table: &str) -> Adapters {
    let aws = load(timeouts).await;
    Adapters {
        store: crate::DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), table),
        tasks: crate::StepFunctionsTasks::new(aws_sdk_sfn::Client::new(&aws)),
        aws,
    }
}
