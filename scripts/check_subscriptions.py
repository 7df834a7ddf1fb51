#!/usr/bin/env python3
"""Checks that template.yaml gives every approver exactly one email subscription, filtered on
their own address, for several values of Email and AdditionalApprovers (the empty default too).

The template's loop (Fn::ForEach under AWS::LanguageExtensions) is expanded with the language
extensions processor that ships with SAM CLI, offline, for each parameter set; each generated
subscription's condition is then evaluated, and the expanded template is run through the SAM
translator to show it still transforms. Usage: check_subscriptions.py [template.yaml]
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform
from samtranslator.public.translator import ManagedPolicyLoader

TEMPLATE = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "template.yaml")

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


def check(template: dict, email: str, additional: str, expected: list[str]) -> list[str]:
    params = {"Email": email, "AdditionalApprovers": additional}
    expanded = process_template(copy.deepcopy(template), parameter_values=params)
    conditions = expanded.get("Conditions", {})
    made = {}
    for name, resource in expanded["Resources"].items():
        if resource.get("Type") != "AWS::SNS::Subscription":
            continue
        condition = resource.get("Condition")
        if condition is not None and not holds(conditions[condition]):
            continue
        props = resource["Properties"]
        made[name] = (props["Endpoint"], props.get("FilterPolicy"), props.get("FilterPolicyScope"), props["Protocol"])
    problems = []
    endpoints = sorted(endpoint for endpoint, *_ in made.values())
    if endpoints != sorted(expected):
        problems.append(f"{params}: subscriptions for {endpoints}, expected {sorted(expected)}")
    for name, (endpoint, policy, scope, protocol) in made.items():
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
    print(f"AdditionalApprovers={additional!r}: {len(made)} subscription(s): {', '.join(sorted(endpoints))}")
    return problems


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region
    logging.disable(logging.WARNING)  # the translator's feature-toggle and metrics chatter
    template = yaml_parse(TEMPLATE.read_text())
    problems = [p for email, additional, expected in CASES for p in check(template, email, additional, expected)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
