"""A request to evaluate offline and the answer the template means to give it: who asks
(`Principal`: a role's session with its IAM policies, or a service), what on which resource
(`Target`, with the context keys that come with it), and why that answer (`Request`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from deployment import ACCOUNT, PARTITION
from policies import Policy

ALLOWED, EXPLICIT, IMPLICIT = "Allowed", "ExplicitlyDenied", "ImplicitlyDenied"


@dataclass(frozen=True)
class Principal:
    name: str  # as shown in the table
    arn: str  # the caller: a role session, or a service principal
    account: str
    role_arn: str | None  # aws:PrincipalArn (None for a service)
    policies: tuple[Policy, ...] = ()


@dataclass(frozen=True)
class Target:
    label: str  # as shown in the table
    arn: str
    context: dict = field(default_factory=dict)  # context keys that come with it (kms:ViaService)


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    target: Target
    expected: str
    because: str
    context: dict = field(default_factory=dict)


def role(name: str, account: str, policies: list[Policy], shown: str | None = None) -> Principal:
    role_arn = f"arn:{PARTITION}:iam::{account}:role/{name}"
    session = f"arn:{PARTITION}:sts::{account}:assumed-role/{name}/session"
    return Principal(shown or name, session, account, role_arn, tuple(policies))


def everything_on_star(label: str, actions: list[str]) -> Policy:
    statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return Policy(label, {"Version": "2012-10-17", "Statement": [statement]})


def service(name: str) -> Principal:
    return Principal(name, name, ACCOUNT, None)
