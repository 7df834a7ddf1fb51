//! The function timeouts in template.yaml are the ones the code budgets against: the SDK gives
//! up and the approver gets a page before Lambda would kill the invocation. Change one, and this
//! test tells you to change the other.

use std::time::Duration;

const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The `Timeout:` of the function whose `Binary:` is `binary`: the first one after it.
fn template_timeout(binary: &str) -> Duration {
    let at = TEMPLATE
        .find(&format!("Binary: {binary}\n"))
        .unwrap_or_else(|| panic!("no function builds {binary}"));
    let line = TEMPLATE[at..]
        .lines()
        .find(|l| l.trim_start().starts_with("Timeout:"))
        .expect("a Timeout after it");
    let seconds: u64 = line
        .trim_start()
        .trim_start_matches("Timeout:")
        .trim()
        .parse()
        .expect("whole seconds");
    Duration::from_secs(seconds)
}

#[test]
fn approval_callback_answers_within_its_template_timeout() {
    assert_eq!(
        template_timeout("approval-callback"),
        approval_callback::LAMBDA_TIMEOUT
    );
    assert!(approval_callback::ANSWER_DEADLINE < approval_callback::LAMBDA_TIMEOUT);
    // Two calls at most (VerifyMac, SendTaskSuccess), each bounded by the SDK timeout.
    let per_call = approval_callback::sdk_timeouts()
        .operation_timeout()
        .expect("an operation timeout");
    assert!(
        per_call * 2 <= approval_callback::ANSWER_DEADLINE,
        "{per_call:?} per call"
    );
}

#[test]
fn send_email_gives_up_within_its_template_timeout() {
    assert_eq!(template_timeout("send-email"), send_email::LAMBDA_TIMEOUT);
    // Two rounds of calls (GenerateMac for both links at once, then Publish).
    let per_call = send_email::sdk_timeouts()
        .operation_timeout()
        .expect("an operation timeout");
    assert!(
        per_call * 2 < send_email::LAMBDA_TIMEOUT,
        "{per_call:?} per call"
    );
}
