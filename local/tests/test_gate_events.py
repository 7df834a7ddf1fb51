"""The gate's events on EventBridge (issue #23), and requests that end with their execution.

send-email puts one event per change of a request on the bus (EVENT_BUS_NAME: moto's default
bus); the session stack reads them through a rule {"source": ["approval-gate"]} into an SQS queue
(`stack.gate_events`). moto emits no Step Functions status-change events, so the stack's
execution watcher plays them (`stack.execution_watcher`): every StopExecution, and every
execution that left RUNNING, goes to send-email as template.yaml's rule sends it.

Asserted: a two-of-three request's events, exactly, in order, each valid against
schemas/approval-event.schema.json and free of tokens, credentials and links; a stopped
execution's request cancelled within seconds (410 "cancelled", a notice to each approver, one
`Approval Cancelled`); votes racing a stop never complete a cancelled request; an expired request's
`Approval Expired` and notices; an EventBridge outage loses no decision, is counted
(`DeliveryFailures`) and its events arrive afterwards."""

from __future__ import annotations

import concurrent.futures
import functools
import json
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

import localstack
from helpers import (
    APPROVER,
    APPROVERS,
    SECOND_APPROVER,
    SHORT_TIMEOUT,
    TEAM,
    PendingApproval,
    assert_page,
    delivery_state,
    events_of_type,
    record,
    record_when,
    rfc3339_utc,
    start_and_wait_for_email,
)
from localstack import credentials
from localstack.gate_events import GateEvent

SCHEMA_PATH = localstack.REPO_ROOT / "schemas" / "approval-event.schema.json"
REQUESTED = "Approval Requested"
VOTE_RECORDED = "Approval Vote Recorded"
DECIDED = "Approval Decided"
EXPIRED = "Approval Expired"
CANCELLED = "Approval Cancelled"
CANCELLED_PAGE = "cancelled: the execution was aborted"
CANCEL_WITHIN_S = 5.0  # "within a few seconds" of StopExecution
EMF_NAMESPACE = "ApprovalGate"
TWO_OF_THREE: dict[str, Any] = {
    "Subject": "Open the firewall for the audit?",
    "Summary": "The auditors need read access for a week.",
    "Details": {"ports": [443], "until": "Friday"},
    "RequiredApprovals": 2,  # of the stack's three approvers
}
# The race: each vote leaves this long after its stop, so both outcomes get a chance.
VOTE_DELAYS_S = (0.0, 0.0, 0.02, 0.05, 0.1)


# ---- reading the events ----------------------------------------------------------------------


def _types(events: list[GateEvent]) -> list[str]:
    return [event.detail_type for event in events]


def _votes(event: GateEvent) -> list[tuple[str, str, str]]:
    return [(v["approver"], v["decision"], v["comment"]) for v in event.detail["votes"]]


def _settled(stack: localstack.LocalStack, execution_arn: str | None = None) -> None:
    """Everything the request's changes cause has been handled: the execution's end delivered
    (when it ended) and every change of the table told; only then may a test say "no other
    event"."""
    if execution_arn is not None:
        report = stack.execution_watcher.wait_reported(execution_arn, timeout=30)
        assert report.outcome == "ok", report
    stack.stream_poller.wait_idle(timeout=30)


@functools.cache
def _validator() -> Any:
    assert SCHEMA_PATH.is_file(), f"the events' schema is missing: {SCHEMA_PATH}"
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _assert_valid(events: list[GateEvent]) -> None:
    for event in events:
        errors = sorted(_validator().iter_errors(event.detail), key=lambda e: list(e.absolute_path))
        assert not errors, (f"{event.detail_type} of {event.request_id} does not match {SCHEMA_PATH.name}: "
                            + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors))


