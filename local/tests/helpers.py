"""Shared steps, readers and assertions of the e2e tests (one place; the tests hold no fixtures
of their own)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import localstack  # noqa: E402
from localstack import credentials  # noqa: E402

APPROVER = "approver@example.com"
SECOND_APPROVER = "second@example.com"
THIRD_APPROVER = "third@example.com"
# The session stack's approvers (APPROVERS), in order: each has its own filtered SQS inbox.
APPROVERS = (APPROVER, SECOND_APPROVER, THIRD_APPROVER)
# The SES stack's sender (SENDER_ADDRESS; test_ses.py), verified in moto's SES at start, and its logs.
SES_SENDER = "approvals@example.com"
SES_WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "e2e-ses"
# The Slack stacks' logs (test_slack.py, test_slack_channel.py).
SLACK_WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "e2e-slack"
SLACK_CHANNEL_WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "e2e-slack-channel"
# Long enough that no test's execution times out by accident; the timeout test has its own machine.
SESSION_APPROVAL_TIMEOUT_S = 600
SHORT_TIMEOUT = localstack.StateMachineSpec("ShortApprovalTimeoutStateMachine", 3)
TEAM = localstack.StateMachineSpec("TeamApprovalStateMachine", SESSION_APPROVAL_TIMEOUT_S, approval_from_input=True)
UNTRUSTED = localstack.StateMachineSpec("UntrustedStateMachine", SESSION_APPROVAL_TIMEOUT_S, trusted=False)
# A "team" one whose request expires in 3 s (a quorum that never completes).
SHORT_TEAM = localstack.StateMachineSpec("ShortTeamApprovalStateMachine", 3, approval_from_input=True)
# examples/release-approval/'s own ASL file, as a caller deploys it: trusted (in
# TRUSTED_STATE_MACHINE_ARNS), a short-timeout copy (trusted too), and a copy that is not trusted.
RELEASE_ASL = localstack.REPO_ROOT / "examples" / "release-approval" / "statemachine" / "release.asl.json"
RELEASE = localstack.StateMachineSpec("ReleaseStateMachine", SESSION_APPROVAL_TIMEOUT_S, definition_path=RELEASE_ASL)
RELEASE_SHORT_TIMEOUT = localstack.StateMachineSpec("ReleaseShortTimeoutStateMachine", 3, definition_path=RELEASE_ASL)
RELEASE_UNTRUSTED = localstack.StateMachineSpec("ReleaseUntrustedStateMachine", SESSION_APPROVAL_TIMEOUT_S,
                                                trusted=False, definition_path=RELEASE_ASL)
EXTRA_STATE_MACHINES = (SHORT_TIMEOUT, TEAM, UNTRUSTED, SHORT_TEAM, RELEASE, RELEASE_SHORT_TIMEOUT, RELEASE_UNTRUSTED)

SECURITY_HEADERS = ("content-security-policy", "referrer-policy", "cache-control")


@dataclass
class PendingApproval:
    """A started execution whose approval emails have arrived (one per approver)."""

    execution_arn: str
    execution_name: str
    state_machine_name: str
    emails: dict[str, localstack.Email] = field(default_factory=dict)

    @property
    def email(self) -> localstack.Email:
        """The first approver's email."""
        return next(iter(self.emails.values()))

    @property
    def request_id(self) -> str:
        return credentials.request_id_of(credentials.credential_of(self.email.approve_url))


def unique_name(test_name: str) -> str:
    # Execution names say which test started them (letters, digits, - and _, at most 80).
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", test_name).strip("-")[:50]
    return f"{slug}-{int(time.time() * 1000) % 10**9}"


def start_and_wait_for_email(
    stack: localstack.LocalStack, test_name: str, state_machine_arn: str | None = None, *,
    execution_input: dict[str, Any] | None = None, approvers: list[str] | None = None, unique_suffix: bool = True,
) -> PendingApproval:
    name = unique_name(test_name) if unique_suffix else test_name
    arn = stack.start_execution(name=name, state_machine_arn=state_machine_arn, execution_input=execution_input)
    emails = {who: stack.wait_for_email(name, who, timeout=60) for who in (approvers or stack.approvers)}
    sm_name = (state_machine_arn or stack.state_machine_arn).rsplit(":", 1)[-1]
    return PendingApproval(execution_arn=arn, execution_name=name, state_machine_name=sm_name, emails=emails)


