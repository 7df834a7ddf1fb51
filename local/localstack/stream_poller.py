"""The event source mapping from the request table's stream to send-email, played locally.

On AWS, Lambda polls the table's DynamoDB stream and invokes send-email with each batch of
changes, as template.yaml's mapping says (SendEmailFunction's `RecordChanges` event: BatchSize 10,
FunctionResponseTypes [ReportBatchItemFailures], MaximumRetryAttempts 5, BisectBatchOnFunctionError
false, ...; `stream_mapping.mapping_options` reads it). moto has the DynamoDB Streams API but nothing that polls a
stream into a function, so `StreamPoller` does, through the same Invoke API moto's Step Functions
uses (the front of `cargo lambda watch`, invoke_shim.invoke):

* at `start()`, before it returns, it finds the table's LatestStreamArn and takes an iterator for
  every open shard at `starting_position`: LATEST (records written before start() are never
  delivered, every record written after it returned is) or TRIM_HORIZON (everything the stream
  holds: on the local stack's new table, every change since it was created). Shards that appear
  later (DescribeStream, every second, or when `wait_idle` asks) are read from TRIM_HORIZON once
  their parent shard has been read to its end, as Lambda reads a parent before its children;
* one thread polls GetRecords every `poll_interval_s` (0.1 s), shard by shard, up to `batch_size`
  records a call (at most 1,000, GetRecords' own limit): one call's records are one batch, in
  stream order;
* each batch goes to the function as Lambda's DynamoDB Streams event, `{"Records": [...]}`, each
  record with eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb", awsRegion,
  dynamodb {ApproximateCreationDateTime (epoch seconds, whole), Keys, the images the stream's
  view type carries (none with KEYS_ONLY), SequenceNumber, SizeBytes, StreamViewType} and
  eventSourceARN (the stream's ARN);
* the answer: a function error (or no answer at all, or an HTTP status that is neither) retries
  the whole batch. With ReportBatchItemFailures, `{"batchItemFailures": [{"itemIdentifier":
  "<SequenceNumber>"}, ...]}` marks the records before the lowest one delivered and retries from
  it to the end of the batch; a malformed one (an entry without a non-empty itemIdentifier, or
  naming no record of the batch) fails the whole batch, as Lambda says it does; anything else
  (no batchItemFailures, an empty or null one, a null answer) and the batch is done. At most
  `max_retry_attempts` re-invocations per batch (whole or its tail; -1: no limit),
  `retry_backoff_s` doubling up to `max_retry_backoff_s` between them; then the rest of the batch
  is logged and skipped (Lambda discards it after MaximumRetryAttempts; there is no on-failure
  destination here) and the shard moves on. Records older than `max_record_age_s` are skipped
  too, before any invocation, retries included (MaximumRecordAgeInSeconds).

What it did is kept on the object (`invocations`, `retries`, `skipped`, `delivered`,
`read_errors`) and logged through `log` (the stack: its functions log). `wait_idle()` returns once
every record written before the call has been delivered or skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import http.client
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import invoke_shim, moto_server
from .common import SEND_EMAIL_FUNCTION, StackError
from .stream_event import Record, judge_answer, lambda_record
from .stream_mapping import BATCH_SIZE, MAX_RETRY_ATTEMPTS, STARTING_POSITION

POLL_INTERVAL_S = 0.1  # Lambda polls a shard about 4 times a second; here a little more often
DESCRIBE_INTERVAL_S = 1.0  # new shards: how often DescribeStream is asked when nobody waits
RETRY_BACKOFF_S = 0.1  # before the first retry; doubled for each next one
MAX_RETRY_BACKOFF_S = 2.0
READ_ERROR_PAUSE_S = 1.0  # after a failed DescribeStream/GetRecords
GET_RECORDS_LIMIT = 1000  # GetRecords' own maximum
# cargo lambda watch does not enforce a function's Timeout; a synchronous invocation waits this long.
INVOKE_TIMEOUT_S = 60.0



@dataclasses.dataclass(frozen=True)
class BatchInvocation:
    """One invocation of the function with one batch (or the tail of one)."""

    shard_id: str
    sequence_numbers: tuple[str, ...]  # the records sent, in order
    attempt: int  # 0: the first invocation of these records' batch; n: its nth retry
    # "ok", "partial" (batchItemFailures), "function_error", "invalid_response" (a malformed
    # batchItemFailures) or "invoke_failed" (no answer, or an HTTP status that is neither)
    outcome: str
    detail: str = ""
    failed_from: str | None = None  # "partial": the lowest sequence number reported failed


@dataclasses.dataclass(frozen=True)
class SkippedBatch:
    """Records given up on: after the last retry (Lambda: discarded after MaximumRetryAttempts),
    or too old (MaximumRecordAgeInSeconds)."""

    shard_id: str
    sequence_numbers: tuple[str, ...]
    reason: str  # the last invocation's outcome and detail, or the records' age


@dataclasses.dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    started: bool = False  # has an iterator (at start, or once its parent is done)
    finished: bool = False  # read to its end (closed), or closed before the poller started


def _span(sequence_numbers: tuple[str, ...]) -> str:
    if len(sequence_numbers) == 1:
        return f"record {sequence_numbers[0]}"
    return f"{len(sequence_numbers)} records {sequence_numbers[0]}..{sequence_numbers[-1]}"


class StreamPoller:
    """Start with `stop = poller.start()`; `stop()` ends the thread (an invocation in flight is
    left to finish or fail on its own)."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table_name: str,
        functions_url: str,
        *,
        function: str = SEND_EMAIL_FUNCTION,
        log: Callable[[str], None] | None = None,
        starting_position: str = STARTING_POSITION,
        batch_size: int = BATCH_SIZE,
        report_batch_item_failures: bool = True,
        max_retry_attempts: int = MAX_RETRY_ATTEMPTS,
        max_record_age_s: float | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        describe_interval_s: float = DESCRIBE_INTERVAL_S,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        max_retry_backoff_s: float = MAX_RETRY_BACKOFF_S,
        invoke_timeout_s: float = INVOKE_TIMEOUT_S,
    ) -> None:
        if starting_position not in ("LATEST", "TRIM_HORIZON"):
            raise StackError(f"the stream poller starts at LATEST or TRIM_HORIZON, not {starting_position!r}")
        if not 1 <= batch_size <= 10_000:
            raise StackError(f"the stream poller's batch size must be 1..10000 (Lambda's range), got {batch_size}")
        self.dynamodb = dynamodb  # used by start() only, in the caller's thread
        self.streams = streams  # used by the poller's thread only, once started
        self.table_name = table_name
        self.functions_url = functions_url  # the Invoke API: the front of cargo lambda watch
        self.function = function
        self._log_line = log or (lambda line: None)
        self.starting_position = starting_position
        self.batch_size = batch_size
        self.report_batch_item_failures = report_batch_item_failures
        self.max_retry_attempts = max_retry_attempts  # -1: no limit
        self.max_record_age_s = max_record_age_s  # None: no limit
        self.poll_interval_s = poll_interval_s
        self.describe_interval_s = describe_interval_s
        self.retry_backoff_s = retry_backoff_s
        self.max_retry_backoff_s = max_retry_backoff_s
        self.invoke_timeout_s = invoke_timeout_s
        self.stream_arn = ""
        self.view_type = ""
        self.region = ""
        # What it did, in order (appended by the poller's thread; read them any time).
        self.invocations: list[BatchInvocation] = []
        self.skipped: list[SkippedBatch] = []
        self.delivered: list[str] = []  # sequence numbers whose invocation succeeded (per shard in order)
        self.retries = 0  # re-invocations, whole batches and tails alike
        self.read_errors: list[str] = []  # failed DescribeStream/GetRecords calls
        self._shards: dict[str, _Shard] = {}
        self._changed = threading.Condition()
        self._ticks = itertools.count(1)
        self._idle_tick = 0  # the start tick of the latest round that found nothing to read or do
        self._wanted_tick = -1  # wait_idle waits for an idle round that began after this tick (-1: nobody)
        self._describe_soon = False  # a shard was read to its end: its children may be there
        self._stopping = threading.Event()
        # Held for each polling round; paused(): no round runs (a test plays the function alone).
        self._round = threading.Lock()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._failure: str | None = None  # the thread died of this
        self._last_error = ""

    def settings(self) -> str:
        retries = "unlimited retries" if self.max_retry_attempts < 0 else f"{self.max_retry_attempts} retries"
        age = "" if self.max_record_age_s is None else f", records older than {self.max_record_age_s:g}s skipped"
        failures = "ReportBatchItemFailures" if self.report_batch_item_failures else "no ReportBatchItemFailures"
        return (f"from {self.starting_position}, batches of up to {self.batch_size}, {failures}, "
                f"{retries} then skipped{age}")

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Callable[[], None]:
        """Take the stream's starting positions now, then poll in a thread; returns the stop."""
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        spec = table.get("StreamSpecification") or {}
        if not table.get("LatestStreamArn") or not spec.get("StreamEnabled"):
            raise StackError(f"table {self.table_name} has no stream: nothing for the stream poller to follow "
                             f"(template.yaml's ApprovalRequestsTable has no StreamSpecification)")
        self.stream_arn = table["LatestStreamArn"]
        self.view_type = spec.get("StreamViewType", "")
        self.region = self.stream_arn.split(":")[3]
        for description in self._describe_shards():
            shard = _Shard(description["ShardId"], description.get("ParentShardId"))
            if "EndingSequenceNumber" in description.get("SequenceNumberRange", {}):
                # Closed before we started: from LATEST nothing in it is ours; from TRIM_HORIZON
                # its children wait for it to be read (_discover starts it).
                shard.finished = self.starting_position == "LATEST"
            self._shards[shard.shard_id] = shard
        for shard in self._shards.values():
            parent = self._shards.get(shard.parent_id) if shard.parent_id else None
            if not shard.finished and (self.starting_position == "LATEST" or parent is None):
                shard.iterator = self._shard_iterator(shard.shard_id, self.starting_position)
                shard.started = True
        self._log("INFO", f"following {self.stream_arn} ({self.view_type}) into {self.function} "
                          f"({len(self._shards)} shard(s)): {self.settings()}")
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Return once every record written before this call has been delivered (or skipped): a
        whole polling round that began after the call, DescribeStream included, found no record in
        any shard and nothing else to do. StackError when that takes longer than `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            mark = next(self._ticks)
            self._wanted_tick = max(self._wanted_tick, mark)  # rounds describe the stream until then
            while self._idle_tick <= mark:
                if self._failure is not None:
                    raise StackError(f"the stream poller stopped: {self._failure}")
                if self._thread is None or not self._thread.is_alive():
                    raise StackError("the stream poller is not running")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StackError(f"the stream poller did not catch up within {timeout:g}s "
                                     f"(last read error: {self._last_error or 'none'})")
                self._changed.wait(min(left, 0.5))

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No polling round runs inside (the one in flight, if any, is waited for): a test can
        invoke the function with a change itself, alone. Records written meanwhile are delivered
        after, as Lambda would deliver them late. Do not wait_idle() inside."""
        with self._round:
            self._paused = True
        try:
            yield
        finally:
            with self._round:
                self._paused = False

    # ---- the polling thread ----------------------------------------------------------------

    def _run(self) -> None:
        last_describe = time.monotonic()
        try:
            while not self._stopping.is_set():
                with self._changed:
                    tick = next(self._ticks)
                    # Only a round that asked DescribeStream too can tell a waiter all is read.
                    describe = (self._idle_tick <= self._wanted_tick or self._describe_soon
                                or time.monotonic() - last_describe >= self.describe_interval_s)
                    self._describe_soon = False
                try:
                    with self._round:
                        if self._paused:
                            self._stopping.wait(self.poll_interval_s)
                            continue
                        busy = False
                        if describe:
                            last_describe = time.monotonic()
                            busy = self._discover()
                        for shard in list(self._shards.values()):
                            if self._stopping.is_set():
                                return
                            if shard.started and not shard.finished:
                                busy = self._poll(shard) or busy
                except Exception as err:  # noqa: BLE001 (moto's errors, the table gone: log, pause, go on)
                    self._read_failed(err)
                    self._stopping.wait(READ_ERROR_PAUSE_S)
                    continue
                if describe and not busy:
                    with self._changed:
                        self._idle_tick = max(self._idle_tick, tick)
                        self._changed.notify_all()
                self._stopping.wait(self.poll_interval_s)
        except BaseException as err:
            with self._changed:
                self._failure = f"{type(err).__name__}: {err}"
                self._changed.notify_all()
            self._log("ERROR", f"stopped: {self._failure}")
            raise

    def _read_failed(self, err: Exception) -> None:
        message = f"{type(err).__name__}: {err}"
        self.read_errors.append(message)
        if message != self._last_error:  # once per kind of failure, not once a second
            self._log("WARN", f"reading the stream failed, retrying every {READ_ERROR_PAUSE_S:g}s: {message}")
        self._last_error = message

    def _describe_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _shard_iterator(self, shard_id: str, kind: str) -> str:
        return str(self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                                   ShardIteratorType=kind)["ShardIterator"])

    def _discover(self) -> bool:
        """New shards noted; those whose parent is done (or gone) started from TRIM_HORIZON: all
        their records were written after the poller started. True when anything changed."""
        changed = False
        for description in self._describe_shards():
            if description["ShardId"] not in self._shards:
                shard = _Shard(description["ShardId"], description.get("ParentShardId"))
                self._shards[shard.shard_id] = shard
                self._log("INFO", f"new shard {shard.shard_id} (parent {shard.parent_id or 'none'})")
                changed = True
        for shard in self._shards.values():
            if shard.started or shard.finished:
                continue
            parent = self._shards.get(shard.parent_id) if shard.parent_id else None
            if parent is None or parent.finished:
                shard.iterator = self._shard_iterator(shard.shard_id, "TRIM_HORIZON")
                shard.started = True
                changed = True
        return changed

    def _poll(self, shard: _Shard) -> bool:
        """One GetRecords on the shard and its batch delivered; True when it read anything (or
        found the shard closed and read to its end)."""
        assert shard.iterator is not None
        answer = self.streams.get_records(ShardIterator=shard.iterator,
                                          Limit=min(self.batch_size, GET_RECORDS_LIMIT))
        # Mapped before the iterator moves on: a record that cannot be mapped is read again.
        records = [lambda_record(raw, self.view_type, self.region, self.stream_arn)
                   for raw in answer.get("Records") or []]
        used, shard.iterator = shard.iterator, answer.get("NextShardIterator")
        moto_server.forget_shard_iterator(used)
        if records:
            self._deliver(shard, records)
        if shard.iterator is None:  # closed and read to its end: its children may start
            shard.finished = True
            self._log("INFO", f"shard {shard.shard_id} closed and read to its end")
            with self._changed:
                self._describe_soon = True
            return True
        return bool(records)

    # ---- delivery --------------------------------------------------------------------------

    def _deliver(self, shard: _Shard, records: list[Record]) -> None:
        pending = records
        attempt = 0
        while True:
            pending = self._drop_expired(shard, pending)
            if not pending:
                return
            sequence_numbers = tuple(r.sequence_number for r in pending)
            outcome, detail, failed_at = self._invoke(pending, sequence_numbers)
            self.invocations.append(BatchInvocation(
                shard.shard_id, sequence_numbers, attempt, outcome, detail,
                sequence_numbers[failed_at] if failed_at is not None else None))
            what = f"{self.function} with {_span(sequence_numbers)} of shard {shard.shard_id}"
            if outcome == "ok":
                self.delivered.extend(sequence_numbers)
                self._log("INFO", f"invoked {what}" + (f" (retry {attempt})" if attempt else "") + ": ok")
                return
            if failed_at is not None:  # batchItemFailures: the records before the lowest one are done
                self.delivered.extend(sequence_numbers[:failed_at])
                pending = pending[failed_at:]
            if 0 <= self.max_retry_attempts <= attempt:
                left = tuple(r.sequence_number for r in pending)
                self.skipped.append(SkippedBatch(shard.shard_id, left, f"{outcome}: {detail}"))
                self._log("WARN", f"invoked {what}: {outcome} ({detail}); {self.max_retry_attempts} retries spent, "
                                  f"{_span(left)} skipped")
                return
            attempt += 1
            self.retries += 1
            backoff = min(self.retry_backoff_s * 2 ** (attempt - 1), self.max_retry_backoff_s)
            self._log("WARN", f"invoked {what}: {outcome} ({detail}); retry {attempt} in {backoff:g}s "
                              f"from {pending[0].sequence_number}")
            if self._stopping.wait(backoff):
                return

    def _drop_expired(self, shard: _Shard, records: list[Record]) -> list[Record]:
        if self.max_record_age_s is None:
            return records
        now = time.time()
        expired = tuple(r.sequence_number for r in records if now - r.created > self.max_record_age_s)
        if not expired:
            return records
        reason = f"older than MaximumRecordAgeInSeconds ({self.max_record_age_s:g}s)"
        self.skipped.append(SkippedBatch(shard.shard_id, expired, reason))
        self._log("WARN", f"{_span(expired)} of shard {shard.shard_id} skipped: {reason}")
        return [r for r in records if r.sequence_number not in expired]

    def _invoke(self, records: list[Record], sequence_numbers: tuple[str, ...]) -> tuple[str, str, int | None]:
        """(outcome, detail, position of the lowest failed record when "partial")."""
        try:
            answer = invoke_shim.invoke(self.functions_url, self.function, {"Records": [r.event for r in records]},
                                        timeout=self.invoke_timeout_s)
        except (OSError, http.client.HTTPException) as err:
            return "invoke_failed", f"no answer from {self.functions_url}: {err}", None
        if answer.function_error:
            message = answer.payload.get("errorMessage", "") if isinstance(answer.payload, dict) else ""
            return "function_error", f"{answer.error_type}: {str(message)[:300]}", None
        if answer.status != 200:
            return "invoke_failed", f"HTTP {answer.status}: {str(answer.payload)[:300]}", None
        if not self.report_batch_item_failures:
            return "ok", "", None
        return judge_answer(answer.payload, sequence_numbers)

    # ---- log -------------------------------------------------------------------------------

    def _log(self, level: str, message: str) -> None:
        now = datetime.datetime.now(datetime.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        try:
            self._log_line(f"{stamp} {level:>5} stream_poller: {message}")
        except OSError:
            pass  # a log that cannot be written must not stop the deliveries
