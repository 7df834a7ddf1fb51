//! The invocation's deadline holds for the real sequence of calls, however slowly each service
//! answers: on tokio's paused clock, every port answers after a delay (up to hanging), on a first
//! invocation and on a retry of the same task. Each ends before the function's timeout, with the
//! answer or a retryable error, and never with an email sent for a request that is not stored.

mod support;

use std::time::Duration;

use approval_domain::{
    ApprovalRequest,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        Slow, fixtures,
    },
};
use send_email::{Config, INVOCATION_DEADLINE, LAMBDA_TIMEOUT, SendEmail};
use tokio::time::Instant;

type Function = SendEmail<
    Slow<MemoryStore>,
    Slow<MemoryNotifier>,
    Slow<MemoryTasks>,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
>;

fn function(delay: Duration, history_delay: Duration, stored: Option<ApprovalRequest>) -> Function {
    let payload = fixtures::payload();
    SendEmail {
        store: Slow {
            port: MemoryStore::with(stored),
            delay,
        },
        notifier: Slow {
            port: MemoryNotifier::default(),
            delay,
        },
        tasks: Slow {
            port: MemoryTasks::with_execution(
                &fixtures::execution_arn(),
                fixtures::running_execution(&payload, Some(3600)),
            ),
            // The history adapter reads up to five pages, each within the per-call budget.
            delay: history_delay,
        },
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config: Config::from_vars(support::config_vars()).expect("the test settings"),
        clock: fixtures::now,
    }
}

#[tokio::test(start_paused = true)]
async fn every_invocation_ends_before_the_timeout_whatever_the_services_take() {
    assert!(INVOCATION_DEADLINE < LAMBDA_TIMEOUT);
    // A retry of the same task: the request exists, nobody emailed yet (fresh credentials are
    // written, then the emails, then who was emailed).
    let (existing, _) = ApprovalRequest::open(
        send_email::approval::new_request(
            &send_email::payload::Invocation::parse(&fixtures::payload()).unwrap(),
            &Config::from_vars(support::config_vars()).unwrap(),
            approval_domain::ExecutionArn::parse(&fixtures::execution_arn()).unwrap(),
            &fixtures::state_machine_arn(),
            &approval_domain::scheduled::ScheduledTask::from_parameters(
                "{}",
                Some(3600),
                Some(fixtures::now()),
            ),
            fixtures::now(),
        )
        .unwrap(),
    );
    let seconds = |s: f64| Duration::from_secs_f64(s);
    for (delay, history_delay) in [
        (seconds(0.1), seconds(0.1)),
        (seconds(4.4), seconds(4.4)),
        (seconds(4.4), seconds(5.0 * 4.4)),
        (seconds(6.0), seconds(6.0)),
        (seconds(1.0), seconds(21.9)),
        (seconds(3600.0), seconds(0.1)),
        (seconds(0.1), seconds(3600.0)),
    ] {
        for stored in [None, Some(existing.clone())] {
            let retry = stored.is_some();
            let f = function(delay, history_delay, stored);
            let started = Instant::now();
            let answered = f.handle(fixtures::payload()).await;
            let took = started.elapsed();
            let case = format!(
                "calls {delay:?}, history {history_delay:?}, retry {retry}: {answered:?} after {took:?}"
            );
            assert!(took <= INVOCATION_DEADLINE, "{case}");
            if let Err(err) = &answered {
                assert!(err.is_retryable(), "{case}");
            }
            let emailed = f.notifier.port.messages().len();
            let records = f.store.port.records();
            assert!(
                emailed == 0 || records.len() == 1,
                "{case}: an email without a record"
            );
            if answered.is_ok() {
                assert_eq!(emailed, 3, "{case}");
            }
        }
    }
}
