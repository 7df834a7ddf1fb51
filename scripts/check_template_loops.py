#!/usr/bin/env python3
"""Checks what template.yaml's loops (Fn::ForEach under AWS::LanguageExtensions) and its email
modes (EmailDelivery sns, ses, none) make, for several parameter values, the empty defaults too:
  - with EmailDelivery=sns (the default): the topic and its policy exist, and every approver
    (Email, AdditionalApprovers) gets exactly one email subscription, filtered on their own address;
    send-email and the state machine may publish to the topic, and the topic's policy lets only
    their roles publish;
  - with EmailDelivery=ses: no topic, no topic policy, no subscription, no sns:Publish for anyone;
    send-email may ses:SendEmail on SenderAddress's identity and its domain's, only with
    ses:FromAddress = SenderAddress, and nothing else of SES; up to 50 approvers (Email and 49
    AdditionalApprovers) all reach send-email, with no per-approver resource; the state machine's
    expiry Map gets no approvers; the Rules refuse ses without SenderAddress;
  - with EmailDelivery=none: neither SNS nor SES;
  - send-email gets EMAIL_DELIVERY, SENDER_ADDRESS and TOPIC_ARN (empty without sns);
    approval-callback sends no email in any mode: none of them, and no SNS or SES permission;
  - in every mode, after the SAM transform: the request table's stream is KEYS_ONLY and its own
    policy denies reading it (GetRecords, GetShardIterator) to all but send-email's role; exactly
    one event source mapping, from that stream to send-email, with the designed settings; only
    send-email's role may read the stream (DescribeStream, GetShardIterator, GetRecords on the
    stream's ARN, ListStreams on "*"); and no role gets a managed policy (SAM attaches
    AWSLambdaDynamoDBExecutionRole only to a role it makes, and it makes none);
  - reminders and escalations, in every mode: the schedule group <stack>-nudges; send-email gets
    SCHEDULE_GROUP, SCHEDULER_ROLE_ARN (the scheduler role's fixed name) and REMINDER_AFTER_SECONDS
    (ReminderAfterSeconds), approval-callback none of them; the scheduler role is assumed by
    Scheduler only (this account, this group) and may invoke send-email only; of the other roles
    only send-email's may create and delete schedules (in the group only) and pass the scheduler
    role (to Scheduler only);
  - no dependency cycle in any case (cfn-lint and `sam validate --lint` find none through a SAM
    function);
  - every one of TrustedStateMachineArns gets exactly two permissions: send-email may read its
    executions, approval-callback may complete its tasks; an empty list grants nothing. The rule
    ExecutionEnded (send-email's EventBridge event) follows the stack's state machine and each
    trusted one, and nothing else.

The loops are expanded with the language extensions processor that ships with SAM CLI, offline
(it also resolves Fn::If on parameters); each resource's condition is evaluated, and the expanded
template is run through the SAM translator to show it still transforms.
Usage: check_template_loops.py [template.yaml]
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from template_offline import (
    ACCOUNT,
    PARTITION,
    REGION,
    STACK,
    as_list,
    dependency_cycles,
    expand,
    grants,
    holds,
    made,
    rules_refuse,
    translated,
)

TEMPLATE = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "template.yaml")

FUNCTION_ROLES = ("SendEmailRole", "ApprovalCallbackRole")
ROLES = (*FUNCTION_ROLES, "StateMachineRole", "SchedulerRole")
# Who sends email: send-email (requests, decided notices), the state machine (expired, sns only).
SENDERS = ("SendEmailRole",)  # the only role that may email (send-email tells everything)
SNS_RESOURCES = ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription")
EMAIL_SETTINGS = ("EMAIL_DELIVERY", "SENDER_ADDRESS", "TOPIC_ARN")
NUDGE_SETTINGS = ("SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "REMINDER_AFTER_SECONDS")
NUDGE_GROUP = f"{STACK}-nudges"
SCHEDULER_ROLE_ARN = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{STACK}-scheduler"
# The group's schedules, as the processor leaves the Fn::Sub (the group's name still a ${Ref}).
NUDGE_SCHEDULES = f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule/${{NudgeScheduleGroup}}/*"

STREAM_ARN = {"Fn::GetAtt": ["ApprovalRequestsTable", "StreamArn"]}
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords", "dynamodb:ListStreams")
# The event source mapping from the request table's stream to send-email, as designed.
MAPPING = {
    "FunctionName": {"Ref": "SendEmailFunction"},
    "EventSourceArn": STREAM_ARN,
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 0,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": False,
    "MaximumRetryAttempts": 5,
    "MaximumRecordAgeInSeconds": 3600,
}

TRUSTED = [
    "arn:aws:states:us-east-1:111122223333:stateMachine:Release",
    "arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:Data-Export_2",
]

# (Email, AdditionalApprovers, the approvers expected), with EmailDelivery=sns.
CASES = [
    ("alice@example.com", "", ["alice@example.com"]),
    ("alice@example.com", "bob@example.com", ["alice@example.com", "bob@example.com"]),
    ("alice@example.com", "bob@example.com,carol@example.com",
     ["alice@example.com", "bob@example.com", "carol@example.com"]),
    ("alice@example.com", ",".join(f"a{i}@example.com" for i in range(10)),
     ["alice@example.com"] + [f"a{i}@example.com" for i in range(10)]),
]
SES_SENDER = "approvals@mail.example.com"
SES_APPROVERS = ["alice@example.com"] + [f"a{i}@example.com" for i in range(49)]  # 50 in all


def function_env(expanded: dict, function: str) -> dict:
    return dict(expanded["Resources"][function]["Properties"]["Environment"]["Variables"])


def email_settings(env: dict) -> tuple:
    """EMAIL_DELIVERY, SENDER_ADDRESS and TOPIC_ARN of a function's environment."""
    return env.get("EMAIL_DELIVERY"), env.get("SENDER_ADDRESS"), env.get("TOPIC_ARN")


