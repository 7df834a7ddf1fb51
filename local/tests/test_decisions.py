"""Approve and reject, the way an approver does it: open the link, submit the confirmation form."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import stack as local_stack
from helpers import APPROVER_EMAIL, PendingApproval, events_of_type, output_json, states_entered

DECISIONS = {
    # action: (link attribute, Decision, Status (the seed's strings), end state)
    "approve": ("approve_url", "approved", f"Approved! Task approved by {APPROVER_EMAIL}", "ApprovedPassState"),
    "reject": ("reject_url", "rejected", f"Rejected! Task rejected by {APPROVER_EMAIL}", "RejectedPassState"),
}

# Markup and non-ASCII on purpose: the page must escape it and the output must carry it unchanged.
COMMENT = 'Checked the change — <b>"fine"</b> & ready'


def test_email_names_execution_and_carries_both_links(stack: local_stack.LocalStack, pending_approval: PendingApproval) -> None:
    email = pending_approval.email
    assert email.subject == "Required approval from AWS Step Functions"
    assert pending_approval.execution_name in email.body
    assert pending_approval.state_machine_name in email.body
    for action, url in (("approve", email.approve_url), ("reject", email.reject_url)):
        assert url.startswith(f"{stack.callback_base_url}/execution?"), url
        params = local_stack.link_params(url)
        assert params["action"] == action
        assert params["ex"] == pending_approval.execution_name
        assert params["sm"] == pending_approval.state_machine_name
        assert params["taskToken"]
    assert local_stack.link_params(email.approve_url)["taskToken"] == local_stack.link_params(email.reject_url)["taskToken"]


@pytest.mark.parametrize("action", sorted(DECISIONS))
def test_decision_ends_in_its_pass_state_with_the_contract_output(
    stack: local_stack.LocalStack, pending_approval: PendingApproval, action: str
) -> None:
    link_attr, decision, status, end_state = DECISIONS[action]
    link = getattr(pending_approval.email, link_attr)

    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    result = local_stack.decide_via_confirmation_page(link, COMMENT)
    after = dt.datetime.now(dt.timezone.utc)

    # The GET shows a page and decides nothing; the form carries exactly what the link carried.
    page = result.page
    assert page.status == 200, page.body[:500]
    assert page.headers.get("content-type", "").startswith("text/html")
    assert pending_approval.execution_name in page.body
    assert pending_approval.state_machine_name in page.body
    form = local_stack.parse_confirmation_page(page.body)
    assert form["hidden"] == local_stack.link_params(link)
    assert form["textareas"] == ["comment"]
    assert form["submit_buttons"] == 1

    # The POST decides and sends the browser on to the configured redirect target.
    assert result.answer.status == 303, result.answer.body[:500]
    assert result.answer.headers["location"] == stack.redirect_url
    assert local_stack.http_request("GET", result.answer.headers["location"]).status == 200

    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    history = stack.history(pending_approval.execution_arn)
    assert states_entered(history) == ["Lambda Callback", "ManualApprovalChoiceState", end_state]

    output = output_json(description)
    assert set(output) == {"Status", "Decision", "Approver", "Comment", "DecidedAt"}
    assert output["Status"] == status
    assert output["Decision"] == decision
    assert output["Approver"] == APPROVER_EMAIL
    assert output["Comment"] == COMMENT
    assert output["DecidedAt"].endswith("Z") or output["DecidedAt"].endswith("+00:00"), output["DecidedAt"]
    decided_at = dt.datetime.fromisoformat(output["DecidedAt"].replace("Z", "+00:00"))
    assert before <= decided_at <= after, (before, decided_at, after)

    # The decision record is what the task returned: in the history, once, exactly as output.
    task_succeeded = events_of_type(history, "TaskSucceeded")
    assert len(task_succeeded) == 1
    assert json.loads(task_succeeded[0]["taskSucceededEventDetails"]["output"]) == output


def test_decision_without_a_comment_records_an_empty_comment(
    stack: local_stack.LocalStack, pending_approval: PendingApproval
) -> None:
    result = local_stack.decide_via_confirmation_page(pending_approval.email.approve_url, "")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    output = output_json(description)
    assert output["Decision"] == "approved"
    assert output["Comment"] == ""
