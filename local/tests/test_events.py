"""Every file in events/ through `cargo lambda invoke`, against the running functions (the same
files `sam local invoke` takes where Docker exists); each gets the contract's answer.

The callback samples carry a credential `c`; no sample can name a request of this session, so
the test plants one: a copy of a real request's record (from this session's send-email, which
also tells how CredentialHash is encoded) under the sample's request id, with the sample secret's
hash in its slot. The POST sample then votes on a real waiting execution (303). Samples still in
v1's shape (taskToken links, no `c`) are skipped with a note: events/ is rewritten for v2
alongside the crates."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import localstack
from helpers import PendingApproval, start_and_wait_for_email
from localstack import credentials

EVENTS = localstack.REPO_ROOT / "events"
SEND_EMAIL_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if "ExecutionContext" in json.loads(p.read_text()))
CALLBACK_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if p.name not in SEND_EMAIL_EVENTS)
# The sample whose credential gets a planted record; another well-formed `c` names no request.
PLANTED_FROM = "approve-get.json"
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


def plant(stack: localstack.LocalStack, real: PendingApproval, credential: str) -> None:
    """A copy of `real`'s record that `credential` names and verifies against."""
    stored_raw = stack.table.get_raw(real.request_id)
    assert stored_raw is not None, f"no record {real.request_id} to copy"
    raw = copy.deepcopy(stored_raw)
    approvers = raw["Approvers"]["L"]
    real_credential = credentials.credential_of(real.email.approve_url)
    stored = approvers[credentials.slot_of(real_credential)]["M"]["CredentialHash"]
    kind, value = next(iter(stored.items()))
    forms = credentials.hash_forms(real_credential)
    matches = [i for i, form in enumerate(forms) if form == (value if kind == "S" else bytes(value))]
    assert matches, f"CredentialHash {value!r} is none of the SHA-256 encodings tried"
    planted_hash = credentials.hash_forms(credential)[matches[0]]
    slot = credentials.slot_of(credential)
    while len(approvers) <= slot:
        approvers.append(copy.deepcopy(approvers[0]))
    approvers[slot]["M"]["CredentialHash"] = {kind: planted_hash}
    raw["RequestId"] = {"S": credentials.request_id_of(credential)}
    stack.table.put_raw(raw)


def expected_status(name: str) -> int:
    if name in EXPECTED:
        return EXPECTED[name]
    method, fields = link_fields(_load(name))
    if method not in ("GET", "POST"):
        return 405
    if fields.get("action") not in (["approve"], ["reject"]) or _credential(name) is None:
        return 400
    if _credential(name) != _credential(PLANTED_FROM):
        return 404
    return 200 if method == "GET" else 303


@pytest.mark.parametrize("event_file", SEND_EMAIL_EVENTS)
def test_send_email_sample_is_untrusted_here_and_changes_nothing(stack: localstack.LocalStack, event_file: str) -> None:
    """The sample names an execution this Step Functions never ran (and a foreign API): refused.
    (test_untrusted.py sends a payload Step Functions did schedule.)"""
    records_before = stack.table.count()
    answer = invoke(stack, localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file)
    assert "SendEmail.Untrusted" in answer.get("functionError", ""), answer
    assert stack.table.count() == records_before


@pytest.mark.parametrize("event_file", CALLBACK_EVENTS)
def test_callback_sample_without_its_request_is_404_or_refused_before_the_lookup(stack: localstack.LocalStack,
                                                                                 event_file: str) -> None:
    """As against a deployed stack: no such request, so 404 (400 and 405 come before the lookup)."""
    planted = _credential(PLANTED_FROM)
    if planted is None:
        pytest.skip("events/ are still v1's")
    stack.table.delete(credentials.request_id_of(planted))
    status = expected_status(event_file)
    answer = invoke(stack, localstack.CALLBACK_FUNCTION, EVENTS / event_file)
    assert answer.get("statusCode") == (status if status in (400, 405) else 404), (event_file, answer)


@pytest.mark.parametrize("event_file", CALLBACK_EVENTS)
def test_callback_event_gets_the_contract_answer(stack: localstack.LocalStack, event_file: str,
                                                 request: pytest.FixtureRequest) -> None:
    if _credential(PLANTED_FROM) is None and "taskToken" in link_fields(_load(event_file))[1]:
        pytest.skip(f"events/{event_file} is still v1's (taskToken link); v2's carry `c`")
    status = expected_status(event_file)
    # A fresh waiting request to copy, so a sample POST votes on a live task of its own.
    real = start_and_wait_for_email(stack, f"event-{event_file.removesuffix('.json')}")
    planted = _credential(PLANTED_FROM)
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
