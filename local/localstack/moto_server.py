"""moto in this process (decorator mode, Step Functions interpreter on) plus a ThreadedMotoServer
sharing its state: our boto3 clients use the in-process mock, the Rust binaries the server."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import json
import os
import threading
from collections.abc import Callable
from typing import Any, Literal

from .common import ACCOUNT_ID, REGION

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The services the local stack has clients of ("events": EventBridge, the gate's event bus;
# "secretsmanager": the Slack app's secret).
Service = Literal["stepfunctions", "sns", "sqs", "dynamodb", "dynamodbstreams", "sesv2", "events", "scheduler",
                  "secretsmanager"]
SERVICES: tuple[Service, ...] = ("stepfunctions", "sns", "sqs", "dynamodb", "dynamodbstreams", "sesv2", "events",
                                 "scheduler", "secretsmanager")


def start(exit_stack: contextlib.ExitStack, port: int) -> None:
    """Start the mock and the server; everything is undone by `exit_stack`."""
    # Only the interpreter's Lambda client leaves the process (to the invoke shim). Strip anything
    # from the user's shell that would point our clients at a real account or another endpoint.
    saved_environ = dict(os.environ)

    def restore_environ() -> None:
        os.environ.clear()
        os.environ.update(saved_environ)

    exit_stack.callback(restore_environ)
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL") or key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
            del os.environ[key]
    os.environ.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})

    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    exit_stack.callback(_keep_json_bodies_intact())
    exit_stack.callback(_make_dynamodb_writes_atomic())
    exit_stack.callback(_keep_both_ses_parts())
    exit_stack.callback(_tell_stop_listeners())
    exit_stack.callback(_fail_put_events_while_down())
    mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
    mock.start()
    exit_stack.callback(mock.stop)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()  # returns once the socket is bound
    exit_stack.callback(server.stop)


def client(service: Service) -> Any:
    import boto3

    return boto3.client(service, region_name=REGION)


def _keep_json_bodies_intact() -> Any:
    """Work around a moto 5.2.5 bug that eats execution history; returns the undo function.

    moto puts the request id into every response body with a greedy
    `re.sub(r"(?<=<RequestId>).*(?=</RequestId>)", ...)`, meant for XML. A JSON body is rewritten
    too when it happens to hold that text: a GetExecutionHistory whose TaskFailed causes quote SNS's
    XML error then loses every event between the first <RequestId> and the last </RequestId> and
    still parses. Here JSON bodies skip the rewrite and keep the rest (request id header, status).
    """
    from moto.core.responses import BaseResponse

    original = BaseResponse.__dict__["_enrich_response"]
    enrich = original.__func__

    def enrich_xml_only(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and body[:1] in ("{", "["):
            headers, _ = enrich(headers, "")
            return headers, body
        return enrich(headers, body)

    BaseResponse._enrich_response = staticmethod(enrich_xml_only)  # type: ignore[method-assign]

    def undo() -> None:
        BaseResponse._enrich_response = original  # type: ignore[method-assign]

    return undo


# The DynamoDB write operations of moto's backend (batch writes go through put_item/delete_item,
# PartiQL through execute_statement and friends), each of which reads, checks and writes.
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "execute_statement",
                    "execute_transaction", "batch_execute_statement")
_conditional_check_failures = 0  # moto's ConditionalCheckFailed answers since start, under the lock


def conditional_check_failures() -> int:
    """How many DynamoDB writes moto refused because their condition failed (a lost race of a
    compare-and-swap, or a retried create): evidence that writes really met, printed by the tests."""
    return _conditional_check_failures


def _make_dynamodb_writes_atomic() -> Any:
    """Make moto 5.2.5's DynamoDB item writes atomic; returns the undo function.

    DynamoDB evaluates a write's condition and applies the write atomically: of two conditional
    PutItems expecting the same `Version`, exactly one succeeds. moto's do not: `Table.put_item`
    reads the current item, checks the condition, then stores the new one, with no lock, and the
    ThreadedMotoServer serves each request on a thread of its own. With several function
    instances running at once (`cargo lambda watch --concurrency`), two compare-and-swap votes
    could then both succeed: moto's race, not ours, and the tests would prove nothing. One lock,
    shared by every write operation of the backend (reentrant, as a transaction or batch may write
    through another), makes each check-and-write one step, as on AWS; reads are not taken into it
    (our functions replace whole items, which moto stores with a single assignment).
    """
    from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {name: DynamoDBBackend.__dict__[name] for name in _DYNAMODB_WRITES}

    def atomic(write: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(write)
        def locked(*args: Any, **kwargs: Any) -> Any:
            global _conditional_check_failures
            with lock:
                try:
                    return write(*args, **kwargs)
                except (ConditionalCheckFailed, TransactionCanceledException):
                    _conditional_check_failures += 1
                    raise

        return locked

    for name, original in originals.items():
        setattr(DynamoDBBackend, name, atomic(original))

    def undo() -> None:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)

    return undo


# ---- DynamoDB Streams ------------------------------------------------------------------------


def forget_shard_iterator(iterator: str) -> None:
    """Drop one shard iterator from moto's DynamoDB Streams backend (no-op when unknown).

    moto 5.2.5 keeps every iterator it ever handed out, in a dict that nothing trims: each
    GetShardIterator and each GetRecords (empty or not: its NextShardIterator) adds one of about
    1.8 KB. The stream poller (stream_poller.py) calls GetRecords ten times a second, about 65 MB
    an hour; it drops each iterator it has moved past. AWS's expire after 15 minutes."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators.pop(iterator, None)