def _secrets_of(stack: localstack.LocalStack, pending: PendingApproval) -> set[str]:
    """The request's task token(s), every approver's links, credentials and secrets."""
    found: set[str] = set()
    for payload in stack.workflows.scheduled_payloads(pending.execution_arn):
        token = ((payload.get("ExecutionContext") or {}).get("Task") or {}).get("Token")
        if token:
            found |= {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
    for email in pending.emails.values():
        for url in (email.approve_url, email.reject_url):
            credential = credentials.credential_of(url)
            found |= {url, credential, credentials.b64url(credentials.secret_of(credential))}
    return found


def _assert_no_secrets(events: list[GateEvent], secrets: set[str]) -> None:
    """What a consumer of the bus reads carries no token, link or credential."""
    assert secrets
    for event in events:
        assert "http" not in event.raw.lower(), f"{event.detail_type} carries a URL: {event.raw[:800]}"
        leaked = [secret[:12] + "…" for secret in secrets if secret in event.raw]
        assert not leaked, f"{event.detail_type} of {event.request_id} carries {leaked}"


def _assert_same_request(events: list[GateEvent], pending: PendingApproval, state_machine_arn: str) -> None:
    for event in events:
        assert event.source == "approval-gate", event.source
        assert set(event.resources) == {state_machine_arn, pending.execution_arn}, event.resources
        detail = event.detail
        assert detail["version"] == "1", detail
        assert (detail["requestId"], detail["executionArn"], detail["stateMachineArn"]) == (
            pending.request_id, pending.execution_arn, state_machine_arn), detail
        assert detail["approvers"] == list(pending.emails), detail["approvers"]
        rfc3339_utc(detail["expiresAt"])
        for vote in detail["votes"]:
            rfc3339_utc(vote["at"])
            assert vote["via"], vote


def _notices(stack: localstack.LocalStack, pending: PendingApproval, kind: str) -> dict[str, int]:
    """How many notices of `kind` each approver of the request received."""
    received = stack.inbox.received(lambda e: e.kind == kind and e.execution_name == pending.execution_name)
    return {approver: sum(e.approver == approver for e in received) for approver in pending.emails}


def _assert_every_approver_told_once(stack: localstack.LocalStack, pending: PendingApproval, kind: str) -> None:
    for approver in pending.emails:
        stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30, kind=kind)
    _settled(stack)
    counts = _notices(stack, pending, kind)
    assert counts == dict.fromkeys(pending.emails, 1), f"{kind} notices per approver: {counts}"


def _approval_task_succeeded(stack: localstack.LocalStack, execution_arn: str) -> list[dict[str, Any]]:
    """TaskSucceeded of the approval task (SendTaskSuccess taken), not of other tasks."""
    return [e for e in events_of_type(stack.history(execution_arn), "TaskSucceeded")
            if e["taskSucceededEventDetails"].get("resource") == "invoke.waitForTaskToken"]


def _counts(answer: Any) -> tuple[Any, Any]:
    """send-email's answer to a status-change event: (Cancelled, Expired)."""
    assert isinstance(answer, dict), answer
    return answer.get("Cancelled"), answer.get("Expired")


# ---- the embedded metric format lines in the functions' log ---------------------------------


def _emf_objects(text: str) -> list[dict[str, Any]]:
    """Every CloudWatch embedded-metric-format object of namespace ApprovalGate, one a line."""
    found = []
    for line in text.splitlines():
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            value = json.loads(line[start:])
        except ValueError:
            continue
        directives = ((value.get("_aws") or {}).get("CloudWatchMetrics") or []) if isinstance(value, dict) else []
        if any(d.get("Namespace") == EMF_NAMESPACE for d in directives):
            found.append(value)
    return found


def _delivery_failures(log_path: Path, offset: int) -> int:
    """The DeliveryFailures counted in the log after `offset` (bytes)."""
    with open(log_path, "rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    total = 0
    for value in _emf_objects(text):
        declared = {m.get("Name") for d in value["_aws"]["CloudWatchMetrics"] for m in d.get("Metrics") or []}
        if "DeliveryFailures" in declared:
            total += int(value.get("DeliveryFailures") or 0)
    return total


def _wait_for_delivery_failures(log_path: Path, offset: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (count := _delivery_failures(log_path, offset)) < 1:
        assert time.monotonic() < deadline, f"no DeliveryFailures metric in {log_path} within {timeout:g}s"
        time.sleep(0.1)
    return count


# ---- the tests -------------------------------------------------------------------------------


def test_every_state_change_of_a_two_of_three_request_emits_exactly_its_event(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "events-two-of-three", TEAM.arn,
                                       execution_input={"Approval": TWO_OF_THREE})
    rid = pending.request_id

    # Started: exactly one Approval Requested, showing the request as asked.
    stack.gate_events.wait_for(REQUESTED, rid)
    _settled(stack)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED]
    requested = events[0].detail
    assert (requested["subject"], requested["requiredApprovals"], requested["votes"]) == (
        TWO_OF_THREE["Subject"], 2, []), requested
    assert requested["approvers"] == list(APPROVERS) and requested["requestedBy"] is None, requested

    # The first approval: one Approval Vote Recorded, with that vote.
    first = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "first look")
    assert first.answer.status == 200, first.answer.body[:500]
    stack.gate_events.wait_for(VOTE_RECORDED, rid)
    _settled(stack)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED, VOTE_RECORDED]
    assert _votes(events[1]) == [(APPROVER, "approved", "first look")]

    # The deciding approval: its Vote Recorded, then Approval Decided; nothing else, even once the
    # execution's end has reached send-email too.
    second = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].approve_url, "agreed")
    assert second.answer.status == 303, second.answer.body[:500]
    assert stack.wait_for_end(pending.execution_arn)["status"] == "SUCCEEDED"
    stack.gate_events.wait_for(DECIDED, rid)
    _settled(stack, pending.execution_arn)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED, VOTE_RECORDED, VOTE_RECORDED, DECIDED]
    both = [(APPROVER, "approved", "first look"), (SECOND_APPROVER, "approved", "agreed")]
    assert _votes(events[2]) == both and _votes(events[3]) == both
    decided = events[3].detail
    assert (decided["decision"], decided["decidedBy"]) == ("approved", SECOND_APPROVER), decided
    rfc3339_utc(decided["decidedAt"])
    assert "reason" not in [key for event in events[:3] for key in event.detail], "reason on a non-ending event"

    _assert_same_request(events, pending, TEAM.arn)
    _assert_valid(events)
    _assert_no_secrets(events, _secrets_of(stack, pending))


