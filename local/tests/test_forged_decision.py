"""A forged decision does not pass (CONTRACT.md "Hardening (v3)"): the task token is in the
execution's history (the Task's `$$`), so a principal who may read that history and call
`states:SendTaskSuccess` can end the wait with `{"Decision": "approved"}`. The state machine's
`VerifyDecision` step has send-email compare the output with the decision the gate recorded:
the forged one fails the execution (`SendEmail.DecisionNotRecorded`), never reaching
`ApprovedPassState`; the approvers' own decision passes unchanged."""

from __future__ import annotations

import json
from typing import Any

import localstack
from helpers import (
    PendingApproval,
    events_of_type,
    output_json,
    record,
    record_when,
    states_entered,
)


def token_from_history(stack: localstack.LocalStack, pending: PendingApproval) -> str:
    """What any reader of the history finds: the task token in the scheduled Payload's `$$`."""
    scheduled = events_of_type(stack.history(pending.execution_arn), "TaskScheduled")[0]
    parameters: dict[str, Any] = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    token: str = parameters["Payload"]["ExecutionContext"]["Task"]["Token"]
    return token


def test_a_forged_approval_from_the_history_fails_the_execution(stack: localstack.LocalStack,
                                                                 pending_approval: PendingApproval) -> None:
    token = token_from_history(stack, pending_approval)
    # Everything a forger can know: the token, and the request id (it names the request in
    # the links' credentials too); a plausible output.
    forged = {"Status": "Approved! Task approved by approver@example.com", "Decision": "approved",
              "Approver": "approver@example.com", "Comment": "", "RequestId": pending_approval.request_id}
    stack.sfn.send_task_success(taskToken=token, output=json.dumps(forged))
    description = stack.wait_for_end(pending_approval.execution_arn, timeout=60)
    assert description["status"] == "FAILED", description
    assert description.get("error") == "SendEmail.DecisionNotRecorded", description
    assert "is pending: no decision was recorded" in description.get("cause", ""), description
    entered = states_entered(stack.history(pending_approval.execution_arn))
    assert "ApprovedPassState" not in entered and "ManualApprovalChoiceState" not in entered, entered
    assert entered[:2] == ["Lambda Callback", "VerifyDecision"], entered
    # The gate's record holds no vote and no decision. The execution failed with its request
    # pending, so the execution's end then cancels the request (its links answer 410).
    stored = record_when(stack, pending_approval, lambda item: item["State"]["Name"] == "cancelled", timeout=20)
    assert (stored["State"]["Name"], stored["State"].get("Status")) == ("cancelled", "FAILED"), stored["State"]
    assert stored.get("Votes", []) == [], stored


def test_the_approvers_decision_passes_verification_unchanged(stack: localstack.LocalStack,
                                                              pending_approval: PendingApproval) -> None:
    answer = localstack.post_link(pending_approval.email.approve_url, "verified")
    assert answer.status in (303, 200), answer.status
    description = stack.wait_for_end(pending_approval.execution_arn, timeout=60)
    assert description["status"] == "SUCCEEDED", description
    output = output_json(description)
    decided = json.loads(record(stack, pending_approval)["State"]["Output"])
    assert output == decided, "the Choice routed on exactly the output the gate recorded"
    assert states_entered(stack.history(pending_approval.execution_arn)) == [
        "Lambda Callback", "VerifyDecision", "ManualApprovalChoiceState", "ApprovedPassState"]
