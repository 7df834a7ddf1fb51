"""Links that get opened by machines, twice, or too late: none of that decides anything."""

from __future__ import annotations

import json
import time

import stack as local_stack
from helpers import PendingApproval, events_of_type, output_json, start_and_wait_for_email, states_entered

SCANNER_ROUNDS = 3  # mail scanners and link previewers fetch a link more than once


def _assert_gone_page(response: local_stack.HttpResponse) -> None:
    assert response.status == 410, response.body[:500]
    assert response.headers.get("content-type", "").startswith("text/html")
    assert "already decided or expired" in response.body.lower()


def test_scanner_gets_and_heads_decide_nothing_and_a_real_approval_still_works(
    stack: local_stack.LocalStack, pending_approval: PendingApproval
) -> None:
    links = (pending_approval.email.approve_url, pending_approval.email.reject_url)
    for _ in range(SCANNER_ROUNDS):
        for link in links:
            got = local_stack.http_request("GET", link)
            assert got.status == 200, got.body[:500]  # the confirmation page, nothing more
            headed = local_stack.http_request("HEAD", link)
            assert headed.status == 405, headed.status

    # The decision is synchronous in the callback (SendTaskSuccess before answering), so had any
    # of those requests decided, the history would already show the task's result.
    assert stack.describe(pending_approval.execution_arn)["status"] == "RUNNING"
    history = stack.history(pending_approval.execution_arn)
    assert not events_of_type(history, "TaskSucceeded")
    assert not events_of_type(history, "TaskFailed")

    # The token was never spent: a person's approval afterwards goes through.
    result = local_stack.decide_via_confirmation_page(pending_approval.email.approve_url, "after the scanners")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "ApprovedPassState"
    assert output_json(description)["Comment"] == "after the scanners"


def test_second_post_after_a_decision_is_410_and_the_execution_is_decided_once(
    stack: local_stack.LocalStack, pending_approval: PendingApproval
) -> None:
    email = pending_approval.email
    first = local_stack.decide_via_confirmation_page(email.approve_url, "first click")
    assert first.answer.status == 303, first.answer.body[:500]

    # The same page submitted again, and the other button: both too late.
    again = local_stack.decide_via_confirmation_page(email.approve_url, "second click")
    _assert_gone_page(again.answer)
    other = local_stack.decide_via_confirmation_page(email.reject_url, "change of mind")
    _assert_gone_page(other.answer)

    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    history = stack.history(pending_approval.execution_arn)
    assert len(events_of_type(history, "TaskSucceeded")) == 1
    assert states_entered(history)[-1] == "ApprovedPassState"
    output = output_json(description)
    assert (output["Decision"], output["Comment"]) == ("approved", "first click")


def test_short_approval_timeout_ends_in_the_timeout_state_and_a_late_click_is_410(
    stack: local_stack.LocalStack, short_timeout_state_machine: str
) -> None:
    pending = start_and_wait_for_email(stack, "short-timeout", state_machine_arn=short_timeout_state_machine)

    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert description["status"] == "FAILED"
    assert description.get("error") == "Approval.TimedOut"
    history = stack.history(pending.execution_arn)
    assert states_entered(history) == ["Lambda Callback", "ApprovalTimedOutState"]
    timed_out = events_of_type(history, "TaskTimedOut")
    assert len(timed_out) == 1
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    scheduled = events_of_type(history, "TaskScheduled")
    assert scheduled and scheduled[0]["taskScheduledEventDetails"].get("timeoutInSeconds") == 3

    late = local_stack.decide_via_confirmation_page(pending.email.approve_url, "too late")
    _assert_gone_page(late.answer)
    assert stack.describe(pending.execution_arn)["status"] == "FAILED"
    assert not events_of_type(stack.history(pending.execution_arn), "TaskSucceeded")


def test_send_email_failure_is_retried_then_fails_the_execution(stack: local_stack.LocalStack) -> None:
    """The topic is gone, so send-email's Publish fails; the state machine's Retry takes over,
    and after its attempts the execution fails (the failure is not caught)."""
    definition = json.loads(stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])
    retriers = definition["States"]["Lambda Callback"].get("Retry", [])

    with stack.topic_missing():
        execution_arn = stack.start_execution(name=f"send-email-fails-{int(time.time() * 1000) % 10**9}")
        description = stack.wait_for_end(execution_arn, timeout=120)
    history = stack.history(execution_arn)

    assert description["status"] == "FAILED"
    failures = events_of_type(history, "TaskFailed")
    assert failures, "send-email's failure is not in the history"
    error = failures[0]["taskFailedEventDetails"]["error"]
    assert all(f["taskFailedEventDetails"]["error"] == error for f in failures)
    assert description.get("error") == error

    matching = [r for r in retriers if {error, "States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"])]
    assert matching, (
        f"send-email failed with error {error!r}, which no Retry of 'Lambda Callback' covers "
        f"(ErrorEquals: {[r['ErrorEquals'] for r in retriers]}): the Retry never takes over"
    )
    attempts = 1 + matching[0].get("MaxAttempts", 3)
    scheduled = events_of_type(history, "TaskScheduled")
    assert len(scheduled) == attempts, f"{len(scheduled)} attempts of send-email, expected {attempts} (Retry visible)"
    assert len(failures) == attempts
    # Each retry waited as the retrier says: IntervalSeconds, then times BackoffRate.
    retrier = matching[0]
    for n, (earlier, later) in enumerate(zip(scheduled, scheduled[1:])):
        wanted = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** n
        waited = (later["timestamp"] - earlier["timestamp"]).total_seconds()
        assert waited >= 0.9 * wanted, f"retry {n + 1} came after {waited:.2f}s, the Retry says {wanted}s"
    execution_failed = events_of_type(history, "ExecutionFailed")
    assert len(execution_failed) == 1
    assert execution_failed[0]["executionFailedEventDetails"]["error"] == error
    # Nothing was published for this execution, so no approval email ever arrives.
    execution_name = execution_arn.rsplit(":", 1)[-1]
    try:
        stack.wait_for_email(execution_name, timeout=2)
    except local_stack.StackError:
        pass
    else:
        raise AssertionError("an approval email arrived for an execution whose send-email failed")
