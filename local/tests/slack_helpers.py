"""Readers and waits of the Slack e2e tests (test_slack.py, test_slack_channel.py) over the
stack's Slack emulator (`stack.slack`): a request's messages (told apart by their buttons' values,
`<request id>:approve|reject`, in the version first posted), an approver's DM, their text, the
modal a click opened. Every wait re-checks after each call the emulator answers; none sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import localstack
from localstack import slack_text
from localstack.slack_emulator import SlackMessage, SlackView

DEFAULT_TIMEOUT_S = 60.0


def request_of(message: SlackMessage) -> str | None:
    """The request a message asks about: its first version's buttons name it."""
    values = slack_text.button_values(message.versions[0]["blocks"])
    return next((value.split(":", 1)[0] for value in values.values() if ":" in value), None)


def known_requests(stack: localstack.LocalStack) -> set[str]:
    """The requests that have Slack messages now (to tell a new request's messages from them)."""
    return {r for m in stack.slack.messages() if (r := request_of(m)) is not None}


def messages_of(stack: localstack.LocalStack, request_id: str) -> list[SlackMessage]:
    """A request's top-level messages (DMs or the channel's one), in the order posted."""
    return [m for m in stack.slack.messages() if request_of(m) == request_id]


def wait_for_slack_messages(stack: localstack.LocalStack, request_count: int = 1,
                            timeout: float = DEFAULT_TIMEOUT_S, *,
                            after: Iterable[str] = ()) -> dict[str, list[SlackMessage]]:
    """Messages of `request_count` requests not in `after` (see known_requests), by request id."""
    seen = set(after)

    def new() -> dict[str, list[SlackMessage]] | None:
        found: dict[str, list[SlackMessage]] = {}
        for message in stack.slack.messages():
            request = request_of(message)
            if request is not None and request not in seen:
                found.setdefault(request, []).append(message)
        return found if len(found) >= request_count else None

    return stack.slack.wait_for(new, timeout, f"Slack messages of {request_count} new request(s)")


def wait_for_messages_of(stack: localstack.LocalStack, request_id: str, count: int,
                         timeout: float = DEFAULT_TIMEOUT_S) -> list[SlackMessage]:
    """The request's messages once there are `count` of them (dm: one per approver in Slack)."""
    return stack.slack.wait_for(lambda: (m if len(m := messages_of(stack, request_id)) >= count else None),
                                timeout, f"{count} Slack message(s) of request {request_id}")


def message_for(stack: localstack.LocalStack, approver: str, request_id: str) -> SlackMessage:
    """dm mode: the request's message in `approver`'s IM with the app."""
    channel = stack.slack.user(approver).dm_channel
    mine = [m for m in messages_of(stack, request_id) if m.channel == channel]
    assert len(mine) == 1, f"{len(mine)} messages of request {request_id} in {approver}'s DM ({channel})"
    return mine[0]


def button_values(message: SlackMessage) -> dict[str, str]:
    """{action_id: value} of the message's buttons as it shows now ({} once it has none)."""
    return slack_text.button_values(message.blocks)


def message_text(message: SlackMessage) -> str:
    """Everything the message shows now: its blocks' texts, flattened, one per line."""
    return slack_text.blocks_text(message.blocks)


def has_actions(message: SlackMessage) -> bool:
    return any(block.get("type") == "actions" for block in message.blocks)


def wait_until_every_message(stack: localstack.LocalStack, request_id: str,
                             shows: Callable[[SlackMessage], bool], what: str,
                             timeout: float = DEFAULT_TIMEOUT_S) -> list[SlackMessage]:
    """The request's messages once `shows(message)` holds for each of them (after chat.update)."""
    def settled() -> list[SlackMessage] | None:
        messages = messages_of(stack, request_id)
        return messages if messages and all(shows(m) for m in messages) else None

    return stack.slack.wait_for(settled, timeout, f"every message of request {request_id} {what}")


def wait_until_closed(stack: localstack.LocalStack, request_id: str, word: str,
                      timeout: float = DEFAULT_TIMEOUT_S) -> list[SlackMessage]:
    """The request's messages once each was updated to say `word` ("Approved", "Expired"…) and
    has no buttons."""
    return wait_until_every_message(
        stack, request_id, lambda m: m.updated and word in message_text(m) and not has_actions(m),
        f"updated to say {word!r} with no buttons", timeout)


def wait_for_view(stack: localstack.LocalStack, opened_before: int,
                  timeout: float = DEFAULT_TIMEOUT_S) -> SlackView:
    """The modal opened after the first `opened_before` ones (a click's views.open follows its
    200 by a moment only if the callback answers first; usually it is there already)."""
    views = stack.slack.wait_for(lambda: (v if len(v := stack.slack.views()) > opened_before else None),
                                 timeout, "a views.open")
    return views[opened_before]


def vote_in_slack(stack: localstack.LocalStack, message: SlackMessage, approver: str, action: str = "approve",
                  comment: str | None = None) -> tuple[localstack.HttpResponse, localstack.HttpResponse, SlackView]:
    """`approver` clicks `action` on `message`, then submits the modal it opened with `comment`:
    (the click's answer, the submission's answer, the modal)."""
    opened_before = len(stack.slack.views())
    clicked = stack.slack.click(message, approver, action)
    assert clicked.status == 200, f"the click answered {clicked.status}: {clicked.body[:500]}"
    view = wait_for_view(stack, opened_before)
    assert view.user == stack.slack.user(approver), (view.user, approver)
    submitted = stack.slack.submit(view, values={"comment": comment})
    return clicked, submitted, view


def votes_via(item: dict[str, Any]) -> list[tuple[str, str]]:
    """A record's votes as (approver, how the vote came: its `Via`, "" if the record has none)."""
    return [(v["Approver"], str(v.get("Via", ""))) for v in item.get("Votes", [])]


def slack_call_args(stack: localstack.LocalStack) -> str:
    """Every argument of every Web API call, as one JSON text (to look for what must not be there)."""
    return json.dumps([c.args for c in stack.slack.calls()])
