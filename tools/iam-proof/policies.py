"""The policies of the deployed template, resolved (intrinsics.py): each role's identity policies
(inline, AWS::IAM::RolePolicy / Policy, and the managed policies the template defines), and the
resource policies (key policy, table policy, the table's stream's policy, topic policy, role trust
policies, Lambda permissions). Resources whose Condition is false are left out, as CloudFormation leaves them out.
A resource type not listed here, or a managed policy the template does not define, is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from intrinsics import Resolver

# Resource types that hold no policy (a REST API may: its Policy property is refused below).
WITHOUT_POLICY = {
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    # Its actions (AlarmTopicArn) are published by CloudWatch under the topic's own policy, which
    # the template does not define.
    "AWS::CloudWatch::Alarm",
    # The rule that invokes send-email (ExecutionEnded) does so through the Lambda permission SAM
    # makes for it (evaluated), with no role of its own.
    "AWS::Events::Rule",
    "AWS::KMS::Alias",
    # Lambda polls the stream with the function's own role (its identity policies, evaluated), and
    # needs no Lambda permission to invoke the function.
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    # Schedules in it invoke send-email with the scheduler role (its policies and trust policy,
    # evaluated); a schedule group has no resource policy.
    "AWS::Scheduler::ScheduleGroup",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::StepFunctions::StateMachine",
    # The API's optional per-IP rate limit (WafRateLimitPerIp): no IAM policy.
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
}
IDENTITY = {"AWS::IAM::Role", "AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
RESOURCE = {"AWS::KMS::Key", "AWS::DynamoDB::Table", "AWS::SNS::TopicPolicy", "AWS::Lambda::Permission"}
LAMBDA_PERMISSION_PROPERTIES = {"Action", "FunctionName", "Principal", "SourceArn", "SourceAccount"}


def as_list(value: object) -> list:
    """A policy element that may be a single value or a list, as a list."""
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Policy:
    label: str  # where it comes from, e.g. "approval-gate-callback/VoteOnApprovalRequests"
    document: dict


class TemplatePolicies:
    def __init__(self, template: dict) -> None:
        self.resolve = Resolver(template)
        self.resources = {
            logical_id: resource
            for logical_id, resource in template["Resources"].items()
            if self.resolve.exists(logical_id)
        }
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            if kind not in WITHOUT_POLICY | IDENTITY | RESOURCE:
                raise ValueError(f"{logical_id}: resource type {kind} not known to the IAM proof")
            if kind == "AWS::ApiGateway::RestApi" and "Policy" in resource["Properties"]:
                raise ValueError(f"{logical_id}: an API resource policy is not evaluated")

    def _of_type(self, kind: str) -> Iterator[tuple[str, Any]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] == kind:
                yield logical_id, self.resolve.value(resource["Properties"])

    def managed(self) -> dict[str, Policy]:
        """The managed policies the template defines, by ARN."""
        return {
            self.resolve.ref(logical_id): Policy(logical_id, properties["PolicyDocument"])
            for logical_id, properties in self._of_type("AWS::IAM::ManagedPolicy")
        }

    def identity(self) -> dict[str, list[Policy]]:
        """Each role's identity policies, by role ARN."""
        role_arns = {self.resolve.ref(logical_id): self.resolve.arn(logical_id)
                     for logical_id, _ in self._of_type("AWS::IAM::Role")}
        policies: dict[str, list[Policy]] = {arn: [] for arn in role_arns.values()}

        def attach(role_name: str, policy: Policy) -> None:
            policies[role_arns[role_name]].append(policy)

        managed = self.managed()
        for logical_id, properties in self._of_type("AWS::IAM::Role"):
            name = properties["RoleName"]
            for inline in properties.get("Policies", []):
                attach(name, Policy(f"{name}/{inline['PolicyName']}", inline["PolicyDocument"]))
            for arn in properties.get("ManagedPolicyArns", []):
                if arn not in managed:
                    raise ValueError(f"{logical_id}: managed policy {arn} is not defined in the template")
                attach(name, managed[arn])
        for kind in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
            for _, properties in self._of_type(kind):
                for name in properties.get("Roles", [properties.get("RoleName")]):
                    attach(name, Policy(f"{name}/{properties['PolicyName']}", properties["PolicyDocument"]))
        for logical_id, properties in self._of_type("AWS::IAM::ManagedPolicy"):
            for name in properties.get("Roles", []):
                attach(name, managed[self.resolve.ref(logical_id)])
        return policies

    def resource(self) -> dict[str, Policy]:
        """The resource policies, by the ARN of the resource they guard."""
        policies = {}
        for logical_id, properties in self._of_type("AWS::IAM::Role"):
            trust = properties["AssumeRolePolicyDocument"]
            policies[self.resolve.arn(logical_id)] = Policy(f"trust policy of {logical_id}", trust)
        for logical_id, properties in self._of_type("AWS::KMS::Key"):
            policies[self.resolve.arn(logical_id)] = Policy(f"key policy of {logical_id}", properties["KeyPolicy"])
        for logical_id, properties in self._of_type("AWS::DynamoDB::Table"):
            if "ResourcePolicy" in properties:
                table_policy = properties["ResourcePolicy"]["PolicyDocument"]
                policies[self.resolve.arn(logical_id)] = Policy(f"resource policy of {logical_id}", table_policy)
            # A stream has a policy of its own; the table's does not cover it.
            stream = properties.get("StreamSpecification") or {}
            if "ResourcePolicy" in stream:
                policies[self.resolve.stream_arn(logical_id)] = Policy(
                    f"resource policy of {logical_id}'s stream", stream["ResourcePolicy"]["PolicyDocument"])
        for logical_id, properties in self._of_type("AWS::SNS::TopicPolicy"):
            for topic in properties["Topics"]:
                policies[topic] = Policy(f"topic policy {logical_id}", properties["PolicyDocument"])
        permissions: dict[str, list[dict]] = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] == "AWS::Lambda::Permission":
                function, statement = lambda_permission_statement(logical_id, resource["Properties"], self.resolve)
                permissions.setdefault(function, []).append(statement)
        for function, statements in permissions.items():
            policies[function] = Policy(f"Lambda permissions of {function.rsplit(':', 1)[1]}",
                                        {"Version": "2012-10-17", "Statement": statements})
        return policies


def lambda_permission_statement(logical_id: str, properties: dict, resolve: Resolver) -> tuple[str, dict]:
    """The function's ARN, and the statement Lambda adds to its policy for an AWS::Lambda::Permission."""
    unknown = set(properties) - LAMBDA_PERMISSION_PROPERTIES
    if unknown:
        raise ValueError(f"{logical_id}: Lambda permission properties {sorted(unknown)} are not evaluated")
    name = properties["FunctionName"]
    function = resolve.arn(name["Ref"]) if isinstance(name, dict) and "Ref" in name else resolve.value(name)
    if not function.startswith("arn:"):
        raise ValueError(f"{logical_id}: FunctionName {function!r} is neither a Ref nor an ARN")
    principal = resolve.value(properties["Principal"])
    statement = {
        "Sid": logical_id,
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": resolve.value(properties["Action"]),
        "Resource": function,
    }
    condition = {}
    if "SourceArn" in properties:
        condition["ArnLike"] = {"aws:SourceArn": resolve.value(properties["SourceArn"])}
    if "SourceAccount" in properties:
        condition["StringEquals"] = {"aws:SourceAccount": resolve.value(properties["SourceAccount"])}
    if condition:
        statement["Condition"] = condition
    return function, statement
