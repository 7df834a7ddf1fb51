"""Approve and reject, the way an approver does it: open the link, submit the confirmation form.
Asserted on what Step Functions recorded, what the approvers received, and the request's record."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import localstack
from helpers import (
    APPROVER,
    PendingApproval,
    approval_task_succeeded,
    assert_page,
    assert_per_action_credentials,
    assert_says,
    delivery_state,
    output_json,
    record_once_notified,
    record_when,
    rfc3339_utc,
    states_entered,
)
from localstack import credentials

DECISIONS = {
    # action: (link attribute, Decision, Status (the seed's strings), end state, vote choice)
    "approve": ("approve_url", "approved", f"Approved! Task approved by {APPROVER}", "ApprovedPassState", "approve"),
    "reject": ("reject_url", "rejected", f"Rejected! Task rejected by {APPROVER}", "RejectedPassState", "reject"),
}

# Markup and non-ASCII on purpose: the page must escape it and the output must carry it unchanged.
COMMENT = 'Checked the change — <b>"fine"</b> & ready'


def test_each_approver_gets_an_email_with_their_own_short_links(stack: localstack.LocalStack,
                                                                pending_approval: PendingApproval) -> None:
    emails = pending_approval.emails
    assert set(emails) == set(stack.approvers)
    seen_credentials: set[str] = set()
    for email in emails.values():
        assert email.subject == "Required approval from AWS Step Functions"
        assert pending_approval.execution_name in email.body
        assert pending_approval.state_machine_name in email.body
        # N of M: one approval needed of the stack's approvers.
        assert f"1 of {len(stack.approvers)}" in email.body, email.body
        for action, url in (("approve", email.approve_url), ("reject", email.reject_url)):
            assert url.startswith(f"{stack.api_url}/execution?"), url
            params = credentials.link_params(url)
            assert set(params) == {"action", "c"} and params["action"] == action, params
            assert len(params["c"]) == credentials.CREDENTIAL_CHARS, params["c"]
            assert pending_approval.execution_name not in url and pending_approval.state_machine_name not in url
        # Two credentials per approver, one per action, both naming the approver's slot.
        seen_credentials.update(assert_per_action_credentials(email).values())
    assert len(seen_credentials) == 2 * len(stack.approvers)
    # Every credential names the same request; each approver's pair its own slot.
    assert {credentials.request_id_of(c) for c in seen_credentials} == {pending_approval.request_id}
    assert sorted(credentials.slot_of(c) for c in seen_credentials) == sorted(2 * list(range(len(stack.approvers))))

    item = record_once_notified(stack, pending_approval)
    assert item["ExecutionArn"] == pending_approval.execution_arn
    assert item["StateMachineArn"] == stack.state_machine_arn
    assert [a["Address"] for a in item["Approvers"]] == stack.approvers
    assert item["RequiredApprovals"] == 1
    assert all(a.get("NotifiedAt") for a in item["Approvers"]), item["Approvers"]
    # The record keeps hashes only: no credential or secret of any link appears in it.
    stored = json.dumps(item, default=str)
    for credential in seen_credentials:
        assert credential not in stored
        assert credentials.b64url(credentials.secret_of(credential)) not in stored
        assert credentials.secret_of(credential).hex() not in stored
    assert isinstance(item["ExpiresAtEpoch"], int)


@pytest.mark.parametrize("action", sorted(DECISIONS))
def test_decision_ends_in_its_pass_state_with_the_contract_output(
    stack: localstack.LocalStack, pending_approval: PendingApproval, action: str
) -> None:
    link_attr, decision, status, end_state, choice = DECISIONS[action]
    link = getattr(pending_approval.email, link_attr)

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = localstack.decide_via_confirmation_page(link, COMMENT)
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    # The GET shows a page and decides nothing; the form carries exactly what the link carried.
    page = result.page
    assert_page(page, 200, "Required approval from AWS Step Functions", pending_approval.execution_name,
                pending_approval.state_machine_name)
    assert_says(page, r"0 of 1 approvals? so far")
    form = localstack.parse_confirmation_page(page.body)
    assert form["action"] is None, "the form posts to its own URL"
    assert form["hidden"] == credentials.link_params(link)
    assert form["textareas"] == ["comment"]
    assert form["submit_buttons"] == 1

    # The POST decides and sends the browser on to the configured redirect target.
    assert result.answer.status == 303, result.answer.body[:800]
    assert result.answer.headers["location"] == stack.redirect_url
    assert localstack.http_request("GET", result.answer.headers["location"]).status == 200

    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    history = stack.history(pending_approval.execution_arn)
    assert states_entered(history) == ["Lambda Callback", "VerifyDecision", "ManualApprovalChoiceState", end_state]

    output = output_json(description)
    assert output["Status"] == status
    assert output["Decision"] == decision
    assert output["Approver"] == APPROVER
    assert output["Comment"] == COMMENT
    assert output["RequestId"] == pending_approval.request_id
    decided_at = rfc3339_utc(output["DecidedAt"])
    assert before <= decided_at <= after, (before, decided_at, after)
    assert len(output["Approvals"]) == 1, output["Approvals"]
    assert output["Approvals"][0]["Approver"] == APPROVER
    assert output["Approvals"][0]["Decision"] == decision
    assert output["Approvals"][0]["Comment"] == COMMENT

    # The decision is what the task returned: in the history, once, exactly as output.
    task_succeeded = approval_task_succeeded(history)
    assert len(task_succeeded) == 1
    assert json.loads(task_succeeded[0]["taskSucceededEventDetails"]["output"]) == output

    # Every approver hears of it: a "decided" email each, naming the decision and the comment
    # (sent once the approver is answered, with the delivered mark below).
    for approver in stack.approvers:
        decided = stack.inbox.wait_for_decided(approver, pending_approval.execution_name, timeout=30)
        assert decided.subject == "Decided: Required approval from AWS Step Functions"
        assert decision in decided.body.lower() and APPROVER in decided.body and COMMENT in decided.body, decided.body

    # The record: one vote, the outcome, the delivery done (marked after the answer), the output.
    item = record_when(stack, pending_approval, lambda item: delivery_state(item) != "sending")
    assert [(v["Approver"], v["Comment"]) for v in item["Votes"]] == [(APPROVER, COMMENT)]
    assert item["Votes"][0]["Choice"].startswith(choice), item["Votes"]  # "approve(d)" / "reject(ed)"
    assert item["State"]["Name"] == "decided", item["State"]
    assert item["State"]["Decision"] == decision, item["State"]
    assert item["State"]["By"] == APPROVER
    assert delivery_state(item) == "sent", item["State"]
    assert json.loads(item["State"]["Output"]) == output



def test_decision_without_a_comment_records_an_empty_comment(
    stack: localstack.LocalStack, pending_approval: PendingApproval
) -> None:
    result = localstack.decide_via_confirmation_page(pending_approval.email.approve_url, "")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    output = output_json(description)
    assert (output["Decision"], output["Comment"]) == ("approved", "")
