"""The rows played on requests seeded before the run (the change row's also decided by the callback's
POST): each run's events, and what the run must have left in the table and sent."""

from __future__ import annotations

import json
from typing import Callable

from . import payloads
from .answers import json_or_none
from .aws_stub import AwsStub
from .emails import decided_notice
from .names import APPROVER, SLACK_TEAM, SLACK_USER
from .payloads import Links
from .session import Session

# The events of a request decided by its first vote, in the order they are put.
DECIDED_EVENTS = ["Approval Requested", "Approval Vote Recorded", "Approval Decided"]


def _decided_state(item: dict | None) -> dict | None:
    """The `State` of a stored item (serde_dynamo's map of the record), if it is `decided`."""
    state = ((item or {}).get("State") or {}).get("M") or {}
    return state if state.get("Name") == {"S": "decided"} else None


def _events_put(item: dict) -> int:
    return int((item.get("EventsPut") or {}).get("N", "0"))


def ready_to_tell(item: dict | None) -> str | None:
    """A record as the change row needs it: decided, Step Functions told (delivery `sent`), the
    approvers not told yet (`ToldAt` null) and no event put (`EventsPut` 0)."""
    decided = _decided_state(item)
    if item is None or decided is None:
        return "not decided"
    delivery = ((decided.get("Delivery") or {}).get("M") or {}).get("Name", {}).get("S")
    if delivery != "sent" or decided.get("ToldAt") != {"NULL": True} or _events_put(item) != 0:
        return (f"not decided, sent and untold with no event put: delivery {delivery!r}, ToldAt "
                f"{decided.get('ToldAt')}, EventsPut {_events_put(item)}")
    return None


class Changes:
    """The change row: each invocation the stream's change of a request decided for it (decided(n):
    by the callback's POST, unmeasured); after the run, what it must have done for each."""

    def __init__(self, decided: Callable[[int], list[str]], aws: AwsStub):
        self.decided = decided
        self.aws = aws
        self.requests: list[str] = []  # those of the latest run

    def events(self, n: int) -> list[bytes]:
        self.requests = self.decided(n)
        return [payloads.stream_event(request) for request in self.requests]

    def after(self, s: Session) -> str | None:
        """Each request's three events in one PutEvents, in order, once; its approver told once
        (the decided notice, by SES); its record marked told with the three events put."""
        put: dict[str, list[str]] = {}
        for entries in s.put_events:
            details = [json.loads(entry["Detail"]) for entry in entries]
            named = {detail.get("requestId") for detail in details}
            kinds = [entry["DetailType"] for entry in entries]
            request = details[0].get("requestId")
            if len(named) != 1 or request in put:
                return f"events of {sorted(map(str, named))} put again or together: {kinds}"
            if kinds != DECIDED_EVENTS or [len(d.get("votes", ())) for d in details] != [0, 1, 1] \
                    or details[-1].get("decision") != "approved" or details[-1].get("decidedBy") != APPROVER:
                return (f"request {request}: events {kinds} with {[len(d.get('votes', ())) for d in details]} votes, "
                        f"not {DECIDED_EVENTS} with 0, 1, 1 and approved by {APPROVER}")
            put[str(request)] = kinds
        if sorted(put) != sorted(self.requests):
            return f"events put for {len(put)} requests, of the {len(self.requests)} changed"
        by_execution = {self.aws.requests[r][1]: r for r in self.requests}
        told: list[str] = []
        try:
            for body in s.mailed:
                told.append(by_execution.get(decided_notice(body), "?"))
        except ValueError as err:
            return str(err)
        if sorted(told) != sorted(self.requests):
            return f"{len(told)} decided notices, not one for each of the {len(self.requests)} requests"
        for request in self.requests:
            item = self.aws.table.items.get(request) or {}
            told_at = (_decided_state(item) or {}).get("ToldAt")
            if not told_at or told_at == {"NULL": True} or _events_put(item) != len(DECIDED_EVENTS):
                return f"request {request} not marked told with its events put: ToldAt {told_at}, " \
                       f"EventsPut {_events_put(item)}"
        return None


