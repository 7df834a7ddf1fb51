"""The stub's DynamoDB table (awsJson1_0, `DynamoDB_20120810.*`): items kept in memory, keyed by
`RequestId`. PutItem honours the two conditions the store uses, `attribute_not_exists(RequestId)`
(create) and `Version = :read` (compare-and-swap), and answers a failed one with
ConditionalCheckFailedException, carrying the old item when ReturnValuesOnConditionCheckFailure
is ALL_OLD. GetItem returns the stored item. Nothing else is emulated."""

from __future__ import annotations

import json
import zlib
from typing import Any

KEY = "RequestId"
CREATE = "attribute_not_exists(RequestId)"
SWAP = "Version = :read"
_FAILED = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"


class Table:
    def __init__(self, name: str):
        self.name = name
        self.items: dict[str, dict] = {}

    def call(self, op: str, body: bytes) -> tuple[int, bytes, str | None, str]:
        """(status, payload, problem, the op as counted): a condition that fails is counted as
        `PutItem (condition failed)`, so that a run expecting none notices."""
        request = json.loads(body)
        if request.get("TableName") != self.name:
            return 400, _error("ResourceNotFoundException", "no such table"), \
                f"{op} on table {request.get('TableName')!r}, not {self.name!r}", op
        if op == "PutItem":
            return self._put(request)
        if op == "GetItem":
            return self._get(request)
        return 400, _error("UnknownOperationException", op), f"unexpected DynamoDB call {op}", op

    def _put(self, request: dict) -> tuple[int, bytes, str | None, str]:
        item = request.get("Item") or {}
        key = item.get(KEY, {}).get("S")
        if not key:
            return 400, _error("ValidationException", "no key"), f"PutItem without {KEY}", "PutItem"
        condition = request.get("ConditionExpression")
        old = self.items.get(key)
        if condition == CREATE:
            holds = old is None
        elif condition == SWAP:
            read = request.get("ExpressionAttributeValues", {}).get(":read", {}).get("N")
            holds = old is not None and read is not None and int(old["Version"]["N"]) == int(read)
        else:
            return 400, _error("ValidationException", "unsupported condition"), \
                f"PutItem with a condition the stub does not know: {condition!r}", "PutItem"
        if not holds:
            failed: dict[str, Any] = {"__type": _FAILED, "message": "The conditional request failed"}
            if old is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                failed["Item"] = old
            return 400, json.dumps(failed).encode(), None, "PutItem (condition failed)"
        self.items[key] = item
        return 200, b"{}", None, "PutItem"

    def _get(self, request: dict) -> tuple[int, bytes, str | None, str]:
        key = request.get("Key", {}).get(KEY, {}).get("S")
        problem = None if request.get("ConsistentRead") is True else "GetItem without ConsistentRead"
        item = self.items.get(key)
        return 200, (json.dumps({"Item": item}).encode() if item is not None else b"{}"), problem, "GetItem"


def headers(payload: bytes) -> dict:
    """DynamoDB's answers carry a CRC32 of the body (some SDKs check it)."""
    return {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(payload))}


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message}).encode()
