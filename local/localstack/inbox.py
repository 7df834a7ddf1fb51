"""The approvers' inboxes: the SNS topic, one SQS queue per approver subscribed with the filter
policy {"approver": [address]} (raw delivery off, so each message is the SNS envelope with its
MessageAttributes), a collector thread per queue, and the parser that reads an email."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .common import StackError

TOPIC_NAME = "human-approval-requests"
DECIDED_PREFIX = "Decided: "
EXPIRED_PREFIX = "Expired: "  # sent by the state machine itself when the task times out

_LINK_LINE = re.compile(r"^\s*(Approve|Reject):\s*(https?://\S+)\s*$", re.MULTILINE)
_EXECUTION_LINE = re.compile(r"^Execution:\s*(\S+)\s*$", re.MULTILINE)
_EXPIRED_EXECUTION = re.compile(r"\bexecution (\S+) \(state machine ")


@dataclasses.dataclass(eq=False)
class Email:
    """One message as an approver receives it (the SNS envelope unwrapped)."""

    approver: str  # the message attribute `approver`
    subject: str
    body: str
    kind: str  # "approval", "decided" or "expired"
    approve_url: str = ""
    reject_url: str = ""
    execution_name: str | None = None  # the body's "Execution:" line, when it has one
    received_at: float = 0.0


def parse_email(approver: str, subject: str, body: str) -> Email:
    """An approval email (both link lines required), a decided email (subject `Decided: …`) or
    the state machine's expiry notice (subject `Expired: …`)."""
    execution = _EXECUTION_LINE.search(body) or _EXPIRED_EXECUTION.search(body)
    email = Email(approver=approver, subject=subject, body=body, kind="approval",
                  execution_name=execution.group(1) if execution else None, received_at=time.monotonic())
    links = {kind.lower(): url for kind, url in _LINK_LINE.findall(body)}
    for prefix, kind in ((DECIDED_PREFIX, "decided"), (EXPIRED_PREFIX, "expired")):
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
    """Every email sent to the topic, per approver, as it arrives; waiters claim the ones they want."""

    def __init__(self, sns: Any, sqs: Any, approvers: list[str]) -> None:
        self.sns, self.sqs = sns, sqs
        self.approvers = list(approvers)
        self.topic_arn = ""
        self.queues: dict[str, tuple[str, str]] = {}  # approver -> (queue url, queue arn)
        self.emails: list[Email] = []  # everything ever received, in order
        self.problems: list[str] = []  # emails that could not be read
        self._claimed: set[int] = set()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def create(self) -> str:
        self.topic_arn = self.sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        for n, approver in enumerate(self.approvers):
            queue_name = f"inbox-{n}-{re.sub(r'[^A-Za-z0-9-]', '-', approver)}"[:80]
            url = self.sqs.create_queue(QueueName=queue_name)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.queues[approver] = (url, arn)
        self.subscribe()
        return self.topic_arn

    def subscribe(self) -> None:
        # Raw delivery off: the queue gets the SNS envelope, with Subject and MessageAttributes.
        for approver, (_, arn) in self.queues.items():
            self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn,
                               Attributes={"FilterPolicy": json.dumps({"approver": [approver]})})

    def start(self) -> Callable[[], None]:
        for approver, (url, _) in self.queues.items():
            thread = threading.Thread(target=self._collect, args=(approver, url), name=f"inbox-{approver}", daemon=True)
            thread.start()
            self._threads.append(thread)

        def stop() -> None:
            self._stopping.set()
            for thread in self._threads:
                thread.join(timeout=5)

        return stop

    def _collect(self, approver: str, url: str) -> None:
        while not self._stopping.is_set():
            try:
                resp = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                                MessageAttributeNames=["All"])
            except Exception as err:  # noqa: BLE001 (the mock going away at teardown)
                if not self._stopping.is_set():
                    self._note(f"receiving from {approver}'s queue failed: {err}")
                    time.sleep(0.5)
                continue
            for message in resp.get("Messages", []):
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                envelope = json.loads(message["Body"])
                attribute = (envelope.get("MessageAttributes") or {}).get("approver") or {}
                try:
                    if attribute.get("Value") != approver:
                        raise StackError(f"{approver}'s queue got an email whose `approver` attribute is {attribute!r}")
                    email = parse_email(approver, envelope.get("Subject") or "", envelope.get("Message") or "")
                except StackError as err:
                    self._note(str(err))
                    continue
                with self._changed:
                    self.emails.append(email)
                    self._changed.notify_all()

    def _note(self, problem: str) -> None:
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
        """The decided email (subject `Decided: …`; kind "expired": `Expired: …`) of one execution
        to `approver`."""
        return self._wait(lambda e: e.kind == kind and e.approver == approver and e.execution_name == execution_name,
                          f"{kind} email for execution {execution_name} to {approver}", timeout, claim=True)

    def received(self, match: Callable[[Email], bool]) -> list[Email]:
        with self._changed:
            return [e for e in self.emails if match(e)]
