"""What the local stack takes from template.yaml itself: the request table's definition (its
stream included), the event source mapping from that stream to send-email, the EventBridge rule
that sends Step Functions' execution status changes to send-email (and how often Lambda retries
such an asynchronous invocation), and the names of the functions' environment variables. Read
with cfn-lint's decoder, which understands CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import TEMPLATE_PATH, StackError

TABLE_RESOURCE = "ApprovalRequestsTable"
SEND_EMAIL_RESOURCE = "SendEmailFunction"
FUNCTION_RESOURCES = (SEND_EMAIL_RESOURCE, "ApprovalCallbackFunction")

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
    """CreateTable arguments (without TableName; the stream's StreamSpecification when the
    template declares one) and the TTL attribute, as the template defines them."""
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
    # CloudFormation's StreamSpecification names the view type only; CreateTable's also says "on".
    stream = props.get("StreamSpecification") or {}
    if stream.get("StreamViewType"):
        create["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = props.get("TimeToLiveSpecification") or {}
    ttl_attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
    return {"create": create, "ttl_attribute": ttl_attribute}


def _names_table_stream(value: Any) -> bool:
    """`!GetAtt ApprovalRequestsTable.StreamArn`, in either of its decoded forms."""
    getatt = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(getatt, str):
        getatt = getatt.split(".", 1)
    return isinstance(getatt, list) and list(getatt) == [TABLE_RESOURCE, "StreamArn"]


def _names_send_email(value: Any) -> bool:
    """`!Ref SendEmailFunction` or `!GetAtt SendEmailFunction.Arn`."""
    if not isinstance(value, dict):
        return False
    getatt = value.get("Fn::GetAtt")
    if isinstance(getatt, str):
        getatt = getatt.split(".", 1)
    return value.get("Ref") == SEND_EMAIL_RESOURCE or (isinstance(getatt, list)
                                                      and list(getatt) == [SEND_EMAIL_RESOURCE, "Arn"])


def stream_mapping(template: dict[str, Any]) -> dict[str, Any] | None:
    """The properties of the event source mapping from the request table's stream to send-email:
    SendEmailFunction's event of Type DynamoDB on `!GetAtt ApprovalRequestsTable.StreamArn`, or an
    AWS::Lambda::EventSourceMapping from that stream to SendEmailFunction. None when there is none."""
    props = _resource(template, SEND_EMAIL_RESOURCE, "AWS::Serverless::Function")
    for event in (props.get("Events") or {}).values():
        event_props = event.get("Properties") or {}
        if event.get("Type") == "DynamoDB" and _names_table_stream(event_props.get("Stream")):
            return dict(event_props)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        mapping = resource.get("Properties") or {}
        if _names_table_stream(mapping.get("EventSourceArn")) and _names_send_email(mapping.get("FunctionName")):
            return dict(mapping)
    return None


# SAM's event types for an EventBridge rule targeting the function (CloudWatchEvent: the old name).
_RULE_EVENT_TYPES = ("EventBridgeRule", "CloudWatchEvent")


def execution_rule(template: dict[str, Any]) -> dict[str, Any] | None:
    """The properties (Pattern, and whatever else it sets) of SendEmailFunction's event of an
    EventBridge rule on Step Functions' events (its Pattern's `source` has `aws.states`); None
    when the template has none."""
    props = _resource(template, SEND_EMAIL_RESOURCE, "AWS::Serverless::Function")
    for event in (props.get("Events") or {}).values():
        event_props = event.get("Properties") or {}
        pattern = event_props.get("Pattern")
        if event.get("Type") in _RULE_EVENT_TYPES and isinstance(pattern, dict) \
                and "aws.states" in (pattern.get("source") or []):
            return dict(event_props)
    return None


def async_retry_attempts(template: dict[str, Any]) -> int | None:
    """SendEmailFunction's EventInvokeConfig MaximumRetryAttempts (how often Lambda retries an
    asynchronous invocation that failed: an EventBridge rule's); None when not a plain number."""
    props = _resource(template, SEND_EMAIL_RESOURCE, "AWS::Serverless::Function")
    attempts = (props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts")
    return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None


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
