"""The approvers' inboxes: every email the stack's approvers receive, parsed, kept in order, and
waited for by the tests and the demo. Where the mail comes from is the reader's business, one per
channel: sns_inbox.py (the SNS topic, one filtered SQS queue per approver) or ses_inbox.py (what
moto's SES sent). Both feed the same `Inbox` with the same `Email` objects."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable

from .common import StackError

DECIDED_PREFIX = "Decided: "
EXPIRED_PREFIX = "Expired: "  # sent by send-email once the request is recorded expired
CANCELLED_PREFIX = "Cancelled: "  # sent by send-email once the request's execution ended first
REMINDER_PREFIX = "Reminder: "  # sent by send-email when a reminder's schedule fires
# Notices (how a request ended; a reminder): subject prefix -> Email.kind. They carry no links.
NOTICE_KINDS = ((DECIDED_PREFIX, "decided"), (EXPIRED_PREFIX, "expired"), (CANCELLED_PREFIX, "cancelled"),
                (REMINDER_PREFIX, "reminder"))

_LINK_LINE = re.compile(r"^\s*(Approve|Reject):\s*(https?://\S+)\s*$", re.MULTILINE)
_EXECUTION_LINE = re.compile(r"^Execution:\s*(\S+)\s*$", re.MULTILINE)
_EXPIRED_EXECUTION = re.compile(r"\bexecution (\S+) \(state machine ")


@dataclasses.dataclass(eq=False)
class Email:
    """One message as an approver receives it: the SNS envelope unwrapped, or an SES message (its
    text part is `body`, read exactly as an SNS message's)."""

    approver: str  # SNS: the message attribute `approver`; SES: the recipient
    subject: str
    body: str  # the text: the SNS message, or the SES text part
    kind: str  # "approval", "decided", "expired", "cancelled" or "reminder"
    approve_url: str = ""
    reject_url: str = ""
    execution_name: str | None = None  # the body's "Execution:" line, when it has one
    received_at: float = 0.0
    html: str | None = None  # SES: the HTML part; None for SNS (text only)
    sender: str | None = None  # SES: FromEmailAddress; None for SNS (the topic's display name is AWS's)
    channel: str = "sns"  # "sns" or "ses"


def parse_email(approver: str, subject: str, body: str, *, html: str | None = None, sender: str | None = None,
                channel: str = "sns") -> Email:
    """An approval email (both link lines required), a notice of how the request ended (subject
    `Decided: …`, `Expired: …` or `Cancelled: …`) or a reminder (`Reminder: …`); notices and
    reminders carry no links. Only the text is parsed."""
    execution = _EXECUTION_LINE.search(body) or _EXPIRED_EXECUTION.search(body)
    email = Email(approver=approver, subject=subject, body=body, kind="approval",
                  execution_name=execution.group(1) if execution else None, received_at=time.monotonic(),
                  html=html, sender=sender, channel=channel)
    links = {kind.lower(): url for kind, url in _LINK_LINE.findall(body)}
    for prefix, kind in NOTICE_KINDS:
        if subject.startswith(prefix):
            if links:
                raise StackError(f"{kind} email carries links; body:\n{body}")
            email.kind = kind
            return email
    missing = [kind for kind in ("approve", "reject") if kind not in links]
    if missing:
        raise StackError(f"the email to {approver} has no {' / '.join(m.capitalize() + ':' for m in missing)} "
                         f"line with a link; subject {subject!r}, body:\n{body}")
    email.approve_url, email.reject_url = links["approve"], links["reject"]
    return email


class Inbox:
    """Every email the approvers received, in order, as the readers deliver it; waiters claim the
    ones they want. A reader that cannot read a message notes a problem: waiting then fails."""

    def __init__(self, approvers: list[str]) -> None:
        self.approvers = list(approvers)
        self.emails: list[Email] = []  # everything ever received, in order
        self.problems: list[str] = []  # emails that could not be read
        self._claimed: set[int] = set()
        self._changed = threading.Condition()

    def deliver(self, email: Email) -> None:
        with self._changed:
            self.emails.append(email)
            self._changed.notify_all()

    def note(self, problem: str) -> None:
        with self._changed:
            self.problems.append(problem)
            self._changed.notify_all()

    def _wait(self, match: Callable[[Email], bool], what: str, timeout: float, claim: bool) -> Email:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.problems:
                    raise StackError("unreadable email(s): " + "\n".join(self.problems))
                for email in self.emails:
                    if id(email) not in self._claimed and match(email):
                        if claim:
                            self._claimed.add(id(email))
                        return email
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StackError(f"no {what} within {timeout:.0f}s")
                self._changed.wait(timeout=min(left, 1.0))

    def wait_for_email(self, execution_name: str, approver: str | None = None, timeout: float = 60.0) -> Email:
        """The (next unclaimed) approval email of one execution, for `approver` (default: the first)."""
        approver = approver or self.approvers[0]
        return self._wait(lambda e: (e.kind == "approval" and e.approver == approver
                                     and e.execution_name == execution_name),
                          f"approval email for execution {execution_name} to {approver}", timeout, claim=True)

    def wait_for_decided(self, approver: str, execution_name: str, timeout: float = 30.0,
                         kind: str = "decided") -> Email:
        """The decided email (subject `Decided: …`; kind "expired": `Expired: …`, "cancelled":
        `Cancelled: …`, "reminder": `Reminder: …`) of one execution to `approver`."""
        return self._wait(lambda e: e.kind == kind and e.approver == approver and e.execution_name == execution_name,
                          f"{kind} email for execution {execution_name} to {approver}", timeout, claim=True)

    def wait_for_reminder(self, approver: str, execution_name: str, timeout: float = 30.0) -> Email:
        """The (next unclaimed) reminder (subject `Reminder: …`, sent when a reminder's schedule
        fires) of one execution to `approver`."""
        return self.wait_for_decided(approver, execution_name, timeout, kind="reminder")

    def received(self, match: Callable[[Email], bool]) -> list[Email]:
        with self._changed:
            return [e for e in self.emails if match(e)]
