#!/usr/bin/env python3
"""Checks that nothing the template turns on can write a link's credential (its query string) or
a task token somewhere a reader of logs or traces sees it, and that what it writes can be written,
for the default parameters and with every optional part on (ApiAccessLogs=on,
CallbackReservedConcurrency=20, WafRateLimitPerIp=300), after the SAM transform:
  - the stage: no X-Ray (API Gateway's trace segment records the request URL with its query
    string), no execution logging and no data tracing on any method;
  - its access log: none with ApiAccessLogs=off; with on, into the stack's access log group, one
    JSON object whose values are only the allowed $context variables (never $context.path,
    $input, $method.request: the path and query string);
  - the WAF web ACL and its rule keep no sampled requests (they hold the request URI), and nothing
    logs the web ACL;
  - every log group is encrypted with the stack's key, has a retention, and is named in the key
    policy's statement for CloudWatch Logs (else Logs cannot use the key and the deployment fails);
  - both functions are traced (Lambda's segments hold no request data); approval-callback's
    reserved concurrency is CallbackReservedConcurrency, none when it is 0.
Usage: check_credential_sinks.py [template.yaml]
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from template_offline import ACCOUNT, PARTITION, REGION, STACK, expand, made, translated

TEMPLATE = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "template.yaml")

BASE = {"Email": "alice@example.com"}
ALL_ON = BASE | {"ApiAccessLogs": "on", "CallbackReservedConcurrency": "20", "WafRateLimitPerIp": "300"}
# What an access log line may hold: none of them carries the request's path or query string.
ACCESS_LOG_VARIABLES = {
    "$context.requestId", "$context.identity.sourceIp", "$context.requestTime", "$context.httpMethod",
    "$context.resourcePath", "$context.status", "$context.responseLength", "$context.integrationLatency",
    "$context.identity.userAgent",
}
ACCESS_LOG_GROUP = {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
DATA_KEY = {"Fn::GetAtt": ["ApprovalDataKey", "Arn"]}
PSEUDO_NAMES = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK}


def of_type(cloudformation: dict, kind: str) -> dict[str, dict]:
    return {name: r.get("Properties", {}) for name, r in cloudformation["Resources"].items() if r["Type"] == kind}


def check_stage(cloudformation: dict, params: dict[str, str]) -> list[str]:
    problems = []
    stages = of_type(cloudformation, "AWS::ApiGateway::Stage")
    if len(stages) != 1:
        return [f"{params}: expected one API stage, found {sorted(stages)}"]
    ((name, stage),) = stages.items()
    if stage.get("TracingEnabled"):
        problems.append(f"{params}: {name} has X-Ray on: its segments record each link's query string")
    for setting in stage.get("MethodSettings", []):
        if setting.get("LoggingLevel") != "OFF" or setting.get("DataTraceEnabled") is not False:
            problems.append(f"{params}: {name} logs executions or data ({setting}): every query string")
    access = stage.get("AccessLogSetting")
    if params.get("ApiAccessLogs") != "on":
        if access is not None:
            problems.append(f"{params}: {name} has an access log with ApiAccessLogs off: {access}")
        return problems
    if access is None or access.get("DestinationArn") != ACCESS_LOG_GROUP:
        return problems + [f"{params}: {name}'s access log is not the stack's access log group: {access}"]
    try:
        line = json.loads(access["Format"])
    except (KeyError, json.JSONDecodeError) as err:
        return problems + [f"{params}: {name}'s access log format is not one JSON object: {err}"]
    for key, value in line.items():
        used = set(re.findall(r"\$[A-Za-z][A-Za-z0-9_.]*", value))
        if not used or used - ACCESS_LOG_VARIABLES:
            problems.append(f"{params}: access log field {key!r} = {value!r}: only {sorted(ACCESS_LOG_VARIABLES)}")
    return problems


def check_waf(cloudformation: dict, params: dict[str, str]) -> list[str]:
    problems = []
    acls = of_type(cloudformation, "AWS::WAFv2::WebACL")
    if (params.get("WafRateLimitPerIp", "0") != "0") != bool(acls):
        problems.append(f"{params}: web ACLs {sorted(acls)} do not follow WafRateLimitPerIp")
    for name, acl in acls.items():
        for where, config in [(name, acl["VisibilityConfig"])] + [
            (f"{name} rule {rule['Name']}", rule["VisibilityConfig"]) for rule in acl.get("Rules", [])
        ]:
            if config.get("SampledRequestsEnabled") is not False:
                problems.append(f"{params}: {where} keeps sampled requests: their URIs hold the credentials")
    if of_type(cloudformation, "AWS::WAFv2::LoggingConfiguration"):
        problems.append(f"{params}: the web ACL is logged: its log holds each request's URI")
    return problems


def resolved(value: Any) -> str:
    """A name or ARN with its pseudo parameters substituted (the processor has mostly done it)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO_NAMES[m.group(1)], text)


