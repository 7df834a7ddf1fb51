"""SLACK_DELIVERY=channel with no email, on a stack of its own (conftest's `slack_channel_stack`:
the session's three approvers and an outsider, all users of the emulated workspace; one message
per request in the stack's channel, C0GATE0001).

Anyone in the channel can click, but only an approver's click opens the vote modal: the outsider
and a user of another workspace are told privately that they are not approvers, and nothing is
recorded. An approver's vote decides; the channel's message then says Approved and by whom, with no
buttons; a late click (on the message as it showed before) gets an ephemeral and no modal."""

from __future__ import annotations

import pytest

import localstack
from helpers import APPROVER, SECOND_APPROVER, output_json, states_entered, unique_name
from localstack.slack_emulator import OUTSIDER, SlackMessage
from slack_helpers import (
    button_values,
    known_requests,
    message_text,
    vote_in_slack,
    wait_for_slack_messages,
    wait_until_closed,
)

pytestmark = pytest.mark.own_stack  # conftest runs these first, on `slack_channel_stack`


def _ask(stack: localstack.LocalStack, test_name: str) -> tuple[str, str, SlackMessage]:
    """An execution of the stack's own state machine: (its ARN, the request id, the channel's message)."""
    before = known_requests(stack)
    arn = stack.start_execution(name=unique_name(test_name))
    [(request_id, messages)] = wait_for_slack_messages(stack, 1, after=before).items()
    assert [m.channel for m in messages] == [stack.config.slack_channel_id], "one message, in the channel"
    return arn, request_id, messages[0]


def _no_votes(stack: localstack.LocalStack, request_id: str) -> None:
    item = stack.table.get(request_id)
    assert item is not None and item.get("Votes", []) == [], item
    assert (item.get("State") or {}).get("Name") == "pending", item.get("State")


def test_an_outsiders_click_is_answered_privately_and_records_nothing(
        slack_channel_stack: localstack.LocalStack) -> None:
    stack = slack_channel_stack
    arn, request_id, message = _ask(stack, "channel-outsider")
    assert button_values(message) == {"approve": f"{request_id}:approve", "reject": f"{request_id}:reject"}
    views_before, opens_before = len(stack.slack.views()), len(stack.slack.calls("views.open"))

    answer = stack.slack.click(message, OUTSIDER, "approve")
    assert answer.status == 200, answer.body[:300]
    [told] = stack.slack.wait_for(lambda: stack.slack.ephemerals(OUTSIDER), 30, "an ephemeral to the outsider")
    assert told.channel == message.channel and "not an approver" in told.text.lower(), told.text

    # An approver's user id, but signed for another workspace: not that approver.
    other_team = stack.slack.click(message, APPROVER, "approve", team_id="T0OTHER01")
    assert other_team.status == 200, other_team.body[:300]
    stack.slack.wait_for(lambda: stack.slack.ephemerals(APPROVER), 30, "an ephemeral to the other team's user")

    assert len(stack.slack.views()) == views_before
    assert len(stack.slack.calls("views.open")) == opens_before  # not even tried
    _no_votes(stack, request_id)
    assert stack.describe(arn)["status"] == "RUNNING"
    stack.workflows.stop_running()


def test_an_approvers_vote_in_the_channel_decides_and_a_late_click_is_told_how_it_ended(
        slack_channel_stack: localstack.LocalStack) -> None:
    stack = slack_channel_stack
    arn, request_id, message = _ask(stack, "channel-vote")
    clicked, submitted, view = vote_in_slack(stack, message, SECOND_APPROVER, "reject", comment="not today")
    assert (clicked.status, submitted.status) == (200, 200)
    assert view.view["private_metadata"] == f"{request_id}:reject"

    description = stack.wait_for_end(arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(arn))[-1] == "RejectedPassState"
    output = output_json(description)
    assert [(a["Approver"], a["Decision"], a["Comment"], a["Via"]) for a in output["Approvals"]] == [
        (SECOND_APPROVER, "rejected", "not today", "slack")]
    [closed] = wait_until_closed(stack, request_id, "Rejected")
    assert SECOND_APPROVER in message_text(closed) and button_values(closed) == {}

    # Another approver whose Slack still showed the buttons: no modal, told privately.
    views_before, told_before = len(stack.slack.views()), len(stack.slack.ephemerals(APPROVER))
    late = stack.slack.click(closed, APPROVER, "approve", version=0)
    assert late.status == 200, late.body[:300]
    stack.slack.wait_for(lambda: len(stack.slack.ephemerals(APPROVER)) > told_before, 30, "an ephemeral")
    assert len(stack.slack.views()) == views_before
