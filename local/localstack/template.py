"""What the local stack takes from template.yaml itself: the request table's definition and the
names of the functions' environment variables. Read with cfn-lint's decoder, which understands
CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import TEMPLATE_PATH, StackError

TABLE_RESOURCE = "ApprovalRequestsTable"
FUNCTION_RESOURCES = ("SendEmailFunction", "ApprovalCallbackFunction")

def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    import cfnlint.decode

    template, problems = cfnlint.decode.decode(path)
    if template is None or problems:
        raise StackError(f"{path} could not be read: {'; '.join(str(p) for p in problems)}")
    return template


def _resource(template: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    resource = template.get("Resources", {}).get(name)
    if not resource or resource.get("Type") != kind:
        raise StackError(f"template.yaml has no {kind} resource {name}")
    return resource.get("Properties", {})


def table_definition(template: dict[str, Any]) -> dict[str, Any]:
    """CreateTable arguments (without TableName) and the TTL attribute, as the template defines them."""
    props = _resource(template, TABLE_RESOURCE, "AWS::DynamoDB::Table")
    create: dict[str, Any] = {
        "KeySchema": [dict(k) for k in props["KeySchema"]],
        "AttributeDefinitions": [dict(a) for a in props["AttributeDefinitions"]],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if create["BillingMode"] == "PROVISIONED":
        create["ProvisionedThroughput"] = dict(props["ProvisionedThroughput"])
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_kind):
            create[index_kind] = props[index_kind]
    ttl = props.get("TimeToLiveSpecification") or {}
    ttl_attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
    return {"create": create, "ttl_attribute": ttl_attribute}


def function_variables(template: dict[str, Any]) -> list[str]:
    """The environment variable names of both functions (union, in template order)."""
    names: list[str] = []
    for resource in FUNCTION_RESOURCES:
        props = _resource(template, resource, "AWS::Serverless::Function")
        for name in (props.get("Environment") or {}).get("Variables") or {}:
            if name not in names:
                names.append(name)
    if not names:
        raise StackError("template.yaml gives the functions no environment variables")
    return names
