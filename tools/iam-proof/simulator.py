"""Runs the requests through iam-simulate (simulate.mjs, node), offline, in one process.

Each request carries the principal's identity policies, the resource policy of the resource it
names (if any), and its context keys: aws:PrincipalArn and aws:PrincipalAccount for a role
(iam-simulate fills in none), and the request's own (kms:ViaService, aws:SourceArn, ...).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from evaluation_request import Request
from policies import Policy

SIMULATE = Path(__file__).resolve().parent / "simulate.mjs"


@dataclass(frozen=True)
class Answer:
    result: str  # Allowed, ExplicitlyDenied or ImplicitlyDenied
    validated: bool  # False: evaluated without iam-simulate's resource validation (simulate.mjs)
    ignored_context_keys: tuple[str, ...]


def context(request: Request) -> dict:
    principal = request.principal
    keys = dict(request.context)
    if principal.role_arn:
        keys |= {"aws:PrincipalArn": principal.role_arn, "aws:PrincipalAccount": principal.account}
    return keys


def resource_account(request: Request) -> str:
    parts = request.target.arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else request.principal.account


def simulation(request: Request, resource_policies: dict[str, Policy]) -> dict:
    resource_policy = resource_policies.get(request.target.arn)
    return {
        "principal": request.principal.arn,
        "action": request.action,
        "resource": request.target.arn,
        "resourceAccount": resource_account(request),
        "context": context(request),
        "identityPolicies": [{"name": p.label, "policy": p.document} for p in request.principal.policies],
        "resourcePolicy": resource_policy.document if resource_policy else None,
    }


def evaluate(requests: list[Request], resource_policies: dict[str, Policy]) -> list[Answer]:
    simulations = json.dumps([simulation(request, resource_policies) for request in requests])
    finished = subprocess.run(["node", str(SIMULATE)], input=simulations, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"simulate.mjs failed:\n{finished.stderr}")
    return [Answer(a["result"], a["validated"], tuple(a["ignoredContextKeys"])) for a in json.loads(finished.stdout)]
