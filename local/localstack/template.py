"""What the local stack takes from template.yaml itself: the request table's definition and the
names of the functions' environment variables. Read with cfn-lint's decoder, which understands
CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import TEMPLATE_PATH, StackError

TABLE_RESOURCE = "ApprovalRequestsTable"
FUNCTION_RESOURCES = ("SendEmailFunction", "ApprovalCallbackFunction")

# docs/architecture.md "Settings": used until the template's functions name exactly these.
V2_FUNCTION_VARIABLES = (
    "REQUESTS_TABLE", "TOPIC_ARN", "LINK_MODE", "API_URL", "APPROVERS", "STATE_MACHINE_ARN",
    "TRUSTED_STATE_MACHINE_ARNS", "DEFAULT_EXPIRY_SECONDS", "RETENTION_DAYS", "REDIRECT_URL",
)
# v1's variables: a template that still has them is the one being rewritten, not a new setting.
V1_FUNCTION_VARIABLES = {"LINK_KEY_ID", "LINK_TTL_SECONDS", "APPROVER_EMAIL"}


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


def function_variables(template: dict[str, Any]) -> tuple[list[str], str]:
    """The environment variable names of both functions (union, in template order), and where
    they came from (for the progress line). A variable of docs/architecture.md's list that the
    template does not set (yet) is set too, and named in the note."""
    names: list[str] = []
    for resource in FUNCTION_RESOURCES:
        props = _resource(template, resource, "AWS::Serverless::Function")
        for name in (props.get("Environment") or {}).get("Variables") or {}:
            if name not in names:
                names.append(name)
    if not names or V1_FUNCTION_VARIABLES & set(names):
        return list(V2_FUNCTION_VARIABLES), "docs/architecture.md (template.yaml still has v1's variables)"
    missing = [name for name in V2_FUNCTION_VARIABLES if name not in names]
    if missing:
        return names + missing, f"template.yaml, plus {', '.join(missing)} (docs/architecture.md; not in the template)"
    return names, "template.yaml"
