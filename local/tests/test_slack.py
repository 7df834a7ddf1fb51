"""SLACK_DELIVERY=dm beside SES email, on a stack of its own (conftest's `slack_stack`: the session's
three approvers, each a user of the emulated workspace; `slack_stack.slack` is the emulator).

An approver votes by link and another by Slack (click, modal, submit): one decision with `Via`
email and slack, every DM updated to say so, without buttons; a Slack vote then the same
approver's link is 409; an expired request's DMs say Expired; forged interactions (wrong secret,
301 s old, unsigned) are 401 and do nothing; a rate-limited chat.postMessage is retried after
Retry-After and still posts. No credential and no task token is ever sent to Slack.

Only the emulator is watched, never the functions' wording beyond: a closed message says
"Approved" / "Rejected" / "Expired" and who decided, and has no `actions` block."""

from __future__ import annotations

import time
from typing import Any

import pytest

import localstack
from helpers import (
    APPROVER,
    SECOND_APPROVER,
    SHORT_TIMEOUT,
    TEAM,
    THIRD_APPROVER,
    PendingApproval,
    assert_page,
    assert_still_waiting,
    output_json,
    record,
    record_when,
    start_and_wait_for_email,
    states_entered,
)
from localstack import credentials
from slack_helpers import (
    button_values,
    has_actions,
    message_for,
    message_text,
    slack_call_args,
    vote_in_slack,
    votes_via,
    wait_for_messages_of,
    wait_until_closed,
    wait_until_every_message,
)

pytestmark = pytest.mark.own_stack  # conftest runs these first, on `slack_stack`, before the session's stack

TWO_OF_THREE: dict[str, Any] = {
    "Subject": "Rotate the prod database password?",
    "Summary": "Quarterly rotation; the apps reload it within a minute.",
    "RequiredApprovals": 2,  # Approvers left out: every approver of the stack (three)
}


def _ask(stack: localstack.LocalStack, name: str, machine: localstack.StateMachineSpec = TEAM,
         approval: dict[str, Any] | None = None) -> PendingApproval:
    """An execution whose emails arrived and whose three DMs are posted."""
    given = {"Approval": approval} if approval is not None else None
    pending = start_and_wait_for_email(stack, name, machine.arn, execution_input=given)
    wait_for_messages_of(stack, pending.request_id, count=3)
    return pending


def test_a_link_vote_and_a_slack_vote_decide_and_every_dm_says_so(slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    pending = _ask(stack, "slack-two-of-three", approval=TWO_OF_THREE)
    rid = pending.request_id
    for approver in stack.approvers:
        message = message_for(stack, approver, rid)
        assert message.channel == stack.slack.user(approver).dm_channel
        assert button_values(message) == {"approve": f"{rid}:approve", "reject": f"{rid}:reject"}
        assert TWO_OF_THREE["Subject"] in message_text(message) and TWO_OF_THREE["Summary"] in message_text(message)

    by_link = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "by email")
    assert_page(by_link.answer, 200, "vote recorded")
    # The vote shows in every DM, whose buttons stay for the others.
    wait_until_every_message(stack, rid, lambda m: m.updated and APPROVER in message_text(m) and has_actions(m),
                             "updated with the first vote, buttons kept")

    clicked, submitted, view = vote_in_slack(stack, message_for(stack, SECOND_APPROVER, rid), SECOND_APPROVER,
                                             comment="by Slack")
    assert (clicked.status, submitted.status) == (200, 200), (clicked.body[:300], submitted.body[:300])
    opened = [c for c in stack.slack.calls("views.open") if c.ok]
    assert opened and opened[-1].args["trigger_id"] == view.trigger_id
    assert view.view["private_metadata"] == f"{rid}:approve"

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(pending.execution_arn))[-1] == "ApprovedPassState"
    output = output_json(description)
    assert [(a["Approver"], a["Decision"], a["Comment"], a["Via"]) for a in output["Approvals"]] == [
        (APPROVER, "approved", "by email", "email"), (SECOND_APPROVER, "approved", "by Slack", "slack")]
    assert votes_via(record(stack, pending)) == [(APPROVER, "email"), (SECOND_APPROVER, "slack")]

    closed = wait_until_closed(stack, rid, "Approved")
    assert len(closed) == 3
    for message in closed:
        assert APPROVER in message_text(message) and SECOND_APPROVER in message_text(message), message_text(message)
        assert button_values(message) == {}
    # Slack never got a credential of the links, nor the task token.
    sent = slack_call_args(stack)
    for email in pending.emails.values():
        for link in (email.approve_url, email.reject_url):
            assert credentials.credential_of(link) not in sent
    task_token = (stack.table.get_raw(rid) or {}).get("TaskToken", {}).get("S")
    assert task_token and task_token not in sent


