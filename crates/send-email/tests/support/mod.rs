//! What send-email's tests share: its settings for a three-approver stack, and the function on
//! in-memory ports whose Step Functions scheduled a given payload.
#![allow(dead_code)] // each test file uses its own part of it

use approval_domain::{
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        fixtures,
    },
    scheduled::ExecutionView,
};
use send_email::{Config, SendEmail};
use serde_json::Value;

pub type Function = SendEmail<
    MemoryStore,
    MemoryNotifier,
    MemoryTasks,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
>;

pub fn config_vars() -> Vec<(String, String)> {
    send_email::config::test_vars(&[])
}

/// The function, with Step Functions saying `view` of the fixture execution.
pub fn function_for(view: ExecutionView) -> Function {
    SendEmail {
        store: MemoryStore::default(),
        notifier: MemoryNotifier::default(),
        tasks: MemoryTasks::with_execution(&fixtures::execution_arn(), view),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config: Config::from_vars(config_vars()).expect("the test settings"),
        clock: fixtures::now,
    }
}

/// The function, whose execution scheduled exactly `payload`, with TimeoutSeconds 3600.
pub fn function(payload: &Value) -> Function {
    function_for(fixtures::running_execution(payload, Some(3600)))
}
