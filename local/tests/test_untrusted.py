"""send-email acts only on what Step Functions scheduled: a direct invocation with a waiting
execution's real payload, edited, is refused (SendEmail.Untrusted) and changes nothing; the very
payload sent again (a retry) reuses the request, and the links already mailed keep working."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest

import localstack
from helpers import (
    UNTRUSTED,
    PendingApproval,
    credential_hashes,
    events_of_type,
    output_json,
    record_once_notified,
    record_when,
    start_and_wait_for_email,
    states_entered,
)

QUIET_S = 2.0  # how long "no new email" is watched for


def _edited(payload: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    edit(changed)
    return changed


def _set(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


EDITS = {
    "execution name changed": _set("ExecutionContext", "Execution", "Name", "someone-elses-run"),
    "execution input changed": _set("ExecutionContext", "Execution", "Input", {"Comment": "Nothing to see here."}),
    "details added": _set("Approval", {"Subject": "Harmless", "Details": {"change": "none"}}),
    "foreign API endpoint": _set("APIGatewayEndpoint", "https://evil.example.com/states"),
    "state machine name changed": _set("ExecutionContext", "StateMachine", "Name", "HarmlessStateMachine"),
    "task token changed": _set("ExecutionContext", "Task", "Token", "borrowed-token"),
}


def _new_emails_since(stack: localstack.LocalStack, since: float) -> list[localstack.Email]:
    time.sleep(QUIET_S)
    return stack.inbox.received(lambda e: e.received_at >= since)


@pytest.mark.parametrize("what", sorted(EDITS))
def test_edited_payload_is_untrusted_and_changes_nothing(stack: localstack.LocalStack,
                                                         pending_approval: PendingApproval, what: str) -> None:
    payload = stack.workflows.scheduled_payloads(pending_approval.execution_arn)[-1]
    records_before = stack.table.count()
    since = time.monotonic()

    answer = stack.invoke_send_email(_edited(payload, EDITS[what]))
    assert answer.error_type == "SendEmail.Untrusted", (what, answer)

    assert not _new_emails_since(stack, since), f"{what}: an email went out"
    assert stack.table.count() == records_before, f"{what}: a record was stored"
    assert stack.describe(pending_approval.execution_arn)["status"] == "RUNNING"


def test_another_executions_id_with_this_token_is_untrusted(stack: localstack.LocalStack,
                                                            pending_approval: PendingApproval) -> None:
    other = start_and_wait_for_email(stack, "token-lender")
    payload = stack.workflows.scheduled_payloads(pending_approval.execution_arn)[-1]
    borrowed = _edited(payload, _set("ExecutionContext", "Execution", "Id", other.execution_arn))
    records_before, since = stack.table.count(), time.monotonic()
    assert stack.invoke_send_email(borrowed).error_type == "SendEmail.Untrusted"
    assert not _new_emails_since(stack, since) and stack.table.count() == records_before


def test_the_scheduled_payload_sent_again_reuses_the_request_and_its_links(
    stack: localstack.LocalStack, pending_approval: PendingApproval
) -> None:
    payload = stack.workflows.scheduled_payloads(pending_approval.execution_arn)[-1]
    records_before = stack.table.count()
    before = record_once_notified(stack, pending_approval)
    since = time.monotonic()

    answer = stack.invoke_send_email(payload)
    assert not answer.function_error, answer

    assert stack.table.count() == records_before, "a retry stored a second record"
    assert len(stack.table.of_execution(pending_approval.execution_arn)) == 1
    after = stack.table.get(pending_approval.request_id)
    assert after is not None, f"no record {pending_approval.request_id}"
    assert [credential_hashes(a) for a in after["Approvers"]] == [credential_hashes(a) for a in before["Approvers"]]
    assert not _new_emails_since(stack, since), "every approver was notified already: no second email"

    result = localstack.decide_via_confirmation_page(pending_approval.email.approve_url, "after the retry")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "ApprovedPassState"
    assert output_json(description)["Comment"] == "after the retry"


def test_a_state_machine_that_is_not_trusted_gets_no_email(stack: localstack.LocalStack) -> None:
    name = f"untrusted-{int(time.time() * 1000) % 10**9}"
    records_before = stack.table.count()
    arn = stack.start_execution(name=name, state_machine_arn=UNTRUSTED.arn)
    description = stack.wait_for_end(arn, timeout=60)
    assert description["status"] == "FAILED"
    failures = events_of_type(stack.history(arn), "TaskFailed")
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["SendEmail.Untrusted"], failures
    assert not stack.inbox.received(lambda e: e.execution_name == name)
    assert stack.table.count() == records_before


def test_the_scheduled_payload_of_an_ended_execution_is_untrusted(stack: localstack.LocalStack,
                                                                  pending_approval: PendingApproval) -> None:
    """send-email reads whether an execution still runs from its history alone (the newest event
    of an ended one is its ending): an approved execution's own payload, replayed, mails nothing."""
    payload = stack.workflows.scheduled_payloads(pending_approval.execution_arn)[-1]
    result = localstack.decide_via_confirmation_page(pending_approval.email.approve_url, "decided first")
    assert result.answer.status == 303, result.answer.body[:500]
    assert stack.wait_for_end(pending_approval.execution_arn)["status"] == "SUCCEEDED"
    # What follows the answer (the decided emails, the delivered mark) is done before the replay.
    for approver in stack.approvers:
        stack.inbox.wait_for_decided(approver, pending_approval.execution_name, timeout=30)
    # ... and the record says so (send-email writes ToldAt once it has told them).
    before = record_when(stack, pending_approval, lambda item: bool(item["State"].get("ToldAt")))
    since = time.monotonic()

    answer = stack.invoke_send_email(payload)
    assert answer.error_type == "SendEmail.Untrusted", answer
    assert "SUCCEEDED, not RUNNING" in str(answer.payload), answer

    assert not _new_emails_since(stack, since), "an ended execution's approvers were mailed again"
    assert stack.table.get(pending_approval.request_id) == before, "the record changed"
