"""The requests to evaluate, each with the answer the template means to give (docs/deploy.md,
"Permissions, evaluated offline", is this table as evaluated).

Principals: the gate's four roles (their policies from the template: send-email's,
approval-callback's, the state machine's and the scheduler role), a caller's state machine
role with RequestApprovalPolicy, a neighbour in the same account with dynamodb:*, kms:*, sns:*,
states:* and sts:AssumeRole on "*", an operator with the same but no SNS, an outsider in another
account, a role "key-admin" with kms:* (named as KeyAdminRoleArn in the ses deployment only), and
the AWS services that act for the gate (API Gateway, Step Functions, Lambda,
EventBridge, for the rule ExecutionEnded, and EventBridge Scheduler, for reminders and
escalations). Each role acts through a session (as Lambda, Step Functions and Scheduler use
them); aws:PrincipalArn is the role's ARN.

requests() is the stack as deployed by default (EmailDelivery=sns); ses_requests() adds what
changes in the same stack deployed with EmailDelivery=ses, Slack DMs, the WAF web ACL and KeyAdminRoleArn (its
roles shown as "<role> (ses)").
"""

from __future__ import annotations

from collections.abc import Callable

from deployment import (
    ACCOUNT,
    EVENT_BUS,
    KEY_ADMIN_ROLE_NAME,
    OTHER_ACCOUNT,
    PARTITION,
    REGION,
    SES_SENDER,
    SLACK_SECRET,
    TRUSTED_STATE_MACHINES,
)
from evaluation_request import (
    ALLOWED,
    EXPLICIT,
    IMPLICIT,
    Principal,
    Request,
    Target,
    everything_on_star,
    role,
    service,
)
from policies import TemplatePolicies

# Through CloudFormation: a stack's operation calls SNS with a forward access session, which sets
# aws:CalledVia (docs/deploy.md, "Email: SNS or SES", says what is known of it).
VIA_CLOUDFORMATION = {"aws:CalledVia": ["cloudformation.amazonaws.com"]}


