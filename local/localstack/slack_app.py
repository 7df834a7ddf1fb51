"""The local stack's Slack app (SLACK_DELIVERY dm or channel): the Web API emulator
(slack_emulator.py) for the functions' SLACK_API_URL, and the app's secret in moto's Secrets
Manager as an operator creates it (docs/slack.md): `approval-gate/slack`, SecretString
`{"botToken": "xoxb-…", "signingSecret": "…"}`, its ARN the functions' SLACK_SECRET_ARN.

The token and signing secret are fresh random values each start; only the emulator and the secret
hold them, nothing prints them."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterable
from typing import Any

from .common import StackError
from .slack_emulator import SlackEmulator

SLACK_DELIVERIES = ("none", "dm", "channel")  # SLACK_DELIVERY (template.yaml's SlackDelivery)
SECRET_NAME = "approval-gate/slack"
INTERACTIONS_PATH = "/slack/interactions"  # approval-callback's route (the output SlackInteractionsUrl)


def check(delivery: str, channel_id: str, missing: Iterable[str], approvers: Iterable[str]) -> None:
    """StackConfig's Slack settings, refused as the template's rules would."""
    if delivery not in SLACK_DELIVERIES:
        raise StackError(f"slack delivery must be one of {', '.join(SLACK_DELIVERIES)}, got {delivery!r}")
    if delivery == "channel" and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel_id):
        raise StackError(f"slack delivery channel needs a channel id (C… or G…), got {channel_id!r}")
    strangers = sorted(set(missing) - set(approvers))
    if strangers:
        raise StackError(f"slack_missing names addresses that are not approvers of the stack: {', '.join(strangers)}")


def start(exit_stack: contextlib.ExitStack, secretsmanager: Any, *, approvers: Iterable[str],
          missing: Iterable[str], channel_id: str, callback_url: str) -> tuple[SlackEmulator, str]:
    """The emulator started (stopped by `exit_stack`) and the app's secret created; returns the
    emulator and the secret's ARN. `callback_url`: approval-callback's base URL (API_URL)."""
    bot_token = f"xoxb-local-{secrets.token_hex(12)}"
    signing_secret = secrets.token_hex(16)
    emulator = SlackEmulator(approvers, bot_token=bot_token, signing_secret=signing_secret, missing=missing,
                             channel_id=channel_id, interactions_url=callback_url + INTERACTIONS_PATH)
    exit_stack.callback(emulator.start())
    created = secretsmanager.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"botToken": bot_token, "signingSecret": signing_secret}))
    return emulator, str(created["ARN"])
