"""Slack's side of an approver: the interaction payloads Slack posts to an app's interactivity
Request URL when a user clicks a message's button (`block_actions`) or submits a modal
(`view_submission`), form-encoded (`payload=<JSON>`) and signed as Slack signs every request:

    X-Slack-Request-Timestamp: <unix seconds>
    X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, b"v0:" + timestamp + b":" + raw body)>

(api.slack.com/authentication/verifying-requests-from-slack; `sign` reproduces its worked example,
see test_slack_emulator.py). The payloads carry the fields Slack documents for each kind, filled
from the emulator's state: the clicked message's current blocks, the opened view, the user's ids.
Forgeries are options of `post_payload`: another secret, an old timestamp, no signature, another
team, or any change to the payload (`tamper`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .common import StackError
from .net import HttpResponse, http_request

if TYPE_CHECKING:
    from .slack_model import SlackMessage, SlackUser, SlackView


class SlackEmulator(Protocol):
    """What Slack's side of a person needs of the workspace (slack_emulator.SlackEmulator is
    one): its team, its channels' names, the app's signature, and where Slack posts."""

    team_id: str

    def channel_name(self, channel: str) -> str: ...

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]: ...

    def post_interaction(self, body: bytes, headers: dict[str, str]) -> HttpResponse: ...

# The deprecated verification token Slack still puts in payloads (not a secret of the gate's).
VERIFICATION_TOKEN = "LocalVerificationToken0"


def sign(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs `body` with, at `timestamp` (default: now)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def _user_field(user: SlackUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}


def _team(slack: SlackEmulator) -> dict[str, Any]:
    return {"id": slack.team_id, "domain": "approval-gate-local"}


def button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the button `action_id` in a message's `actions` blocks."""
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    raise StackError(f"the message has no {action_id!r} button (decided, or not posted with buttons?): "
                     f"{json.dumps(blocks)[:800]}")


def block_actions(slack: SlackEmulator, message: SlackMessage, user: SlackUser, action_id: str,
                  trigger_id: str, version: int = -1) -> dict[str, Any]:
    """The payload of `user` clicking the button `action_id` of `message` as it showed at `version`."""
    shown = message.as_slack(version)
    block_id, element = button(shown["blocks"], action_id)
    channel_name = slack.channel_name(message.channel)
    action = {"action_id": action_id, "block_id": block_id, "text": element.get("text"),
              "value": element.get("value"), "type": "button", "action_ts": f"{time.time():.6f}"}
    if "style" in element:
        action["style"] = element["style"]
    return {
        "type": "block_actions",
        "user": _user_field(user),
        "api_app_id": "A0GATE0001",
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                      "is_ephemeral": False},
        "trigger_id": trigger_id,
        "team": _team(slack),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": channel_name},
        "message": shown,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{slack.team_id}/{secrets.randbelow(10**12)}/"
                        f"{secrets.token_urlsafe(18)}",
        "actions": [action],
    }


def view_submission(slack: SlackEmulator, view: SlackView, user: SlackUser,
                    values: dict[str, str | None]) -> dict[str, Any]:
    """The payload of `user` submitting `view` with `values` ({block_id: text}) in its input
    blocks; an input block not in `values` is submitted empty (value null, as Slack sends it)."""
    unknown = set(values) - {b.get("block_id") for b in view.view.get("blocks", []) if b.get("type") == "input"}
    if unknown:
        raise StackError(f"the view has no input block {sorted(unknown)}")
    state: dict[str, Any] = {}
    for block in view.view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block.get("element", {})
        state[str(block.get("block_id"))] = {
            str(element.get("action_id")): {"type": element.get("type", "plain_text_input"),
                                            "value": values.get(str(block.get("block_id")))}}
    submitted = {**view.view, "state": {"values": state}}
    return {
        "type": "view_submission",
        "team": _team(slack),
        "user": _user_field(user),
        "api_app_id": "A0GATE0001",
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def form_body(payload: dict[str, Any]) -> bytes:
    """`payload=<JSON>`, URL-encoded, as Slack posts interactions."""
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def post_payload(slack: SlackEmulator, payload: dict[str, Any], *, secret: str | None = None,
                 timestamp: int | None = None, signed: bool = True, team_id: str | None = None,
                 tamper: Callable[[dict[str, Any]], None] | None = None) -> HttpResponse:
    """Posts `payload` to the emulator's interactions URL, signed with the app's signing secret
    now, unless: `secret` (another app's), `timestamp` (e.g. now - 301), `signed=False` (no
    signature headers), `team_id` (the team and user of another workspace), `tamper` (changes the
    payload in place before it is encoded and signed)."""
    if team_id is not None:
        payload["team"] = {**payload.get("team", {}), "id": team_id}
        payload["user"] = {**payload.get("user", {}), "team_id": team_id}
    if tamper is not None:
        tamper(payload)
    body = form_body(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers.update(slack.sign(body, timestamp, secret))
    return slack.post_interaction(body, headers)


def post(url: str, body: bytes, headers: dict[str, str]) -> HttpResponse:
    return http_request("POST", url, body=body, headers=headers, timeout=30)
