"""EMAIL_DELIVERY=ses: the sender identity verified in moto's SES (as it must be in AWS before
SendEmail accepts it), and a reader thread that polls what moto's SES sent (its backend, shared
with the moto server in this process: moto_server.ses_sent_emails) and delivers each message to
the `Inbox` of each of its recipients, parsed from its text part, with its HTML part and sender."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from . import moto_server
from .common import StackError
from .inbox import Inbox, parse_email

POLL_INTERVAL_S = 0.05


class SesMailbox:
    """Every message moto's SES accepts, from `sender`, into `inbox`, one Email per recipient."""

    def __init__(self, sesv2: Any, sender: str, inbox: Inbox) -> None:
        self.sesv2 = sesv2
        self.sender = sender
        self.inbox = inbox
        self.sent: list[moto_server.SentEmail] = []  # every message SES accepted, as read
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def verify_sender(self) -> None:
        """The sender address as an SES identity: moto's SendEmail refuses any other
        (MessageRejected "Email address not verified …"), as SES does outside the simulator."""
        self.sesv2.create_email_identity(EmailIdentity=self.sender)
        status = self.sesv2.get_email_identity(EmailIdentity=self.sender).get("VerificationStatus")
        if status != "SUCCESS":
            raise StackError(f"the SES identity {self.sender} is {status!r}, not verified")

    def start(self) -> Callable[[], None]:
        self._thread = threading.Thread(target=self._collect, name="ses-mailbox", daemon=True)
        self._thread.start()

        def stop() -> None:
            self._stopping.set()
            if self._thread is not None:
                self._thread.join(timeout=5)

        return stop

    def _collect(self) -> None:
        read = 0
        while not self._stopping.wait(POLL_INTERVAL_S):
            try:
                new = moto_server.ses_sent_emails(start=read)
            except Exception as err:  # noqa: BLE001 (the mock going away at teardown)
                if not self._stopping.is_set():
                    self.inbox.note(f"reading moto's SES messages failed: {err}")
                continue
            read += len(new)
            for sent in new:
                self.sent.append(sent)
                self._deliver(sent)

    def _deliver(self, sent: moto_server.SentEmail) -> None:
        if not sent.simple:
            self.inbox.note(f"SES message {sent.message_id} to {sent.recipients} was not sent with "
                            f"Content.Simple through SESv2: its parts cannot be read")
            return
        if sent.text is None:
            self.inbox.note(f"SES message {sent.message_id} ({sent.subject!r}) has no text part")
            return
        for recipient in sent.recipients:
            try:
                email = parse_email(recipient, sent.subject, sent.text, html=sent.html, sender=sent.source,
                                    channel="ses")
            except StackError as err:
                self.inbox.note(str(err))
                continue
            self.inbox.deliver(email)