def translates(expanded: dict, params: dict[str, str]) -> list[str]:
    """The expanded template must still be a SAM template the translator turns into
    CloudFormation, with no dependency cycle (neither cfn-lint nor `sam validate --lint` finds a
    cycle through a SAM function); what it makes of the stream must be as designed
    (check_stream)."""
    cloudformation, problems = translated(expanded, params)
    if cloudformation is None:
        return problems
    return dependency_cycles(cloudformation, params) + check_stream(cloudformation, params)


def check_stream(cloudformation: dict, params: dict[str, str]) -> list[str]:
    """The request table's stream, its policy, the event source mapping into send-email and who
    may read the stream, in the template as CloudFormation gets it (after the SAM transform)."""
    resources = cloudformation["Resources"]
    problems = []
    table = resources["ApprovalRequestsTable"]["Properties"]
    stream = table.get("StreamSpecification") or {}
    if stream.get("StreamViewType") != "KEYS_ONLY":
        problems.append(f"{params}: the request table's stream is {stream.get('StreamViewType')}, not KEYS_ONLY")
    send_email_role = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{STACK}-send-email"
    wanted_policy = [{"Sid": "OnlySendEmailReadsChanges", "Effect": "Deny", "Principal": "*",
                      "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator"], "Resource": "*",
                      "Condition": {"ArnNotEquals": {"aws:PrincipalArn": send_email_role}}}]
    statements = as_list(((stream.get("ResourcePolicy") or {}).get("PolicyDocument") or {}).get("Statement", []))
    if statements != wanted_policy:
        problems.append(f"{params}: the stream's policy is {statements}, expected {wanted_policy}")
    mappings = {name: r["Properties"] for name, r in resources.items()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    if list(mappings.values()) != [MAPPING]:
        problems.append(f"{params}: event source mappings {mappings}, expected one: {MAPPING}")
    roles = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    if sorted(roles) != sorted(ROLES):
        problems.append(f"{params}: roles {sorted(roles)}, expected only the template's own {sorted(ROLES)}")
    for name, properties in roles.items():
        if properties.get("ManagedPolicyArns"):
            problems.append(f"{params}: {name} gets managed policies {properties['ManagedPolicyArns']}")
    for name in ROLES:
        granted = sorted((action, json.dumps(resource, sort_keys=True)) for action, resource, _ in
                         grants(cloudformation, name) if action in STREAM_ACTIONS or action.startswith("dynamodb:*"))
        wanted = sorted([(action, json.dumps(STREAM_ARN, sort_keys=True)) for action in STREAM_ACTIONS[:3]]
                        + [("dynamodb:ListStreams", json.dumps("*"))]) if name == "SendEmailRole" else []
        if granted != wanted:
            problems.append(f"{params}: {name}'s stream permissions {granted}, expected {wanted}")
    return problems


def check_sns(template: dict, email: str, additional: str, expected: list[str]) -> list[str]:
    params = {"Email": email, "AdditionalApprovers": additional}
    expanded = expand(template, params)
    made_subscriptions = {
        name: (props["Endpoint"], props.get("FilterPolicy"), props.get("FilterPolicyScope"), props["Protocol"])
        for name, props in made(expanded, "AWS::SNS::Subscription").items()
    }
    problems = []
    endpoints = sorted(endpoint for endpoint, *_ in made_subscriptions.values())
    if endpoints != sorted(expected):
        problems.append(f"{params}: subscriptions for {endpoints}, expected {sorted(expected)}")
    for name, (endpoint, policy, scope, protocol) in made_subscriptions.items():
        if policy != {"approver": [endpoint]} or scope != "MessageAttributes" or protocol != "email":
            problems.append(f"{params}: {name} has filter {policy} / {scope} / {protocol}")
        if expanded["Resources"][name].get("DependsOn") != "ApprovalEmailTopicPolicy":
            problems.append(f"{params}: {name} is not created under the topic policy (DependsOn)")
    for kind in ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy"):
        if len(made(expanded, kind)) != 1:
            problems.append(f"{params}: {len(made(expanded, kind))} {kind}, expected 1")
    topic = {"Ref": "ApprovalEmailTopic"}
    for role in ROLES:
        granted = grants(expanded, role)
        may_publish = ("sns:Publish", topic, None) in granted
        if may_publish != (role in SENDERS):
            problems.append(f"{params}: {role} {'may' if may_publish else 'may not'} sns:Publish to the topic")
        if any(action.startswith("ses:") for action, *_ in granted):
            problems.append(f"{params}: {role} is granted SES with EmailDelivery=sns")
        if role not in SENDERS and any(action.startswith("sns:") for action, *_ in granted):
            problems.append(f"{params}: {role} is granted SNS, and sends no email")
    publishers = next(s for s in as_list(expanded["Resources"]["ApprovalEmailTopicPolicy"]["Properties"]
                                         ["PolicyDocument"]["Statement"]) if s.get("Sid") == "OnlyTheGatePublishes")
    allowed = as_list(publishers["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    wanted = [f"arn:{PARTITION}:iam::{ACCOUNT}:role/{STACK}-send-email"]
    if allowed != wanted:
        problems.append(f"{params}: the topic's policy lets {allowed} publish, expected {wanted}")
    env = function_env(expanded, "SendEmailFunction")
    if email_settings(env) != ("sns", "", topic):
        problems.append(f"{params}: SendEmailFunction email settings {email_settings(env)}")
    problems += callback_sends_nothing(expanded, params)
    problems += no_email_in_the_state_machine(expanded, params)
    problems += translates(expanded, params)
    print(f"sns, AdditionalApprovers={additional!r}: {len(made_subscriptions)} subscription(s): {', '.join(endpoints)}")
    return problems


def no_email_in_the_state_machine(expanded: dict, params: dict[str, str]) -> list[str]:
    """The state machine sends no email (send-email tells approvers that a request expired): its
    definition gets exactly the three substitutions it uses."""
    substitutions = expanded["Resources"]["HumanApprovalStateMachine"]["Properties"]["DefinitionSubstitutions"]
    wanted = {"SendEmailFunctionArn", "ApiGatewayEndpoint", "ApprovalTimeoutSeconds"}
    return [] if set(substitutions) == wanted else [f"{params}: DefinitionSubstitutions {sorted(substitutions)}"]


def callback_sends_nothing(expanded: dict, params: dict[str, str]) -> list[str]:
    """approval-callback has none of the email settings (it sends no email)."""
    settings = sorted(set(EMAIL_SETTINGS) & set(function_env(expanded, "ApprovalCallbackFunction")))
    return [f"{params}: ApprovalCallbackFunction has the email settings {settings}"] if settings else []


def ses_statement(sender: str) -> dict:
    """The one statement send-email's role gets with EmailDelivery=ses."""
    domain = sender.split("@", 1)[1]
    identity = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/"
    return {"Effect": "Allow", "Action": "ses:SendEmail",
            "Resource": [identity + sender, identity + domain],
            "Condition": {"StringEquals": {"ses:FromAddress": sender}}}


def check_without_sns(template: dict, delivery: str, approvers: list[str]) -> list[str]:
    """EmailDelivery=ses (with SES_SENDER) or none: no SNS at all; with ses, the scoped SendEmail."""
    sender = SES_SENDER if delivery == "ses" else ""
    params = {"Email": approvers[0], "AdditionalApprovers": ",".join(approvers[1:]),
              "EmailDelivery": delivery, "SenderAddress": sender}
    expanded = expand(template, params)
    problems = []
    for kind in SNS_RESOURCES:
        if made(expanded, kind):
            problems.append(f"{delivery}: {kind} made: {sorted(made(expanded, kind))}")
    output = expanded.get("Outputs", {}).get("ApprovalEmailTopicArn")
    if output and ("Condition" not in output or holds({"Condition": output["Condition"]}, expanded["Conditions"])):
        problems.append(f"{delivery}: the output ApprovalEmailTopicArn exists")
    for role in ROLES:
        properties = expanded["Resources"][role]["Properties"]
        statements = [s for p in properties.get("Policies", []) for s in as_list(p["PolicyDocument"]["Statement"])]
        if any(a.startswith("sns:") for s in statements for a in as_list(s["Action"])):
            problems.append(f"{delivery}: {role} is granted SNS")
        ses = [s for s in statements if any(a.startswith("ses:") for a in as_list(s["Action"]))]
        wanted = [ses_statement(sender)] if delivery == "ses" and role == "SendEmailRole" else []
        if json.loads(json.dumps(ses)) != wanted:
            problems.append(f"{delivery}: {role} SES statements {ses}, expected {wanted}")
    env = function_env(expanded, "SendEmailFunction")
    if email_settings(env) != (delivery, sender, ""):
        problems.append(f"{delivery}: SendEmailFunction email settings {email_settings(env)}")
    problems += callback_sends_nothing(expanded, params)
    listed = [a for a in function_env(expanded, "SendEmailFunction")["APPROVERS"].split(",") if a]
    if listed != approvers:
        problems.append(f"{delivery}: send-email's APPROVERS {listed}, expected {approvers}")
    problems += no_email_in_the_state_machine(expanded, params)
    problems += translates(expanded, params)
    print(f"{delivery}: {len(approvers)} approvers, no topic, no subscription"
          + (f"; send-email may ses:SendEmail from {sender} only" if delivery == "ses" else "; no email permission"))
    return problems


def check_rules(template: dict) -> list[str]:
    problems = []
    refused = rules_refuse(template, {"Email": "alice@example.com", "EmailDelivery": "ses"})
    if len(refused) != 1:
        problems.append(f"EmailDelivery=ses without SenderAddress: the Rules refuse {refused}, expected one refusal")
    for params in ({"EmailDelivery": "ses", "SenderAddress": SES_SENDER}, {"EmailDelivery": "sns"},
                   {"EmailDelivery": "none"}, {}):
        if rules_refuse(template, {"Email": "alice@example.com", **params}):
            problems.append(f"{params}: refused by the Rules: {rules_refuse(template, params)}")
    print(f"Rules: EmailDelivery=ses without SenderAddress refused ({refused[0] if refused else 'not refused'})")
    # WafRateLimitPerIp: 0 (no WAF) or at least 10, AWS WAF's lowest rate limit.
    for limit, refusals in (("0", 0), ("1", 1), ("9", 1), ("10", 0), ("300", 0)):
        refused = rules_refuse(template, {"Email": "alice@example.com", "WafRateLimitPerIp": limit})
        if len(refused) != refusals:
            problems.append(f"WafRateLimitPerIp={limit}: the Rules refuse {refused}, expected {refusals} refusal(s)")
    print("Rules: WafRateLimitPerIp 1 and 9 refused, 0, 10 and 300 taken")
    return problems


def unsub(node: Any) -> Any:
    """`node` with each Fn::Sub of a bare string replaced by that string: the processor drops the
    Fn::Sub around a string that names a resource and leaves the string (deployment.py, in
    tools/iam-proof), so both forms compare equal."""
    if isinstance(node, list):
        return [unsub(item) for item in node]
    if isinstance(node, dict):
        if len(node) == 1 and isinstance(node.get("Fn::Sub"), str):
            return node["Fn::Sub"]
        return {key: unsub(value) for key, value in node.items()}
    return node


def check_nudges(template: dict, delivery: str, reminder: str | None) -> list[str]:
    """Reminders and escalations, in each email mode: the schedule group; send-email's settings
    (the group, the scheduler role's fixed ARN, ReminderAfterSeconds: 0 by default) and none of
    them for approval-callback; the scheduler role (assumed by Scheduler only, for this account
    and group) may invoke send-email and nothing else; of the other roles only send-email's has
    Scheduler permissions: Create/DeleteSchedule in the group, PassRole of the scheduler role to
    Scheduler."""
    params = {"Email": "alice@example.com", "EmailDelivery": delivery,
              "SenderAddress": SES_SENDER if delivery == "ses" else ""}
    if reminder is not None:
        params["ReminderAfterSeconds"] = reminder
    expanded = expand(template, params)
    resources = expanded["Resources"]
    problems = []
    groups = made(expanded, "AWS::Scheduler::ScheduleGroup")
    if groups != {"NudgeScheduleGroup": {"Name": NUDGE_GROUP}}:
        problems.append(f"{params}: schedule groups {groups}, expected NudgeScheduleGroup named {NUDGE_GROUP}")
    env = function_env(expanded, "SendEmailFunction")
    settings = {name: env.get(name) for name in NUDGE_SETTINGS}
    wanted_settings = {"SCHEDULE_GROUP": {"Ref": "NudgeScheduleGroup"}, "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
                       "REMINDER_AFTER_SECONDS": reminder or "0"}
    if {k: str(v) if k == "REMINDER_AFTER_SECONDS" else v for k, v in settings.items()} != wanted_settings:
        problems.append(f"{params}: send-email's nudge settings {settings}, expected {wanted_settings}")
    callback_settings = sorted(set(NUDGE_SETTINGS) & set(function_env(expanded, "ApprovalCallbackFunction")))
    if callback_settings:
        problems.append(f"{params}: ApprovalCallbackFunction has the nudge settings {callback_settings}")
    scheduler = resources["SchedulerRole"]["Properties"]
    if scheduler["RoleName"] != SCHEDULER_ROLE_ARN.rsplit("/", 1)[1]:
        problems.append(f"{params}: SchedulerRole is named {scheduler['RoleName']}, not as SCHEDULER_ROLE_ARN says")
    wanted_trust = [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
                     "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": [
                         {"Fn::GetAtt": ["NudgeScheduleGroup", "Arn"]}, NUDGE_SCHEDULES]}}}]
    trust = unsub(as_list(scheduler["AssumeRolePolicyDocument"]["Statement"]))
    if trust != wanted_trust:
        problems.append(f"{params}: SchedulerRole's trust policy {trust}, expected {wanted_trust}")
    invoke = [("lambda:InvokeFunction", [{"Fn::GetAtt": ["SendEmailFunction", "Arn"]}, "${SendEmailFunction.Arn}:*"],
               None)]
    if unsub(grants(expanded, "SchedulerRole")) != invoke:
        problems.append(f"{params}: SchedulerRole grants {grants(expanded, 'SchedulerRole')}, expected {invoke}")
    scheduling = [("scheduler:CreateSchedule", NUDGE_SCHEDULES, None),
                  ("scheduler:DeleteSchedule", NUDGE_SCHEDULES, None),
                  ("iam:PassRole", SCHEDULER_ROLE_ARN,
                   {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}})]
    for role in ROLES:
        if role == "SchedulerRole":
            continue
        granted = [g for g in unsub(grants(expanded, role)) if g[0].startswith(("scheduler:", "iam:"))]
        wanted = scheduling if role == "SendEmailRole" else []
        if granted != wanted:
            problems.append(f"{params}: {role}'s Scheduler and IAM grants {granted}, expected {wanted}")
    problems += translates(expanded, params)
    print(f"{delivery}, ReminderAfterSeconds={reminder or 'default'}: schedule group {NUDGE_GROUP}, "
          f"send-email's REMINDER_AFTER_SECONDS={settings['REMINDER_AFTER_SECONDS']}; the scheduler role invokes "
          "send-email only; only send-email schedules (its group only) and passes that role (to Scheduler only)")
    return problems


