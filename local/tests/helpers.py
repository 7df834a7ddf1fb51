"""Shared steps and history readers of the e2e tests."""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stack as local_stack  # noqa: E402

APPROVER_EMAIL = "approver@example.com"


@dataclass
class PendingApproval:
    """A started execution whose approval email has arrived."""

    execution_arn: str
    execution_name: str
    state_machine_name: str
    email: local_stack.Email


def start_and_wait_for_email(
    stack: local_stack.LocalStack, test_name: str, state_machine_arn: str | None = None, *, unique_suffix: bool = True
) -> PendingApproval:
    # Execution names say which test started them: the history and the logs read better that way.
    # (Step Functions names: letters, digits, - and _, at most 80 characters.)
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", test_name).strip("-")[:50]
    name = f"{slug}-{int(time.time() * 1000) % 10**9}" if unique_suffix else slug
    arn = stack.start_execution(name=name, state_machine_arn=state_machine_arn)
    email = stack.wait_for_email(name, timeout=60)
    sm_name = (state_machine_arn or stack.state_machine_arn).rsplit(":", 1)[-1]
    return PendingApproval(execution_arn=arn, execution_name=name, state_machine_name=sm_name, email=email)


def events_of_type(history: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in history if event["type"] == event_type]


def states_entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]


def output_json(description: dict[str, Any]) -> dict[str, Any]:
    assert description.get("output"), f"execution has no output: {description}"
    return json.loads(description["output"])
