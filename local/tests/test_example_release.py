"""The drop-in: examples/release-approval/statemachine/release.asl.json itself, run on the local
stack as a caller deploys it (its ${GateSendEmailFunctionArn} the local send-email, its
${ApprovalTimeoutSeconds} the spec's): trusted (in TRUSTED_STATE_MACHINE_ARNS), a trusted copy
with a 3-second timeout, and a copy that is not trusted. The example asks for two approvals with
the requester as the workflow states it (RELEASE_REQUESTER, not one of the stack's approvers), so
all three of the stack's approvers may vote; the execution input's own "requestedBy" is ignored."""

from __future__ import annotations

import json
import time
from typing import Any

import localstack
from helpers import (
    APPROVER,
    RELEASE,
    RELEASE_SHORT_TIMEOUT,
    RELEASE_UNTRUSTED,
    SECOND_APPROVER,
    THIRD_APPROVER,
    PendingApproval,
    assert_page,
    events_of_type,
    output_json,
    record,
    record_once_notified,
    rfc3339_utc,
    start_and_wait_for_email,
    states_entered,
)

QUIET_S = 2.0
# The requester the example's ASL states (a literal): not one of the stack's approvers.
RELEASE_REQUESTER = "release-manager@example.com"
VOTERS = [APPROVER, SECOND_APPROVER, THIRD_APPROVER]  # all of the stack's approvers
RELEASE_INPUT: dict[str, Any] = {
    "version": "v42",
    "notes": "Release 42: the new billing page and faster search.",
    "change": {"service": "billing", "commits": ["a1b2c3 billing page", "d4e5f6 faster search"], "risk": "low"},
    # Whoever starts an execution could claim anything here: the example never reads it, so
    # THIRD_APPROVER is not left out and RELEASE_REQUESTER stays the requester.
    "requestedBy": THIRD_APPROVER,
}
SUBJECT = "Release v42 to production?"


def _release(stack: localstack.LocalStack, name: str,
             machine: localstack.StateMachineSpec = RELEASE) -> PendingApproval:
    return start_and_wait_for_email(stack, name, machine.arn, execution_input=RELEASE_INPUT, approvers=VOTERS)


def _fail_state_input(history: list[dict[str, Any]]) -> dict[str, Any]:
    entered = [e for e in history if e["type"].endswith("StateEntered")]
    return json.loads(entered[-1]["stateEnteredEventDetails"]["input"])


def test_the_example_is_trusted_and_the_copy_is_not(stack: localstack.LocalStack) -> None:
    env = stack.functions_env()
    trusted = env["TRUSTED_STATE_MACHINE_ARNS"].split(",")
    assert RELEASE.arn in trusted and RELEASE_SHORT_TIMEOUT.arn in trusted and RELEASE_UNTRUSTED.arn not in trusted
    definition = json.loads(stack.sfn.describe_state_machine(stateMachineArn=RELEASE.arn)["definition"])
    assert RELEASE.definition_path is not None, "RELEASE runs the example's own ASL file"
    source = json.loads(RELEASE.definition_path.read_text().replace("${ApprovalTimeoutSeconds}", "1"))
    assert set(definition["States"]) == set(source["States"]), "the example's own states"
    task = definition["States"]["Ask for approval"]
    assert task["Parameters"]["FunctionName"] == localstack.SEND_EMAIL_FUNCTION
    assert task["TimeoutSeconds"] == RELEASE.approval_timeout_seconds
    approval = task["Parameters"]["Payload"]["Approval"]
    assert approval["RequestedBy"] == RELEASE_REQUESTER and "RequestedBy.$" not in approval, approval


