"""Reminders and escalations (CONTRACT.md "Reminders and escalation"), through the "team" state
machine (its task forwards `$.Approval`; it expires after 600 s, so nudges come before that):
send-email creates one EventBridge Scheduler schedule per
nudge in moto, and the local stack fires them, as moto never does (schedule_firer.py).

A reminder reaches exactly the approvers who have not voted, once; an escalation adds an approver
who can then decide; a decided request's schedules are gone and a late one does nothing; a
retried send-email creates no second schedule."""

from __future__ import annotations

import time
from typing import Any

import localstack
from helpers import (
    APPROVER,
    SECOND_APPROVER,
    TEAM,
    THIRD_APPROVER,
    PendingApproval,
    output_json,
    record_once_notified,
    start_and_wait_for_email,
)

QUIET_S = 2.0  # how long "no reminder for this one" is watched for
# Long enough for the first approver to vote before it (their email arrives within a second or two).
REMIND_AFTER_S = 15


def _ask(stack: localstack.LocalStack, name: str, approval: dict[str, Any],
         approvers: list[str] | None = None) -> PendingApproval:
    pending = start_and_wait_for_email(stack, name, TEAM.arn, execution_input={"Approval": approval},
                                       approvers=approvers)
    record_once_notified(stack, pending)
    return pending


def _schedule(pending: PendingApproval, index: int) -> str:
    return f"approval-{pending.request_id}-{index}"


def _schedules_of(stack: localstack.LocalStack, pending: PendingApproval) -> list[str]:
    return sorted(n for n in stack.schedules() if n.startswith(f"approval-{pending.request_id}-"))


def _nudge(pending: PendingApproval, index: int) -> dict[str, Any]:
    return {"Nudge": {"RequestId": pending.request_id, "Index": index}}


def _reminders(stack: localstack.LocalStack, pending: PendingApproval) -> list[localstack.Email]:
    return stack.inbox.received(lambda e: e.kind == "reminder" and e.execution_name == pending.execution_name)


def test_a_reminder_reaches_exactly_the_approvers_who_have_not_voted_once(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "reminder", {"Subject": "Rotate the staging keys?", "RequiredApprovals": 2,
                                       "Reminders": [{"AfterSeconds": REMIND_AFTER_S}]})
    assert _schedules_of(stack, pending) == [_schedule(pending, 0)]
    voted = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "fine by me")
    assert voted.answer.status == 200, voted.answer.body[:400]

    # Fired by the stack when due, as Scheduler would (a schedule never fires early: send-email
    # would find it not due and do nothing).
    fired = stack.schedule_firer.wait_fired(_schedule(pending, 0), timeout=REMIND_AFTER_S + 60)
    assert fired.answer == {"Nudged": "reminder", "Told": 2}, fired
    for approver in (SECOND_APPROVER, THIRD_APPROVER):
        reminder = stack.inbox.wait_for_reminder(approver, pending.execution_name)
        assert reminder.subject == "Reminder: Rotate the staging keys?"
        assert reminder.body.startswith('The approval request "Rotate the staging keys?" is still waiting for your '
                                        'decision.\n\nApprovals:     1 of 2 so far\nExpires at:    '), reminder.body
        assert "http" not in reminder.body and not reminder.approve_url, "a reminder carries no links"
    reminded = stack.gate_events.wait_for("Approval Reminder Sent", pending.request_id)
    assert sorted(reminded[0].detail["reminded"]) == sorted([SECOND_APPROVER, THIRD_APPROVER])
    assert _schedules_of(stack, pending) == [], "deleted after it fired"

    # The same schedule firing again (Scheduler's retry): the record says it was sent.
    again = stack.invoke_send_email(_nudge(pending, 0))
    assert again.payload == {"Nudged": None}, again
    time.sleep(QUIET_S)
    assert sorted(e.approver for e in _reminders(stack, pending)) == sorted([SECOND_APPROVER, THIRD_APPROVER])


def test_an_escalation_adds_an_approver_who_can_then_decide(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "escalation", {"Subject": "Open the firewall for the audit?",
                                         "Approvers": [APPROVER, SECOND_APPROVER], "RequiredApprovals": 2,
                                         "Escalations": [{"AfterSeconds": 3, "AddApprovers": [THIRD_APPROVER]}]},
                   approvers=[APPROVER, SECOND_APPROVER])
    fired = stack.schedule_firer.wait_fired(_schedule(pending, 0), timeout=60)
    assert fired.answer == {"Nudged": "escalation", "Added": 1}, fired
    added = stack.wait_for_email(pending.execution_name, THIRD_APPROVER)
    escalated = stack.gate_events.wait_for("Approval Escalated", pending.request_id)
    assert escalated[0].detail["added"] == [THIRD_APPROVER]
    assert THIRD_APPROVER in escalated[0].detail["approvers"]

    first = localstack.decide_via_confirmation_page(added.approve_url, "escalated to me")
    assert first.answer.status == 200, first.answer.body[:400]
    second = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "")
    assert second.answer.status == 303, second.answer.body[:400]
    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    output = output_json(description)
    assert output["Decision"] == "approved"
    assert [a["Approver"] for a in output["Approvals"]] == [THIRD_APPROVER, APPROVER]


def test_a_decided_requests_schedules_are_gone_and_a_late_one_does_nothing(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "decided-nudges", {"Subject": "Ship the hotfix?", "Reminders": [{"AfterSeconds": 300}],
                                             "Escalations": [{"AfterSeconds": 400,
                                                              "AddApprovers": [THIRD_APPROVER]}],
                                             "Approvers": [APPROVER, SECOND_APPROVER]},
                   approvers=[APPROVER, SECOND_APPROVER])
    assert _schedules_of(stack, pending) == [_schedule(pending, 0), _schedule(pending, 1)]
    decided = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "")
    assert decided.answer.status == 303, decided.answer.body[:400]
    assert stack.wait_for_end(pending.execution_arn)["status"] == "SUCCEEDED"
    stack.inbox.wait_for_decided(SECOND_APPROVER, pending.execution_name)
    deadline = time.monotonic() + 20
    while _schedules_of(stack, pending) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _schedules_of(stack, pending) == [], "the decided request's schedules were deleted"

    for index in (0, 1):
        late = stack.invoke_send_email(_nudge(pending, index))
        assert late.payload == {"Nudged": None}, late
    time.sleep(QUIET_S)
    assert _reminders(stack, pending) == []
    assert not stack.inbox.received(lambda e: e.kind == "approval" and e.approver == THIRD_APPROVER
                                    and e.execution_name == pending.execution_name)


def test_a_retried_send_email_creates_no_second_schedule(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "retried-nudges", {"Subject": "Rotate the certificates?",
                                             "Reminders": [{"AfterSeconds": 300}, {"AfterSeconds": 400}]})
    before = _schedules_of(stack, pending)
    assert before == [_schedule(pending, 0), _schedule(pending, 1)]
    payload = stack.workflows.scheduled_payloads(pending.execution_arn)[-1]
    retried = stack.invoke_send_email(payload)
    assert not retried.function_error, retried
    assert retried.payload["RequestId"] == pending.request_id and retried.payload["Emailed"] == 0, retried
    assert _schedules_of(stack, pending) == before
