"""Lambda's DynamoDB Streams side, as the local stack plays it: one GetRecords record as the
event Lambda gives the function (eventVersion 1.1, whole epoch seconds, the images the stream's
view type carries, attribute values in their JSON form), and the function's answer under
ReportBatchItemFailures as Lambda reads it."""

from __future__ import annotations

import base64
import dataclasses
import datetime
from typing import Any

EVENT_VERSION = "1.1"  # what Lambda's DynamoDB Streams events carry (moto's GetRecords says "1.0")
IMAGES = {"NewImage": ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"), "OldImage": ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")}


@dataclasses.dataclass(frozen=True)
class Record:
    """One record of a batch: its event as the function gets it, and when it was written."""

    event: dict[str, Any]  # as the function gets it
    created: float  # ApproximateCreationDateTime as moto has it (milliseconds), for the age limit

    @property
    def sequence_number(self) -> str:
        return str(self.event["dynamodb"]["SequenceNumber"])


def wire(value: Any) -> Any:
    """An attribute value back in the JSON form Lambda sends: botocore decodes B and BS to bytes."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [wire(v) for v in value]
    return value


def epoch(value: Any) -> float:
    """botocore parses ApproximateCreationDateTime (a number on the wire) into a datetime."""
    return value.timestamp() if isinstance(value, datetime.datetime) else float(value)


def lambda_record(raw: dict[str, Any], view_type: str, region: str, stream_arn: str) -> Record:
    """One GetRecords record as Lambda's DynamoDB Streams event carries it."""
    stream = raw["dynamodb"]
    view_type = stream.get("StreamViewType") or view_type
    created = epoch(stream["ApproximateCreationDateTime"])
    # Epoch seconds, rounded down to the second, as DynamoDB Streams documents it.
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": int(created // 1), "Keys": wire(stream["Keys"])}
    for image, view_types in IMAGES.items():
        if view_type in view_types and image in stream:  # KEYS_ONLY: neither, whatever moto sends
            dynamodb[image] = wire(stream[image])
    dynamodb.update({"SequenceNumber": stream["SequenceNumber"], "SizeBytes": stream["SizeBytes"],
                     "StreamViewType": view_type})
    event: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:  # TTL deletions on AWS (moto never expires items)
        event["userIdentity"] = raw["userIdentity"]
    return Record(event, created)


def judge_answer(payload: Any, sequence_numbers: tuple[str, ...]) -> tuple[str, str, int | None]:
    """The function's answer under ReportBatchItemFailures, as Lambda reads it: no
    batchItemFailures (or an empty or null one, or no object at all) is a complete success; a
    malformed one a complete failure; else a retry from the lowest sequence number reported."""
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None or failures == []:
        return "ok", "", None
    if not isinstance(failures, list):
        return "invalid_response", f"batchItemFailures is not a list: {str(failures)[:200]}", None
    positions = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return "invalid_response", f"batchItemFailures entry without an itemIdentifier: {failure!r:.200}", None
        if identifier not in sequence_numbers:
            return "invalid_response", f"itemIdentifier {identifier!r:.100} names no record of the batch", None
        positions.append(sequence_numbers.index(identifier))
    first = min(positions)
    return "partial", f"batchItemFailures from {sequence_numbers[first]}", first
