#!/usr/bin/env python3
"""Checks statemachine/human-approval.asl.json offline, the way the template will load it.

The file is JSON only after its three ${...} placeholders are substituted (CloudFormation's
DefinitionSubstitutions when deployed; a plain string replace in the local stack), so this:
  1. checks the file uses exactly those three placeholders, and TimeoutSeconds unquoted;
  2. substitutes them with deploy-like values and with local-stack values, and parses each;
  3. checks the state graph: every Next/Default/Catch target exists, every state is reachable,
     every non-terminal state goes somewhere, every Fail state has an Error and a Cause;
  4. runs cfn-lint's Amazon States Language schema (rule E3601) over the substituted
     definition, embedded in a throw-away AWS::StepFunctions::StateMachine template.
Usage: check_asl.py [path/to/definition.asl.json]   (exit 1 and a list of problems on failure)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASL = REPO_ROOT / "statemachine" / "human-approval.asl.json"

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
EXPECTED_PLACEHOLDERS = {"SendEmailFunctionArn", "ApiGatewayEndpoint", "ApprovalTimeoutSeconds"}

# What template.yaml substitutes (shapes only; the ids are made up) ...
DEPLOYED = {
    "SendEmailFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:human-approval-SendEmailFunction-AbC123",
    "ApiGatewayEndpoint": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/states",
    "ApprovalTimeoutSeconds": "3600",
}
# ... and what the local stack substitutes.
LOCAL = {
    "SendEmailFunctionArn": "send-email",
    "ApiGatewayEndpoint": "http://127.0.0.1:9000/lambda-url/approval-callback",
    "ApprovalTimeoutSeconds": "60",
}

TERMINAL_TYPES = {"Choice", "Fail", "Succeed"}  # states that never take Next/End


def substitute(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def targets(name: str, state: dict) -> list[tuple[str, str]]:
    """(where, target) for every transition out of a state."""
    out = []
    if "Next" in state:
        out.append((f"{name}.Next", state["Next"]))
    if "Default" in state:
        out.append((f"{name}.Default", state["Default"]))
    for i, rule in enumerate(state.get("Choices", [])):
        out.append((f"{name}.Choices[{i}].Next", rule.get("Next")))
    for i, catcher in enumerate(state.get("Catch", [])):
        out.append((f"{name}.Catch[{i}].Next", catcher.get("Next")))
    return out


def check_graph(definition: dict) -> list[str]:
    problems = []
    states = definition.get("States", {})
    start = definition.get("StartAt")
    if start not in states:
        problems.append(f"StartAt {start!r} is not a state")
    for name, state in states.items():
        kind = state.get("Type")
        for where, target in targets(name, state):
            if target not in states:
                problems.append(f"{where} points to {target!r}, which is not a state")
        if kind not in TERMINAL_TYPES and ("Next" in state) == bool(state.get("End")):
            problems.append(f"{name} ({kind}) needs exactly one of Next and End: true")
        if kind == "Fail" and not (state.get("Error") and state.get("Cause")):
            problems.append(f"{name} (Fail) should say what happened: set Error and Cause")
        if kind == "Choice" and "Default" not in state:
            problems.append(f"{name} (Choice) has no Default: an unmatched value would fail with "
                            "States.NoChoiceMatched")
        if kind == "Task" and "TimeoutSeconds" in state and not isinstance(state["TimeoutSeconds"], int):
            problems.append(f"{name}.TimeoutSeconds must be an integer, got {state['TimeoutSeconds']!r}")
    seen: set[str] = set()
    todo: list[str] = [start] if isinstance(start, str) else []
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        todo.extend(t for _, t in targets(name, states[name]))
    for name in states.keys() - seen:
        problems.append(f"{name} cannot be reached from StartAt")
    return problems


def check_with_cfn_lint(definition: dict) -> list[str]:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "HumanApprovalStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/check-asl", "Definition": definition},
            }
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="check-asl-") as f:
        json.dump(template, f, indent=1)
        f.flush()
        run = subprocess.run(["cfn-lint", "--include-checks", "I", "--", f.name], capture_output=True, text=True)
    if run.returncode != 0:
        return [f"cfn-lint on the substituted definition:\n{run.stdout}{run.stderr}".rstrip()]
    return []


def check(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = []
    used = set(PLACEHOLDER.findall(text))
    if used != EXPECTED_PLACEHOLDERS:
        missing, extra = EXPECTED_PLACEHOLDERS - used, used - EXPECTED_PLACEHOLDERS
        problems.append(f"placeholders: missing {sorted(missing)}, unexpected {sorted(extra)}")
    if not re.search(r'"TimeoutSeconds"\s*:\s*\$\{ApprovalTimeoutSeconds\}', text):
        problems.append('"TimeoutSeconds" must be the unquoted ${ApprovalTimeoutSeconds} (it is an integer)')
    definitions = []
    for label, values in (("deployed", DEPLOYED), ("local", LOCAL)):
        try:
            definitions.append(json.loads(substitute(text, values)))
        except json.JSONDecodeError as e:
            problems.append(f"not JSON after substituting the {label} values: {e}")
    if problems:
        return problems
    problems += check_graph(definitions[0])
    problems += check_with_cfn_lint(definitions[0])
    return problems


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ASL
    problems = check(path)
    for p in problems:
        print(f"{path.name}: {p}", file=sys.stderr)
    if problems:
        return 1
    states = json.loads(substitute(path.read_text(encoding="utf-8"), DEPLOYED))["States"]
    print(f"{path.name}: valid after substitution ({len(states)} states: {', '.join(states)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
