"""The gate's events on EventBridge, as a consumer of the bus gets them.

send-email puts one event per change of a request on the bus named by EVENT_BUS_NAME (source
`approval-gate`; detail-types `Approval Requested`, `Approval Vote Recorded`, `Approval Decided`,
`Approval Expired`, `Approval Cancelled`, `Approval Delivery Failed`, `Approval Reminder Sent`,
`Approval Escalated`; the detail described by
schemas/approval-event.schema.json). Locally the bus is moto's default bus, and the stack plays a
subscriber: a rule on it with the pattern {"source": ["approval-gate"]} whose target is an SQS
queue. moto 5.2.5's PutEvents matches each entry against the bus's rules and sends it to the rule's
SQS target at once, as EventBridge's event envelope (id, time, version, detail-type, source,
region, resources, detail); checked with a small script. `GateEvents` reads that queue into a list
kept in memory, in arrival order, so every read sees every event so far.

`EventBridgeOutage` is what `LocalStack.eventbridge_down()` yields: the PutEvents entries refused
while the bus was down (moto_server.set_eventbridge_down).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

from . import moto_server
from .common import StackError

SOURCE = "approval-gate"
DETAIL_TYPES = ("Approval Requested", "Approval Vote Recorded", "Approval Decided", "Approval Expired",
                "Approval Cancelled", "Approval Delivery Failed", "Approval Reminder Sent", "Approval Escalated")
EVENT_BUS_NAME = "default"  # the functions' EVENT_BUS_NAME: moto's default bus of the account
RULE_NAME = "local-gate-events"
QUEUE_NAME = "local-gate-events"
POLL_INTERVAL_S = 0.1


@dataclasses.dataclass(frozen=True)
class GateEvent:
    """One event as the rule's target received it."""

    detail_type: str
    source: str
    time: str
    resources: tuple[str, ...]
    detail: dict[str, Any]
    raw: str  # the SQS message body, exactly as delivered: what a consumer could read

    @property
    def request_id(self) -> str | None:
        value = self.detail.get("requestId")
        return value if isinstance(value, str) else None

    def summary(self) -> str:
        """One line: detail-type, request id, and who did what (votes, decision, who was reminded or
        added, reason)."""
        detail = self.detail
        votes = detail.get("votes") or []
        if self.detail_type == "Approval Requested":
            what = (f"{detail.get('requiredApprovals')} of {len(detail.get('approvers') or [])} approvals needed "
                    f"from {', '.join(detail.get('approvers') or [])}")
        elif self.detail_type == "Approval Vote Recorded" and votes:
            what = f"{votes[-1].get('approver')} {votes[-1].get('decision')} (vote {len(votes)})"
        elif self.detail_type == "Approval Decided":
            what = f"{detail.get('decision')} by {detail.get('decidedBy')} at {detail.get('decidedAt')}"
        elif self.detail_type == "Approval Reminder Sent":
            what = f"reminded {', '.join(detail.get('reminded') or [])}"
        elif self.detail_type == "Approval Escalated":
            what = f"added {', '.join(detail.get('added') or [])}"
        else:
            what = str(detail.get("reason") or "")
        return f"{self.detail_type:<24} {self.request_id}  {what}".rstrip()


def parse(body: str) -> GateEvent:
    """An SQS message body of the rule's target: EventBridge's envelope."""
    try:
        envelope = json.loads(body)
        return GateEvent(detail_type=envelope["detail-type"], source=envelope["source"], time=str(envelope["time"]),
                         resources=tuple(envelope.get("resources") or ()), detail=dict(envelope["detail"]), raw=body)
    except (ValueError, KeyError, TypeError) as err:
        raise StackError(f"the gate's event queue got something that is not an EventBridge event ({err}): "
                         f"{body[:500]}") from err


class GateEvents:
    """The rule and its queue (`create`), and every event the queue received (`all`, `wait_for`)."""

    def __init__(self, events: Any, sqs: Any) -> None:
        self.events, self.sqs = events, sqs
        self.queue_url = ""
        self._seen: list[GateEvent] = []
        self._lock = threading.Lock()  # one drain at a time, so the list keeps the arrival order

    def create(self) -> None:
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=RULE_NAME, EventBusName=EVENT_BUS_NAME, State="ENABLED",
                             EventPattern=json.dumps({"source": [SOURCE]}))
        self.events.put_targets(Rule=RULE_NAME, EventBusName=EVENT_BUS_NAME,
                                Targets=[{"Id": "local-gate-events-queue", "Arn": queue_arn}])

    def all(self) -> list[GateEvent]:
        """Every event received so far, in arrival order (the queue drained first)."""
        with self._lock:
            self._drain()
            return list(self._seen)

    def of_request(self, request_id: str) -> list[GateEvent]:
        return [event for event in self.all() if event.request_id == request_id]

    def wait_for(self, detail_type: str, request_id: str | None = None, count: int = 1,
                 timeout: float = 30.0) -> list[GateEvent]:
        """The events of `detail_type` (of `request_id`, when given) once there are at least
        `count`; StackError naming what did arrive when that takes longer than `timeout`."""
        if detail_type not in DETAIL_TYPES:
            raise StackError(f"{detail_type!r} is not a detail-type of the gate's events: {', '.join(DETAIL_TYPES)}")
        deadline = time.monotonic() + timeout
        while True:
            seen = self.all()
            found = [e for e in seen if e.detail_type == detail_type and request_id in (None, e.request_id)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                mine = [e.detail_type for e in seen if request_id in (None, e.request_id)]
                raise StackError(f"{len(found)} of {count} {detail_type!r} event(s)"
                                 f"{f' of request {request_id}' if request_id else ''} within {timeout:g}s; "
                                 f"arrived: {mine or 'none'}")
            time.sleep(POLL_INTERVAL_S)

    def _drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            self._seen.extend(parse(message["Body"]) for message in messages)
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])


class EventBridgeOutage:
    """What happened during one `eventbridge_down()`: the entries EventBridge refused."""

    def __init__(self) -> None:
        self._start = len(moto_server.rejected_put_events())

    def rejected(self) -> list[dict[str, Any]]:
        """The PutEvents entries refused since this outage began, as sent."""
        return moto_server.rejected_put_events(self._start)

    def rejected_of(self, request_id: str) -> list[dict[str, Any]]:
        return [entry for entry in self.rejected() if _entry_request_id(entry) == request_id]

    def wait_rejected(self, request_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The refused entries of `request_id` once there is one; StackError after `timeout`."""
        deadline = time.monotonic() + timeout
        while not (found := self.rejected_of(request_id)):
            if time.monotonic() > deadline:
                raise StackError(f"no PutEvents of request {request_id} met the outage within {timeout:g}s "
                                 f"({len(self.rejected())} other entries did)")
            time.sleep(POLL_INTERVAL_S)
        return found


def _entry_request_id(entry: dict[str, Any]) -> str | None:
    try:
        detail = json.loads(entry.get("Detail") or "{}")
    except ValueError:
        return None
    return detail.get("requestId") if isinstance(detail, dict) else None
