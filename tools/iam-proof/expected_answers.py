"""The requests to evaluate, each with the answer the template means to give (docs/deploy.md,
"Permissions, evaluated offline", is this table as evaluated).

Principals: the gate's three roles (their policies from the template), a caller's state machine
role with RequestApprovalPolicy, a neighbour in the same account with dynamodb:*, kms:*, sns:*,
states:* and sts:AssumeRole on "*", an operator with the same but no SNS, an outsider in another
account, and the AWS services that act for the gate. Each role acts through a session (as Lambda
and Step Functions use them);
aws:PrincipalArn is the role's ARN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployment import ACCOUNT, OTHER_ACCOUNT, PARTITION, REGION, TRUSTED_STATE_MACHINES
from policies import Policy, TemplatePolicies

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


def role(name: str, account: str, policies: list[Policy]) -> Principal:
    role_arn = f"arn:{PARTITION}:iam::{account}:role/{name}"
    session = f"arn:{PARTITION}:sts::{account}:assumed-role/{name}/session"
    return Principal(name, session, account, role_arn, tuple(policies))


def everything_on_star(label: str, actions: list[str]) -> Policy:
    statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return Policy(label, {"Version": "2012-10-17", "Statement": [statement]})


def service(name: str) -> Principal:
    return Principal(name, name, ACCOUNT, None)


def requests(template: TemplatePolicies) -> list[Request]:
    r = template.resolve
    identity = template.identity()
    send_email, callback, state_machine = (
        role(r.ref(logical_id), ACCOUNT, identity[r.arn(logical_id)])
        for logical_id in ("SendEmailRole", "ApprovalCallbackRole", "StateMachineRole"))
    (request_approval_policy,) = template.managed().values()
    caller = role("release-workflow", ACCOUNT, [request_approval_policy])
    neighbour = role("neighbour", ACCOUNT, [everything_on_star(
        "neighbour/Everything", ["dynamodb:*", "kms:*", "sns:*", "states:*", "sts:AssumeRole"])])
    # As [iam-proof] words it: everything on "*" in DynamoDB, KMS and Step Functions, nothing in SNS.
    operator = role("operator", ACCOUNT, [everything_on_star(
        "operator/Everything", ["dynamodb:*", "kms:*", "states:*"])])
    outsider = role("outsider", OTHER_ACCOUNT, [everything_on_star("outsider/Everything", ["sns:*", "kms:*"])])
    apigateway, states, lambda_service = (service(f"{name}.amazonaws.com") for name in ("apigateway", "states", "lambda"))

    machine = r.ref("HumanApprovalStateMachine")
    machine_name = machine.rsplit(":", 1)[1]
    payroll = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:Payroll"
    release, export = TRUSTED_STATE_MACHINES
    topic = Target("topic", r.ref("ApprovalEmailTopic"))
    table = Target("table", r.arn("ApprovalRequestsTable"))
    key = Target("key", r.arn("ApprovalDataKey"))

    def state_machine_named(name: str, arn: str) -> Target:
        return Target(f"state machine {name}", arn)

    def execution_of(name: str, state_machine_arn: str) -> Target:
        return Target(f"execution of {name}", state_machine_arn.replace(":stateMachine:", ":execution:") + ":run-1")

    def log_stream_of(label: str, log_group: str) -> Target:
        return Target(label, r.arn(log_group).removesuffix("*") + "log-stream:2026/12/01/[$LATEST]0123456789abcdef")

    def role_named(logical_id: str) -> Target:
        return Target(f"role {r.ref(logical_id)}", r.arn(logical_id))

    def key_via(label: str, service_name: str, context: dict | None = None) -> Target:
        via = {"kms:ViaService": f"{service_name}.{REGION}.amazonaws.com"}
        return Target(f"key, via {label}", key.arn, {**via, **(context or {})})

    this_machine = state_machine_named(machine_name, machine)
    this_execution = execution_of(machine_name, machine)
    key_via_dynamodb, key_via_states = key_via("DynamoDB", "dynamodb"), key_via("Step Functions", "states")
    send_email_function = Target("send-email", r.arn("SendEmailFunction"))
    callback_function = Target("approval-callback", r.arn("ApprovalCallbackFunction"))
    api_route = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{r.ref('ApprovalApi')}/states/GET"

    rows: list[Request] = []

    def ask(principal: Principal, action: str, target: Target, expected: str, because: str,
            context: dict | None = None) -> None:
        rows.append(Request(principal, action, target, expected, because, {**target.context, **(context or {})}))

    ask(send_email, "sns:Publish", topic, ALLOWED, "the approval emails")
    ask(send_email, "states:DescribeExecution", this_execution, IMPLICIT, "not needed: the history says whether it runs")
    ask(send_email, "states:GetExecutionHistory", this_execution, ALLOWED, "verifies what was scheduled")
    ask(send_email, "states:GetExecutionHistory", execution_of("Release (trusted)", release), ALLOWED, "a trusted state machine")
    ask(send_email, "states:GetExecutionHistory", execution_of("Export (trusted)", export), ALLOWED, "a trusted state machine")
    ask(send_email, "states:GetExecutionHistory", execution_of("Payroll (not trusted)", payroll), IMPLICIT, "not trusted")
    ask(send_email, "dynamodb:PutItem", table, ALLOWED, "stores the request")
    ask(send_email, "dynamodb:GetItem", table, ALLOWED, "a retry reuses the request")
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"):
        ask(send_email, action, table, IMPLICIT, "not granted")
    ask(send_email, "kms:GenerateDataKey", key_via_dynamodb, ALLOWED, "the table is encrypted with it")
    ask(send_email, "kms:Decrypt", key_via_dynamodb, ALLOWED, "the table is encrypted with it")
    ask(send_email, "kms:Decrypt", key_via_states, ALLOWED, "reads the encrypted history")
    ask(send_email, "states:SendTaskSuccess", this_machine, IMPLICIT, "only approval-callback completes tasks")
    own_stream = log_stream_of("its own log stream", "SendEmailLogGroup")
    ask(send_email, "logs:CreateLogStream", own_stream, ALLOWED, "its own log group")
    ask(send_email, "logs:PutLogEvents", own_stream, ALLOWED, "its own log group")
    ask(send_email, "logs:PutLogEvents", log_stream_of("approval-callback's log stream", "ApprovalCallbackLogGroup"),
        IMPLICIT, "another log group")

    ask(callback, "dynamodb:GetItem", table, ALLOWED, "looks up the link's request")
    ask(callback, "dynamodb:PutItem", table, ALLOWED, "records the vote (conditional write)")
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"):
        ask(callback, action, table, IMPLICIT, "not granted")
    ask(callback, "kms:Decrypt", key_via_dynamodb, ALLOWED, "the table is encrypted with it")
    ask(callback, "kms:GenerateDataKey", key_via_states, ALLOWED, "the task output is encrypted with it")
    ask(callback, "states:SendTaskSuccess", this_machine, ALLOWED, "sends the deciding vote")
    ask(callback, "states:SendTaskSuccess", state_machine_named("Release (trusted)", release), ALLOWED, "a trusted state machine")
    ask(callback, "states:SendTaskSuccess", state_machine_named("Export (trusted)", export), ALLOWED, "a trusted state machine")
    ask(callback, "states:SendTaskSuccess", state_machine_named("Payroll (not trusted)", payroll), IMPLICIT, "not trusted")
    ask(callback, "states:SendTaskFailure", this_machine, IMPLICIT, "never called, not granted")
    ask(callback, "states:SendTaskSuccess", Target("* (the Service Authorization Reference's model)", "*"), IMPLICIT,
        'a scoped statement never matches "*": see the note')
    ask(callback, "states:GetExecutionHistory", this_execution, IMPLICIT, "not granted")
    ask(callback, "sns:Publish", topic, ALLOWED, "the decided emails")
    own_stream = log_stream_of("its own log stream", "ApprovalCallbackLogGroup")
    ask(callback, "logs:CreateLogStream", own_stream, ALLOWED, "its own log group")
    ask(callback, "logs:PutLogEvents", own_stream, ALLOWED, "its own log group")

    ask(state_machine, "lambda:InvokeFunction", send_email_function, ALLOWED, "the Lambda Callback task")
    ask(state_machine, "lambda:InvokeFunction", callback_function, IMPLICIT, "not granted")
    ask(state_machine, "sns:Publish", topic, ALLOWED, "the expired emails (EmailExpiredRequest)")
    ask(state_machine, "kms:GenerateDataKey", key_via_states, ALLOWED, "its executions are encrypted")
    ask(state_machine, "kms:Decrypt", key_via_states, ALLOWED, "its executions are encrypted")
    ask(state_machine, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")
    ask(state_machine, "states:SendTaskSuccess", this_machine, IMPLICIT, "not granted")

    ask(caller, "lambda:InvokeFunction", send_email_function, ALLOWED, "RequestApprovalPolicy")
    ask(caller, "lambda:InvokeFunction", callback_function, IMPLICIT, "RequestApprovalPolicy allows nothing else")
    ask(caller, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(caller, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")

    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:PartiQLSelect"):
        ask(neighbour, action, table, EXPLICIT, "the table's policy")
    ask(neighbour, "dynamodb:DescribeTable", table, ALLOWED, "administering the table is not denied")
    ask(neighbour, "dynamodb:PutResourcePolicy", table, ALLOWED, "nor changing its policy (README, Security)")
    ask(neighbour, "kms:Decrypt", key, IMPLICIT, "the key policy: only the gate's roles")
    ask(neighbour, "kms:Decrypt", key_via_dynamodb, IMPLICIT, "the key policy: only the gate's roles")
    ask(neighbour, "kms:Decrypt", key_via_states, IMPLICIT, "so no execution history either")
    ask(neighbour, "kms:GenerateDataKey", key_via_states, ALLOWED, "starts executions: the data key goes to Step Functions")
    ask(neighbour, "kms:GenerateDataKey", key, IMPLICIT, "but not for itself")
    ask(neighbour, "kms:GenerateDataKey", key_via_dynamodb, IMPLICIT, "nor through DynamoDB")
    ask(neighbour, "kms:CreateGrant", key, IMPLICIT, "no grant to give itself Decrypt")
    ask(neighbour, "kms:CreateGrant", key_via("DynamoDB, for an AWS resource", "dynamodb", {"kms:GrantIsForAWSResource": "true"}),
        ALLOWED, "the grant DynamoDB makes for the table")
    ask(neighbour, "kms:PutKeyPolicy", key, ALLOWED, "the account administers the key")
    ask(neighbour, "kms:ScheduleKeyDeletion", key, ALLOWED, "the account administers the key")
    ask(neighbour, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(neighbour, "sns:Subscribe", topic, ALLOWED, "same account: not denied (README, Security)")
    ask(neighbour, "states:GetExecutionHistory", this_execution, ALLOWED, "no resource policy; its data needs the key")
    ask(neighbour, "states:SendTaskSuccess", this_machine, ALLOWED, "no resource policy; the token is the secret")
    for logical_id in ("SendEmailRole", "ApprovalCallbackRole"):
        ask(neighbour, "sts:AssumeRole", role_named(logical_id), IMPLICIT, "the trust policy names only Lambda")

    ask(operator, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")
    ask(operator, "kms:Decrypt", key_via_states, IMPLICIT, "the key policy: only the gate's roles")
    ask(operator, "sns:Subscribe", topic, IMPLICIT, "the topic's policy grants the account nothing")

    ask(outsider, "sns:Subscribe", topic, EXPLICIT, "the topic's policy: no other account")
    ask(outsider, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(outsider, "kms:Decrypt", key, IMPLICIT, "the key policy")

    other_api = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:z9y8x7w6v5/states/GET/execution"
    for target, source, expected, because in (
        (callback_function, f"{api_route}/execution", ALLOWED, "this API's /execution"),
        (callback_function, f"{api_route}/admin", IMPLICIT, "another path of this API"),
        (callback_function, other_api, IMPLICIT, "another API"),
        (send_email_function, f"{api_route}/execution", IMPLICIT, "no permission for it"),
    ):
        ask(apigateway, "lambda:InvokeFunction", target, expected, because, {"aws:SourceArn": source})
    machine_role = role_named("StateMachineRole")
    ask(states, "sts:AssumeRole", machine_role, ALLOWED, "for this account's state machines", {"aws:SourceAccount": ACCOUNT})
    ask(states, "sts:AssumeRole", machine_role, IMPLICIT, "for another account's (confused deputy)",
        {"aws:SourceAccount": OTHER_ACCOUNT})
    ask(lambda_service, "sts:AssumeRole", role_named("SendEmailRole"), ALLOWED, "the function's role")
    ask(lambda_service, "sts:AssumeRole", machine_role, IMPLICIT, "the trust policy names only Step Functions")
    return rows