def test_a_stopped_executions_request_is_cancelled_within_seconds(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "stopped-execution")
    rid = pending.request_id
    stack.gate_events.wait_for(REQUESTED, rid)

    stopped_at = time.monotonic()
    stack.sfn.stop_execution(executionArn=pending.execution_arn, error="Ops.Stopped", cause="stopped by the e2e test")
    report = stack.execution_watcher.wait_reported(pending.execution_arn, timeout=CANCEL_WITHIN_S)
    assert (report.status, report.seen_by, report.outcome) == ("ABORTED", "StopExecution", "ok"), report
    assert _counts(report.answer) == (1, 0), report.answer
    item = record_when(stack, pending, lambda i: i["State"]["Name"] != "pending", timeout=CANCEL_WITHIN_S)
    elapsed = time.monotonic() - stopped_at
    assert (item["State"]["Name"], item["State"].get("Status")) == ("cancelled", "ABORTED"), item["State"]
    assert elapsed <= CANCEL_WITHIN_S, f"cancelled {elapsed:.1f}s after StopExecution"

    # Every approver's links now show it cancelled, GET and POST alike, and record nothing.
    for email in pending.emails.values():
        for answer in (localstack.http_request("GET", email.approve_url),
                       localstack.post_link(email.reject_url, "too late")):
            assert_page(answer, 410, CANCELLED_PAGE)
    assert record(stack, pending).get("Votes", []) == []
    assert not _approval_task_succeeded(stack, pending.execution_arn)

    for approver in pending.emails:
        notice = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30, kind="cancelled")
        assert "Cancelled" in notice.subject, notice.subject
    _settled(stack)
    assert _notices(stack, pending, "cancelled") == dict.fromkeys(pending.emails, 1)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED, CANCELLED]
    assert events[1].detail["reason"] == "ABORTED", events[1].detail
    _assert_same_request(events, pending, stack.state_machine_arn)
    _assert_valid(events)


def _race(stack: localstack.LocalStack, pending: PendingApproval, vote_delay_s: float) -> localstack.HttpResponse:
    """StopExecution and an approval leave at the same moment (the vote `vote_delay_s` later);
    returns the vote's answer."""
    start = threading.Barrier(2)

    def stop() -> None:
        start.wait()
        stack.sfn.stop_execution(executionArn=pending.execution_arn, cause="racing a vote")

    def vote() -> localstack.HttpResponse:
        start.wait()
        time.sleep(vote_delay_s)
        return localstack.post_link(pending.emails[APPROVER].approve_url, "racing the stop")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        stopping, voting = pool.submit(stop), pool.submit(vote)
        stopping.result()
        return voting.result()


def _race_outcome(stack: localstack.LocalStack, pending: PendingApproval, vote: localstack.HttpResponse) -> str:
    """"cancelled" or "decided", each asserted whole: never a bit of both."""
    report = stack.execution_watcher.wait_reported(pending.execution_arn, timeout=30)
    assert report.outcome == "ok", report
    item = record_when(stack, pending, lambda i: i["State"]["Name"] == "cancelled"
                       or (i["State"]["Name"] == "decided" and delivery_state(i) != "sending"))
    state = item["State"]["Name"]
    succeeded = _approval_task_succeeded(stack, pending.execution_arn)
    name = pending.execution_name
    if state == "cancelled":
        _assert_every_approver_told_once(stack, pending, "cancelled")
        assert not succeeded, f"{name}: cancelled, yet Step Functions took a decision: {succeeded}"
        assert vote.status == 410, (name, vote.status, vote.body[:300])
        assert item.get("Votes", []) == [], item["Votes"]
        assert _counts(report.answer) == (1, 0), report.answer
        assert _types(stack.gate_events.of_request(pending.request_id)) == [REQUESTED, CANCELLED]
        assert not _notices(stack, pending, "decided")[APPROVER]
    else:
        assert state == "decided", f"{name}: neither cancelled nor decided: {item['State']}"
        _assert_every_approver_told_once(stack, pending, "decided")
        assert len(succeeded) == 1, f"{name}: decided, {len(succeeded)} TaskSucceeded"
        assert vote.status == 303, (name, vote.status, vote.body[:300])
        assert _counts(report.answer)[0] == 0, f"{name}: decided, and cancelled too: {report.answer}"
        assert _types(stack.gate_events.of_request(pending.request_id)) == [REQUESTED, VOTE_RECORDED, DECIDED]
        assert not _notices(stack, pending, "cancelled")[APPROVER]
    return str(state)


