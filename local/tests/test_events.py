"""Every file in events/ through `cargo lambda invoke`, against the running functions (the same
files `sam local invoke` takes where Docker exists); each gets the contract's answer.

The callback samples carry a credential `c`; no sample can name a request of this session, so
the test plants one: a copy of a real request's record (from this session's send-email, which
also tells where and how the credential hashes are kept: one per action) under the samples'
request id, with the Approve samples' and the Reject sample's hashes in their places in the
samples' slot. The POST sample then votes on a real waiting execution (303). Samples still in
v1's shape (taskToken links, no `c`) are skipped with a note: events/ is rewritten for v2
alongside the crates. Step Functions' status-change sample (what the stack's EventBridge rule
hands send-email) names an execution this stack never ran, then, rewritten, a real waiting one."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import localstack
from helpers import PendingApproval, action_credentials, mailed_record, start_and_wait_for_email
from localstack import credentials

EVENTS = localstack.REPO_ROOT / "events"
SEND_EMAIL_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if "ExecutionContext" in json.loads(p.read_text()))
# The request table's stream, as Lambda hands it to send-email (KEYS_ONLY: a request id).
STREAM_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if "Records" in json.loads(p.read_text()))
# Step Functions' execution status changes, as the EventBridge rule hands them to send-email.
STATUS_CHANGE_EVENTS = sorted(p.name for p in EVENTS.glob("*.json")
                              if json.loads(p.read_text()).get("source") == "aws.states")
CALLBACK_EVENTS = sorted(p.name for p in EVENTS.glob("*.json")
                         if p.name not in {*SEND_EMAIL_EVENTS, *STREAM_EVENTS, *STATUS_CHANGE_EVENTS})
# The samples whose credentials get a planted record, one per action (per-action credentials:
# the Reject link's `c` is not the Approve link's); another well-formed `c` names no request.
PLANTED_FROM = {"approve": "approve-get.json", "reject": "reject-get.json"}
# What the contract says of the shipped samples (derived from the event itself when not listed).
# (events/README.md says the same.)
EXPECTED = {"approve-get.json": 200, "reject-get.json": 200, "approve-get-function-url.json": 200,
            "unknown-action.json": 400, "approve-post.json": 303, "head-scanner.json": 405}


def invoke(stack: localstack.LocalStack, function: str, event: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["cargo", "lambda", "invoke", "--invoke-address", "127.0.0.1", "--invoke-port", str(stack.watch.port),
         "--data-file", str(event), "--output-format", "json", function],
        cwd=localstack.REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    if done.returncode != 0:  # a function error: cargo lambda invoke prints it and fails
        return {"functionError": f"{done.stdout}\n{done.stderr}"}
    return json.loads(done.stdout)


def link_fields(event: dict[str, Any]) -> tuple[str, dict[str, list[str]]]:
    """The event's method and every link field it carries (query and form body together)."""
    if event.get("version") == "2.0":
        method = event["requestContext"]["http"]["method"]
        fields = urllib.parse.parse_qs(event.get("rawQueryString") or "", keep_blank_values=True)
    else:
        method = event["httpMethod"]
        fields = {k: list(v) for k, v in (event.get("multiValueQueryStringParameters") or {}).items()}
    body = event.get("body") or ""
    if body and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    for key, values in urllib.parse.parse_qs(body, keep_blank_values=True).items():
        fields.setdefault(key, []).extend(values)
    return method, fields


def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def _credential(name: str) -> str | None:
    values = link_fields(_load(name))[1].get("c") or []
    return values[0] if len(values) == 1 and len(values[0]) == credentials.CREDENTIAL_CHARS else None


def planted_credentials() -> dict[str, str] | None:
    """The samples' credentials by action (None while events/ carry none): the Approve samples'
    and the Reject sample's, of one holder (request id and slot)."""
    found = {action: _credential(name) for action, name in PLANTED_FROM.items()}
    if found["approve"] is None or found["reject"] is None:
        return None
    planted = {"approve": found["approve"], "reject": found["reject"]}
    assert credentials.holder_of(planted["approve"]) == credentials.holder_of(planted["reject"]), \
        f"events/{PLANTED_FROM['approve']} and events/{PLANTED_FROM['reject']} name different requests or slots"
    return planted


Place = tuple[str | int, ...]  # a place in a DynamoDB attribute value: map keys and list indexes


def _leaves(value: dict[str, Any], path: Place = ()) -> Iterator[tuple[Place, str, Any]]:
    """Every scalar inside a typed DynamoDB value, with its place and type."""
    ((kind, inner),) = value.items()
    if kind == "M":
        for key, item in inner.items():
            yield from _leaves(item, (*path, key))
    elif kind == "L":
        for index, item in enumerate(inner):
            yield from _leaves(item, (*path, index))
    else:
        yield path, kind, inner


