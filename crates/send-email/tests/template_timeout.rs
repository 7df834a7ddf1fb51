//! template.yaml's timeout is the one the code budgets against: every AWS call gives up, and
//! the invocation fails with a named error, before Lambda would kill it.

use approval_domain::memory::fixtures;

#[test]
fn send_email_gives_up_within_its_template_timeout() {
    assert_eq!(
        fixtures::template_timeout_seconds("send-email"),
        send_email::LAMBDA_TIMEOUT.as_secs()
    );
    // Five rounds of calls at most: the history, PutItem, on a retry of the same task the PutItem
    // of fresh secrets, the publishes (at once), PutItem (after the answer when every approver was
    // emailed, within the same invocation).
    assert!(send_email::CALL_TIMEOUTS.operation * 5 < send_email::LAMBDA_TIMEOUT);
    assert!(send_email::CALL_TIMEOUTS.attempt <= send_email::CALL_TIMEOUTS.operation);
}
