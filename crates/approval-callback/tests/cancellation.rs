//! A request whose execution ended: its links answer 410 and say so, and a vote racing the
//! cancellation never hands Step Functions a decision for a cancelled request. Also: a server
//! error is counted (`CallbackErrors`).

mod support;

use approval_callback::{Callback, Config, answer as answers};
use approval_domain::{
    ApprovalRequest, ExecutionArn, ExecutionStatus, Measure, RequestId, RequestState,
    memory::{MemoryMeter, MemoryStore, MemoryTasks, fixtures},
    ports::{Created, PortError, Replaced, RequestStore},
};
use lambda_http::{Body, Response, http::StatusCode};
use support::{answer, function, get, vote, votes_recorded};

#[tokio::test]
async fn a_cancelled_requests_links_answer_410_saying_how_the_execution_ended() {
    let (function, request, credentials) = function(2, 1);
    let mut stored = function.store.record(&request.request_id).unwrap();
    stored.end_with_execution(ExecutionStatus::Aborted, fixtures::now());
    function.store.replace(&stored).await.unwrap();
    for asked in [
        get("approve", &credentials[0].approve.encode()),
        vote("reject", &credentials[1], "too late?"),
    ] {
        let (status, body, _) = answer(&function, asked).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(
            body.contains("This request was cancelled")
                && body.contains("cancelled: the execution was aborted"),
            "{body}"
        );
    }
    assert_eq!(votes_recorded(&function, &request), 0);
    assert!(function.tasks.sends().is_empty());
}

/// A store on which send-email's cancellation lands between the callback's read and its write:
/// the first write finds the record changed.
struct CancelledMeanwhile {
    store: MemoryStore,
    status: ExecutionStatus,
    cancelled: std::sync::atomic::AtomicBool,
}

impl RequestStore for CancelledMeanwhile {
    async fn create(&self, request: &ApprovalRequest) -> Result<Created, PortError> {
        self.store.create(request).await
    }

    async fn get(&self, id: &RequestId) -> Result<Option<ApprovalRequest>, PortError> {
        self.store.get(id).await
    }

    async fn of_execution(&self, execution: &ExecutionArn) -> Result<Vec<RequestId>, PortError> {
        self.store.of_execution(execution).await
    }

    async fn replace(&self, request: &ApprovalRequest) -> Result<Replaced, PortError> {
        if !self
            .cancelled
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let mut stored = self.store.record(&request.request_id).unwrap();
            if stored
                .end_with_execution(self.status, fixtures::now())
                .is_some()
            {
                assert_eq!(
                    self.store.replace(&stored).await?,
                    Replaced::Written,
                    "the cancellation lands first"
                );
            }
        }
        self.store.replace(request).await
    }
}

#[tokio::test]
async fn a_vote_racing_the_cancellation_never_sends_a_decision_for_a_cancelled_request() {
    for status in [
        ExecutionStatus::Aborted,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
    ] {
        let (request, credentials) = ApprovalRequest::open(fixtures::new_request(1, 1));
        let vars = approval_callback::config::test_vars(&[
            ("LINK_MODE", "confirm"),
            ("REDIRECT_URL", support::REDIRECT),
        ]);
        let racing =
            Callback {
                store: CancelledMeanwhile {
                    store: MemoryStore::with([request.clone()]),
                    status,
                    cancelled: Default::default(),
                },
                slack: approval_callback::slack_side::SlackSide::<
                    approval_domain::memory::MemorySlack,
                >::Off,
                tasks: MemoryTasks::default(),
                config: Config::from_vars(vars).unwrap(),
                clock: fixtures::now,
                followups: Default::default(),
            };
        let response = racing
            .handle(vote("approve", &credentials[0], "ship it"))
            .await
            .unwrap();
        racing.after_answer().await;
        assert_eq!(response.status(), StatusCode::GONE, "{status}");
        assert!(
            racing.tasks.calls.lock().unwrap().is_empty(),
            "no SendTaskSuccess for a cancelled request ({status})"
        );
        let stored = racing.store.store.record(&request.request_id).unwrap();
        assert!(
            matches!(stored.state, RequestState::Cancelled { status: s, .. } if s == status),
            "{:?}",
            stored.state
        );
        assert!(stored.votes.is_empty(), "the vote was not recorded");
    }
}

#[test]
fn a_server_error_is_counted_and_nothing_else_is() {
    let meter = MemoryMeter::default();
    for status in [200, 303, 404, 409, 410, 413] {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        answers::count_if_failed(&response, &meter);
    }
    assert!(meter.measures().is_empty());
    for status in [500, 503] {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        answers::count_if_failed(&response, &meter);
    }
    assert_eq!(
        meter.measures(),
        vec![
            Measure::CallbackError {
                state_machine: None
            };
            2
        ]
    );
}
