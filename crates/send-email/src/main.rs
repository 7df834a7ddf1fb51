//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken` (opens an
//! approval request and emails each approver their own links), by the table's stream, by the
//! stack's rule on executions' ends, and by the nudges' schedules.

use approval_aws::{
    DynamoDbStore, EmailChannel, EmfMeter, EventBridgeBus, EventBridgeScheduler, ScheduleTarget,
    StepFunctionsTasks,
    clients::{self, Adapters},
    logging,
};
use approval_domain::Timestamp;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use send_email::{CALL_TIMEOUTS, Config, SendEmail};
use tokio::sync::OnceCell;

type Function = send_email::Function<
    DynamoDbStore,
    EmailChannel,
    StepFunctionsTasks,
    EventBridgeBus,
    EmfMeter,
    EventBridgeScheduler,
>;

// Built on the first event: loading the SDK config reads the CA certificates, half of the
// start-up time, so the runtime asks for the first event sooner (docs/bench.md, "Init").
static FUNCTION: OnceCell<Function> = OnceCell::const_new();

// One thread: Lambda hands a process one event at a time (docs/bench.md, tuning log).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let answer = service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let function_arn = event.context.invoked_function_arn;
        FUNCTION
            .get_or_init(|| build(function_arn))
            .await
            .handle(event.payload)
            .await
    });
    // Step Functions waits for the approvers, not for this answer: nothing to do after it.
    lambda_runtime::run(answer).await
}

/// `function_arn`: this function's, as the first event invoked it (the nudges' schedules invoke
/// it the same way).
async fn build(function_arn: String) -> Function {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Function::Misconfigured(err),
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
    Function::Ready(Box::new(SendEmail {
        store,
        notifier,
        tasks,
        events,
        meter: EmfMeter::new(&config.gate_name),
        scheduler,
        config,
        clock: Timestamp::now,
    }))
}
