#!/usr/bin/env python3
"""Evaluates the template's IAM policies offline, the way AWS evaluates a request in one account:
the deployed template's policies (deployment.py, policies.py) against the table of requests in
expected_answers.py, with iam-simulate (simulate.mjs). Two deployments of the same stack are
evaluated: the default (EmailDelivery=sns, every row but the last ones) and EmailDelivery=ses with
Slack DMs and a KeyAdminRoleArn (the rows of its roles, "<role> (ses)": what changes). Prints the
table and fails when an answer is not the expected one, when a statement on "*" is not on the
allow-list or a granted action has no row (statement_checks.py; for the ses deployment, every
policy that differs from the sns one), when SendTaskSuccess is granted other than as meant
(send_task_success.py), or when docs/deploy.md's copy of the table is not what was evaluated.

Usage: prove.py [--write-docs]   (--write-docs: write the evaluated table into docs/deploy.md)
Run through scripts/iam-proof, which installs what it needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import send_task_success
from deployment import PARAMETERS, PARAMETERS_SES, TRUSTED_STATE_MACHINES, deployed_template
from evaluation_request import Request
from expected_answers import requests, ses_requests
from policies import Policy, TemplatePolicies, as_list
from report import SHOWN, docs_table, row_name, table, with_table
from simulator import Answer, evaluate
from statement_checks import star_statements, uncovered_grants, unresolved_names

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
DOCS = REPO / "docs" / "deploy.md"


def wrong_answers(rows: list[Request], answers: list[Answer]) -> list[str]:
    problems = []
    for number, (request, answer) in enumerate(zip(rows, answers, strict=True), 1):
        name = row_name(number, request)
        if answer.result != request.expected:
            problems.append(f"{name}: expected {SHOWN[request.expected]}, evaluated {SHOWN[answer.result]}")
        if answer.ignored_context_keys:
            problems.append(f"{name}: iam-simulate ignored the context keys {list(answer.ignored_context_keys)}")
        if not answer.validated and request.action not in send_task_success.TASK_RESPONSES:
            problems.append(f"{name}: evaluated without resource validation")
    return problems


def docs_problems(generated: str, write: bool) -> list[str]:
    text = DOCS.read_text()
    if docs_table(text) is None:
        return [f"{DOCS.relative_to(REPO)}: the permissions table's markers are missing"]
    if write:
        DOCS.write_text(with_table(text, generated))
        print(f"wrote the table into {DOCS.relative_to(REPO)}")
    elif docs_table(text) != generated:
        return [f"{DOCS.relative_to(REPO)}: its permissions table is not what was evaluated; "
                "run scripts/iam-proof --write-docs"]
    return []


def statements_not_in(identity: dict[str, list[Policy]], other: dict[str, list[Policy]]) -> dict[str, list[Policy]]:
    """Each role's policies in `identity`, keeping only the statements that the role's policy of
    the same name in `other` does not have."""
    def held(role: str, label: str) -> list:
        return [s for p in other.get(role, []) if p.label == label for s in as_list(p.document["Statement"])]

    return {
        role: [Policy(p.label, {**p.document, "Statement": [s for s in as_list(p.document["Statement"])
                                                             if s not in held(role, p.label)]})
               for p in policies]
        for role, policies in identity.items()
    }


def deployment_problems(template: TemplatePolicies, identity: dict[str, list[Policy]],
                        resource_policies: dict[str, Policy]) -> list[str]:
    """The checks over every statement of one deployment (not only the table's requests)."""
    state_machines = [template.resolve.ref("HumanApprovalStateMachine"), *TRUSTED_STATE_MACHINES]
    problems = send_task_success.check(identity, template.resolve.arn("ApprovalCallbackRole"), state_machines)
    held = [policy for policies in identity.values() for policy in policies]
    every_policy = {p.label: p for p in [*held, *template.managed().values(), *resource_policies.values()]}
    return problems + unresolved_names(list(every_policy.values())) + star_statements(list(every_policy.values()))


def main(argv: list[str]) -> int:
    if argv not in ([], ["--write-docs"]):
        print(__doc__, file=sys.stderr)
        return 2
    # The default deployment (EmailDelivery=sns) and the same stack with EmailDelivery=ses.
    template = TemplatePolicies(deployed_template(TEMPLATE, PARAMETERS))
    identity, resource_policies = template.identity(), template.resource()
    with_ses = TemplatePolicies(deployed_template(TEMPLATE, PARAMETERS_SES))
    ses_identity, ses_resource_policies = with_ses.identity(), with_ses.resource()
    sns_rows, ses_rows = requests(template), ses_requests(with_ses)
    rows = [*sns_rows, *ses_rows]
    answers = evaluate(sns_rows, resource_policies) + evaluate(ses_rows, ses_resource_policies)
    generated = table(rows, answers)
    print(generated, end="\n\n")

    as_expected = sum(answer.result == request.expected for request, answer in zip(rows, answers, strict=True))
    print(f"{len(rows)} requests evaluated ({len(ses_rows)} of them with EmailDelivery=ses, SlackDelivery=dm, "
          f"WafRateLimitPerIp=300 and KeyAdminRoleArn), {as_expected} as expected")
    problems = wrong_answers(rows, answers)
    problems += deployment_problems(template, identity, resource_policies)
    print("With EmailDelivery=ses, SlackDelivery=dm, WafRateLimitPerIp=300 and KeyAdminRoleArn:")
    problems += deployment_problems(with_ses, ses_identity, ses_resource_policies)
    problems += uncovered_grants(identity, sns_rows)
    # With ses, every statement the default deployment does not have is covered by a ses row.
    problems += uncovered_grants(statements_not_in(ses_identity, identity), ses_rows)
    problems += docs_problems(generated, write=argv == ["--write-docs"])
    sys.stdout.flush()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
