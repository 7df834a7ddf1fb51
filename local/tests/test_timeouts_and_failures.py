"""A request nobody decides in time, and a send-email that cannot publish."""

from __future__ import annotations

import json
import time

import localstack
from helpers import (
    SHORT_TIMEOUT,
    assert_page,
    assert_says,
    events_of_type,
    record,
    rfc3339_utc,
    start_and_wait_for_email,
    states_entered,
)

QUIET_S = 2.0  # how long "no email for this one" is watched for


def test_short_approval_timeout_ends_in_the_timeout_state_and_a_late_click_is_410(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "short-timeout", state_machine_arn=SHORT_TIMEOUT.arn)
    # The request expires with the task: its expiry is the task's TimeoutSeconds (3 s) at most.
    item = record(stack, pending)
    assert item["StateMachineArn"] == SHORT_TIMEOUT.arn

    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert description["status"] == "FAILED"
    assert description.get("error") == "Approval.TimedOut"
    history = stack.history(pending.execution_arn)
    assert states_entered(history)[0] == "Lambda Callback" and states_entered(history)[-1] == "ApprovalTimedOutState"
    timed_out = events_of_type(history, "TaskTimedOut")
    assert len(timed_out) == 1 and timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    scheduled = events_of_type(history, "TaskScheduled")
    assert scheduled[0]["taskScheduledEventDetails"]["resourceType"] == "lambda"
    assert scheduled[0]["taskScheduledEventDetails"].get("timeoutInSeconds") == SHORT_TIMEOUT.approval_timeout_seconds

    # Right after the task timed out (the request's ExpiresAt, counted from send-email's run, may
    # still be a moment ahead): a vote finds the task closed.
    assert_page(localstack.post_link(pending.email.approve_url, "too late"), 410)
    assert_says(localstack.post_link(pending.email.reject_url, "too late"), r"expired|closed|timed out")
    # Once ExpiresAt has passed, every link of the request says it expired, GET and POST.
    expires_at = rfc3339_utc(record(stack, pending)["ExpiresAt"]).timestamp()
    time.sleep(max(0.0, expires_at + 1.1 - time.time()))
    for email in pending.emails.values():
        for answer in (localstack.http_request("GET", email.approve_url),
                       localstack.post_link(email.reject_url, "late")):
            assert_page(answer, 410)
            assert_says(answer, r"expired|closed|timed out")
    assert stack.describe(pending.execution_arn)["status"] == "FAILED"
    # The approval task never succeeded (the one that did is TellApproversOfExpiry's plain invoke).
    succeeded = events_of_type(stack.history(pending.execution_arn), "TaskSucceeded")
    assert not [e for e in succeeded
                if e["taskSucceededEventDetails"].get("resource") == "invoke.waitForTaskToken"], succeeded
    assert record(stack, pending).get("Votes", []) == []
    stored = record(stack, pending)
    assert (stored["State"]["Name"], stored["State"]["At"]) == ("expired", stored["ExpiresAt"]), stored["State"]
    # send-email told every approver of the request that it expired (the record's change, the stream).
    for approver in pending.emails:
        notice = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=10, kind="expired")
        assert notice.subject.startswith("Expired: ") and "expired" in notice.body, notice


def test_send_email_failure_that_retrying_cannot_fix_fails_the_execution_at_once(stack: localstack.LocalStack) -> None:
    """The topic is gone, so send-email's Publish fails with SNS's NotFound: retrying cannot fix
    that, so it is SendEmail.Failed, which no Retry of the state machine covers, and the
    execution fails on the first attempt, naming it (throttling or an outage would be
    SendEmail.PublishFailed, retried: the Rust fault tests cover those)."""
    definition = json.loads(stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])
    retriers = definition["States"]["Lambda Callback"].get("Retry", [])

    with stack.topic_missing():
        execution_arn = stack.start_execution(name=f"send-email-fails-{int(time.time() * 1000) % 10**9}")
        description = stack.wait_for_end(execution_arn, timeout=120)
    history = stack.history(execution_arn)

    assert description["status"] == "FAILED"
    failures = events_of_type(history, "TaskFailed")
    assert len(failures) == 1, failures
    assert failures[0]["taskFailedEventDetails"]["error"] == "SendEmail.Failed", failures[0]
    assert "NotFound" in failures[0]["taskFailedEventDetails"].get("cause", ""), failures[0]
    assert description.get("error") == "SendEmail.Failed"
    matching = [r for r in retriers if {"SendEmail.Failed", "States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"])]
    assert not matching, f"a Retry of 'Lambda Callback' covers SendEmail.Failed: {matching}"
    assert len(events_of_type(history, "TaskScheduled")) == 1
    # Nothing was published for this execution, nor once its end reached send-email (the stack's
    # execution watcher plays Step Functions' status-change event; the request stored before the
    # publish failed is ended then): its approvers never heard of it. Waited for here, with the
    # topic back, so that nothing of it arrives during a later test.
    stack.execution_watcher.wait_reported(execution_arn, timeout=30)
    stack.stream_poller.wait_idle(timeout=30)
    time.sleep(QUIET_S)  # the inboxes' readers poll their queues every second
    execution_name = execution_arn.rsplit(":", 1)[-1]
    assert not stack.inbox.received(lambda e: e.execution_name == execution_name)
