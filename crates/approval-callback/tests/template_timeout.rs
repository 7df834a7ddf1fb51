//! template.yaml's timeout is the one the code budgets against, and the answer's deadline holds
//! over the real sequence of calls however slowly each service answers (tokio's paused clock):
//! the approver gets a page before Lambda would kill the invocation (and API Gateway would show a
//! bare 502).

mod support;

use std::time::Duration;

use approval_callback::{ANSWER_DEADLINE, Callback, LAMBDA_TIMEOUT};
use approval_domain::{
    ApprovalRequest,
    memory::{MemoryStore, MemoryTasks, Slow, fixtures},
};
use lambda_http::http::StatusCode;
use tokio::time::Instant;

#[test]
fn approval_callback_budgets_against_its_template_timeout() {
    let template = include_str!("../../../template.yaml");
    let timeout: Option<u64> = template
        .split("Binary: approval-callback\n")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.trim().strip_prefix("Timeout:")))
        .and_then(|seconds| seconds.trim().parse().ok());
    assert_eq!(timeout, Some(LAMBDA_TIMEOUT.as_secs()));
    assert!(ANSWER_DEADLINE < LAMBDA_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn every_vote_is_answered_by_the_deadline_whatever_the_services_take() {
    for delay in [0.1, 1.5, 2.7, 4.0, 3600.0].map(Duration::from_secs_f64) {
        // Three approvers, two needed; one approved already: this vote decides. Each attempt
        // loses its compare-and-swap `conflicts` times first (up to all five attempts).
        for conflicts in [0, 2, 5] {
            let (mut request, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
            request
                .cast(
                    0,
                    approval_domain::Choice::Approved,
                    String::new(),
                    fixtures::now(),
                )
                .unwrap();
            let store = MemoryStore::with([request]);
            store.conflict_next(conflicts);
            let plain = support::function_holding(Vec::new(), "confirm", Some(support::REDIRECT));
            let function = Callback {
                store: Slow { port: store, delay },
                slack: approval_callback::slack_side::SlackSide::<
                    approval_domain::memory::MemorySlack,
                >::Off,
                tasks: Slow {
                    port: MemoryTasks::default(),
                    delay,
                },
                config: plain.config,
                clock: fixtures::now,
                followups: Default::default(),
            };
            let started = Instant::now();
            let response = function
                .handle(support::vote("approve", &credentials[1], ""))
                .await
                .unwrap();
            let took = started.elapsed();
            let case = format!(
                "calls {delay:?}, {conflicts} lost races: {} after {took:?}",
                response.status()
            );
            assert!(took <= ANSWER_DEADLINE, "{case}");
            assert!(
                [StatusCode::SEE_OTHER, StatusCode::SERVICE_UNAVAILABLE]
                    .contains(&response.status()),
                "{case}"
            );
        }
    }
}