def with_slack_user(aws: AwsStub, request: str) -> str:
    """The stored record of `request`, its approver (slot 0) given their Slack identity, as
    send-email records it with Slack on (`Approvers[0].Slack`: {TeamId, UserId}); `request`."""
    item = aws.table.items.get(request)
    approvers = ((item or {}).get("Approvers") or {}).get("L") or []
    if not approvers or "M" not in approvers[0]:
        raise ValueError(f"request {request}: no stored record with an approver in slot 0")
    approvers[0]["M"]["Slack"] = {"M": {"TeamId": {"S": SLACK_TEAM}, "UserId": {"S": SLACK_USER}}}
    return request


class SlackClicks:
    """The click row: each invocation an approver's click on a pending request of its own (its
    record given the approver's Slack identity); after the run, one views.open for each click."""

    def __init__(self, seed: Callable[[int], list[Links]], aws: AwsStub):
        self.seed = seed
        self.aws = aws
        self.opened: dict[str, str] = {}  # the latest run's: trigger id -> request

    def events(self, n: int) -> list[bytes]:
        self.opened = {}
        out = []
        for mailed in self.seed(n):
            event, trigger = payloads.slack_click(with_slack_user(self.aws, mailed.request_id))
            self.opened[trigger] = mailed.request_id
            out.append(event)
        return out

    def after(self, s: Session) -> str | None:
        """Each click's views.open: its trigger id, the vote modal (`approval_vote`) of its request
        and action (`private_metadata`); each request's record still pending, with no vote."""
        seen: dict[str, str] = {}
        for method, body in s.slack_calls:
            call = json_or_none(body)
            view = call.get("view") if isinstance(call, dict) else None
            trigger = call.get("trigger_id") if isinstance(call, dict) else None
            request = self.opened.get(str(trigger))
            if method != "views.open" or not isinstance(view, dict) or request is None or trigger in seen:
                return f"Slack {method} not a views.open of one click's trigger id: {body[:300]!r}"
            if view.get("type") != "modal" or view.get("callback_id") != "approval_vote" \
                    or view.get("private_metadata") != f"{request}:approve":
                return (f"views.open of request {request}'s click not its approve modal: type {view.get('type')!r}, "
                        f"callback_id {view.get('callback_id')!r}, private_metadata {view.get('private_metadata')!r}")
            seen[str(trigger)] = request
        if len(seen) != len(self.opened):
            return f"{len(seen)} modals opened for {len(self.opened)} clicks"
        for request in self.opened.values():
            item = self.aws.table.items.get(request) or {}
            if (item.get("Votes") or {}).get("L") or ((item.get("State") or {}).get("M") or {}).get("Name") \
                    != {"S": "pending"}:
                return f"request {request} not left pending without a vote by a click"
        return None


class SlackVotes:
    """The vote row: each invocation the approver's submission of the vote modal for a pending
    request of its own (one approver, one approval needed: every vote decides); after the run,
    each record decided by that one vote, via Slack, and delivered."""

    def __init__(self, seed: Callable[[int], list[Links]], aws: AwsStub):
        self.seed = seed
        self.aws = aws
        self.requests: list[str] = []  # those of the latest run

    def events(self, n: int) -> list[bytes]:
        self.requests = [with_slack_user(self.aws, mailed.request_id) for mailed in self.seed(n)]
        return [payloads.slack_submit(request) for request in self.requests]

    def after(self, s: Session) -> str | None:
        for request in self.requests:
            item = self.aws.table.items.get(request) or {}
            votes = (item.get("Votes") or {}).get("L") or []
            decided = _decided_state(item) or {}
            delivery = ((decided.get("Delivery") or {}).get("M") or {}).get("Name", {}).get("S")
            vote = votes[0].get("M", {}) if len(votes) == 1 else {}
            if vote.get("Via") != {"S": "slack"} or vote.get("Approver") != {"S": APPROVER} \
                    or vote.get("Choice") != {"S": "approved"} or vote.get("Comment") != {"S": "ok"} \
                    or decided.get("Decision") != {"S": "approved"} \
                    or delivery != "sent":
                return (f"request {request} not decided by its approver's one Slack approval and delivered: "
                        f"votes {str(votes)[:300]}, state {str(decided)[:300]}")
        if any(self.aws.requests[r][0] not in self.aws.completed for r in self.requests):
            return "SendTaskSuccess not called with every voted request's task token"
        return None
