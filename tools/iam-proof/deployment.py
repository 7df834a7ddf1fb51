"""The test deployment: template.yaml as CloudFormation would run it for one made-up stack.

The template goes through what a deployment goes through, offline: the AWS::LanguageExtensions
transform (SAM CLI's processor: Fn::ForEach, conditions, Fn::Join/Select/Split over parameters)
and then the AWS::Serverless transform (samtranslator: functions, API, permissions, policy
templates). What is left for intrinsics.py is what CloudFormation itself resolves at deploy time.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from pathlib import Path
from typing import Any

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.lib.cfn_language_extensions.models import PseudoParameterValues
from samcli.yamlhelper import yaml_parse
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "approval-gate"

TRUSTED_STATE_MACHINES = [
    f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:Release",
    f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:Export",
]

# The bus send-email puts the gate's events on: EventBusName's default, the account's default bus.
EVENT_BUS = "default"

PARAMETERS = {
    "Email": "alice@example.com",
    "AdditionalApprovers": "bob@example.com,carol@example.com",
    "TrustedStateMachineArns": ",".join(TRUSTED_STATE_MACHINES),
    "EventBusName": EVENT_BUS,
}
# The same stack mailing through SES instead of SNS (EmailDelivery=ses), with Slack DMs on, the
# WAF web ACL and a key-admin role: the second deployment evaluated. SES_SENDER is verified as an address identity,
# its domain as a domain identity; SLACK_SECRET is the Slack app's secret; KEY_ADMIN_ROLE is
# KeyAdminRoleArn (the default deployment has none).
SES_SENDER = "approvals@example.com"
SLACK_SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:approval-gate/slack-AbCdEf"
KEY_ADMIN_ROLE_NAME = "key-admin"
KEY_ADMIN_ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{KEY_ADMIN_ROLE_NAME}"
PARAMETERS_SES = PARAMETERS | {"EmailDelivery": "ses", "SenderAddress": SES_SENDER,
                               "SlackDelivery": "dm", "SlackSecretArn": SLACK_SECRET,
                               "WafRateLimitPerIp": "300",
                               "KeyAdminRoleArn": KEY_ADMIN_ROLE}


class _NoManagedPolicies(ManagedPolicyLoader):
    """Offline: no IAM client. An AWS managed policy named by the template stays unresolved,
    and policies.py refuses it (it cannot be evaluated without its document)."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


# The processor resolves a Fn::Sub it should leave to CloudFormation when the string names a
# resource (`${Table.Arn}/index/X`): it drops the Fn::Sub and leaves the text. Such a Fn::Sub is
# kept from it under this key and resolved by intrinsics.py as the Fn::Sub it is.
DEFERRED_SUB = "IamProof::Sub"


def _defer_resource_subs(node: Any, resources: set[str]) -> Any:
    """`node` with every Fn::Sub that names one of `resources` renamed to DEFERRED_SUB."""
    if isinstance(node, list):
        return [_defer_resource_subs(item, resources) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and "Fn::Sub" in node:
        text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
        names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
        if names & resources:
            return {DEFERRED_SUB: node["Fn::Sub"]}
    return {key: _defer_resource_subs(item, resources) for key, item in node.items()}


def deployed_template(path: Path, parameters: dict[str, str] = PARAMETERS) -> dict:
    """template.yaml after both transforms, for the test stack and `parameters` (PARAMETERS: the
    default EmailDelivery=sns; PARAMETERS_SES: ses)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # samtranslator wants a region
    logging.disable(logging.WARNING)  # samtranslator's feature-toggle and metrics chatter
    # Without pseudo parameters the processor drops the Fn::Sub around any string naming one
    # (RoleName became the literal "${AWS::StackName}-send-email"); CloudFormation knows them.
    pseudo = PseudoParameterValues(region=REGION, account_id=ACCOUNT, stack_name=STACK, partition=PARTITION)
    template = yaml_parse(path.read_text())
    template = _defer_resource_subs(template, set(template.get("Resources", {})))
    expanded = process_template(template, parameter_values=parameters, pseudo_parameters=pseudo)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"  # what `sam package` writes
    return transform(copy.deepcopy(expanded), parameters, _NoManagedPolicies())
