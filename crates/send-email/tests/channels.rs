//! How the way email goes (`EMAIL_DELIVERY`) shapes an invocation: SES mails each approver a
//! multipart email from the sender address, up to 50 approvers, 10 sends at a time; with email
//! off, no approver is reachable and nothing is stored or sent.

mod support;

use std::time::Duration;

use approval_aws::EmailDelivery;
use approval_domain::{
    Address,
    memory::{
        MemoryEventBus, MemoryMeter, MemoryNotifier, MemoryScheduler, MemoryStore, MemoryTasks,
        Slow, fixtures,
    },
};
use send_email::{Config, MAX_CONCURRENT_SENDS, SendEmail, SendEmailError};
use serde_json::json;
use tokio::time::Instant;

fn stack_of(approvers: usize, delivery: &[(&str, &str)]) -> Config {
    let list: Vec<String> = (0..approvers)
        .map(|i| format!("approver{i}@example.com"))
        .collect();
    let list = list.join(",");
    let mut vars = vec![("APPROVERS", list.as_str())];
    vars.extend_from_slice(delivery);
    Config::from_vars(send_email::config::test_vars(&vars)).expect("the test settings")
}

const SES: &[(&str, &str)] = &[
    ("EMAIL_DELIVERY", "ses"),
    ("SENDER_ADDRESS", "approvals@example.com"),
    ("TOPIC_ARN", ""),
];

/// Each email takes `delay` to send.
fn function(
    config: Config,
    delay: Duration,
) -> SendEmail<
    MemoryStore,
    Slow<MemoryNotifier>,
    MemoryTasks,
    MemoryEventBus,
    MemoryMeter,
    MemoryScheduler,
    approval_domain::memory::MemorySlack,
> {
    SendEmail {
        store: MemoryStore::default(),
        notifier: Slow {
            port: MemoryNotifier::default(),
            delay,
        },
        tasks: MemoryTasks::with_execution(
            &fixtures::execution_arn(),
            fixtures::running_execution(&fixtures::payload(), Some(3600)),
        ),
        events: Some(MemoryEventBus::default()),
        meter: MemoryMeter::default(),
        scheduler: Some(MemoryScheduler::default()),
        slack: None::<approval_domain::memory::MemorySlack>,
        config,
        clock: fixtures::now,
    }
}

#[tokio::test]
async fn with_ses_every_approver_gets_one_multipart_email() {
    let config = stack_of(3, SES);
    assert_eq!(
        config.email,
        EmailDelivery::Ses {
            sender: Address::parse("approvals@example.com").unwrap()
        }
    );
    let function = function(config, Duration::ZERO);
    let answer = function.handle(fixtures::payload()).await.unwrap();
    assert_eq!(answer["Emailed"], 3);
    let messages = function.notifier.port.messages();
    assert_eq!(messages.len(), 3);
    for message in &messages {
        let html = message.html.as_deref().expect("an HTML part with SES");
        for line in message
            .body
            .lines()
            .filter(|l| l.starts_with("Approve: ") || l.starts_with("Reject: "))
        {
            let url = line.split_once(": ").unwrap().1;
            assert!(
                html.contains(&url.replace('&', "&amp;")),
                "{url} is a button"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn fifty_approvers_are_mailed_ten_at_a_time() {
    let delay = Duration::from_millis(100);
    let function = function(stack_of(50, SES), delay);
    let started = Instant::now();
    let answer = function.handle(fixtures::payload()).await.unwrap();
    let took = started.elapsed();
    assert_eq!(answer["Emailed"], 50);
    let mut to: Vec<String> = function
        .notifier
        .port
        .messages()
        .iter()
        .map(|m| m.to.to_string())
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 50, "one email each");
    // On the paused clock only the sends take time: 50 of them, 10 at once, is 5 rounds.
    assert_eq!(MAX_CONCURRENT_SENDS, 10);
    assert_eq!(took, delay * 5, "neither one at a time nor all 50 at once");
}

#[tokio::test]
async fn with_email_off_no_approver_is_reachable_and_nothing_is_stored_or_sent() {
    let function = function(
        stack_of(2, &[("EMAIL_DELIVERY", "none"), ("TOPIC_ARN", "")]),
        Duration::ZERO,
    );
    let err = function
        .handle(fixtures::payload_with(json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendEmailError::InvalidInput(m) if m.contains("no channel reaches approver `approver0@example.com`, `approver1@example.com`")),
        "{err}"
    );
    assert_eq!(err.error_type(), "SendEmail.InvalidInput");
    assert!(function.store.records().is_empty());
    assert!(function.notifier.port.messages().is_empty());
}