# ---- SES -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SentEmail:
    """One message moto's SES accepted (SESv2 SendEmail, or v1), as a recipient would get it."""

    message_id: str
    source: str  # FromEmailAddress, as given (a display name included)
    destinations: dict[str, list[str]]  # {"ToAddresses": [...], "CcAddresses": [...], ...}
    subject: str
    text: str | None  # Content.Simple.Body.Text; None when the message had none
    html: str | None  # Content.Simple.Body.Html
    simple: bool  # sent with Content.Simple through SESv2 (else: v1, Raw or Template; text/html unknown)

    @property
    def recipients(self) -> list[str]:
        return [address for addresses in self.destinations.values() for address in addresses]


# moto's SESv2 SendEmail keeps one part of Content.Simple: the Html when there is one, else the
# Text (moto/sesv2/responses.py). The wrapper below keeps both parts, by message id, and shares a
# lock with `ses_sent_emails`, so a reader never sees a message before its parts.
_ses_lock = threading.Lock()
_ses_parts: dict[str, tuple[str | None, str | None, str]] = {}  # message id -> (text, html, subject)


def _keep_both_ses_parts() -> Any:
    """Keep both parts of every SESv2 Content.Simple message moto accepts; returns the undo function."""
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.__dict__["send_email"]

    @functools.wraps(original)
    def send_email(self: Any) -> str:
        with _ses_lock:
            answer = original(self)  # raises moto's errors (MessageRejected: sender not verified...)
            simple = (json.loads(self.body).get("Content") or {}).get("Simple")
            if simple is not None:
                body = simple.get("Body") or {}
                _ses_parts[json.loads(answer)["MessageId"]] = (
                    (body.get("Text") or {}).get("Data"), (body.get("Html") or {}).get("Data"),
                    (simple.get("Subject") or {}).get("Data") or "")
            return answer

    SESV2Response.send_email = send_email  # type: ignore[method-assign]

    def undo() -> None:
        SESV2Response.send_email = original  # type: ignore[method-assign]
        with _ses_lock:
            _ses_parts.clear()

    return undo


def ses_sent_emails(start: int = 0) -> list[SentEmail]:
    """The messages moto's SES has accepted (its backend's `sent_messages`), from the `start`th on,
    in order. The moto server and this process share the backend: no API call needed."""
    from moto.ses.models import Message, ses_backends

    with _ses_lock:
        sent = list(ses_backends[ACCOUNT_ID][REGION].sent_messages[start:])
        parts = dict(_ses_parts)
    emails = []
    for message in sent:
        # Simple messages are Message objects; v1's SendRawEmail, templates and bulk sends are other
        # classes (destinations a list or a dict) whose parts this stack does not read.
        message_id = getattr(message, "id", None) or ",".join(getattr(message, "ids", []))
        destinations = getattr(message, "destinations", None) or {}
        if not isinstance(destinations, dict):
            destinations = {"ToAddresses": list(destinations)}
        captured = parts.get(message_id) if isinstance(message, Message) else None
        text, html, subject = captured or (None, None, getattr(message, "subject", ""))
        emails.append(SentEmail(message_id, getattr(message, "source", ""),
                                {kind: list(addresses) for kind, addresses in destinations.items()},
                                subject, text, html, simple=captured is not None))
    return emails


# ---- Step Functions: StopExecution -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoppedExecution:
    """A StopExecution call moto accepted for an execution that was RUNNING."""

    execution_arn: str
    error: str | None  # StopExecution's own `error` and `cause`, None when not given
    cause: str | None
    stopped_at: datetime.datetime  # UTC, when the call came