def ses_identity(name: str) -> Target:
    """An SES identity (an address or a domain) of the test account."""
    return Target(f"SES identity {name}", f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{name}")


def from_address(address: str) -> dict:
    """The context of an SES send From `address` (ses:FromAddress is the bare address)."""
    return {"ses:FromAddress": address}


# The source of every event the gate puts (PutEvents: events:source lists each entry's Source).
GATE_SOURCE = "approval-gate"


def event_bus(name: str) -> Target:
    """An EventBridge bus of the test account."""
    return Target(f"event bus {name}", f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{name}")


def sources(*names: str) -> dict:
    """The context of a PutEvents whose entries have these sources."""
    return {"events:source": list(names)}


def put_gate_events(ask: Callable[..., None], send_email: Principal, callback: Principal) -> None:
    """The rows of the gate's events, the same in both deployments: send-email puts them on
    EventBusName with the gate's source only; approval-callback puts none."""
    bus = event_bus(EVENT_BUS)
    ask(send_email, "events:PutEvents", bus, ALLOWED, "the gate's events, on EventBusName", sources(GATE_SOURCE))
    ask(send_email, "events:PutEvents", event_bus("payroll-events"), IMPLICIT, "another bus",
        sources(GATE_SOURCE))
    ask(send_email, "events:PutEvents", bus, IMPLICIT, "in another source's name (aws.states)",
        sources("aws.states"))
    ask(send_email, "events:PutEvents", bus, IMPLICIT, "a batch with one entry of another source",
        sources(GATE_SOURCE, "com.example.payroll"))
    ask(callback, "events:PutEvents", bus, IMPLICIT, "approval-callback puts no events",
        sources(GATE_SOURCE))


SCHEDULER = "scheduler.amazonaws.com"


def passed_to(service_name: str) -> dict:
    """The context of an iam:PassRole: the service the role is passed to."""
    return {"iam:PassedToService": service_name}


def schedule_nudges(ask: Callable[..., None], template: TemplatePolicies, send_email: Principal,
                    callback: Principal, shown: str = "") -> None:
    """The rows of reminders and escalations, the same in both deployments (`shown`: what the
    ses deployment adds to a principal's name). send-email creates and deletes one-time schedules
    in the stack's schedule group only, and passes the scheduler role to Scheduler only; Scheduler
    assumes that role for the group's schedules only (aws:SourceArn, aws:SourceAccount), and the
    role may invoke send-email, nothing else."""
    r = template.resolve
    group = r.ref("NudgeScheduleGroup")
    group_arn = r.arn("NudgeScheduleGroup")
    scheduler_role = role(r.ref("SchedulerRole"), ACCOUNT, template.identity()[r.arn("SchedulerRole")],
                          f"{r.ref('SchedulerRole')}{shown}")
    scheduler = Principal(f"{SCHEDULER}{shown}", SCHEDULER, ACCOUNT, None)

    def schedule(group_name: str, label: str) -> Target:
        return Target(label, f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule/{group_name}/approval-0f8e3c2a-1")

    def role_named(logical_id: str) -> Target:
        return Target(f"role {r.ref(logical_id)}", r.arn(logical_id))

    own = schedule(group, f"a schedule in group {group}")
    other = schedule("default", "a schedule in group default")
    scheduler_role_target = role_named("SchedulerRole")
    send_email_function = Target("send-email", r.arn("SendEmailFunction"))

    ask(send_email, "scheduler:CreateSchedule", own, ALLOWED, "a request's reminder or escalation, in the gate's group")
    ask(send_email, "scheduler:DeleteSchedule", own, ALLOWED, "an unfired one, once its request ended")
    ask(send_email, "scheduler:CreateSchedule", other, IMPLICIT, "another schedule group")
    ask(send_email, "scheduler:DeleteSchedule", other, IMPLICIT, "another group's schedule")
    ask(send_email, "scheduler:UpdateSchedule", own, IMPLICIT, "nothing else of Scheduler")
    ask(send_email, "iam:PassRole", scheduler_role_target, ALLOWED, "the schedule's role, to Scheduler",
        passed_to(SCHEDULER))
    ask(send_email, "iam:PassRole", scheduler_role_target, IMPLICIT, "to another service (Lambda)",
        passed_to("lambda.amazonaws.com"))
    ask(send_email, "iam:PassRole", role_named("SendEmailRole"), IMPLICIT, "another role (its own)",
        passed_to(SCHEDULER))
    ask(callback, "scheduler:CreateSchedule", own, IMPLICIT, "only send-email schedules")
    ask(callback, "iam:PassRole", scheduler_role_target, IMPLICIT, "nor passes the role", passed_to(SCHEDULER))
    ask(scheduler_role, "lambda:InvokeFunction", send_email_function, ALLOWED, "a reminder or escalation is due")
    ask(scheduler_role, "lambda:InvokeFunction", Target("send-email, version 7", f"{send_email_function.arn}:7"),
        ALLOWED, "send-email as it was invoked (a version or alias)")
    ask(scheduler_role, "lambda:InvokeFunction", Target("approval-callback", r.arn("ApprovalCallbackFunction")),
        IMPLICIT, "send-email only")
    ask(scheduler_role, "dynamodb:GetItem", Target("table", r.arn("ApprovalRequestsTable")), EXPLICIT,
        "the table's policy")
    for source, expected, because in (
        (group_arn, ALLOWED, "for the gate's schedule group"),
        (own.arn, ALLOWED, "for a schedule of it (the ARN an earlier Scheduler guide gave)"),
        (f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule-group/default", IMPLICIT, "for another group"),
    ):
        ask(scheduler, "sts:AssumeRole", scheduler_role_target, expected, because,
            {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": source})
    ask(scheduler, "sts:AssumeRole", scheduler_role_target, IMPLICIT, "for another account's group (confused deputy)",
        {"aws:SourceAccount": OTHER_ACCOUNT, "aws:SourceArn": group_arn.replace(ACCOUNT, OTHER_ACCOUNT)})
    ask(scheduler, "sts:AssumeRole", role_named("SendEmailRole"), IMPLICIT, "the trust policy names only Lambda",
        {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": group_arn})


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
    # The role KEY_ADMIN_ROLE, with kms:*, where KeyAdminRoleArn does not name it (the default).
    would_be_key_admin = role(KEY_ADMIN_ROLE_NAME, ACCOUNT, [everything_on_star(f"{KEY_ADMIN_ROLE_NAME}/Kms", ["kms:*"])])
    apigateway, states, lambda_service, eventbridge = (
        service(f"{name}.amazonaws.com") for name in ("apigateway", "states", "lambda", "events"))

    machine = r.ref("HumanApprovalStateMachine")
    machine_name = machine.rsplit(":", 1)[1]
    payroll = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:Payroll"
    release, export = TRUSTED_STATE_MACHINES
    topic = Target("topic", r.ref("ApprovalEmailTopic"))
    topic_via_cloudformation = Target("topic, through CloudFormation", topic.arn, VIA_CLOUDFORMATION)
    table = Target("table", r.arn("ApprovalRequestsTable"))
    by_execution = Target("index ByExecution", r.arn("ApprovalRequestsTable") + "/index/ByExecution")
    stream = Target("the table's stream", r.stream_arn("ApprovalRequestsTable"))
    other_stream = Target("another table's stream",
                          f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/payroll/stream/2026-12-01T00:00:00.000")
    every_stream = Target("*", "*")  # dynamodb:ListStreams has no resource type
    key = Target("key", r.arn("ApprovalDataKey"))
    key_via_cloudformation = Target("key, through CloudFormation", key.arn, VIA_CLOUDFORMATION)
    every_resource = Target("*", "*")
    logs_service = service(f"logs.{REGION}.amazonaws.com")

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

    ask(send_email, "sns:Publish", topic, ALLOWED, "the approval emails and the decided notices")
    ask(send_email, "states:DescribeExecution", this_execution, IMPLICIT, "not needed: the history says whether it runs")
    ask(send_email, "states:GetExecutionHistory", this_execution, ALLOWED, "verifies what was scheduled")
    ask(send_email, "states:GetExecutionHistory", execution_of("Release (trusted)", release), ALLOWED, "a trusted state machine")
    ask(send_email, "states:GetExecutionHistory", execution_of("Export (trusted)", export), ALLOWED, "a trusted state machine")
    ask(send_email, "states:GetExecutionHistory", execution_of("Payroll (not trusted)", payroll), IMPLICIT, "not trusted")
    ask(send_email, "dynamodb:PutItem", table, ALLOWED, "stores the request")
    ask(send_email, "dynamodb:GetItem", table, ALLOWED, "a retry reuses the request; a changed record is read")
    ask(send_email, "dynamodb:Query", by_execution, ALLOWED, "the requests of an execution whose task timed out")
    ask(send_email, "dynamodb:Query", table, IMPLICIT, "the index only, not the table")
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"):
        ask(send_email, action, table, IMPLICIT, "not granted")
    ask(send_email, "dynamodb:DescribeStream", stream, ALLOWED, "its event source: the stream's shards")
    ask(send_email, "dynamodb:GetShardIterator", stream, ALLOWED, "its event source: where to read")
    ask(send_email, "dynamodb:GetRecords", stream, ALLOWED, "its event source: the changes (request ids only)")
    ask(send_email, "dynamodb:ListStreams", every_stream, ALLOWED, "its event source; lists stream ARNs, no record")
    ask(send_email, "dynamodb:GetRecords", other_stream, IMPLICIT, "only the request table's stream")
    ask(send_email, "kms:GenerateDataKey", key_via_dynamodb, ALLOWED, "the table is encrypted with it")
    ask(send_email, "kms:Decrypt", key_via_dynamodb, ALLOWED, "the table and its stream are encrypted with it")
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
    ask(callback, "sns:Publish", topic, EXPLICIT, "the topic's policy: it sends no email (send-email tells)")
    ask(callback, "dynamodb:GetRecords", stream, EXPLICIT, "the stream's policy: only send-email reads it")
    own_stream = log_stream_of("its own log stream", "ApprovalCallbackLogGroup")
    ask(callback, "logs:CreateLogStream", own_stream, ALLOWED, "its own log group")
    ask(callback, "logs:PutLogEvents", own_stream, ALLOWED, "its own log group")
    # X-Ray (Tracing: Active): the trace actions have no resource type.
    for principal in (send_email, callback):
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            ask(principal, action, every_resource, ALLOWED, "its invocations' traces (no resource type)")
    ask(state_machine, "xray:PutTraceSegments", every_resource, IMPLICIT, "not traced, not granted")
    # CloudWatch Logs encrypts the stack's log groups with the key, for those groups only: the
    # allowed case needs kms:EncryptionContext:aws:logs:arn, a context key iam-simulate cannot
    # take (it matches variable keys after a "/" only), so only the refusal without it is a row.
    ask(logs_service, "kms:GenerateDataKey", key, IMPLICIT, "not without a log group's encryption context")
    put_gate_events(ask, send_email, callback)
    schedule_nudges(ask, template, send_email, callback)

    ask(state_machine, "lambda:InvokeFunction", send_email_function, ALLOWED, "the Lambda Callback task")
    ask(state_machine, "lambda:InvokeFunction", callback_function, IMPLICIT, "not granted")
    ask(state_machine, "sns:Publish", topic, EXPLICIT, "the topic's policy: it sends no email (send-email tells that a request expired)")
    ask(state_machine, "kms:GenerateDataKey", key_via_states, ALLOWED, "its executions are encrypted")
    ask(state_machine, "kms:Decrypt", key_via_states, ALLOWED, "its executions are encrypted")
    ask(state_machine, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")
    ask(state_machine, "dynamodb:GetRecords", stream, EXPLICIT, "the stream's policy")
    ask(state_machine, "states:SendTaskSuccess", this_machine, IMPLICIT, "not granted")

    ask(caller, "lambda:InvokeFunction", send_email_function, ALLOWED, "RequestApprovalPolicy")
    ask(caller, "lambda:InvokeFunction", callback_function, IMPLICIT, "RequestApprovalPolicy allows nothing else")
    ask(caller, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(caller, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")

    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:PartiQLSelect"):
        ask(neighbour, action, table, EXPLICIT, "the table's policy")
    ask(neighbour, "dynamodb:DescribeTable", table, ALLOWED, "administering the table is not denied")
    ask(neighbour, "dynamodb:PutResourcePolicy", table, ALLOWED, "nor changing its policy (README, Security)")
    for action in ("dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        ask(neighbour, action, stream, EXPLICIT, "the stream's policy: only send-email reads it")
    ask(neighbour, "dynamodb:DescribeStream", stream, ALLOWED, "describing the stream (no record) is not denied")
    ask(neighbour, "dynamodb:PutResourcePolicy", stream, ALLOWED, "nor changing the stream's policy")
    ask(neighbour, "kms:Decrypt", key, IMPLICIT, "the key policy: only the gate's roles")
    ask(neighbour, "kms:Decrypt", key_via_dynamodb, IMPLICIT, "the key policy: only the gate's roles")
    ask(neighbour, "kms:Decrypt", key_via_states, IMPLICIT, "so no execution history either")
    ask(neighbour, "kms:GenerateDataKey", key_via_states, ALLOWED, "starts executions: the data key goes to Step Functions")
    ask(neighbour, "kms:GenerateDataKey", key, IMPLICIT, "but not for itself")
    ask(neighbour, "kms:GenerateDataKey", key_via_dynamodb, IMPLICIT, "nor through DynamoDB")
    ask(neighbour, "kms:CreateGrant", key, IMPLICIT, "no grant to give itself Decrypt")
    ask(neighbour, "kms:CreateGrant", key_via("DynamoDB, for an AWS resource", "dynamodb", {"kms:GrantIsForAWSResource": "true"}),
        ALLOWED, "the grant DynamoDB makes for the table")
    # The key's administration: only through CloudFormation (KeyAdminRoleArn is empty by default).
    ask(neighbour, "kms:PutKeyPolicy", key, IMPLICIT, "only through CloudFormation: no policy giving itself Decrypt")
    ask(neighbour, "kms:ScheduleKeyDeletion", key, IMPLICIT, "only through CloudFormation")
    ask(neighbour, "kms:DisableKey", key, IMPLICIT, "only through CloudFormation")
    ask(neighbour, "kms:DescribeKey", key, ALLOWED, "reading the key's settings is not denied")
    ask(neighbour, "kms:GetKeyPolicy", key, ALLOWED, "nor reading its policy")
    ask(neighbour, "kms:PutKeyPolicy", key_via_cloudformation, ALLOWED, "the stack's updates, through CloudFormation")
    ask(neighbour, "kms:ScheduleKeyDeletion", key_via_cloudformation, ALLOWED, "CloudFormation administers the key")
    ask(neighbour, "kms:Decrypt", key_via_cloudformation, IMPLICIT, "administration only, never use")
    ask(neighbour, "kms:CreateGrant", key_via_cloudformation, IMPLICIT, "and no grant")
    ask(would_be_key_admin, "kms:PutKeyPolicy", key, IMPLICIT, "KeyAdminRoleArn is empty by default")
    ask(neighbour, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(neighbour, "sns:Subscribe", topic, EXPLICIT, "the topic's policy: only CloudFormation subscribes, this account too")
    ask(neighbour, "sns:Subscribe", topic_via_cloudformation, ALLOWED,
        "not denied through CloudFormation (the stack's own subscriptions)")
    ask(neighbour, "sns:ConfirmSubscription", topic, ALLOWED, "confirming a subscription (with the CLI) is not denied")
    ask(neighbour, "sns:Unsubscribe", topic, ALLOWED, "nor removing one (Email: SNS or SES)")
    ask(neighbour, "sns:SetTopicAttributes", topic, ALLOWED, "nor changing the topic's policy (Email: SNS or SES)")
    ask(neighbour, "states:GetExecutionHistory", this_execution, ALLOWED, "no resource policy; its data needs the key")
    ask(neighbour, "states:SendTaskSuccess", this_machine, ALLOWED, "no resource policy; the token is the secret")
    for logical_id in ("SendEmailRole", "ApprovalCallbackRole"):
        ask(neighbour, "sts:AssumeRole", role_named(logical_id), IMPLICIT, "the trust policy names only Lambda")
    ask(neighbour, "sts:AssumeRole", role_named("SchedulerRole"), IMPLICIT, "the trust policy names only Scheduler")

    ask(operator, "dynamodb:GetItem", table, EXPLICIT, "the table's policy")
    ask(operator, "dynamodb:GetRecords", stream, EXPLICIT, "the stream's policy")
    ask(operator, "kms:Decrypt", key_via_states, IMPLICIT, "the key policy: only the gate's roles")
    ask(operator, "sns:Subscribe", topic, EXPLICIT, "the topic's policy: only CloudFormation subscribes")

    ask(outsider, "sns:Subscribe", topic, EXPLICIT, "the topic's policy: no other account")
    ask(outsider, "sns:Subscribe", topic_via_cloudformation, EXPLICIT, "not even through its own CloudFormation")
    ask(outsider, "sns:Publish", topic, EXPLICIT, "the topic's policy")
    ask(outsider, "kms:Decrypt", key, IMPLICIT, "the key policy")
    ask(outsider, "kms:PutKeyPolicy", key, IMPLICIT, "the key policy")

    other_api = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:z9y8x7w6v5/states/GET/execution"
    for target, source, expected, because in (
        (callback_function, f"{api_route}/execution", ALLOWED, "this API's /execution"),
        (callback_function, f"{api_route}/admin", IMPLICIT, "another path of this API"),
        (callback_function, other_api, IMPLICIT, "another API"),
        (send_email_function, f"{api_route}/execution", IMPLICIT, "no permission for it"),
    ):
        ask(apigateway, "lambda:InvokeFunction", target, expected, because, {"aws:SourceArn": source})
    # The rule ExecutionEnded (on the default bus) invokes send-email when an execution ends.
    rule = r.arn("SendEmailFunctionExecutionEnded")
    other_rule = f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/payroll-nightly"
    for target, source, expected, because in (
        (send_email_function, rule, ALLOWED, "the rule ExecutionEnded: an execution ended"),
        (send_email_function, other_rule, IMPLICIT, "another rule"),
        (callback_function, rule, IMPLICIT, "no permission for it"),
    ):
        ask(eventbridge, "lambda:InvokeFunction", target, expected, because, {"aws:SourceArn": source})
    machine_role = role_named("StateMachineRole")
    ask(states, "sts:AssumeRole", machine_role, ALLOWED, "for this account's state machines", {"aws:SourceAccount": ACCOUNT})
    ask(states, "sts:AssumeRole", machine_role, IMPLICIT, "for another account's (confused deputy)",
        {"aws:SourceAccount": OTHER_ACCOUNT})
    ask(lambda_service, "sts:AssumeRole", role_named("SendEmailRole"), ALLOWED, "the function's role")
    ask(lambda_service, "sts:AssumeRole", machine_role, IMPLICIT, "the trust policy names only Step Functions")
    ask(lambda_service, "sts:AssumeRole", role_named("SchedulerRole"), IMPLICIT, "the trust policy names only Scheduler")
    # The SES rows of the ses deployment follow: with sns, no SES at all.
    ask(send_email, "ses:SendEmail", ses_identity(SES_SENDER), IMPLICIT, "EmailDelivery=sns: no SES")
    # And no Slack: neither function may read the Slack app's secret.
    slack_secret = Target("the Slack app's secret", SLACK_SECRET)
    ask(send_email, "secretsmanager:GetSecretValue", slack_secret, IMPLICIT, "SlackDelivery=none: no secret to read")
    ask(callback, "secretsmanager:GetSecretValue", slack_secret, IMPLICIT, "SlackDelivery=none: no secret to read")
    return rows


def ses_requests(template: TemplatePolicies) -> list[Request]:
    """The same stack deployed with EmailDelivery=ses and SenderAddress=SES_SENDER (verified as an
    address identity, and its domain as a domain identity): what changes. The functions may send
    from SES_SENDER only, on either identity; approval-callback sends nothing; nothing publishes
    to a topic (there is none)."""
    r = template.resolve
    identity = template.identity()
    send_email, callback, state_machine = (
        role(r.ref(logical_id), ACCOUNT, identity[r.arn(logical_id)], f"{r.ref(logical_id)} (ses)")
        for logical_id in ("SendEmailRole", "ApprovalCallbackRole", "StateMachineRole"))
    # What the topic's ARN would be with sns: with ses nothing is granted on it.
    topic = Target("topic (none with ses)", r.ref("ApprovalEmailTopic"))
    domain = SES_SENDER.split("@", 1)[1]
    sender, sender_domain = ses_identity(SES_SENDER), ses_identity(domain)
    other_identity = "alerts@example.org"
    own_from, other_from = from_address(SES_SENDER), from_address(f"ceo@{domain}")

    rows: list[Request] = []

    def ask(principal: Principal, action: str, target: Target, expected: str, because: str,
            context: dict | None = None) -> None:
        rows.append(Request(principal, action, target, expected, because, {**target.context, **(context or {})}))

    ask(send_email, "ses:SendEmail", sender, ALLOWED, "the approval emails and decided notices, from SenderAddress",
        own_from)
    ask(send_email, "ses:SendEmail", sender_domain, ALLOWED, "SenderAddress through its domain's identity", own_from)
    ask(send_email, "ses:SendEmail", sender_domain, IMPLICIT, f"From ceo@{domain}: only SenderAddress", other_from)
    ask(send_email, "ses:SendEmail", sender, IMPLICIT, f"From ceo@{domain}, on SenderAddress's identity", other_from)
    ask(send_email, "ses:SendEmail", ses_identity(other_identity), IMPLICIT, "another identity of the account",
        from_address(other_identity))
    ask(send_email, "sns:Publish", topic, IMPLICIT, "no topic, no sns:Publish")
    ask(send_email, "ses:SendRawEmail", sender, IMPLICIT, "nothing of SES but SendEmail", own_from)
    ask(callback, "ses:SendEmail", sender, IMPLICIT, "approval-callback sends no email (send-email tells)", own_from)
    ask(callback, "ses:SendEmail", sender_domain, IMPLICIT, "nor through the domain's identity", own_from)
    ask(callback, "sns:Publish", topic, IMPLICIT, "no topic, no sns:Publish")
    ask(state_machine, "sns:Publish", topic, IMPLICIT, "no topic, and it sends no email")
    ask(state_machine, "ses:SendEmail", sender, IMPLICIT, "only the functions send", own_from)
    put_gate_events(ask, send_email, callback)
    schedule_nudges(ask, template, send_email, callback, " (ses)")
    # Slack on (SlackDelivery=dm): each function reads the app's secret, and no other secret.
    slack_secret = Target("the Slack app's secret", SLACK_SECRET)
    other_secret = Target("another secret of the account",
                          "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-password-XyZ123")
    ask(send_email, "secretsmanager:GetSecretValue", slack_secret, ALLOWED, "the bot token: look up approvers, post and update messages")
    ask(callback, "secretsmanager:GetSecretValue", slack_secret, ALLOWED, "the signing secret (verifies every interaction) and the bot token (the vote modal)")
    ask(send_email, "secretsmanager:GetSecretValue", other_secret, IMPLICIT, "that one secret only")
    ask(callback, "secretsmanager:GetSecretValue", other_secret, IMPLICIT, "that one secret only")
    ask(send_email, "secretsmanager:PutSecretValue", slack_secret, IMPLICIT, "read, never write")
    ask(state_machine, "secretsmanager:GetSecretValue", slack_secret, IMPLICIT, "only the functions talk to Slack")
    # KeyAdminRoleArn names KEY_ADMIN_ROLE (kms:* in its IAM policy): it administers the key, it
    # does not use it; a neighbour with kms:* still may not.
    key = Target("key", r.arn("ApprovalDataKey"))
    key_admin = role(KEY_ADMIN_ROLE_NAME, ACCOUNT, [everything_on_star(f"{KEY_ADMIN_ROLE_NAME}/Kms", ["kms:*"])],
                     f"{KEY_ADMIN_ROLE_NAME} (ses)")
    neighbour = role("neighbour", ACCOUNT, [everything_on_star("neighbour/Kms", ["kms:*"])], "neighbour (ses)")
    ask(key_admin, "kms:PutKeyPolicy", key, ALLOWED, "KeyAdminRoleArn administers the key")
    ask(key_admin, "kms:ScheduleKeyDeletion", key, ALLOWED, "KeyAdminRoleArn administers the key")
    ask(key_admin, "kms:DisableKey", key, ALLOWED, "KeyAdminRoleArn administers the key")
    ask(key_admin, "kms:Decrypt", key, IMPLICIT, "administration only, never use")
    ask(key_admin, "kms:CreateGrant", key, IMPLICIT, "and no grant")
    ask(neighbour, "kms:PutKeyPolicy", key, IMPLICIT, "only KeyAdminRoleArn, or through CloudFormation")
    return rows