def test_votes_racing_the_cancellation_never_complete_a_cancelled_request(stack: localstack.LocalStack) -> None:
    run = uuid.uuid4().hex[:6]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(VOTE_DELAYS_S)) as pool:
        pendings = list(pool.map(lambda i: start_and_wait_for_email(stack, f"cancel-race-{run}-{i}"),
                                 range(len(VOTE_DELAYS_S))))
    for pending in pendings:
        stack.gate_events.wait_for(REQUESTED, pending.request_id)
    votes = [_race(stack, pending, delay) for pending, delay in zip(pendings, VOTE_DELAYS_S, strict=True)]
    outcomes = [_race_outcome(stack, pending, vote) for pending, vote in zip(pendings, votes, strict=True)]
    print(f"stop vs vote: {outcomes.count('cancelled')} cancelled, {outcomes.count('decided')} decided "
          f"(vote delays {VOTE_DELAYS_S})")


def test_an_expired_request_emits_approval_expired_and_every_approver_is_told(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "events-expired", SHORT_TIMEOUT.arn)
    rid = pending.request_id
    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert (description["status"], description.get("error")) == ("FAILED", "Approval.TimedOut"), description

    expired = stack.gate_events.wait_for(EXPIRED, rid)
    _assert_every_approver_told_once(stack, pending, "expired")
    report = stack.execution_watcher.wait_reported(pending.execution_arn, timeout=30)
    assert (report.status, report.outcome) == ("FAILED", "ok"), report
    assert _counts(report.answer)[0] == 0, f"an expired request was cancelled: {report.answer}"
    _settled(stack)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED, EXPIRED], _types(events)
    reason = expired[0].detail.get("reason")
    assert isinstance(reason, str) and reason, expired[0].detail
    assert record(stack, pending)["State"]["Name"] == "expired"
    _assert_same_request(events, pending, SHORT_TIMEOUT.arn)
    _assert_valid(events)


def test_an_eventbridge_outage_loses_no_decision_and_is_counted(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "eventbridge-outage")
    rid = pending.request_id
    stack.gate_events.wait_for(REQUESTED, rid)
    _settled(stack)
    log_offset = stack.functions_log_path.stat().st_size

    with stack.eventbridge_down() as outage:
        decision = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "bus or no bus")
        assert decision.answer.status == 303, decision.answer.body[:500]
        assert stack.wait_for_end(pending.execution_arn)["status"] == "SUCCEEDED"
        assert len(_approval_task_succeeded(stack, pending.execution_arn)) == 1
        refused = outage.wait_rejected(rid)
        # Counted once send-email gives up on the bus; then the outage may end (the stream's
        # retries are limited: MaximumRetryAttempts).
        failures = _wait_for_delivery_failures(stack.functions_log_path, log_offset, timeout=60)
        assert _types(stack.gate_events.of_request(rid)) == [REQUESTED], "an event got through the outage"
    assert {entry["DetailType"] for entry in refused} <= {VOTE_RECORDED, DECIDED}, refused
    assert failures >= 1

    # After the outage the stream hands the change over again: the missing events arrive, once.
    stack.gate_events.wait_for(DECIDED, rid, timeout=60)
    _assert_every_approver_told_once(stack, pending, "decided")
    _settled(stack, pending.execution_arn)
    events = stack.gate_events.of_request(rid)
    assert _types(events) == [REQUESTED, VOTE_RECORDED, DECIDED]
    assert (events[2].detail["decision"], events[2].detail["decidedBy"]) == ("approved", APPROVER), events[2].detail
    assert _votes(events[2]) == [(APPROVER, "approved", "bus or no bus")]
    _assert_same_request(events, pending, stack.state_machine_arn)
    _assert_valid(events)


@pytest.mark.after_all_other_tests
def test_no_gate_event_of_the_session_carries_a_token_link_or_credential(stack: localstack.LocalStack) -> None:
    events = stack.gate_events.all()
    if not events:  # run alone: one request's events first
        pending = start_and_wait_for_email(stack, "events-alone")
        stack.gate_events.wait_for(REQUESTED, pending.request_id)
        events = stack.gate_events.all()
    secrets = set()
    for token in stack.workflows.task_tokens():
        secrets |= {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
    for email in stack.inbox.received(lambda e: e.kind == "approval"):
        for url in (email.approve_url, email.reject_url):
            secrets |= {url, credentials.credential_of(url)}
    _assert_no_secrets(events, secrets)
    _assert_valid(events)