def logs_may_use_key(cloudformation: dict) -> set[str]:
    """The log group ARNs the key policy lets CloudWatch Logs encrypt for."""
    policy = cloudformation["Resources"]["ApprovalDataKey"]["Properties"]["KeyPolicy"]
    return {
        resolved(arn)
        for statement in policy["Statement"]
        if statement.get("Sid") == "LogsEncryptsStackLogGroups"
        for arn in statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    }


def check_log_groups(cloudformation: dict, params: dict[str, str]) -> list[str]:
    problems = []
    allowed = logs_may_use_key(cloudformation)
    for name, group in of_type(cloudformation, "AWS::Logs::LogGroup").items():
        if group.get("KmsKeyId") != DATA_KEY:
            problems.append(f"{params}: log group {name} is not encrypted with the stack's key")
        if not group.get("RetentionInDays"):
            problems.append(f"{params}: log group {name} keeps its lines forever")
        arn = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{resolved(group['LogGroupName'])}"
        if arn not in allowed:
            problems.append(f"{params}: log group {name}: not in the key policy's grant to Logs")
    return problems


def check_functions(cloudformation: dict, params: dict[str, str]) -> list[str]:
    problems = []
    functions = of_type(cloudformation, "AWS::Lambda::Function")
    for name, function in functions.items():
        if function.get("TracingConfig") != {"Mode": "Active"}:
            problems.append(f"{params}: {name} is not traced")
    reserved = functions["ApprovalCallbackFunction"].get("ReservedConcurrentExecutions")
    reserved = None if reserved is None else int(reserved)
    wanted = int(params.get("CallbackReservedConcurrency", "0")) or None
    if reserved != wanted:
        problems.append(f"{params}: approval-callback reserves {reserved}, CallbackReservedConcurrency asks {wanted}")
    if "ReservedConcurrentExecutions" in functions["SendEmailFunction"]:
        problems.append(f"{params}: send-email reserves concurrency")
    return problems


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    logging.disable(logging.WARNING)
    template = yaml_parse(TEMPLATE.read_text())
    problems: list[str] = []
    for params in (BASE, ALL_ON):
        expanded = expand(template, params)
        expanded["Resources"] = {
            name: resource for name, resource in expanded["Resources"].items()
            if name in made(expanded, resource.get("Type", ""))
        }
        cloudformation, refused = translated(expanded, params)
        if cloudformation is None:
            problems += refused
            continue
        for check in (check_stage, check_waf, check_log_groups, check_functions):
            problems += check(cloudformation, params)
    print("with the defaults and with every optional part on: no X-Ray, execution log or data trace on the stage; "
          "the access log (ApiAccessLogs=on only) without path or query string; no sampled or logged WAF requests; "
          "every log group under the stack's key, with a retention, allowed by the key policy; both functions traced; "
          "approval-callback's reserved concurrency as asked")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