def test_two_approvals_deploy(stack: localstack.LocalStack) -> None:
    pending = _release(stack, "release-approved")
    for email in pending.emails.values():
        assert email.subject == SUBJECT
        body = email.body
        assert RELEASE_INPUT["notes"] in body and RELEASE_REQUESTER in body and "faster search" in body, body
        assert "2 of 3" in body and RELEASE.name in body, body
    item = record_once_notified(stack, pending)
    assert [a["Address"] for a in item["Approvers"]] == VOTERS
    assert (item["RequiredApprovals"], item["RequestedBy"], item["StateMachineArn"]) == (
        2, RELEASE_REQUESTER, RELEASE.arn)

    first = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "looks good")
    assert_page(first.answer, 200, "waiting for 1 more")
    second = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].approve_url, "ship it")
    assert second.answer.status == 303, second.answer.body[:800]

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED", description
    history = stack.history(pending.execution_arn)
    assert states_entered(history) == ["Build", "Ask for approval", "Verify the decision", "Approved?", "Deploy"]
    output = output_json(description)
    assert {k: output[k] for k in RELEASE_INPUT} == RELEASE_INPUT  # the input goes on, the decision beside it
    approval = output["approval"]
    assert (approval["Decision"], approval["Approver"], approval["Comment"]) == ("approved", SECOND_APPROVER, "ship it")
    assert approval["Status"] == f"Approved! Task approved by {APPROVER}, {SECOND_APPROVER}"
    assert [(a["Approver"], a["Decision"], a["Comment"]) for a in approval["Approvals"]] == [
        (APPROVER, "approved", "looks good"), (SECOND_APPROVER, "approved", "ship it")]
    assert approval["RequestId"] == pending.request_id
    for approver in VOTERS:
        decided = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30)
        assert decided.subject == f"Decided: {SUBJECT}"


def test_a_rejection_stops_the_release(stack: localstack.LocalStack) -> None:
    pending = _release(stack, "release-rejected")
    veto = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].reject_url, "not on a Friday")
    assert veto.answer.status == 303, veto.answer.body[:800]

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "FAILED" and description.get("error") == "Release.Rejected", description
    history = stack.history(pending.execution_arn)
    assert states_entered(history) == [
        "Build", "Ask for approval", "Verify the decision", "Approved?", "Release stopped"]
    approval = _fail_state_input(history)["approval"]
    assert (approval["Decision"], approval["Approver"], approval["Comment"]) == (
        "rejected", SECOND_APPROVER, "not on a Friday")
    assert approval["Status"] == f"Rejected! Task rejected by {SECOND_APPROVER}"
    assert_page(localstack.http_request("GET", pending.emails[APPROVER].approve_url), 410, "rejected", SECOND_APPROVER)


def test_no_decision_in_time_is_release_approval_timed_out(stack: localstack.LocalStack) -> None:
    pending = _release(stack, "release-timeout", RELEASE_SHORT_TIMEOUT)
    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert description["status"] == "FAILED" and description.get("error") == "Release.ApprovalTimedOut", description
    history = stack.history(pending.execution_arn)
    assert states_entered(history) == ["Build", "Ask for approval", "Tell approvers it expired", "Approval timed out"]
    timed_out = events_of_type(history, "TaskTimedOut")
    assert len(timed_out) == 1 and timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert _fail_state_input(history)["error"]["Error"] == "States.Timeout"
    expires_at = rfc3339_utc(record(stack, pending)["ExpiresAt"]).timestamp()
    time.sleep(max(0.0, expires_at + 1.1 - time.time()))
    for email in pending.emails.values():
        assert_page(localstack.post_link(email.approve_url, "late"), 410)
    assert record(stack, pending).get("Votes", []) == []
    # Its Catch told the gate: the request is recorded expired and each of its approvers told so.
    assert record(stack, pending)["State"]["Name"] == "expired"
    for approver in pending.emails:
        notice = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=20, kind="expired")
        assert notice.subject == f"Expired: Release {RELEASE_INPUT['version']} to production?", notice


def test_a_copy_that_is_not_trusted_is_not_asked_and_nothing_is_stored_or_sent(stack: localstack.LocalStack) -> None:
    name = f"release-untrusted-{int(time.time() * 1000) % 10**9}"
    records_before = stack.table.count()
    arn = stack.start_execution(name=name, state_machine_arn=RELEASE_UNTRUSTED.arn, execution_input=RELEASE_INPUT)
    description = stack.wait_for_end(arn, timeout=60)
    assert description["status"] == "FAILED" and description.get("error") == "Release.ApprovalNotAsked", description
    history = stack.history(arn)
    assert states_entered(history) == ["Build", "Ask for approval", "Approval could not be asked"]
    failures = events_of_type(history, "TaskFailed")
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["SendEmail.Untrusted"], failures
    assert _fail_state_input(history)["error"]["Error"] == "SendEmail.Untrusted"
    time.sleep(QUIET_S)
    assert not stack.inbox.received(lambda e: e.execution_name == name)
    assert stack.table.count() == records_before
