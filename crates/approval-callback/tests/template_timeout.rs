//! template.yaml's timeout is the one the code budgets against: the approver gets a page before
//! Lambda would kill the invocation (and API Gateway would show a bare 502).

use approval_domain::memory::fixtures;

#[test]
fn approval_callback_answers_within_its_template_timeout() {
    assert_eq!(
        fixtures::template_timeout_seconds("approval-callback"),
        approval_callback::LAMBDA_TIMEOUT.as_secs()
    );
    assert!(approval_callback::ANSWER_DEADLINE < approval_callback::LAMBDA_TIMEOUT);
    // Four rounds of calls at most before the answer: GetItem, PutItem, SendTaskSuccess, PutItem.
    // Then the decided notices, bounded on their own.
    assert!(
        approval_callback::CALL_TIMEOUTS.operation * 4 + approval_callback::NOTICE_BUDGET
            < approval_callback::ANSWER_DEADLINE
    );
}
