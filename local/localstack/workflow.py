"""The state machines (statemachine/human-approval.asl.json, substituted as the template's
DefinitionSubstitutions do) and their executions in moto's interpreter: start, wait, history."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from .common import ACCOUNT_ID, ASL_PATH, REGION, SEND_EMAIL_FUNCTION, StackError

STATE_MACHINE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/local-human-approval-state-machine"
TASK_STATE = "Lambda Callback"
TUTORIAL_INPUT = {"Comment": "Testing the human approval tutorial."}

@dataclasses.dataclass(frozen=True)
class StateMachineSpec:
    """One state machine of the local stack, all made from the same ASL file."""

    name: str
    approval_timeout_seconds: int
    # The task's Payload also carries "Approval.$": "$.Approval" (a caller's state machine that
    # passes CONTRACT.md's Approval block from its input); executions then need that input field.
    approval_from_input: bool = False
    trusted: bool = True  # listed in TRUSTED_STATE_MACHINE_ARNS (the stack's own one always is)
    # Another ASL file instead of statemachine/'s (a caller's, e.g. examples/release-approval/):
    # its ${GateSendEmailFunctionArn} is the local send-email, ${ApprovalTimeoutSeconds} the
    # spec's timeout, and the stack's own placeholders are offered too.
    definition_path: Path | None = None

    @property
    def arn(self) -> str:
        return state_machine_arn(self.name)


def state_machine_arn(name: str) -> str:
    """Known before the state machine exists: send-email's STATE_MACHINE_ARN needs it at start."""
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def stack_substitutions(api_url: str) -> dict[str, str]:
    """template.yaml's DefinitionSubstitutions, with local values (SendEmailFunctionArn and the
    timeout are each spec's own, in definition_for)."""
    return {"ApiGatewayEndpoint": api_url}


def render_definition(asl_text: str, substitutions: dict[str, str], file_name: str = ASL_PATH.name) -> str:
    """Substitute ${Placeholders} as CloudFormation's DefinitionSubstitutions do. The file is JSON
    only after substitution (`"TimeoutSeconds": ${ApprovalTimeoutSeconds}` is unquoted); a
    placeholder left over is an error, not a silent literal."""
    rendered = asl_text
    for name, value in substitutions.items():
        rendered = rendered.replace("${" + name + "}", value)
    leftover = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", rendered)))
    if leftover:
        raise StackError(f"{file_name}: no local value for placeholder(s) {', '.join(leftover)}")
    try:
        json.loads(rendered)
    except json.JSONDecodeError as err:
        raise StackError(f"{file_name} is not valid JSON after substitution: {err}") from err
    return rendered


def definition_for(spec: StateMachineSpec, substitutions: dict[str, str]) -> str:
    """The ASL file as template.yaml's DefinitionSubstitutions make it, with local values (the
    timeout is the spec's own)."""
    path = spec.definition_path or ASL_PATH
    rendered = render_definition(path.read_text(), {
        "SendEmailFunctionArn": SEND_EMAIL_FUNCTION,
        "GateSendEmailFunctionArn": SEND_EMAIL_FUNCTION,
        **substitutions,
        "ApprovalTimeoutSeconds": str(int(spec.approval_timeout_seconds)),
    }, path.name)
    if not spec.approval_from_input:
        return rendered
    definition = json.loads(rendered)
    definition["States"][TASK_STATE]["Parameters"]["Payload"]["Approval.$"] = "$.Approval"
    return json.dumps(definition)


class Workflows:
    """Step Functions in moto, as the tests and the demo use it."""

    def __init__(self, sfn: Any) -> None:
        self.sfn = sfn

    def create(self, spec: StateMachineSpec, substitutions: dict[str, str]) -> str:
        arn = self.sfn.create_state_machine(name=spec.name, definition=definition_for(spec, substitutions),
                                            roleArn=STATE_MACHINE_ROLE_ARN)["stateMachineArn"]
        if arn != spec.arn:
            raise StackError(f"moto named state machine {spec.name} {arn}, expected {spec.arn}")
        return arn

    def start_execution(self, state_machine_arn: str, name: str | None = None,
                        execution_input: dict[str, Any] | None = None) -> str:
        # moto leaves the execution name null unless one is given, and the emails show it.
        name = name or f"local-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        run_input = TUTORIAL_INPUT if execution_input is None else execution_input
        return self.sfn.start_execution(stateMachineArn=state_machine_arn, name=name,
                                        input=json.dumps(run_input))["executionArn"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        return self.sfn.describe_execution(executionArn=execution_arn)

    def wait_for_end(self, execution_arn: str, timeout: float | None = 60.0) -> dict[str, Any]:
        """Poll until the execution leaves RUNNING; timeout None waits as long as it takes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            desc = self.describe(execution_arn)
            if desc["status"] != "RUNNING":
                return desc
            if deadline is not None and time.monotonic() > deadline:
                raise StackError(f"execution {execution_arn} still RUNNING after {timeout:.0f}s")
            time.sleep(0.2)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def last_state_entered(self, execution_arn: str) -> str | None:
        entered = [e["stateEnteredEventDetails"]["name"] for e in self.history(execution_arn)
                   if e["type"].endswith("StateEntered")]
        return entered[-1] if entered else None

    def scheduled_payloads(self, execution_arn: str) -> list[dict[str, Any]]:
        """The Payload of every Lambda TaskScheduled event: exactly what send-email was invoked with
        (the state machine's other tasks, e.g. the expiry notice's sns:publish, are left out)."""
        return [json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]
                for e in self.history(execution_arn)
                if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"].get("resourceType") == "lambda"]

    def all_executions(self) -> list[str]:
        arns = []
        for machine in self.sfn.list_state_machines()["stateMachines"]:
            kwargs: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"]}
            while True:
                page = self.sfn.list_executions(**kwargs)
                arns += [ex["executionArn"] for ex in page["executions"]]
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        return arns

    def task_tokens(self) -> set[str]:
        """Every task token Step Functions issued in this session, read from the histories."""
        tokens = set()
        for arn in self.all_executions():
            for payload in self.scheduled_payloads(arn):
                token = ((payload.get("ExecutionContext") or {}).get("Task") or {}).get("Token")
                if token:
                    tokens.add(token)
        return tokens

    def stop_running(self) -> None:
        """Stop every waiting execution, so nothing calls into the functions while they go away."""
        for machine in self.sfn.list_state_machines()["stateMachines"]:
            for ex in self.sfn.list_executions(stateMachineArn=machine["stateMachineArn"],
                                               statusFilter="RUNNING")["executions"]:
                self.sfn.stop_execution(executionArn=ex["executionArn"], cause="local stack stopping")