def test_a_slack_vote_then_the_same_approvers_link_is_409(slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    pending = _ask(stack, "slack-then-link", approval=TWO_OF_THREE)
    rid = pending.request_id
    clicked, submitted, _ = vote_in_slack(stack, message_for(stack, THIRD_APPROVER, rid), THIRD_APPROVER)
    assert (clicked.status, submitted.status) == (200, 200)
    record_when(stack, pending, lambda item: len(item.get("Votes", [])) == 1)

    mine = pending.emails[THIRD_APPROVER]
    assert_page(localstack.post_link(mine.approve_url, "again, by email"), 409, "already voted")
    assert_page(localstack.http_request("GET", mine.reject_url), 409, "already voted")
    # Clicking again in Slack opens no modal: the approver is told privately why.
    views_before, told_before = len(stack.slack.views()), len(stack.slack.ephemerals(THIRD_APPROVER))
    again = stack.slack.click(message_for(stack, THIRD_APPROVER, rid), THIRD_APPROVER, "reject")
    assert again.status == 200, again.body[:300]
    stack.slack.wait_for(lambda: len(stack.slack.ephemerals(THIRD_APPROVER)) > told_before, 30, "an ephemeral")
    assert len(stack.slack.views()) == views_before
    assert votes_via(record(stack, pending)) == [(THIRD_APPROVER, "slack")]
    assert stack.describe(pending.execution_arn)["status"] == "RUNNING"
    stack.workflows.stop_running()  # leaves no open request for the next tests to trip over


def test_an_expired_request_says_expired_in_every_dm(slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    pending = _ask(stack, "slack-expired", machine=SHORT_TIMEOUT)
    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert (description["status"], description.get("error")) == ("FAILED", "Approval.TimedOut")
    closed = wait_until_closed(stack, pending.request_id, "Expired")
    assert {m.channel for m in closed} == {stack.slack.user(a).dm_channel for a in stack.approvers}


def test_forged_interactions_are_401_and_change_nothing(slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    pending = _ask(stack, "slack-forged", approval=TWO_OF_THREE)
    message = message_for(stack, APPROVER, pending.request_id)
    started, calls_before = time.time(), len(stack.slack.calls())
    forgeries: dict[str, dict[str, Any]] = {
        "another app's secret": {"secret": "0" * 32},
        "signed 301 s ago": {"timestamp": int(time.time()) - 301},
        "signed 301 s ahead": {"timestamp": int(time.time()) + 301},
        "no signature": {"signed": False},
    }
    for what, options in forgeries.items():
        answer = stack.slack.click(message, APPROVER, "approve", **options)
        assert answer.status == 401, f"{what}: {answer.status} {answer.body[:300]}"
    # A signature of other bytes than the body's.
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **stack.slack.sign(b"payload=%7B%22type%22%3A%22view_closed%22%7D")}
    assert stack.slack.post_interaction(body, headers).status == 401
    # Nothing answered them in Slack (no modal, no ephemeral), nothing was recorded.
    assert [c.method for c in stack.slack.calls()[calls_before:]
            if c.method in ("views.open", "chat.postEphemeral") and c.at >= started] == []
    assert_still_waiting(stack, pending)
    stack.workflows.stop_running()


def test_a_rate_limited_post_is_retried_after_retry_after_and_posted_once(slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    stack.slack.fail("chat.postMessage", "ratelimited", times=1, retry_after=1)
    pending = _ask(stack, "slack-ratelimited", approval=TWO_OF_THREE)
    posts = stack.slack.calls("chat.postMessage")
    limited = [c for c in posts if c.status == 429]
    assert len(limited) == 1, [(c.status, c.error) for c in posts]
    retried = [c for c in posts if c.ok and c.at > limited[0].at and c.args["channel"] == limited[0].args["channel"]]
    assert retried and retried[0].at - limited[0].at >= 0.9, "posted again before Retry-After (1 s)"
    # One message per approver: the refused call posted nothing, the retry posted once.
    channels = [m.channel for m in wait_for_messages_of(stack, pending.request_id, 3)]
    assert sorted(channels) == sorted(stack.slack.user(a).dm_channel for a in stack.approvers)
    stack.workflows.stop_running()
