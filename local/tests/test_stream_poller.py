"""The stream poller (localstack/stream_poller.py) alone: moto's DynamoDB and DynamoDB Streams (the
stack's own set-up, moto_server.start) and, instead of cargo lambda watch, a fake function: a
small HTTP server that speaks watch's Invoke API as invoke_shim.invoke expects it (POST
/2015-03-31/functions/<name>/invocations; 200 and the function's JSON answer, or 500 and
{"errorType", "errorMessage"} for a function error). No Rust, no Step Functions.

Each test gets a table of its own (created as the stack creates the request table: from
template.yaml's definition, the stream always on) and a poller of its own with short intervals.
moto's mock is process-wide, so these run first, before the session's stack starts (`own_stack`)."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localstack import moto_server, store, template
from localstack.common import ACCOUNT_ID, REGION, SEND_EMAIL_FUNCTION
from localstack.net import LocalServer, QuietHandler, free_port, serve_in_thread
from localstack.stream_mapping import mapping_options
from localstack.stream_poller import StreamPoller

pytestmark = pytest.mark.own_stack  # conftest runs these first, before the session's stack

INVOKE_PATH = f"/2015-03-31/functions/{SEND_EMAIL_FUNCTION}/invocations"
WARM_UP = "warm-up"  # a record written to hold the poller (put_in_one_batch)
# What the fake function answers for one event: (HTTP status, JSON body), as cargo lambda watch would.
Answer = Callable[[dict[str, Any]], tuple[int, Any]]
_table_names = (f"stream-test-{n}" for n in itertools.count())


def keys(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["RequestId"]["S"] for record in event["Records"]]


def sequence_numbers(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


def succeed(event: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"Handled": len(event["Records"])}


class FakeFunction:
    """send-email's Invoke API endpoint: every event received, in order; answers from `answer`."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.answer: Answer = succeed
        self._hold: tuple[threading.Event, threading.Event] | None = None
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                event = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                fake.paths.append(self.path)
                fake.events.append(event)
                hold, fake._hold = fake._hold, None
                if hold is not None:
                    arrived, release = hold
                    arrived.set()
                    release.wait(10)
                status, answer = fake.answer(event)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = LocalServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.stop = serve_in_thread(server, "fake-send-email")

    def reset(self) -> None:
        self.events.clear()
        self.paths.clear()
        self.answer = succeed
        self._hold = None

    @contextlib.contextmanager
    def holding(self) -> Iterator[threading.Event]:
        """The next invocation is answered only when the block ends (the event: it has arrived).
        The poller waits for that answer before it reads the shard again."""
        arrived, release = threading.Event(), threading.Event()
        self._hold = (arrived, release)
        try:
            yield arrived
        finally:
            release.set()

    def keys(self) -> list[str]:
        """Every record's key, in the order received (repeats included)."""
        return [key for event in self.events for key in keys(event)]


@pytest.fixture(scope="module")
def moto() -> Iterator[dict[str, Any]]:
    with contextlib.ExitStack() as exit_stack:
        moto_server.start(exit_stack, free_port())
        yield {"dynamodb": moto_server.client("dynamodb"), "streams": moto_server.client("dynamodbstreams"),
               "template": template.load()}


@pytest.fixture(scope="module")
def fake_function() -> Iterator[FakeFunction]:
    fake = FakeFunction()
    yield fake
    fake.stop()


@pytest.fixture
def function(fake_function: FakeFunction) -> FakeFunction:
    fake_function.reset()
    return fake_function


@pytest.fixture
def table(moto: dict[str, Any]) -> str:
    return store.create_table(moto["dynamodb"], moto["template"], name=next(_table_names))


@pytest.fixture
def log_lines() -> list[str]:
    return []


