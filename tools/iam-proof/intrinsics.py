"""Resolves what CloudFormation resolves at deploy time, for the test stack of deployment.py:
Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If and the conditions. Any other
intrinsic, and any resource type whose names are not listed here, is an error: nothing is guessed.

Names CloudFormation generates (a table without TableName, ...) are `<stack>-<logical id>-EXAMPLE`;
a table's stream (Fn::GetAtt StreamArn) is `<table ARN>/stream/<STREAM_LABEL>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from deployment import ACCOUNT, DEFERRED_SUB, PARTITION, REGION, STACK

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
REST_API_ID = "a1b2c3d4e5"
# A stream's ARN ends in the time DynamoDB made it (its label): known only once it exists.
STREAM_LABEL = "2026-12-01T00:00:00.000"



class Names(NamedTuple):
    """How CloudFormation names a resource type: the property that names it (if any), what Ref
    returns given the name, and what Fn::GetAtt Arn returns (None: not used here)."""

    name_property: str | None
    ref: Callable[[str], str]
    arn: Callable[[str], str] | None


_PREFIX = f"arn:{PARTITION}"
_WHERE = f"{REGION}:{ACCOUNT}"
NAMES = {
    "AWS::SNS::Topic": Names("TopicName", lambda n: f"{_PREFIX}:sns:{_WHERE}:{n}", None),
    "AWS::DynamoDB::Table": Names("TableName", lambda n: n, lambda n: f"{_PREFIX}:dynamodb:{_WHERE}:table/{n}"),
    "AWS::KMS::Key": Names(None, lambda _: KEY_ID, lambda _: f"{_PREFIX}:kms:{_WHERE}:key/{KEY_ID}"),
    "AWS::Lambda::Function": Names("FunctionName", lambda n: n, lambda n: f"{_PREFIX}:lambda:{_WHERE}:function:{n}"),
    "AWS::Logs::LogGroup": Names("LogGroupName", lambda n: n, lambda n: f"{_PREFIX}:logs:{_WHERE}:log-group:{n}:*"),
    "AWS::IAM::Role": Names("RoleName", lambda n: n, lambda n: f"{_PREFIX}:iam::{ACCOUNT}:role/{n}"),
    "AWS::IAM::ManagedPolicy": Names("ManagedPolicyName", lambda n: f"{_PREFIX}:iam::{ACCOUNT}:policy/{n}", None),
    "AWS::StepFunctions::StateMachine": Names(
        "StateMachineName", lambda n: f"{_PREFIX}:states:{_WHERE}:stateMachine:{n}", None),
    "AWS::ApiGateway::RestApi": Names(None, lambda _: REST_API_ID, None),
    "AWS::Scheduler::ScheduleGroup": Names(
        "Name", lambda n: n, lambda n: f"{_PREFIX}:scheduler:{_WHERE}:schedule-group/{n}"),
    # A rule on the default bus (Ref: its name; on another bus it would be "<bus>|<name>").
    "AWS::Events::Rule": Names("Name", lambda n: n, lambda n: f"{_PREFIX}:events:{_WHERE}:rule/{n}"),
}

PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
}


class UnknownIntrinsic(ValueError):
    pass


class Resolver:
    def __init__(self, template: dict) -> None:
        self.resources = template["Resources"]
        self.conditions = template.get("Conditions", {})

    def exists(self, logical_id: str) -> bool:
        """Whether CloudFormation creates the resource (its Condition holds)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.holds({"Condition": condition})

    def holds(self, condition: dict) -> bool:
        """Evaluates a condition (Condition, Fn::Not, Fn::And, Fn::Or, Fn::Equals)."""
        (function, args), = condition.items()
        if function == "Condition":
            return self.holds(self.conditions[args])
        if function == "Fn::Not":
            return not self.holds(args[0])
        if function == "Fn::And":
            return all(self.holds(a) for a in args)
        if function == "Fn::Or":
            return any(self.holds(a) for a in args)
        if function == "Fn::Equals":
            left, right = (self.value(a) for a in args)
            return left == right
        raise UnknownIntrinsic(f"condition {condition}")

    def value(self, node: Any) -> Any:
        """`node` (a template's JSON: any shape) with every intrinsic resolved."""
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref":
                return self.ref(args)
            if key == DEFERRED_SUB:
                return self._function("Fn::Sub", args)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, args)
        return {key: self.value(item) for key, item in node.items()}

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name not in self.resources:
            # Parameters are resolved by the language extensions already (deployment.py).
            raise UnknownIntrinsic(f"Ref {name}: not a resource or pseudo parameter")
        return self._names(name).ref(self.name_of(name))

    def stream_arn(self, logical_id: str) -> str:
        """Fn::GetAtt logical_id.StreamArn, of a table whose StreamSpecification turns its stream on."""
        resource = self.resources[logical_id]
        if resource["Type"] != "AWS::DynamoDB::Table" or not resource.get("Properties", {}).get("StreamSpecification"):
            raise UnknownIntrinsic(f"Fn::GetAtt {logical_id}.StreamArn: not a table with a stream")
        return f"{self.arn(logical_id)}/stream/{STREAM_LABEL}"

    def arn(self, logical_id: str) -> str:
        """Fn::GetAtt logical_id.Arn."""
        arn = self._names(logical_id).arn
        if arn is None:
            raise UnknownIntrinsic(f"Fn::GetAtt {logical_id}.Arn: not known for its type")
        return arn(self.name_of(logical_id))

    def name_of(self, logical_id: str) -> str:
        """The resource's name: its name property, or the name CloudFormation would generate."""
        name_property = self._names(logical_id).name_property
        given = self.resources[logical_id].get("Properties", {}).get(name_property) if name_property else None
        return self.value(given) if given is not None else f"{STACK}-{logical_id}-EXAMPLE"

    def _names(self, logical_id: str) -> Names:
        kind = self.resources[logical_id]["Type"]
        if kind not in NAMES:
            raise UnknownIntrinsic(f"Ref/GetAtt of {logical_id}: names of {kind} not known")
        return NAMES[kind]

    def _function(self, key: str, args: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = args.split(".", 1) if isinstance(args, str) else args
            if attribute == "StreamArn":
                return self.stream_arn(logical_id)
            if attribute != "Arn":
                raise UnknownIntrinsic(f"Fn::GetAtt {logical_id}.{attribute}")
            return self.arn(logical_id)
        if key == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            known = {name: self.value(v) for name, v in variables.items()}
            resolved = re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_variable(m.group(1), known), text)
            return resolved.replace("${!", "${")  # ${!Literal} stands for ${Literal}
        if key == "Fn::Join":
            separator, items = args
            return separator.join(self.value(items))
        if key == "Fn::Select":
            index, items = self.value(args)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = self.value(args)
            return text.split(separator)
        if key == "Fn::If":
            condition, if_true, if_false = args
            return self.value(if_true if self.holds({"Condition": condition}) else if_false)
        raise UnknownIntrinsic(f"{key} {args}")

    def _sub_variable(self, name: str, known: dict) -> str:
        if name in known:
            return known[name]
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self._function("Fn::GetAtt", [logical_id, attribute])
        return self.ref(name)
