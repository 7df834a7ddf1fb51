"""Checks over every statement of every policy, beyond the table's requests:
  - a statement on Resource "*" (or with NotResource, Action "*" or NotAction) must be on the
    allow-list below, with the reason it needs "*";
  - every action a gate role's identity policies allow has a row in the table that expects it
    allowed, so the table shows each permission the template grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from deployment import STACK
from evaluation_request import ALLOWED, Request
from policies import Policy, as_list

KEY_POLICY_STAR = 'a key policy governs its own key only: its "*" is this key'
XRAY_STAR = ('xray:PutTraceSegments and xray:PutTelemetryRecords have no resource type ("*" or nothing); '
             'Lambda sends the function\'s traces (Tracing: Active) with its role')
STAR_ALLOWED = {
    ("key policy of ApprovalDataKey", "AccountReadsKey"): KEY_POLICY_STAR,
    ("key policy of ApprovalDataKey", "CloudFormationAdministersKey"): KEY_POLICY_STAR,
    ("key policy of ApprovalDataKey", "KeyAdminRoleAdministersKey"): KEY_POLICY_STAR,
    ("key policy of ApprovalDataKey", "GrantsOnlyForDynamoDB"): KEY_POLICY_STAR,
    ("key policy of ApprovalDataKey", "OnlyTheGateUsesKey"): KEY_POLICY_STAR,
    ("key policy of ApprovalDataKey", "AccountStartsExecutions"): KEY_POLICY_STAR,
    ("resource policy of ApprovalRequestsTable", "OnlyTheGateTouchesItems"):
        'a Deny in the table\'s own policy: its "*" is this table (and its indexes)',
    ("resource policy of ApprovalRequestsTable's stream", "OnlySendEmailReadsChanges"):
        'a Deny in the stream\'s own policy: its "*" is this stream',
    ("key policy of ApprovalDataKey", "LogsEncryptsStackLogGroups"): KEY_POLICY_STAR,
    (f"{STACK}-send-email/WriteTraces", "XRayHasNoResource"): XRAY_STAR,
    (f"{STACK}-callback/WriteTraces", "XRayHasNoResource"): XRAY_STAR,
    (f"{STACK}-send-email/ReadRequestChanges", "ListStreamsHasNoResource"):
        'dynamodb:ListStreams has no resource type ("*" or nothing); Lambda\'s DynamoDB event source '
        'needs it; it lists stream ARNs only, no record',
}


def statements(policies: list[Policy]) -> Iterator[tuple[Policy, str, dict]]:
    for policy in policies:
        for index, statement in enumerate(as_list(policy.document["Statement"])):
            yield policy, statement.get("Sid", f"statement {index}"), statement


def broad(statement: dict) -> bool:
    return ("NotResource" in statement or "NotAction" in statement
            or "*" in as_list(statement.get("Resource", [])) or "*" in as_list(statement.get("Action", [])))


def star_statements(policies: list[Policy]) -> list[str]:
    """Problems: broad statements not on the allow-list. Prints those on it, with the reason."""
    problems = []
    print('Statements on Resource "*":')
    for policy, sid, statement in statements(policies):
        if not broad(statement):
            continue
        reason = STAR_ALLOWED.get((policy.label, sid))
        if reason is None:
            problems.append(f'{policy.label} {sid}: on "*" (or Not...), not on the allow-list: {statement}')
        else:
            print(f"  {policy.label} {sid} ({statement['Effect']}): {reason}")
    return problems


# A ${Name} that CloudFormation would have substituted: left in a policy, IAM would read it as a
# policy variable (and an evaluator might match it loosely). ${aws:...} and the like are real ones.
UNRESOLVED = re.compile(r"\$\{(?![a-z0-9-]+:)[^}]*\}|Fn::|'Ref'")


def unresolved_names(policies: list[Policy]) -> list[str]:
    """Problems: a statement whose Resource still holds a template name after resolution (a
    !Sub of a resource attribute the evaluation could not follow: write it as !Join/!GetAtt)."""
    problems = []
    for policy, sid, statement in statements(policies):
        for resource in as_list(statement.get("Resource", [])):
            if isinstance(resource, str) and UNRESOLVED.search(resource):
                problems.append(f"{policy.label} {sid}: Resource {resource!r} was not resolved")
    return problems


def uncovered_grants(identity: dict[str, list[Policy]], requests: list[Request]) -> list[str]:
    """Problems: (role, action) allowed by an identity policy with no row expecting it allowed."""
    shown = {(r.principal.role_arn, r.action.lower()) for r in requests if r.expected == ALLOWED}
    problems = []
    for role_arn, policies in identity.items():
        for policy, sid, statement in statements(policies):
            if statement["Effect"] != "Allow":
                continue
            for action in as_list(statement["Action"]):
                if not any(role == role_arn and fnmatchcase(shown_action, action.lower())
                           for role, shown_action in shown):
                    problems.append(f"{policy.label} {sid} allows {action}: no row of the table expects it allowed")
    return problems