@pytest.fixture
def start_poller(moto: dict[str, Any], table: str, function: FakeFunction,
                 log_lines: list[str]) -> Iterator[Callable[..., StreamPoller]]:
    """start_poller(**options): a poller of `table` into the fake function, started (the mapping's
    settings are the defaults, the design's, unless given; short intervals)."""
    pollers: list[StreamPoller] = []

    def start(**options: Any) -> StreamPoller:
        poller = StreamPoller(moto["dynamodb"], moto["streams"], table, function.url, log=log_lines.append,
                              poll_interval_s=0.02, retry_backoff_s=0.01, max_retry_backoff_s=0.05, **options)
        poller.start()
        pollers.append(poller)
        return poller

    yield start
    for poller in pollers:
        poller.stop()


def put(moto: dict[str, Any], table: str, request_id: str, **attributes: str) -> None:
    item = {"RequestId": {"S": request_id}, **{k: {"S": v} for k, v in attributes.items()}}
    moto["dynamodb"].put_item(TableName=table, Item=item)


def put_in_one_batch(moto: dict[str, Any], table: str, function: FakeFunction, request_ids: list[str]) -> None:
    """A warm-up record first; the others written while the poller waits for the answer to its
    invocation, so that its next GetRecords reads them all: one batch (up to 10)."""
    with function.holding() as arrived:
        put(moto, table, WARM_UP)
        assert arrived.wait(5), "the warm-up record was not delivered"
        for request_id in request_ids:
            put(moto, table, request_id)


def test_the_local_table_has_a_keys_only_stream(moto: dict[str, Any], table: str) -> None:
    described = moto["dynamodb"].describe_table(TableName=table)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert described["LatestStreamArn"].startswith(f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}/stream/")


def test_records_arrive_in_order_as_lambdas_dynamodb_event(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    poller = start_poller()
    put(moto, table, "req-1", Secret="not-for-the-event")
    key = {"RequestId": {"S": "req-1"}}
    moto["dynamodb"].update_item(TableName=table, Key=key, UpdateExpression="SET Outcome = :o",
                                 ExpressionAttributeValues={":o": {"S": "decided"}})
    moto["dynamodb"].delete_item(TableName=table, Key=key)
    for n in range(2, 14):  # 12 more: more than one batch's worth
        put(moto, table, f"req-{n}")
    poller.wait_idle(timeout=5)

    assert set(function.paths) == {INVOKE_PATH}
    assert all(1 <= len(event["Records"]) <= 10 for event in function.events)
    assert function.keys() == ["req-1"] * 3 + [f"req-{n}" for n in range(2, 14)]
    received = [record for event in function.events for record in event["Records"]]
    assert [r["eventName"] for r in received[:4]] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in received]
    assert numbers == sorted(numbers) and len(set(numbers)) == 15
    assert poller.delivered == [r["dynamodb"]["SequenceNumber"] for r in received]
    assert poller.retries == 0 and not poller.skipped
    assert [i.outcome for i in poller.invocations] == ["ok"] * len(function.events)

    stream_arn = moto["dynamodb"].describe_table(TableName=table)["Table"]["LatestStreamArn"]
    first = received[0]
    assert list(first) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                           "eventSourceARN"]
    assert first["eventVersion"] == "1.1" and first["eventSource"] == "aws:dynamodb"
    assert first["awsRegion"] == REGION and first["eventSourceARN"] == stream_arn
    assert isinstance(first["eventID"], str) and first["eventID"]
    assert len({r["eventID"] for r in received}) == 15
    # KEYS_ONLY: the key and nothing else of the item (no NewImage/OldImage, no Secret anywhere).
    assert list(first["dynamodb"]) == ["ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes",
                                       "StreamViewType"]
    assert first["dynamodb"]["Keys"] == {"RequestId": {"S": "req-1"}}
    assert first["dynamodb"]["StreamViewType"] == "KEYS_ONLY"
    assert isinstance(first["dynamodb"]["SequenceNumber"], str)
    assert type(first["dynamodb"]["SizeBytes"]) is int and first["dynamodb"]["SizeBytes"] > 0
    created = first["dynamodb"]["ApproximateCreationDateTime"]
    assert type(created) is int and abs(created - time.time()) < 60
    assert "not-for-the-event" not in json.dumps(function.events)


