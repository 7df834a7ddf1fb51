"""What each invocation's answer must be: the checks of a function's response to its event
(`Arm.check`), and the answer's body read as JSON (`json_or_none`)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Callable

from .names import REDIRECT_URL
from .payloads import request_id


def json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def check_send_email(emailed: int) -> Callable[[bytes, bytes], str | None]:
    """send-email's answer: the request id derived from the event's token, and `emailed` emails."""
    def check(body: bytes, event: bytes) -> str | None:
        value = json_or_none(body)
        token = json.loads(event)["ExecutionContext"]["Task"]["Token"]
        if isinstance(value, dict) and value.get("RequestId") == request_id(token) and value.get("Emailed") == emailed:
            return None
        return f'expected {{"RequestId": "{request_id(token)}", "Emailed": {emailed}}}, got {body[:300]!r}'
    return check


def _page(value: dict) -> str:
    body = value.get("body") or ""
    if value.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return body


def _says(value: Any) -> str:
    """An answer's status and, for a page, its text: what to show when it is not the expected one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", _page(value), flags=re.S)
    return f"{value.get('statusCode')}: {' '.join(text.split())[:300]!r}"


def check_get(body: bytes, event: bytes) -> str | None:
    value = json_or_none(body)
    credential = json.loads(event)["queryStringParameters"]["c"]
    if isinstance(value, dict) and value.get("statusCode") == 200:
        page = _page(value)
        if '<form method="post"' in page and credential in page:
            return None
    return f"expected the 200 confirmation page with this link's form, got {_says(value)}"


def _header(value: dict, name: str) -> Any:
    for key, v in (value.get("headers") or {}).items():
        if key.lower() == name:
            return v
    for key, v in (value.get("multiValueHeaders") or {}).items():
        if key.lower() == name and v:
            return v[0]
    return None


def check_post(body: bytes, event: bytes) -> str | None:
    value = json_or_none(body)
    if isinstance(value, dict) and value.get("statusCode") == 303 and _header(value, "location") == REDIRECT_URL:
        return None
    return f"expected a 303 to {REDIRECT_URL} after SendTaskSuccess, got {_says(value)}"


def check_batch(body: bytes, event: bytes) -> str | None:
    """A stream batch's answer: the partial batch response naming no change to hand over again."""
    if json_or_none(body) == {"batchItemFailures": []}:
        return None
    return f'expected {{"batchItemFailures": []}}, got {body[:300]!r}'


def check_slack_ack(body: bytes, event: bytes) -> str | None:
    """Slack's acknowledgement: 200 with an empty body (the modal opened; the vote taken and the
    modal closed). A refusal in the modal would be a 200 with `response_action: errors`."""
    value = json_or_none(body)
    if isinstance(value, dict) and value.get("statusCode") == 200 and not _page(value):
        return None
    return f"expected 200 with an empty body, got {_says(value)}"
