"""The approval requests' DynamoDB table in moto: created from template.yaml's own definition
(its index and its stream included), and read back by the tests (votes, outcome, what is and is not
stored)."""

from __future__ import annotations

import decimal
from typing import Any

from . import template as template_file

TABLE_NAME = "approval-requests"
def create_table(dynamodb: Any, template: dict[str, Any], name: str = TABLE_NAME) -> str:
    definition = template_file.table_definition(template)
    dynamodb.create_table(TableName=name, **definition["create"])
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    if definition["ttl_attribute"]:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": definition["ttl_attribute"], "Enabled": True}
        )
    return name


def _plain(value: Any) -> Any:
    """DynamoDB's numbers come back as Decimal; whole ones read better as int."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


class RequestTable:
    """Read access to the records, as plain Python values (the attribute names of the record)."""

    def __init__(self, dynamodb: Any, name: str = TABLE_NAME) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.dynamodb = dynamodb
        self.name = name
        self._from_ddb = TypeDeserializer().deserialize
        self._to_ddb = TypeSerializer().serialize

    def _item(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {k: _plain(self._from_ddb(v)) for k, v in raw.items()}

    def get(self, request_id: str) -> dict[str, Any] | None:
        raw = self.dynamodb.get_item(TableName=self.name, Key={"RequestId": {"S": request_id}}, ConsistentRead=True)
        return self._item(raw["Item"]) if "Item" in raw else None

    def get_raw(self, request_id: str) -> dict[str, Any] | None:
        """The item as DynamoDB holds it (typed attribute values)."""
        return self.dynamodb.get_item(TableName=self.name, Key={"RequestId": {"S": request_id}}).get("Item")

    def put_raw(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.name, Item=item)

    def delete(self, request_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.name, Key={"RequestId": {"S": request_id}})

    def all(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.name, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(self._item(raw) for raw in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def of_execution(self, execution_arn: str) -> list[dict[str, Any]]:
        return [item for item in self.all() if item.get("ExecutionArn") == execution_arn]

    def count(self) -> int:
        return len(self.all())
