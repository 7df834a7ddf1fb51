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
from pathlib import Path

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

PARAMETERS = {
    "Email": "alice@example.com",
    "AdditionalApprovers": "bob@example.com,carol@example.com",
    "TrustedStateMachineArns": ",".join(TRUSTED_STATE_MACHINES),
}


class _NoManagedPolicies(ManagedPolicyLoader):
    """Offline: no IAM client. An AWS managed policy named by the template stays unresolved,
    and policies.py refuses it (it cannot be evaluated without its document)."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def deployed_template(path: Path) -> dict:
    """template.yaml after both transforms, for the test stack and PARAMETERS."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # samtranslator wants a region
    logging.disable(logging.WARNING)  # samtranslator's feature-toggle and metrics chatter
    # Without pseudo parameters the processor drops the Fn::Sub around any string naming one
    # (RoleName became the literal "${AWS::StackName}-send-email"); CloudFormation knows them.
    pseudo = PseudoParameterValues(region=REGION, account_id=ACCOUNT, stack_name=STACK, partition=PARTITION)
    expanded = process_template(yaml_parse(path.read_text()), parameter_values=PARAMETERS, pseudo_parameters=pseudo)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"  # what `sam package` writes
    return transform(copy.deepcopy(expanded), PARAMETERS, _NoManagedPolicies())
