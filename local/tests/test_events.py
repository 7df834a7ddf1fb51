"""Every file in events/ through `cargo lambda invoke`, against the running functions: each
gets the contract's answer (the same files `sam local invoke` takes, where Docker exists).

The callback samples carry no signature (no sample can carry one: every deployment has its own
KMS key), so as they are they get 403; signed here with the local stack's key, they get the
answer of the contract's table."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import stack as local_stack

EVENTS = local_stack.REPO_ROOT / "events"
SAMPLE_TOKEN = json.loads((EVENTS / "send-email.json").read_text())["ExecutionContext"]["Task"]["Token"]


def invoke(stack: local_stack.LocalStack, function: str, event: Path) -> dict[str, Any]:
    assert stack.watch is not None
    done = subprocess.run(
        [
            "cargo", "lambda", "invoke",
            "--invoke-address", "127.0.0.1", "--invoke-port", str(stack.watch.port),
            "--data-file", str(event), "--output-format", "json", function,
        ],
        cwd=local_stack.REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, f"cargo lambda invoke {function} {event.name} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_every_event_file_has_a_case_here() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(
        ["send-email.json", *CALLBACK_CASES]
    ), "a new events/ file needs its expected answer in this test"


def test_send_email_event_publishes_the_approval_email(stack: local_stack.LocalStack) -> None:
    stack.seen_task_tokens.add(SAMPLE_TOKEN)  # the log test must look for this token too
    answer = invoke(stack, local_stack.SEND_EMAIL_FUNCTION, EVENTS / "send-email.json")
    assert answer["MessageId"], answer
    email = stack.wait_for_email("ApprovalTest", timeout=30)
    assert email.subject == "Required approval from AWS Step Functions"
    assert email.task_token == SAMPLE_TOKEN, "the ~700-char token with + / = survived the link"
    assert "Testing the human approval tutorial." in email.body


# Signed with the local key. The sample token is unknown to this Step Functions, so the POST is
# answered as a click on an already-decided or expired request would be.
CALLBACK_CASES = {
    "approve-get.json": (200, "Approve this request?"),
    "reject-get.json": (200, "Reject this request?"),
    "approve-get-function-url.json": (200, "Approve this request?"),
    "unknown-action.json": (400, "`action` must be `approve` or `reject`"),
    "approve-post.json": (410, "Already decided or expired"),
}


def signed_copy(stack: local_stack.LocalStack, event_file: str, tmp_path: Path) -> Path:
    """The event with its link signed by the local stack's key (query for GET, form for POST)."""
    event = json.loads((EVENTS / event_file).read_text())
    if event.get("version") == "2.0":
        params = dict(urllib.parse.parse_qsl(event["rawQueryString"]))
        signature = stack.sign_link_params(params, int(time.time()) + 3600)
        event["rawQueryString"] += "&" + urllib.parse.urlencode(signature)
        event["queryStringParameters"].update(signature)
    elif event["httpMethod"] == "POST":
        params = dict(urllib.parse.parse_qsl(event["body"]))
        event["body"] += "&" + urllib.parse.urlencode(stack.sign_link_params(params, int(time.time()) + 3600))
    else:
        params = dict(event["queryStringParameters"])
        signature = stack.sign_link_params(params, int(time.time()) + 3600)
        event["queryStringParameters"].update(signature)
        event["multiValueQueryStringParameters"].update({k: [v] for k, v in signature.items()})
    path = tmp_path / f"signed-{event_file}"
    path.write_text(json.dumps(event))
    return path


def test_callback_samples_as_they_are_get_403_or_400(stack: local_stack.LocalStack) -> None:
    stack.seen_task_tokens.add(SAMPLE_TOKEN)
    for event_file, (status, _) in sorted(CALLBACK_CASES.items()):
        answer = invoke(stack, local_stack.CALLBACK_FUNCTION, EVENTS / event_file)
        expected = 400 if status == 400 else 403  # a bad action is refused before the signature is read
        assert answer["statusCode"] == expected, (event_file, answer)


@pytest.mark.parametrize("event_file", sorted(CALLBACK_CASES))
def test_callback_event_gets_the_contract_answer(stack: local_stack.LocalStack, event_file: str, tmp_path: Path) -> None:
    stack.seen_task_tokens.add(SAMPLE_TOKEN)
    status, says = CALLBACK_CASES[event_file]
    event = EVENTS / event_file if status == 400 else signed_copy(stack, event_file, tmp_path)
    answer = invoke(stack, local_stack.CALLBACK_FUNCTION, event)
    assert answer["statusCode"] == status, answer
    assert says in answer["body"], answer["body"]
    # REST API (v1) answers carry their headers in multiValueHeaders, v2 answers in headers.
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (answer.get("multiValueHeaders") or {}).items()})
    assert headers.get("content-type") == "text/html; charset=utf-8", answer
