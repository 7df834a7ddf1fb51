"""What template.yaml's event source mapping from the request table's stream to send-email says,
as StreamPoller keyword arguments, and what of it the local stack does not emulate."""

from __future__ import annotations

from typing import Any

# The mapping's settings when template.yaml declares none (the design's: the brief of the change).
STARTING_POSITION = "LATEST"
BATCH_SIZE = 10
MAX_RETRY_ATTEMPTS = 5
# Properties of a mapping that only say what it connects (the stack knows that already).
_MAPPING_WIRING = {"Stream", "EventSourceArn", "FunctionName", "Enabled"}


def mapping_options(properties: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """StreamPoller keyword arguments from template.yaml's mapping (template.stream_mapping), and
    what of it the poller does not do (one note each). No mapping: the defaults above."""
    if properties is None:
        return {}, ["template.yaml declares no event source mapping from the table's stream to send-email: "
                    f"the design's settings (StartingPosition {STARTING_POSITION}, BatchSize {BATCH_SIZE}, "
                    f"ReportBatchItemFailures, MaximumRetryAttempts {MAX_RETRY_ATTEMPTS})"]
    options: dict[str, Any] = {}
    notes: list[str] = []

    def literal(name: str, kind: type | tuple[type, ...]) -> Any:
        value = properties.get(name)
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            notes.append(f"{name} is not a plain value ({value!r}): the poller's default is used")
            return None
        return value

    position = literal("StartingPosition", str)
    if position in ("LATEST", "TRIM_HORIZON"):
        options["starting_position"] = position
    elif position is not None:
        notes.append(f"StartingPosition {position} is not one DynamoDB streams have: {STARTING_POSITION} is used")
    if (batch_size := literal("BatchSize", int)) is not None:
        options["batch_size"] = batch_size
    if (attempts := literal("MaximumRetryAttempts", int)) is not None:
        options["max_retry_attempts"] = attempts
    if (age := literal("MaximumRecordAgeInSeconds", int)) is not None:
        options["max_record_age_s"] = None if age == -1 else float(age)
    types = literal("FunctionResponseTypes", list)
    options["report_batch_item_failures"] = "ReportBatchItemFailures" in (types or [])
    if literal("BisectBatchOnFunctionError", bool):
        notes.append("BisectBatchOnFunctionError is not emulated: a failing batch is retried whole")
    if literal("MaximumBatchingWindowInSeconds", int):
        notes.append("MaximumBatchingWindowInSeconds is not emulated: each poll's records are invoked at once")
    if (factor := literal("ParallelizationFactor", int)) not in (None, 1):
        notes.append(f"ParallelizationFactor {factor} is not emulated: one batch per shard at a time")
    handled = {"StartingPosition", "BatchSize", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
               "FunctionResponseTypes", "BisectBatchOnFunctionError", "MaximumBatchingWindowInSeconds",
               "ParallelizationFactor"}
    for name in sorted(set(properties) - handled - _MAPPING_WIRING):
        notes.append(f"{name} is not emulated")
    return options, notes
