"""EMAIL_DELIVERY=sns: the SNS topic and one SQS queue per approver, subscribed with the filter
policy {"approver": [address]} (raw delivery off, so each message is the SNS envelope with its
MessageAttributes), and a collector thread per queue feeding the `Inbox`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .common import StackError
from .inbox import Inbox, parse_email

TOPIC_NAME = "human-approval-requests"


class SnsInboxes:
    """The topic, each approver's filtered queue, and the threads reading them into `inbox`."""

    def __init__(self, sns: Any, sqs: Any, inbox: Inbox) -> None:
        self.sns, self.sqs = sns, sqs
        self.inbox = inbox
        self.topic_arn = ""
        self.queues: dict[str, tuple[str, str]] = {}  # approver -> (queue url, queue arn)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def create(self) -> str:
        self.topic_arn = self.sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        for n, approver in enumerate(self.inbox.approvers):
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
                    self.inbox.note(f"receiving from {approver}'s queue failed: {err}")
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
                    self.inbox.note(str(err))
                    continue
                self.inbox.deliver(email)
