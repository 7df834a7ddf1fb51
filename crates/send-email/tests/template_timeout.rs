//! template.yaml's timeout is the one the code budgets against (tests/deadline.rs holds the
//! deadline to it over the real sequence of calls).

#[test]
fn send_email_budgets_against_its_template_timeout() {
    let template = include_str!("../../../template.yaml");
    let timeout: Option<u64> = template
        .split("Binary: send-email\n")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.trim().strip_prefix("Timeout:")))
        .and_then(|seconds| seconds.trim().parse().ok());
    assert_eq!(timeout, Some(send_email::LAMBDA_TIMEOUT.as_secs()));
}
