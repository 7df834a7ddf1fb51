#!/usr/bin/env python3
"""Checks what template.yaml's loops (Fn::ForEach under AWS::LanguageExtensions) make, for
several parameter values, the empty defaults too:
  - every approver (Email, AdditionalApprovers) gets exactly one email subscription, filtered on
    their own address;
  - every one of TrustedStateMachineArns gets exactly two permissions: send-email may read its
    executions, approval-callback may complete its tasks; an empty list grants nothing.

The loops are expanded with the language extensions processor that ships with SAM CLI, offline;
each generated resource's condition is evaluated, and the expanded template is run through the
SAM translator to show it still transforms. Usage: check_template_loops.py [template.yaml]
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.yamlhelper import yaml_parse
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

TEMPLATE = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "template.yaml")

TRUSTED = [
    "arn:aws:states:us-east-1:111122223333:stateMachine:Release",
    "arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:Data-Export_2",
]

CASES = [
    ("alice@example.com", "", ["alice@example.com"]),
    ("alice@example.com", "bob@example.com", ["alice@example.com", "bob@example.com"]),
    ("alice@example.com", "bob@example.com,carol@example.com",
     ["alice@example.com", "bob@example.com", "carol@example.com"]),
    ("alice@example.com", ",".join(f"a{i}@example.com" for i in range(10)),
     ["alice@example.com"] + [f"a{i}@example.com" for i in range(10)]),
]


def holds(condition: object) -> bool:
    """Evaluates the conditions the loop writes: Fn::Not / Fn::Equals of literals."""
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, dict) and "Fn::Not" in condition:
        return not holds(condition["Fn::Not"][0])
    if isinstance(condition, dict) and "Fn::Equals" in condition:
        left, right = condition["Fn::Equals"]
        if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
            raise ValueError(f"condition not resolved offline: {condition}")
        return left == right
    raise ValueError(f"unexpected condition: {condition}")


class _NoManagedPolicies(ManagedPolicyLoader):
    def __init__(self) -> None:  # noqa: D401 (no IAM client: the template names no managed policy)
        pass

    def load(self) -> dict[str, str]:
        return {}


def made(expanded: dict, kind: str) -> dict[str, dict]:
    """The resources of `kind` whose condition holds."""
    conditions = expanded.get("Conditions", {})
    return {
        name: resource["Properties"]
        for name, resource in expanded["Resources"].items()
        if resource.get("Type") == kind
        and (resource.get("Condition") is None or holds(conditions[resource["Condition"]]))
    }


def check_trusted(template: dict, trusted: list[str]) -> list[str]:
    params = {"Email": "alice@example.com", "TrustedStateMachineArns": ",".join(trusted)}
    expanded = process_template(copy.deepcopy(template), parameter_values=params)
    policies = made(expanded, "AWS::IAM::RolePolicy")
    granted = sorted(
        (props["RoleName"]["Ref"],
         statement["Action"] if isinstance(statement["Action"], str) else tuple(statement["Action"]),
         statement["Resource"])
        for props in policies.values()
        for statement in props["PolicyDocument"]["Statement"]
    )
    wanted = []
    for arn in trusted:
        arn_parts = arn.split(":")
        executions = ":".join([*arn_parts[:5], "execution", arn_parts[6], "*"])
        wanted.append(("SendEmailRole", "states:GetExecutionHistory", executions))
        wanted.append(("ApprovalCallbackRole", "states:SendTaskSuccess", arn))
    print(f"TrustedStateMachineArns={len(trusted)}: {len(policies)} policies")
    if granted != sorted(wanted):
        return [f"{params}: granted {granted}, expected {sorted(wanted)}"]
    return []


def check(template: dict, email: str, additional: str, expected: list[str]) -> list[str]:
    params = {"Email": email, "AdditionalApprovers": additional}
    expanded = process_template(copy.deepcopy(template), parameter_values=params)
    made_subscriptions = {
        name: (props["Endpoint"], props.get("FilterPolicy"), props.get("FilterPolicyScope"), props["Protocol"])
        for name, props in made(expanded, "AWS::SNS::Subscription").items()
    }
    problems = []
    endpoints = sorted(endpoint for endpoint, *_ in made_subscriptions.values())
    if endpoints != sorted(expected):
        problems.append(f"{params}: subscriptions for {endpoints}, expected {sorted(expected)}")
    for name, (endpoint, policy, scope, protocol) in made_subscriptions.items():
        if policy != {"approver": [endpoint]} or scope != "MessageAttributes" or protocol != "email":
            problems.append(f"{params}: {name} has filter {policy} / {scope} / {protocol}")
    # The expanded template must still be a SAM template the translator turns into CloudFormation,
    # with the artifact locations `sam package` would write.
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
        elif resource.get("Type") == "AWS::Serverless::StateMachine":
            resource["Properties"]["DefinitionUri"] = "s3://artifacts/definition.asl.json"
    try:
        transform(expanded, params, _NoManagedPolicies())
    except Exception as err:  # noqa: BLE001 (report any translator failure)
        problems.append(f"{params}: SAM translator: {err}")
    print(f"AdditionalApprovers={additional!r}: {len(made_subscriptions)} subscription(s): {', '.join(endpoints)}")
    return problems


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region
    logging.disable(logging.WARNING)  # the translator's feature-toggle and metrics chatter
    template = yaml_parse(TEMPLATE.read_text())
    problems = [p for email, additional, expected in CASES for p in check(template, email, additional, expected)]
    for trusted in ([], TRUSTED[:1], TRUSTED):
        problems += check_trusted(template, trusted)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
