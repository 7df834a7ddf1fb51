//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken` (opens an
//! approval request and emails each approver their own links), by the table's stream, by the
//! stack's rule on executions' ends, and by the nudges' schedules.

use approval_aws::{
    DynamoDbStore, EmailChannel, EmfMeter, EventBridgeBus, EventBridgeScheduler, ScheduleTarget,
    StepFunctionsTasks,
    clients::{self, Adapters},
    logging, secrets,
    settings::ConfigError,
};
use approval_domain::Timestamp;
use approval_domain::ports::PortError;
use approval_slack::{SlackClient, WebApiTimeouts};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use send_email::{CALL_TIMEOUTS, Config, SendEmail, SendEmailError};
use tokio::sync::OnceCell;

type Function = send_email::Function<
    DynamoDbStore,
    EmailChannel,
    StepFunctionsTasks,
    EventBridgeBus,
    EmfMeter,
    EventBridgeScheduler,
    SlackClient,
>;

/// Each Slack call's attempt and all of its attempts: Slack's `Retry-After` of a rate-limited
/// call (usually a second or two) fits in the budget.
const SLACK_TIMEOUTS: WebApiTimeouts = WebApiTimeouts {
    attempt: std::time::Duration::from_secs(3),
    operation: std::time::Duration::from_secs(6),
};

// Built on the first event: loading the SDK config reads the CA certificates, half of the
// start-up time, so the runtime asks for the first event sooner (docs/bench.md, "Init").
static FUNCTION: OnceCell<Function> = OnceCell::const_new();

// One thread: Lambda hands a process one event at a time (docs/bench.md, tuning log).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let answer = service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let function_arn = event.context.invoked_function_arn;
        // A failure worth retrying (Secrets Manager not answering) builds nothing: the next
        // invocation tries again.
        let function = FUNCTION.get_or_try_init(|| build(function_arn)).await?;
        function.handle(event.payload).await
    });
    // Step Functions waits for the approvers, not for this answer: nothing to do after it.
    lambda_runtime::run(answer).await
}

/// `function_arn`: this function's, as the first event invoked it (the nudges' schedules invoke
/// it the same way).
async fn build(function_arn: String) -> Result<Function, SendEmailError> {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Ok(Function::Misconfigured(err)),
    };
    let Adapters { aws, store, tasks } =
        clients::adapters(CALL_TIMEOUTS, &config.requests_table).await;
    let notifier = EmailChannel::new(&aws, &config.email);
    let events = config
        .event_bus
        .as_ref()
        .map(|bus| EventBridgeBus::on(&aws, bus));
    let scheduler = config.nudges.as_ref().map(|nudges| {
        EventBridgeScheduler::on(
            &aws,
            ScheduleTarget {
                group: nudges.schedule_group.clone(),
                function_arn,
                role_arn: nudges.scheduler_role_arn.clone(),
            },
        )
    });
    let slack = match &config.slack {
        None => None,
        Some(settings) => {
            let secret = match secrets::secret_string_of(&aws, &settings.secret_arn).await {
                Ok(secret) => secret,
                Err(err @ PortError::Unavailable(_)) => {
                    return Err(SendEmailError::SlackUnavailable(err));
                }
                Err(PortError::Failed(why)) => {
                    return Ok(Function::Misconfigured(ConfigError::new(format!(
                        "SLACK_SECRET_ARN: {why}"
                    ))));
                }
            };
            match approval_slack::connect(&secret, settings, SLACK_TIMEOUTS) {
                Ok((client, _)) => Some(client),
                Err(why) => return Ok(Function::Misconfigured(ConfigError::new(why))),
            }
        }
    };
    Ok(Function::Ready(Box::new(SendEmail {
        store,
        notifier,
        tasks,
        events,
        meter: EmfMeter::new(&config.gate_name),
        scheduler,
        slack,
        config,
        clock: Timestamp::now,
    })))
}
