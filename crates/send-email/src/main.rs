//! `send-email`: invoked by Step Functions with `lambda:invoke.waitForTaskToken`; opens an
//! approval request and emails each approver their own links.

use approval_aws::{
    DynamoDbStore, EmailChannel, EmfMeter, EventBridgeBus, StepFunctionsTasks,
    clients::{self, Adapters},
    logging,
};
use approval_domain::Timestamp;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use send_email::{CALL_TIMEOUTS, Config, SendEmail};
use tokio::sync::OnceCell;

type Function =
    send_email::Function<DynamoDbStore, EmailChannel, StepFunctionsTasks, EventBridgeBus, EmfMeter>;

// Built on the first event: loading the SDK config reads the CA certificates, half of the
// start-up time, so the runtime asks for the first event sooner (docs/bench.md, "Init").
static FUNCTION: OnceCell<Function> = OnceCell::const_new();

// One thread: Lambda hands a process one event at a time (docs/bench.md, tuning log).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let answer = service_fn(|event: LambdaEvent<serde_json::Value>| async {
        FUNCTION
            .get_or_init(build)
            .await
            .handle(event.payload)
            .await
    });
    // Step Functions waits for the approvers, not for this answer: nothing to do after it.
    lambda_runtime::run(answer).await
}

async fn build() -> Function {
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
    Function::Ready(SendEmail {
        store,
        notifier,
        tasks,
        events,
        meter: EmfMeter::new(&config.gate_name),
        config,
        clock: Timestamp::now,
    })
}
