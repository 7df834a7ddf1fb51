//! template.yaml's timeout is the one the code budgets against: the approver gets a page before
//! Lambda would kill the invocation (and API Gateway would show a bare 502), and what follows the
//! answer ends before it too.

use approval_domain::memory::fixtures;

#[test]
fn approval_callback_answers_within_its_template_timeout() {
    assert_eq!(
        fixtures::template_timeout_seconds("approval-callback"),
        approval_callback::LAMBDA_TIMEOUT.as_secs()
    );
    // Four rounds of calls at most before the answer: GetItem, PutItem, SendTaskSuccess, and
    // the PutItem of a delivery that failed.
    assert!(approval_callback::CALL_TIMEOUTS.operation * 4 < approval_callback::ANSWER_DEADLINE);
    // After it, in the same invocation: the delivered mark and the decided notices, at once.
    let after_answer = approval_callback::CALL_TIMEOUTS
        .operation
        .max(approval_callback::NOTICE_BUDGET);
    assert!(approval_callback::ANSWER_DEADLINE + after_answer < approval_callback::LAMBDA_TIMEOUT);
}