def check_trusted(template: dict, trusted: list[str]) -> list[str]:
    params = {"Email": "alice@example.com", "TrustedStateMachineArns": ",".join(trusted)}
    expanded = expand(template, params)
    policies = made(expanded, "AWS::IAM::RolePolicy")
    granted = sorted(
        (props["RoleName"]["Ref"],
         statement["Action"] if isinstance(statement["Action"], str) else tuple(statement["Action"]),
         statement["Resource"])
        for props in policies.values()
        for statement in props["PolicyDocument"]["Statement"]
    )
    wanted = []
    for arn in trusted:
        arn_parts = arn.split(":")
        executions = ":".join([*arn_parts[:5], "execution", arn_parts[6], "*"])
        wanted.append(("SendEmailRole", "states:GetExecutionHistory", executions))
        wanted.append(("ApprovalCallbackRole", "states:SendTaskSuccess", arn))
    problems = [] if granted == sorted(wanted) else [f"{params}: granted {granted}, expected {sorted(wanted)}"]
    # The rule ExecutionEnded follows the executions of the stack's state machine and of each
    # trusted one, nothing else (no empty string for an empty list).
    own = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-HumanApproval"
    event = expanded["Resources"]["SendEmailFunction"]["Properties"]["Events"]["ExecutionEnded"]
    followed = event["Properties"]["Pattern"]["detail"]["stateMachineArn"]
    if followed != [own, *trusted]:
        problems.append(f"{params}: the rule ExecutionEnded follows {followed}, expected {[own, *trusted]}")
    print(f"TrustedStateMachineArns={len(trusted)}: {len(policies)} policies, "
          f"the rule ExecutionEnded follows {len(followed)} state machine(s)")
    return problems


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator wants a region
    logging.disable(logging.WARNING)  # the translator's feature-toggle and metrics chatter
    template = yaml_parse(TEMPLATE.read_text())
    problems = [p for email, additional, expected in CASES for p in check_sns(template, email, additional, expected)]
    problems += check_without_sns(template, "ses", SES_APPROVERS)
    problems += check_without_sns(template, "ses", SES_APPROVERS[:1])
    problems += check_without_sns(template, "none", SES_APPROVERS[:3])
    problems += check_rules(template)
    for delivery, reminder in (("sns", None), ("ses", "86400"), ("none", "31535999")):
        problems += check_nudges(template, delivery, reminder)
    for trusted in ([], TRUSTED[:1], TRUSTED):
        problems += check_trusted(template, trusted)
    print("every case above, after the SAM transform: no dependency cycle; the request table's stream KEYS_ONLY, "
          "read by send-email's role only; one event source mapping into send-email (TRIM_HORIZON, batches of 10, "
          "partial batch responses, 5 retries, records up to 1 h old); no managed policy on any role")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
