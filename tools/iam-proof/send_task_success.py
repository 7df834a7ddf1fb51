"""states:SendTaskSuccess, which iam-simulate cannot evaluate as the template scopes it.

The Service Authorization Reference lists no resource type for states:SendTaskSuccess (nor for
SendTaskFailure and SendTaskHeartbeat). By its rules a policy grants such an action on "*" only,
and iam-simulate follows it: it refuses a request on any other resource ("must.use.wildcard") and
matches no scoped statement against "*". At run time Step Functions does authorize the call
against a resource: the state machine whose execution issued the token (for a callback task like
the gate's) or the activity (for an activity task). AccessDenied messages name
"arn:...:states:...:stateMachine:<name>", AWS CDK's grantTaskResponse grants the state machine's
ARN, and a test reported in aws-cdk pull request 8486 found a callback token completed with the
permission scoped to the state machine (an activity's only when scoped to the activity). No AWS
document says so; only a real deployment shows it.

So the template's grants are checked here, statement by statement: only approval-callback gets
these actions, only SendTaskSuccess, on exactly this stack's state machine and each trusted one.
The table's rows for them (marked †) are evaluated by simulate.mjs without iam-simulate's
resource validation, against the state machine's ARN; one row shows the Reference's model.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from policies import Policy, as_list

# The actions simulate.mjs may evaluate without resource validation.
TASK_RESPONSES = ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat")


def grants(identity: dict[str, list[Policy]]) -> set[tuple[str, str, str]]:
    """(role ARN, task response action, resource) for every Allow statement that grants one."""
    granted = set()
    for role_arn, policies in identity.items():
        for policy in policies:
            for statement in as_list(policy.document["Statement"]):
                if statement["Effect"] != "Allow":
                    continue
                for pattern in as_list(statement.get("Action", [])):
                    for action in TASK_RESPONSES:
                        if fnmatchcase(action.lower(), pattern.lower()):
                            granted |= {(role_arn, action, resource) for resource in as_list(statement["Resource"])}
    return granted


def check(identity: dict[str, list[Policy]], callback_role: str, state_machines: list[str]) -> list[str]:
    """Problems with the task response grants (none: only callback_role, only SendTaskSuccess,
    on exactly state_machines). Prints what it found."""
    granted = grants(identity)
    wanted = {(callback_role, "states:SendTaskSuccess", arn) for arn in state_machines}
    print(f"states:SendTaskSuccess (no resource type in the Service Authorization Reference) is granted to "
          f"{callback_role.rsplit('/', 1)[1]} on:")
    for _, _, resource in sorted(granted & wanted):
        print(f"  {resource}")
    return [f"unexpected task response grant: {grant}" for grant in sorted(granted - wanted)] + \
        [f"missing task response grant: {grant}" for grant in sorted(wanted - granted)]
