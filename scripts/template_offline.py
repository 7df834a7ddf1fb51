"""The template as CloudFormation would get it, offline, for the template checks
(check_template_loops.py, check_credential_sinks.py): its Fn::ForEach loops expanded and its
Fn::If on parameters resolved by the language extensions processor that ships with SAM CLI, its
conditions evaluated, its Rules asked, the SAM transform applied (with the artifact locations `sam
package` would write), and its dependency graph searched for a cycle. One made-up deployment:
stack approval-gate in account 111122223333, us-east-1.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.lib.cfn_language_extensions.models import PseudoParameterValues
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ACCOUNT, REGION, PARTITION, STACK = "111122223333", "us-east-1", "aws", "approval-gate"
PSEUDO = PseudoParameterValues(region=REGION, account_id=ACCOUNT, stack_name=STACK, partition=PARTITION)


class _NoManagedPolicies(ManagedPolicyLoader):
    def __init__(self) -> None:  # noqa: D401 (no IAM client: the template names no managed policy)
        pass

    def load(self) -> dict[str, str]:
        return {}


def holds(condition: object, conditions: dict) -> bool:
    """Evaluates the conditions the template writes once parameters are substituted: Condition,
    Fn::Not, Fn::And, Fn::Or, Fn::Equals of literals."""
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, dict) and len(condition) == 1:
        ((function, args),) = condition.items()
        if function == "Condition":
            return holds(conditions[args], conditions)
        if function == "Fn::Not":
            return not holds(args[0], conditions)
        if function == "Fn::And":
            return all(holds(a, conditions) for a in args)
        if function == "Fn::Or":
            return any(holds(a, conditions) for a in args)
        if function == "Fn::Equals":
            left, right = args
            if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
                raise ValueError(f"condition not resolved offline: {condition}")
            return bool(left == right)
    raise ValueError(f"unexpected condition: {condition}")


def expand(template: dict, params: dict[str, str]) -> dict:
    return process_template(copy.deepcopy(template), parameter_values=params, pseudo_parameters=PSEUDO)


def made(expanded: dict, kind: str) -> dict[str, dict]:
    """The resources of `kind` whose condition holds."""
    conditions = expanded.get("Conditions", {})
    return {
        name: resource.get("Properties", {})
        for name, resource in expanded["Resources"].items()
        if resource.get("Type") == kind
        and (resource.get("Condition") is None or holds({"Condition": resource["Condition"]}, conditions))
    }


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def grants(expanded: dict, role: str) -> list[tuple[str, Any, Any]]:
    """(action, resource, condition) of every Allow statement of the role's inline policies."""
    properties = expanded["Resources"][role]["Properties"]
    return [
        (action, statement["Resource"], statement.get("Condition"))
        for policy in properties.get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    ]


def translated(expanded: dict, params: dict[str, str]) -> tuple[dict | None, list[str]]:
    """The expanded template through the SAM translator (with the artifact locations `sam
    package` would write): the CloudFormation template, or None and the translator's refusal."""
    expanded = copy.deepcopy(expanded)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
    try:
        return transform(expanded, params, _NoManagedPolicies()), []
    except Exception as err:  # noqa: BLE001 (report any translator failure)
        return None, [f"{params}: SAM translator: {err}"]


def references(node: Any, resources: set[str]) -> set[str]:
    """The resources a property value names: Ref, Fn::GetAtt, and ${Name} / ${Name.Attribute}
    in a Fn::Sub (whose own variables shadow them)."""
    if isinstance(node, list):
        return set().union(*(references(item, resources) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found |= {value} & resources
        elif key == "Fn::GetAtt":
            name = value.split(".", 1)[0] if isinstance(value, str) else value[0]
            found |= {name} & resources
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
            named = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= (named - set(variables)) & resources
            found |= references(variables, resources)
        else:
            found |= references(value, resources)
    return found


def dependency_cycles(cloudformation: dict, params: dict[str, str]) -> list[str]:
    """A cycle among the resources (references and DependsOn), which CloudFormation refuses."""
    resources = cloudformation["Resources"]
    names = set(resources)
    needs = {
        name: references({k: v for k, v in resource.items() if k != "DependsOn"}, names)
        | set(as_list(resource.get("DependsOn", [])))
        for name, resource in resources.items()
    }
    done: set[str] = set()

    def cycle_from(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for needed in sorted(needs.get(name, ())):
            found = cycle_from(needed, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in sorted(names):
        found = cycle_from(name, [])
        if found:
            return [f"{params}: a dependency cycle: {' -> '.join(found)}"]
    return []


def rules_refuse(template: dict, params: dict[str, str]) -> list[str]:
    """The AssertDescription of every Rule whose condition holds and whose assertion fails, for
    `params` (the parameters' defaults filling in the rest)."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()} | params

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((function, args),) = node.items()
            if function == "Ref":
                return values[args]
            if function == "Fn::Equals":
                return value(args[0]) == value(args[1])
            if function == "Fn::Not":
                return not value(args[0])
            if function == "Fn::And":
                return all(value(a) for a in args)
            if function == "Fn::Or":
                return any(value(a) for a in args)
            if function == "Fn::Contains":
                return value(args[1]) in [value(a) for a in value(args[0])]
            raise ValueError(f"rule function not evaluated offline: {node}")
        return node

    refused = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not value(rule["RuleCondition"]):
            continue
        refused += [a["AssertDescription"] for a in rule["Assertions"] if not value(a["Assert"])]
    return refused
