//! Forged and malformed Slack requests through the real handler (CONTRACT.md "Slack"): each
//! gets its answer, and none records a vote, sends anything to Step Functions or writes the
//! store; a request Slack did not sign is not even read (no store or Slack call), nor is one
//! over 16 KiB. The cases: slack/unsigned_cases.rs and slack/signed_cases.rs.

#[path = "slack/support.rs"]
mod support;

#[path = "slack/cases.rs"]
mod cases;
#[path = "slack/signed_cases.rs"]
mod signed_cases;
#[path = "slack/unsigned_cases.rs"]
mod unsigned_cases;

use approval_domain::memory::StoreOp;
use cases::{Case, Then};
use support::*;

fn cases(f: &Fixture) -> Vec<Case> {
    let mut cases = unsigned_cases::unsigned_cases(f);
    cases.extend(signed_cases::signed_cases(f));
    cases
}

#[tokio::test]
async fn every_forged_or_malformed_slack_request_gets_its_answer_and_changes_nothing() {
    let f = fixture();
    let all = cases(&f);
    assert!(all.len() >= 50, "{} cases", all.len());
    let before: Vec<_> = f.function.store.records();
    let mut count = 0;
    for case in all {
        let reads = f.function.store.count(StoreOp::Get);
        let slack_calls = slack(&f.function).calls.lock().unwrap().len();
        let (status, body) = answer(&f.function, case.request).await;
        assert_eq!(status, case.status, "{}: {body}", case.name);
        let read = f.function.store.count(StoreOp::Get) - reads;
        let called = slack(&f.function).calls.lock().unwrap().len() - slack_calls;
        match case.then {
            Then::Untouched => assert_eq!((read, called), (0, 0), "{}: read or called", case.name),
            Then::ToldWhy => assert!(
                called == 1 || body.contains(r#""response_action":"errors""#),
                "{}: nobody told why ({body})",
                case.name
            ),
            Then::Ignored => assert_eq!((read, called, body.as_str()), (0, 0, ""), "{}", case.name),
        }
        count += 1;
    }
    assert_eq!(
        f.function.store.count(StoreOp::Replace),
        0,
        "nothing written"
    );
    assert!(
        f.function.tasks.sends().is_empty(),
        "nothing sent to Step Functions"
    );
    assert_eq!(
        slack(&f.function).count(approval_domain::memory::SlackCall::OpenVote),
        0,
        "no modal opened"
    );
    let mut after = f.function.store.records();
    let mut before = before;
    after.sort_by_key(|r| r.request_id.to_string());
    before.sort_by_key(|r| r.request_id.to_string());
    assert_eq!(after, before, "every record as it was");
    println!("{count} forged or malformed Slack requests: 0 votes, 0 SendTaskSuccess");
}

#[tokio::test]
async fn the_same_signed_click_once_more_within_the_window_changes_nothing_more() {
    // Slack's signature cannot tell a replay within 300 s from the original; the record can:
    // a second submission of the same vote is refused (one vote per approver).
    let f = fixture();
    let vote = submit(TEAM, "U1", &f.open.request_id, "approve", None);
    answer(&f.function, from_slack(&vote)).await;
    let (status, body) = answer(&f.function, from_slack(&vote)).await;
    assert_eq!(status, 200);
    assert!(body.contains("You already voted"), "{body}");
    assert_eq!(
        f.function
            .store
            .record(&f.open.request_id)
            .unwrap()
            .votes
            .len(),
        1
    );
}
