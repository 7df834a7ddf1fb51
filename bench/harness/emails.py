"""What the run must have emailed: send-email's emails (through SNS or SES) and the decided notices,
each checked and its approver's links kept for the callback rows."""

from __future__ import annotations

import re
from typing import Any

from . import payloads
from .answers import json_or_none
from .aws_stub import decode_message
from .names import APPROVER, SENDER
from .payloads import Links
from .session import Session


def one_each(session: Session, mailed: list[tuple[str | None, Links]], addresses: list[str]) -> str | None:
    """Each invocation's request mailed each approver exactly once, each in their own slot (the
    request and the slot are what the credentials name); keeps the links for the callback rows."""
    by_request: dict[str, list[tuple[str | None, int]]] = {}
    for address, found in mailed:
        by_request.setdefault(found.request_id, []).append((address, found.slot))
    if len(by_request) != len(session.latencies_ns):
        return f"{len(session.latencies_ns)} invocations, but emails for {len(by_request)} requests"
    for request, got in by_request.items():
        to, slots = sorted(a or "" for a, _ in got), sorted(n for _, n in got)
        if to != sorted(addresses) or slots != list(range(len(addresses))):
            return (f"request {request}: emails (to, slot) {sorted((a or '', n) for a, n in got)[:5]}..., "
                    f"not one to each of the {len(addresses)} approvers in a slot of their own")
    session.links = [found for _, found in mailed]
    return None


def published_by_rust(session: Session) -> str | None:
    """send-email through SNS: each approver's email published with their `approver` attribute,
    its text holding their two links."""
    try:
        mailed = [(a, payloads.links(decode_message(m))) for m, a in session.published]
    except ValueError as err:
        return str(err)
    return one_each(session, mailed, [APPROVER])


def _utf8(part: Any, where: str) -> str:
    if not isinstance(part, dict) or part.get("Charset") != "UTF-8" or not isinstance(part.get("Data"), str) \
            or not part["Data"]:
        raise ValueError(f"SendEmail's {where} is not UTF-8 text: {str(part)[:200]}")
    return part["Data"]


def ses_mail(body: bytes) -> tuple[str, Links]:
    """One SendEmail request, checked (ValueError says what is wrong): from SENDER to one approver
    alone, a subject, a text part with the two links and an HTML part holding the same two; its
    recipient and links."""
    mail = json_or_none(body)
    if not isinstance(mail, dict):
        raise ValueError(f"SendEmail's body is not a JSON object: {body[:200]!r}")
    if mail.get("FromEmailAddress") != SENDER:
        raise ValueError(f"SendEmail from {mail.get('FromEmailAddress')!r}, not SENDER_ADDRESS {SENDER!r}")
    destination = mail.get("Destination") or {}
    to = destination.get("ToAddresses")
    if not isinstance(to, list) or len(to) != 1 or destination.get("CcAddresses") or destination.get("BccAddresses"):
        raise ValueError(f"SendEmail not to one approver alone: {destination}")
    simple = (mail.get("Content") or {}).get("Simple") or {}
    _utf8(simple.get("Subject"), "subject")
    body_parts = simple.get("Body") or {}
    text, html = _utf8(body_parts.get("Text"), "text part"), _utf8(body_parts.get("Html"), "HTML part")
    found = payloads.links(text)
    if found.approve not in html or found.reject not in html:
        raise ValueError("the HTML part lacks the text part's Approve or Reject link")
    return to[0], found


def mailed_by_ses(session: Session, addresses: list[str]) -> str | None:
    """send-email through SES: each approver's own email, from SENDER_ADDRESS."""
    try:
        mailed: list[tuple[str | None, Links]] = [ses_mail(body) for body in session.mailed]
    except ValueError as err:
        return str(err)
    return one_each(session, mailed, addresses)


_EXECUTION_LINE = re.compile(r"^Execution:\s+(\S+)$", re.MULTILINE)


def decided_notice(body: bytes) -> str:
    """One SendEmail of a decided notice, checked (ValueError says what is wrong): from SENDER to
    the one approver alone, "Decided: …", a text part saying it was approved and an HTML part; the
    execution its text names."""
    mail = json_or_none(body)
    if not isinstance(mail, dict) or mail.get("FromEmailAddress") != SENDER:
        raise ValueError(f"a decided notice not a JSON SendEmail from SENDER_ADDRESS: {body[:200]!r}")
    destination = mail.get("Destination") or {}
    if destination != {"ToAddresses": [APPROVER]}:
        raise ValueError(f"a decided notice not to the approver alone: {destination}")
    simple = (mail.get("Content") or {}).get("Simple") or {}
    subject = _utf8(simple.get("Subject"), "subject")
    parts = simple.get("Body") or {}
    text = _utf8(parts.get("Text"), "text part")
    _utf8(parts.get("Html"), "HTML part")
    named = _EXECUTION_LINE.findall(text)
    if not subject.startswith("Decided: ") or " was approved." not in text or len(named) != 1:
        raise ValueError(f"not a notice that the request was approved: {subject!r} {text[:300]!r}")
    return named[0]