def _put_leaf(value: dict[str, Any], path: Place, kind: str, new: Any) -> None:
    for step in path:
        value = value["M"][step] if isinstance(step, str) else value["L"][step]
    value.clear()
    value[kind] = new


def _hash_places(entry: dict[str, Any], credential: str) -> list[tuple[Place, str, int]]:
    """Where an approver's record entry keeps `credential`'s hash: (place, type, index of the
    encoding in credentials.hash_forms)."""
    forms = credentials.hash_forms(credential)
    places = []
    for path, kind, value in _leaves(entry):
        stored = value if kind == "S" else bytes(value) if kind == "B" else None
        places += [(path, kind, i) for i, form in enumerate(forms) if form == stored]
    return places


def plant(stack: localstack.LocalStack, real: PendingApproval, planted: dict[str, str]) -> None:
    """A copy of `real`'s record that the `planted` credentials (by action) name and verify
    against: each action's hash where the real record keeps that action's, in the same encoding.

    send-email writes back each record the stream hands it (the events it put), with a
    compare-and-swap on its Version, which a copy shares with its original and with an earlier
    copy: so nothing of the stream is in flight when the copy is taken, and its own change has
    been handled before the sample acts on it."""
    stack.stream_poller.wait_idle(timeout=20)
    stored_raw = stack.table.get_raw(real.request_id)
    assert stored_raw is not None, f"no record {real.request_id} to copy"
    raw = copy.deepcopy(stored_raw)
    approvers = raw["Approvers"]["L"]
    real_credentials = action_credentials(real.email)
    real_entry = approvers[credentials.slot_of(real_credentials["approve"])]
    places = {action: _hash_places(real_entry, credential) for action, credential in real_credentials.items()}
    slot = credentials.slot_of(planted["approve"])
    while len(approvers) <= slot:
        approvers.append(copy.deepcopy(approvers[0]))
    for action, found in places.items():
        assert found, f"the record keeps the {action} credential's hash in none of the encodings tried: {real_entry}"
        for path, kind, form in found:
            _put_leaf(approvers[slot], path, kind, credentials.hash_forms(planted[action])[form])
    raw["RequestId"] = {"S": credentials.request_id_of(planted["approve"])}
    stack.table.put_raw(raw)
    stack.stream_poller.wait_idle(timeout=20)


def expected_status(name: str) -> int:
    if name in EXPECTED:
        return EXPECTED[name]
    method, fields = link_fields(_load(name))
    if method not in ("GET", "POST"):
        return 405
    action = fields.get("action")
    if action not in (["approve"], ["reject"]) or _credential(name) is None:
        return 400
    planted = planted_credentials()
    if planted is None or _credential(name) != planted[action[0]]:
        return 404  # no such request, or the other action's credential
    return 200 if method == "GET" else 303


@pytest.mark.parametrize("event_file", SEND_EMAIL_EVENTS)
def test_send_email_sample_is_untrusted_here_and_changes_nothing(stack: localstack.LocalStack, event_file: str) -> None:
    """The sample names an execution this Step Functions never ran (and a foreign API): refused.
    (test_untrusted.py sends a payload Step Functions did schedule.)"""
    records_before = stack.table.count()
    answer = invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file)
    assert "SendEmail.Untrusted" in answer.get("functionError", ""), answer
    assert stack.table.count() == records_before


def decided_untold(state_at: str, by: str) -> dict[str, Any]:
    """A record's State (typed) as approval-callback leaves it once Step Functions has the decision:
    decided, sent, nobody told yet."""
    return {"M": {"Name": {"S": "decided"}, "Decision": {"S": "approved"}, "By": {"S": by}, "At": {"S": state_at},
                  "Output": {"S": "{}"}, "Delivery": {"M": {"Name": {"S": "sent"}, "At": {"S": state_at}}},
                  "ToldAt": {"NULL": True}}}


@pytest.mark.parametrize("event_file", STREAM_EVENTS)
def test_stream_sample_tells_what_its_record_left_untold_once(stack: localstack.LocalStack, event_file: str) -> None:
    """Without its record: nothing to tell, nothing failed. With a decided, untold record under the
    sample's request id (a copy of a real request's): the sample tells each of its approvers once
    (the stream poller is paused meanwhile, then finds nothing left to tell), and the record says so."""
    request_id = _load(event_file)["Records"][0]["dynamodb"]["Keys"]["RequestId"]["S"]
    stack.table.delete(request_id)
    assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"batchItemFailures": []}

    real = start_and_wait_for_email(stack, f"event-{event_file.removesuffix('.json')}")
    raw = copy.deepcopy(mailed_record(stack, real.request_id))
    raw["RequestId"] = {"S": request_id}
    raw["State"] = decided_untold(raw["CreatedAt"]["S"], next(iter(real.emails)))
    # The sample tells it, not the poller that sees the planted write: paused until it has.
    with stack.stream_poller.paused():
        stack.table.put_raw(raw)
        assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"batchItemFailures": []}
        for approver in real.emails:
            stack.inbox.wait_for_decided(approver, real.execution_name, timeout=20)
        told = stack.table.get(request_id)
        assert told is not None and told["State"]["ToldAt"], told
        assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"batchItemFailures": []}
    stack.stream_poller.wait_idle(timeout=20)
    notices = stack.inbox.received(lambda e: e.kind == "decided" and e.execution_name == real.execution_name)
    assert sorted(e.approver for e in notices) == sorted(real.emails), "once each"
    stack.table.delete(request_id)