def test_a_function_error_is_retried_five_times_then_the_batch_is_skipped(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller],
    log_lines: list[str],
) -> None:
    def fail_but_warm_up(event: dict[str, Any]) -> tuple[int, Any]:
        if keys(event) == [WARM_UP]:
            return succeed(event)
        return 500, {"errorType": "SendEmail.Broken", "errorMessage": "always fails"}

    function.answer = fail_but_warm_up
    poller = start_poller()
    put_in_one_batch(moto, table, function, ["bad-0", "bad-1", "bad-2"])
    poller.wait_idle(timeout=5)

    # The warm-up, then one batch of three sent 1 + 5 times, whole, then given up on.
    assert [keys(event) for event in function.events] == [[WARM_UP]] + [["bad-0", "bad-1", "bad-2"]] * 6
    assert all(event == function.events[1] for event in function.events[1:])
    failed = poller.invocations[1:]
    assert [i.attempt for i in failed] == [0, 1, 2, 3, 4, 5]
    assert {i.outcome for i in failed} == {"function_error"}
    assert "SendEmail.Broken: always fails" in failed[0].detail
    assert poller.retries == 5 and len(poller.delivered) == 1  # the warm-up only
    assert [s.sequence_numbers for s in poller.skipped] == [tuple(sequence_numbers(function.events[1]))]
    assert sum(" WARN " in line and "retry" in line for line in log_lines) == 5
    assert sum(" WARN " in line and "skipped" in line for line in log_lines) == 1

    # The shard moves on: the next record is delivered, once.
    function.answer = succeed
    put(moto, table, "good")
    poller.wait_idle(timeout=5)
    assert keys(function.events[-1]) == ["good"] and len(function.events) == 8
    assert len(poller.delivered) == 2 and poller.retries == 5 and len(poller.skipped) == 1