def mailed_record(stack: localstack.LocalStack, request_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The raw record once it says every approver was mailed (send-email writes `NotifiedAt` just
    after the emails go out, so an email can arrive first): a copy of it is one whose endings
    are told to every approver."""
    deadline = time.monotonic() + timeout
    while True:
        raw = stack.table.get_raw(request_id)
        if raw is not None and all("NotifiedAt" in entry["M"] for entry in raw["Approvers"]["L"]):
            return raw
        if time.monotonic() > deadline:
            raise localstack.StackError(f"record {request_id} does not say its approvers were mailed: {raw}")
        time.sleep(0.1)


def action_credentials(email: localstack.Email) -> dict[str, str]:
    """An approval email's two credentials, by action (the Approve link's and the Reject link's)."""
    return {"approve": credentials.credential_of(email.approve_url),
            "reject": credentials.credential_of(email.reject_url)}


def assert_per_action_credentials(email: localstack.Email) -> dict[str, str]:
    """The email's Approve and Reject links carry different credentials of the same holder (request
    id and slot), as CONTRACT.md's per-action credentials say; returns them by action."""
    own = action_credentials(email)
    assert own["approve"] != own["reject"], f"{email.approver}'s Approve and Reject links share a credential"
    assert credentials.holder_of(own["approve"]) == credentials.holder_of(own["reject"]), \
        f"{email.approver}'s two credentials name different requests or slots: {own}"
    return own


def credential_hashes(approver_entry: dict[str, Any]) -> dict[str, Any]:
    """What a record keeps of an approver's credentials: every field whose name says hash (one per
    action, whatever the record calls them)."""
    hashes = {name: value for name, value in approver_entry.items() if "hash" in name.lower()}
    assert hashes, f"no credential hash in the record's approver entry {sorted(approver_entry)}"
    return hashes


def events_of_type(history: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in history if event["type"] == event_type]


# The states an approved execution of the stack's state machine goes through.
APPROVED_PATH = ["Lambda Callback", "VerifyDecision", "ManualApprovalChoiceState", "ApprovedPassState"]


def approval_task_succeeded(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The approval task's TaskSucceeded (a SendTaskSuccess taken), not those of the plain
    invokes after it (VerifyDecision, TellApproversOfExpiry)."""
    return [e for e in events_of_type(history, "TaskSucceeded")
            if e["taskSucceededEventDetails"].get("resource") == "invoke.waitForTaskToken"]


def states_entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]


def output_json(description: dict[str, Any]) -> dict[str, Any]:
    assert description.get("output"), f"execution has no output: {description}"
    return json.loads(description["output"])


def record(stack: localstack.LocalStack, pending: PendingApproval) -> dict[str, Any]:
    item = stack.table.get(pending.request_id)
    assert item is not None, f"no record {pending.request_id} for {pending.execution_name}"
    return item


def record_when(stack: localstack.LocalStack, pending: PendingApproval, settled: Callable[[dict[str, Any]], bool],
                timeout: float = 10.0) -> dict[str, Any]:
    """The record once `settled(record)` holds, or as it is at the timeout: the functions' last
    writes land a moment after what a test sees first (the emails, the callback's answer)."""
    deadline = time.monotonic() + timeout
    while True:
        item = record(stack, pending)
        if settled(item) or time.monotonic() > deadline:
            return item
        time.sleep(0.1)


def record_once_notified(stack: localstack.LocalStack, pending: PendingApproval,
                         timeout: float = 10.0) -> dict[str, Any]:
    """The record after send-email's last write (it records who was notified after publishing)."""
    return record_when(stack, pending, lambda item: all(a.get("NotifiedAt") for a in item["Approvers"]), timeout)


def rfc3339_utc(text: str) -> dt.datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", text), f"not RFC 3339 UTC: {text!r}"
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_page(response: localstack.HttpResponse, status: int, *says: str) -> None:
    """An HTML answer with the security headers, of `status`, saying each of `says` (any case)."""
    assert response.status == status, f"expected {status}, got {response.status}: {response.body[:800]}"
    assert response.headers.get("content-type", "").startswith("text/html"), response.headers
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert not missing, f"security headers missing: {missing}; got {sorted(response.headers)}"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp, csp
    assert "no-referrer" in response.headers["referrer-policy"] and "no-store" in response.headers["cache-control"]
    assert "x-frame-options" in response.headers or "frame-ancestors 'none'" in csp, "no frame denial"
    text = re.sub(r"\s+", " ", response.body).lower()
    for phrase in says:
        assert phrase.lower() in text, f"the {status} page does not say {phrase!r}:\n{response.body[:1500]}"


def assert_says(response: localstack.HttpResponse, pattern: str) -> None:
    """The page's text (tags and entities as they are, whitespace folded) matches `pattern`."""
    text = re.sub(r"\s+", " ", response.body)
    assert re.search(pattern, text, re.IGNORECASE), \
        f"the {response.status} page does not match {pattern!r}:\n{response.body[:1500]}"


def assert_still_waiting(stack: localstack.LocalStack, pending: PendingApproval) -> None:
    """Nothing decided: the execution RUNNING, no task result, the record without votes."""
    assert stack.describe(pending.execution_arn)["status"] == "RUNNING"
    history = stack.history(pending.execution_arn)
    assert not events_of_type(history, "TaskSucceeded") and not events_of_type(history, "TaskFailed")
    item = record(stack, pending)
    assert item.get("Votes", []) == [], item.get("Votes")
    assert (item.get("State") or {}).get("Name") == "pending", item.get("State")


def delivery_state(item: dict[str, Any]) -> str | None:
    """How handing a record's decision to Step Functions stands ("sending", "sent", …); None
    while nothing is decided."""
    state = item.get("State") or {}
    return (state.get("Delivery") or {}).get("Name")
