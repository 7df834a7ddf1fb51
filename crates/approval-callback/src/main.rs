//! `approval-callback`: behind API Gateway (or a function URL). Shows an approver the request
//! behind their link, records their vote, and the deciding vote completes the task.

use approval_aws::{
    DynamoDbStore, EmfMeter, StepFunctionsTasks, after_answer,
    clients::{self, Adapters},
    logging, secrets,
};
use approval_callback::{
    CALL_TIMEOUTS, Callback, Config, answer,
    slack_side::{OnFirstUse, SetupError, SlackInbound, SlackSide},
};
use approval_domain::{Timestamp, ports::PortError};
use approval_slack::{SlackClient, WebApiTimeouts};
use lambda_http::{Adapter, Error, Request, lambda_runtime::Runtime, service_fn};
use tokio::sync::OnceCell;

type Function = approval_callback::Function<DynamoDbStore, StepFunctionsTasks, SlackClient>;

/// A click's modal must open within Slack's 3 s of the click: one attempt of 1.2 s, all of
/// them 2 s.
const SLACK_TIMEOUTS: WebApiTimeouts = WebApiTimeouts {
    attempt: std::time::Duration::from_millis(1200),
    operation: std::time::Duration::from_secs(2),
};

// Built on the first request (docs/bench.md, "Init"). A bad setting is logged and every request
// gets the 500 page, rather than the runtime crashing into a bare 502.
static FUNCTION: OnceCell<Function> = OnceCell::const_new();

// Counts the 5xx answers (docs/reference.md, "Metrics"), misconfigured ones included.
static METER: std::sync::LazyLock<EmfMeter> = std::sync::LazyLock::new(EmfMeter::from_env);

// One thread: Lambda hands a process one request at a time (docs/bench.md, tuning log).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let answer = service_fn(|request: Request| async {
        let response = FUNCTION.get_or_init(build).await.handle(request).await?;
        answer::count_if_failed(&response, &*METER);
        Ok::<_, Error>(response)
    });
    // As lambda_http::run, plus the work that follows each posted answer.
    after_answer::run(Runtime::new(Adapter::from(answer)), || async {
        if let Some(function) = FUNCTION.get() {
            function.after_answer().await;
        }
    })
    .await
}

async fn build() -> Function {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Function::Misconfigured(err),
    };
    let Adapters { store, tasks, aws } =
        clients::adapters(CALL_TIMEOUTS, &config.requests_table).await;
    // Slack's secret is read by the first interaction that needs it, once per instance: a
    // link's cold start never waits for Secrets Manager.
    let slack = match config.slack.clone() {
        None => SlackSide::Off,
        Some(settings) => SlackSide::OnFirstUse(OnFirstUse::new(Box::new(move || {
            Box::pin(set_up_slack(aws.clone(), settings.clone()))
        }))),
    };
    Function::Ready(Box::new(Callback {
        store,
        tasks,
        slack,
        config,
        clock: Timestamp::now,
        followups: Default::default(),
    }))
}

/// Reads the Slack app's secret and builds its client. Secrets Manager not answering is tried
/// again by the next interaction; a missing or malformed secret is logged and remembered.
async fn set_up_slack(
    aws: aws_config::SdkConfig,
    settings: approval_slack::SlackSettings,
) -> Result<SlackInbound<SlackClient>, SetupError> {
    let unusable = |why: String| {
        tracing::error!(
            why,
            "Slack is on but not usable: its interactions answer 503"
        );
        SetupError::Unusable(why)
    };
    let secret = match secrets::secret_string_of(&aws, &settings.secret_arn).await {
        Ok(secret) => secret,
        Err(PortError::Unavailable(why)) => return Err(SetupError::Unavailable(why)),
        Err(PortError::Failed(why)) => return Err(unusable(format!("SLACK_SECRET_ARN: {why}"))),
    };
    let (client, secret) =
        approval_slack::connect(&secret, &settings, SLACK_TIMEOUTS).map_err(unusable)?;
    Ok(SlackInbound {
        answers: client,
        signing_secret: secret.signing_secret.into_bytes(),
    })
}
