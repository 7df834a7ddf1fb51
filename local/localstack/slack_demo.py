"""scripts/demo --slack dm|channel: the request's Slack messages as the emulator received them,
printed as a person sees them, and an approver's vote as Slack carries it (a click on the
message's button, the modal views.open opened, its submission), for local/demo.py."""

from __future__ import annotations

from collections.abc import Callable

from . import slack_text
from .common import StackError
from .slack_emulator import SlackMessage
from .stack import LocalStack

MESSAGES_TIMEOUT_S = 60.0


def _request_of(message: SlackMessage) -> str | None:
    values = slack_text.button_values(message.versions[0]["blocks"])
    return next((v.split(":", 1)[0] for v in values.values() if ":" in v), None)


def messages_of(stack: LocalStack, request_id: str) -> list[SlackMessage]:
    return [m for m in stack.slack.messages() if _request_of(m) == request_id]


def expected_messages(stack: LocalStack) -> int:
    """dm: one per approver the workspace knows; channel: one."""
    if stack.config.slack_delivery == "channel":
        return 1
    return len([a for a in stack.approvers if a not in stack.config.slack_missing])


def wait_for_messages(stack: LocalStack, request_id: str, timeout: float = MESSAGES_TIMEOUT_S) -> list[SlackMessage]:
    count = expected_messages(stack)
    return stack.slack.wait_for(lambda: (m if len(m := messages_of(stack, request_id)) >= count else None),
                                timeout, f"{count} Slack message(s) of request {request_id}")


def _where(stack: LocalStack, message: SlackMessage) -> str:
    if message.channel.startswith("D"):
        user = next((u for u in stack.slack.users() if u.dm_channel == message.channel), None)
        return f"DM to {user.email} ({user.id})" if user else f"DM {message.channel}"
    return f"channel {message.channel}"


def print_messages(stack: LocalStack, messages: list[SlackMessage], title: str) -> None:
    for message in messages:
        edited = f", updated {len(message.versions) - 1}x" if message.updated else ""
        print()
        print(slack_text.render(message.blocks, f"Slack, {_where(stack, message)} [ts {message.ts}{edited}] "
                                                f"{title}", fallback=message.text), flush=True)


def message_to_click(stack: LocalStack, request_id: str, approver: str) -> SlackMessage:
    """dm: the approver's own DM; channel: the channel's message."""
    messages = messages_of(stack, request_id)
    if stack.config.slack_delivery == "dm":
        channel = stack.slack.user(approver).dm_channel
        messages = [m for m in messages if m.channel == channel]
    if not messages:
        raise StackError(f"no Slack message of request {request_id} for {approver} to click")
    return messages[0]


def vote(stack: LocalStack, request_id: str, approver: str, action: str, comment: str,
         progress: Callable[[str], None]) -> None:
    """`approver` clicks `action` in Slack, the modal opens (printed), they submit it with `comment`."""
    message = message_to_click(stack, request_id, approver)
    user = stack.slack.user(approver)
    opened_before = len(stack.slack.views())
    clicked = stack.slack.click(message, approver, action)
    progress(f"Slack: {approver} ({user.id}) clicks [{action.title()}] on the {_where(stack, message)} -> "
             f"the callback answers {clicked.status}")
    if clicked.status != 200:
        raise StackError(f"the Slack click answered {clicked.status}, expected 200: {clicked.body[:500]}")
    views = stack.slack.wait_for(lambda: (v if len(v := stack.slack.views()) > opened_before else None),
                                 30, "the vote modal (views.open)")
    view = views[opened_before]
    print()
    print(slack_text.render_view(view.view), flush=True)
    submitted = stack.slack.submit(view, values={"comment": comment})
    progress(f"Slack: {approver} submits the modal with comment {comment!r} -> the callback answers "
             f"{submitted.status}")
    if submitted.status != 200:
        raise StackError(f"the modal's submission answered {submitted.status}, expected 200: {submitted.body[:500]}")


def wait_closed(stack: LocalStack, request_id: str, timeout: float = 15.0) -> list[SlackMessage]:
    """The request's messages once each is updated without buttons (as they are at the timeout)."""
    def closed() -> list[SlackMessage] | None:
        messages = messages_of(stack, request_id)
        done = messages and all(m.updated and not slack_text.buttons(m.blocks) for m in messages)
        return messages if done else None

    try:
        return stack.slack.wait_for(closed, timeout, "the messages updated without buttons")
    except StackError:
        return messages_of(stack, request_id)