def test_batch_item_failures_resume_from_the_lowest_failed_record(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    batches_seen = itertools.count()

    def fail_two_records_once(event: dict[str, Any]) -> tuple[int, Any]:
        if keys(event) == [WARM_UP] or next(batches_seen) > 0:
            return 200, {"batchItemFailures": []}
        # The 4th and the 2nd record failed: Lambda resumes at the lowest, the 2nd.
        failed = [event["Records"][3], event["Records"][1]]
        return 200, {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}

    function.answer = fail_two_records_once
    poller = start_poller()
    put_in_one_batch(moto, table, function, [f"p-{n}" for n in range(5)])
    poller.wait_idle(timeout=5)

    batches = [sequence_numbers(event) for event in function.events[1:]]
    assert [keys(event) for event in function.events[1:]] == [[f"p-{n}" for n in range(5)],
                                                              [f"p-{n}" for n in range(1, 5)]]
    assert batches[1] == batches[0][1:], "the retry starts at the lowest failed record and goes on to the end"
    assert [i.outcome for i in poller.invocations] == ["ok", "partial", "ok"]
    assert poller.invocations[1].failed_from == batches[0][1]
    assert poller.invocations[2].attempt == 1 and poller.retries == 1 and not poller.skipped
    assert poller.delivered[1:] == batches[0]  # each record once, in order


def test_malformed_batch_item_failures_fail_the_whole_batch(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    answers = iter([(200, {"batchItemFailures": [{"itemIdentifier": ""}]}),
                    (200, {"batchItemFailures": [{"sequenceNumber": "1"}]}),
                    (200, {"batchItemFailures": [{"itemIdentifier": "999"}]})])
    function.answer = lambda event: next(answers, (200, None))  # then a null answer: success
    poller = start_poller()
    put(moto, table, "x")
    poller.wait_idle(timeout=5)
    assert [i.outcome for i in poller.invocations] == ["invalid_response"] * 3 + ["ok"]
    assert len({json.dumps(event) for event in function.events}) == 1  # the same whole batch each time
    assert poller.retries == 3 and not poller.skipped


def test_nothing_before_start_is_delivered_and_nothing_after_is_missed(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    for n in range(5):
        put(moto, table, f"before-{n}")
    poller = start_poller()

    def write(writer: int) -> None:
        for n in range(10):
            put(moto, table, f"after-{writer}-{n}")

    # Written right after start() returned, by four threads at once, while the poller polls.
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    poller.wait_idle(timeout=5)

    received = function.keys()
    assert sorted(received) == sorted(f"after-{w}-{n}" for w in range(4) for n in range(10))
    for w in range(4):  # each writer's records in the order written
        assert [key for key in received if key.startswith(f"after-{w}-")] == [f"after-{w}-{n}" for n in range(10)]
    assert len(poller.delivered) == 40 and not poller.skipped


def test_from_trim_horizon_the_new_tables_earlier_records_come_too(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    for n in range(3):
        put(moto, table, f"before-{n}")
    poller = start_poller(starting_position="TRIM_HORIZON")
    put(moto, table, "after")
    poller.wait_idle(timeout=5)
    assert function.keys() == ["before-0", "before-1", "before-2", "after"]


def test_records_older_than_the_maximum_age_are_skipped_unsent(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    poller = start_poller(max_record_age_s=1.0)
    with function.holding() as arrived:  # the poller waits on the warm-up's answer meanwhile
        put(moto, table, WARM_UP)
        assert arrived.wait(5)
        put(moto, table, "stale")
        time.sleep(1.3)
    put(moto, table, "fresh")
    poller.wait_idle(timeout=5)
    assert function.keys() == [WARM_UP, "fresh"]
    assert [s.reason for s in poller.skipped] == ["older than MaximumRecordAgeInSeconds (1s)"]


def test_without_report_batch_item_failures_the_answer_is_not_read(
    moto: dict[str, Any], table: str, function: FakeFunction, start_poller: Callable[..., StreamPoller]
) -> None:
    function.answer = lambda event: (200, {"batchItemFailures": [{"itemIdentifier": sequence_numbers(event)[0]}]})
    poller = start_poller(report_batch_item_failures=False)
    put(moto, table, "x")
    poller.wait_idle(timeout=5)
    assert [i.outcome for i in poller.invocations] == ["ok"] and poller.retries == 0


def test_the_mapping_is_read_from_the_template() -> None:
    stream = {"Fn::GetAtt": ["ApprovalRequestsTable", "StreamArn"]}
    settings = {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
                "FunctionResponseTypes": ["ReportBatchItemFailures"], "BisectBatchOnFunctionError": False,
                "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 3600}
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
        "Api": {"Type": "Api", "Properties": {}},
        "RecordChanges": {"Type": "DynamoDB", "Properties": {"Stream": stream, **settings}}}}}
    sam_form = {"Resources": {"SendEmailFunction": function}}
    assert template.stream_mapping(sam_form) == {"Stream": stream, **settings}
    mapping_resource = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
        "EventSourceArn": {"Fn::GetAtt": "ApprovalRequestsTable.StreamArn"},
        "FunctionName": {"Ref": "SendEmailFunction"}, "StartingPosition": "LATEST"}}
    cfn_form = {"Resources": {"SendEmailFunction": {"Type": "AWS::Serverless::Function", "Properties": {}},
                              "Mapping": mapping_resource}}
    assert template.stream_mapping(cfn_form) == mapping_resource["Properties"]
    assert template.stream_mapping({"Resources": {"SendEmailFunction": {
        "Type": "AWS::Serverless::Function", "Properties": {}}}}) is None

    options, notes = mapping_options({"Stream": stream, **settings})
    assert options == {"starting_position": "TRIM_HORIZON", "batch_size": 10, "max_retry_attempts": 5,
                       "max_record_age_s": 3600.0, "report_batch_item_failures": True}
    assert notes == []
    options, notes = mapping_options({"Stream": stream, "BisectBatchOnFunctionError": True, "FilterCriteria": {}})
    assert options == {"report_batch_item_failures": False}
    assert notes == ["BisectBatchOnFunctionError is not emulated: a failing batch is retried whole",
                     "FilterCriteria is not emulated"]
    assert mapping_options(None)[0] == {}
