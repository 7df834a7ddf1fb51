"""Every events/ file through `sam local invoke` of the arm64 build, plus send-email with a payload
Step Functions really scheduled (taken from a RUNNING execution's TaskScheduled event).

The answers are those of local/tests/test_events.py (`cargo lambda invoke` of the host build):
the same samples, the same planted request, the same expectations, imported from there."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import localstack
from helpers import mailed_record, start_and_wait_for_email
from sam_runner import SamLocal
from test_events import (
    CALLBACK_EVENTS,
    EVENTS,
    SEND_EMAIL_EVENTS,
    STATUS_CHANGE_EVENTS,
    STREAM_EVENTS,
    decided_untold,
    expected_status,
    plant,
    planted_credentials,
)


@pytest.mark.parametrize("event_file", SEND_EMAIL_EVENTS)
def test_send_email_sample_as_shipped_is_untrusted(stack: localstack.LocalStack, sam: SamLocal,
                                                   event_file: str) -> None:
    """The sample names an execution this Step Functions never ran: refused, nothing stored."""
    before = stack.table.count()
    answer = sam.invoke(localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file)
    assert answer.get("errorType") == "SendEmail.Untrusted", answer
    assert stack.table.count() == before


def test_send_email_sample_with_this_stacks_api_names_no_such_execution(stack: localstack.LocalStack,
                                                                        sam: SamLocal) -> None:
    """As shipped, the sample is refused for its API endpoint before anything is looked up; with
    this stack's endpoint it gets as far as Step Functions, which never ran that execution."""
    sample = json.loads((EVENTS / "send-email.json").read_text())
    sample["APIGatewayEndpoint"] = stack.api_url
    event = sam.work_dir / "send-email-this-api.json"
    event.write_text(json.dumps(sample, indent=1))
    answer = sam.invoke(localstack.SEND_EMAIL_FUNCTION, event)
    assert answer.get("errorType") == "SendEmail.Untrusted", answer
    assert sample["ExecutionContext"]["Execution"]["Id"] in answer.get("errorMessage", ""), answer


def test_send_email_with_the_payload_step_functions_scheduled(stack: localstack.LocalStack, sam: SamLocal) -> None:
    """A RUNNING execution's scheduled payload, as a generated event file: the arm64 send-email
    verifies it against moto's Step Functions, stores the request and emails every approver."""
    real = start_and_wait_for_email(stack, "sam-local-send-email")
    payloads = stack.workflows.scheduled_payloads(real.execution_arn)
    assert len(payloads) == 1, payloads
    event = sam.work_dir / "send-email-scheduled.json"
    event.write_text(json.dumps(payloads[0], indent=1))
    # The host build already handled this task (moto's interpreter invoked it): without its
    # record the arm64 one handles it as new, not as a retry, and sends the emails itself.
    # (Once the host build's last write is done: the emails arrive before it marks them sent.)
    deadline = time.monotonic() + 30
    while not all(a.get("NotifiedAt") for a in (stack.table.get(real.request_id) or {}).get("Approvers", [{}])):
        assert time.monotonic() < deadline, stack.table.get(real.request_id)
        time.sleep(0.2)
    stack.table.delete(real.request_id)
    assert stack.table.get(real.request_id) is None
    answer = sam.invoke(localstack.SEND_EMAIL_FUNCTION, event)
    assert answer == {"RequestId": real.request_id, "Emailed": len(stack.approvers)}, answer
    assert stack.describe(real.execution_arn)["status"] == "RUNNING"
    record = stack.table.get(real.request_id)
    assert record is not None and record["ExecutionArn"] == real.execution_arn, record
    for approver in stack.approvers:  # a second email each, from the arm64 build this time
        email = stack.wait_for_email(real.execution_name, approver, timeout=30)
        assert email.approve_url.startswith(stack.api_url + "/execution?action=approve&c="), email.approve_url
    # The same payload again is a retry: the same request, nobody emailed twice.
    again = sam.invoke(localstack.SEND_EMAIL_FUNCTION, event)
    assert again == {"RequestId": real.request_id, "Emailed": 0}, again


@pytest.mark.parametrize("event_file", CALLBACK_EVENTS)
def test_callback_sample_gets_the_contract_answer(stack: localstack.LocalStack, sam: SamLocal, event_file: str) -> None:
    planted = planted_credentials()
    assert planted is not None, "events/ carry no v2 credential `c`"
    status = expected_status(event_file)
    real = start_and_wait_for_email(stack, f"sam-local-{event_file.removesuffix('.json')}")
    plant(stack, real, planted)
    answer = sam.invoke(localstack.CALLBACK_FUNCTION, EVENTS / event_file)
    assert answer.get("statusCode") == status, (event_file, answer)
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (answer.get("multiValueHeaders") or {}).items()})
    assert headers.get("content-type") == "text/html; charset=utf-8", answer
    if status == 405:
        assert headers.get("allow") == "GET, POST", answer
    if status == 303:
        assert headers.get("location") == stack.redirect_url, answer
        assert stack.wait_for_end(real.execution_arn)["status"] == "SUCCEEDED"
    if status == 200:
        assert real.execution_name in answer.get("body", ""), answer


@pytest.mark.parametrize("event_file", STREAM_EVENTS)
def test_stream_sample_tells_a_planted_ending(stack: localstack.LocalStack, sam: SamLocal, event_file: str) -> None:
    """The arm64 build on the table's stream: nothing to tell without the record; with a decided,
    untold copy of a real request under the sample's id, its approvers are told and it says so."""
    request_id = json.loads((EVENTS / event_file).read_text())["Records"][0]["dynamodb"]["Keys"]["RequestId"]["S"]
    stack.table.delete(request_id)
    assert sam.invoke(localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"batchItemFailures": []}
    real = start_and_wait_for_email(stack, f"sam-local-{event_file.removesuffix('.json')}")
    raw = mailed_record(stack, real.request_id)
    raw["RequestId"] = {"S": request_id}
    raw["State"] = decided_untold(raw["CreatedAt"]["S"], next(iter(real.emails)))
    stack.table.put_raw(raw)
    assert sam.invoke(localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"batchItemFailures": []}
    for approver in real.emails:
        stack.inbox.wait_for_decided(approver, real.execution_name, timeout=30)
    told = stack.table.get(request_id)
    assert told is not None and told["State"]["ToldAt"], told
    stack.table.delete(request_id)


@pytest.mark.parametrize("event_file", STATUS_CHANGE_EVENTS)
def test_status_change_sample_as_shipped_ends_nothing(sam: SamLocal, event_file: str) -> None:
    """The arm64 build with Step Functions' status-change sample: it names an execution this stack
    never ran, so no request ends (test_events.py points it at a real one)."""
    assert sam.invoke(localstack.SEND_EMAIL_FUNCTION, EVENTS / event_file) == {"Cancelled": 0, "Expired": 0}


def test_every_event_file_was_invoked(sam: SamLocal) -> None:
    invoked = {a["event"] for a in sam.answers}
    shipped = {p.name for p in Path(EVENTS).glob("*.json")}
    assert shipped <= invoked, f"not invoked through sam local: {sorted(shipped - invoked)}"