def _pointed_at(event_file: str, pending: PendingApproval, work_dir: Path) -> Path:
    """A copy of the status-change sample naming `pending`'s execution (and state machine)."""
    event = _load(event_file)
    state_machine_arn = _state_machine_of(pending.execution_arn)
    event["resources"] = [pending.execution_arn]
    event["detail"].update(executionArn=pending.execution_arn, stateMachineArn=state_machine_arn,
                           name=pending.execution_name)
    path = work_dir / f"pointed-{event_file}"
    path.write_text(json.dumps(event))
    return path


def _state_machine_of(execution_arn: str) -> str:
    """arn:…:execution:<machine>:<name> -> arn:…:stateMachine:<machine>."""
    prefix, machine, _ = execution_arn.rsplit(":", 2)
    return f"{prefix.removesuffix(':execution')}:stateMachine:{machine}"


@pytest.mark.parametrize("event_file", STATUS_CHANGE_EVENTS)
def test_status_change_sample_cancels_the_request_of_the_execution_it_names(stack: localstack.LocalStack,
                                                                      event_file: str) -> None:
    """As shipped: an execution this stack never ran, nothing to cancel. Pointed at a real waiting
    execution: its request is cancelled with the sample's status, and its links answer 410."""
    status = _load(event_file)["detail"]["status"]
    assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"Cancelled": 0, "Expired": 0}

    real = start_and_wait_for_email(stack, f"event-{event_file.removesuffix('.json')}")
    stack.stream_poller.wait_idle(timeout=20)
    pointed = _pointed_at(event_file, real, stack.config.work_dir)
    assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, pointed) == {"Cancelled": 1, "Expired": 0}
    state = (stack.table.get(real.request_id) or {}).get("State") or {}
    assert (state.get("Name"), state.get("Status")) == ("cancelled", status), state
    answer = localstack.http_request("GET", real.email.approve_url)
    assert answer.status == 410 and "cancelled" in answer.body.lower(), (answer.status, answer.body[:500])
    for approver in real.emails:  # told, so that no notice arrives during a later test
        stack.inbox.wait_for_decided(approver, real.execution_name, timeout=20, kind="cancelled")
    assert invoke(stack, localstack.SEND_EMAIL_FUNCTION, pointed) == {"Cancelled": 0, "Expired": 0}


@pytest.mark.parametrize("event_file", CALLBACK_EVENTS)
def test_callback_sample_without_its_request_is_404_or_refused_before_the_lookup(stack: localstack.LocalStack,
                                                                                 event_file: str) -> None:
    """As against a deployed stack: no such request, so 404 (400 and 405 come before the lookup)."""
    planted = planted_credentials()
    if planted is None:
        pytest.skip("events/ are still v1's")
    stack.table.delete(credentials.request_id_of(planted["approve"]))
    status = expected_status(event_file)
    answer = invoke(stack, localstack.CALLBACK_FUNCTION, EVENTS / event_file)
    assert answer.get("statusCode") == (status if status in (400, 405) else 404), (event_file, answer)


@pytest.mark.parametrize("event_file", CALLBACK_EVENTS)
def test_callback_event_gets_the_contract_answer(stack: localstack.LocalStack, event_file: str,
                                                 request: pytest.FixtureRequest) -> None:
    planted = planted_credentials()
    if planted is None and "taskToken" in link_fields(_load(event_file))[1]:
        pytest.skip(f"events/{event_file} is still v1's (taskToken link); v2's carry `c`")
    status = expected_status(event_file)
    # A fresh waiting request to copy, so a sample POST votes on a live task of its own.
    real = start_and_wait_for_email(stack, f"event-{event_file.removesuffix('.json')}")
    if planted is not None:
        plant(stack, real, planted)
    answer = invoke(stack, localstack.CALLBACK_FUNCTION, EVENTS / event_file)
    assert answer.get("statusCode") == status, (event_file, answer)
    # REST API (v1) answers carry their headers in multiValueHeaders, v2 answers in headers.
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (answer.get("multiValueHeaders") or {}).items()})
    assert headers.get("content-type") == "text/html; charset=utf-8", answer
    if status == 405:
        assert headers.get("allow") == "GET, POST", answer
    if status == 303:
        assert headers.get("location") == stack.redirect_url, answer
        assert stack.wait_for_end(real.execution_arn)["status"] == "SUCCEEDED"
