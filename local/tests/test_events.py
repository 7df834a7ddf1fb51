"""Every file in events/ through `cargo lambda invoke`, against the running functions: each
gets the contract's answer (the same files `sam local invoke` takes, where Docker exists)."""

from __future__ import annotations

import json
import subprocess
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


# The sample token is unknown to this Step Functions, so the POST is answered as a click on an
# already-decided or expired request would be.
CALLBACK_CASES = {
    "approve-get.json": (200, "Approve this request?"),
    "reject-get.json": (200, "Reject this request?"),
    "approve-get-function-url.json": (200, "Approve this request?"),
    "unknown-action.json": (400, "`action` must be `approve` or `reject`"),
    "approve-post.json": (410, "Already decided or expired"),
}


@pytest.mark.parametrize("event_file", sorted(CALLBACK_CASES))
def test_callback_event_gets_the_contract_answer(stack: local_stack.LocalStack, event_file: str) -> None:
    stack.seen_task_tokens.add(SAMPLE_TOKEN)
    status, says = CALLBACK_CASES[event_file]
    answer = invoke(stack, local_stack.CALLBACK_FUNCTION, EVENTS / event_file)
    assert answer["statusCode"] == status, answer
    assert says in answer["body"], answer["body"]
    # REST API (v1) answers carry their headers in multiValueHeaders, v2 answers in headers.
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (answer.get("multiValueHeaders") or {}).items()})
    assert headers.get("content-type") == "text/html; charset=utf-8", answer