_stop_listeners: list[Callable[[StoppedExecution], None]] = []
_stop_listeners_lock = threading.Lock()


def add_stop_listener(listener: Callable[[StoppedExecution], None]) -> Callable[[], None]:
    """Call `listener` for every accepted StopExecution of a RUNNING execution (in the thread of
    the call: it must only take note); returns the removal."""
    with _stop_listeners_lock:
        _stop_listeners.append(listener)

    def remove() -> None:
        with _stop_listeners_lock, contextlib.suppress(ValueError):
            _stop_listeners.remove(listener)

    return remove


def _status_name(status: Any) -> str:
    return str(getattr(status, "value", status))  # moto's parser keeps an enum, its models a str


def _tell_stop_listeners() -> Any:
    """Tell the stop listeners of every StopExecution; returns the undo function.

    moto 5.2.5's StopExecution of an execution whose waitForTaskToken task is waiting answers 200
    and changes nothing visible: DescribeExecution and ListExecutions keep saying RUNNING, the
    history gains no ExecutionAborted, and a later SendTaskSuccess is still taken (TaskSucceeded),
    only then does the execution turn ABORTED. So only the call itself says the execution ended;
    the execution watcher (execution_watcher.py) listens here. moto's own stop still runs, and
    its errors (an unknown execution) reach the caller as before."""
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.__dict__["stop_execution"]

    @functools.wraps(original)
    def stop_execution(self: Any) -> Any:
        arn = self._get_param("executionArn")
        try:
            was = _status_name(self.stepfunction_backend.describe_execution(arn).status)
        except Exception:  # noqa: BLE001 (unknown or malformed ARN: moto's stop answers that)
            was = None
        answer = original(self)
        if was == "RUNNING":  # stopping an ended execution ends nothing
            stopped = StoppedExecution(arn, self._get_param("error"), self._get_param("cause"),
                                       datetime.datetime.now(datetime.UTC))
            with _stop_listeners_lock:
                listeners = list(_stop_listeners)
            for listener in listeners:
                listener(stopped)
        return answer

    StepFunctionResponse.stop_execution = stop_execution  # type: ignore[method-assign]

    def undo() -> None:
        StepFunctionResponse.stop_execution = original  # type: ignore[method-assign]
        with _stop_listeners_lock:
            _stop_listeners.clear()

    return undo


# ---- EventBridge: an outage on demand --------------------------------------------------------

_eventbridge_down = threading.Event()
_rejected_lock = threading.Lock()
_rejected_entries: list[dict[str, Any]] = []  # PutEvents entries refused while down, in order


def set_eventbridge_down(down: bool) -> None:
    """While down, every PutEvents answers HTTP 500 InternalException and nothing is put."""
    if down:
        _eventbridge_down.set()
    else:
        _eventbridge_down.clear()


def rejected_put_events(start: int = 0) -> list[dict[str, Any]]:
    """The PutEvents entries refused while EventBridge was down, from the `start`th on, as sent
    (Source, DetailType, Detail as a JSON string, Resources, EventBusName, Time)."""
    with _rejected_lock:
        return [dict(entry) for entry in _rejected_entries[start:]]


def _fail_put_events_while_down() -> Any:
    """Make PutEvents fail as EventBridge does when it fails inside; returns the undo function.

    An HTTP 500 with `__type` InternalException is what AWS answers for its own trouble: the SDK
    retries it (its standard retry mode) and then hands the error to the caller, so the whole
    path of a failing bus runs (the caller's own retries, its metric, Lambda's retry of the
    stream). Refused entries are kept so a test can tell the outage was met."""
    from moto.core.exceptions import JsonRESTError
    from moto.events.responses import EventsHandler

    original = EventsHandler.__dict__["put_events"]

    @functools.wraps(original)
    def put_events(self: Any) -> Any:
        if not _eventbridge_down.is_set():
            return original(self)
        with _rejected_lock:
            _rejected_entries.extend(self._get_param("Entries") or [])
        error = JsonRESTError("InternalException", "the local stack has EventBridge down (eventbridge_down())")
        error.code = 500
        raise error

    EventsHandler.put_events = put_events  # type: ignore[method-assign]

    def undo() -> None:
        EventsHandler.put_events = original  # type: ignore[method-assign]
        _eventbridge_down.clear()
        with _rejected_lock:
            _rejected_entries.clear()

    return undo
