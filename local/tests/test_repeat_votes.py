"""Votes that come twice or too late: the same approver again (409, saying what they chose),
another approver after the decision (410, saying how it ended and by whom), and a request that
needs two approvals (CONTRACT.md's Approval block, through a caller's state machine)."""

from __future__ import annotations

from typing import Any

import localstack
from helpers import (
    APPROVER,
    SECOND_APPROVER,
    TEAM,
    PendingApproval,
    approval_task_succeeded,
    assert_page,
    output_json,
    record,
    start_and_wait_for_email,
    states_entered,
)

REQUESTER = "carol@example.com"
TEAM_APPROVAL: dict[str, Any] = {
    "Subject": "Deploy v42 to prod?",
    "Summary": "Release 42: the new billing page.",
    "Details": {"release": 42, "changes": ["billing page", "faster search"]},
    "Approvers": [APPROVER, SECOND_APPROVER],
    "RequiredApprovals": 2,
    "RequestedBy": REQUESTER,
}


def test_same_approver_again_is_409_and_another_approver_after_the_decision_is_410(
    stack: localstack.LocalStack, pending_approval: PendingApproval
) -> None:
    mine, theirs = pending_approval.emails[APPROVER], pending_approval.emails[SECOND_APPROVER]
    first = localstack.decide_via_confirmation_page(mine.approve_url, "first click")
    assert first.answer.status == 303, first.answer.body[:800]

    # The same approver: the same form again, the other button, and opening the link: 409, and
    # the page says what they decided.
    assert_page(localstack.post_link(mine.approve_url, "second click"), 409, "already voted", "approve")
    assert_page(localstack.post_link(mine.reject_url, "change of mind"), 409, "already voted", "approve")
    assert_page(localstack.http_request("GET", mine.reject_url), 409, "already voted")

    # The other approver, after the decision: 410 saying how it ended and by whom, GET and POST.
    assert_page(localstack.http_request("GET", theirs.reject_url), 410, "approved", APPROVER)
    assert_page(localstack.post_link(theirs.reject_url, "too late"), 410, "approved", APPROVER)

    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    history = stack.history(pending_approval.execution_arn)
    assert len(approval_task_succeeded(history)) == 1
    assert states_entered(history)[-1] == "ApprovedPassState"
    output = output_json(description)
    assert (output["Decision"], output["Comment"], output["Approver"]) == ("approved", "first click", APPROVER)
    assert [(v["Approver"], v["Comment"]) for v in record(stack, pending_approval)["Votes"]] == [
        (APPROVER, "first click")]


def test_two_of_two_waits_for_the_second_approval_then_decides(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "two-of-two", TEAM.arn, execution_input={"Approval": TEAM_APPROVAL},
                                       approvers=TEAM_APPROVAL["Approvers"])
    first, second = pending.emails[APPROVER], pending.emails[SECOND_APPROVER]
    for email in (first, second):
        assert email.subject == TEAM_APPROVAL["Subject"]
        assert TEAM_APPROVAL["Summary"] in email.body and REQUESTER in email.body, email.body
        assert "2 of 2" in email.body and "billing page" in email.body, email.body

    one = localstack.decide_via_confirmation_page(first.approve_url, "fine by me")
    assert_page(one.page, 200, TEAM_APPROVAL["Subject"], TEAM_APPROVAL["Summary"], REQUESTER, "0 of 2 approvals so far",
                "billing page")
    assert_page(one.answer, 200, "vote recorded", "waiting for 1 more")
    assert stack.describe(pending.execution_arn)["status"] == "RUNNING"
    assert not approval_task_succeeded(stack.history(pending.execution_arn))
    item = record(stack, pending)
    assert [v["Approver"] for v in item["Votes"]] == [APPROVER] and item["State"]["Name"] == "pending"

    # The first approver again: 409, whatever the link; the request is still pending.
    assert_page(localstack.post_link(first.reject_url, "no, wait"), 409, "already voted", "approve")

    two = localstack.decide_via_confirmation_page(second.approve_url, "me too")
    assert_page(two.page, 200, f"1 of 2 approvals so far, by {APPROVER}")
    assert two.answer.status == 303, two.answer.body[:800]
    description = stack.wait_for_end(pending.execution_arn)
    assert states_entered(stack.history(pending.execution_arn))[-1] == "ApprovedPassState"
    output = output_json(description)
    assert output["Status"] == f"Approved! Task approved by {APPROVER}, {SECOND_APPROVER}"
    assert (output["Decision"], output["Approver"], output["Comment"]) == ("approved", SECOND_APPROVER, "me too")
    assert [(a["Approver"], a["Decision"], a["Comment"]) for a in output["Approvals"]] == [
        (APPROVER, "approved", "fine by me"), (SECOND_APPROVER, "approved", "me too")]
    assert len(approval_task_succeeded(stack.history(pending.execution_arn))) == 1
    # After the decision the first approver still gets their 409 (they voted), not a 410.
    assert_page(localstack.post_link(first.approve_url), 409, "already voted")


def test_one_rejection_vetoes_a_two_of_two_request(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "veto", TEAM.arn, execution_input={"Approval": TEAM_APPROVAL},
                                       approvers=TEAM_APPROVAL["Approvers"])
    veto = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].reject_url, "not on a Friday")
    assert veto.answer.status == 303, veto.answer.body[:800]
    description = stack.wait_for_end(pending.execution_arn)
    assert states_entered(stack.history(pending.execution_arn))[-1] == "RejectedPassState"
    output = output_json(description)
    assert output["Status"] == f"Rejected! Task rejected by {SECOND_APPROVER}"
    assert (output["Decision"], output["Approver"]) == ("rejected", SECOND_APPROVER)
    assert_page(localstack.http_request("GET", pending.emails[APPROVER].approve_url), 410, "rejected", SECOND_APPROVER)
