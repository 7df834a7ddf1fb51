"""moto in this process (decorator mode, Step Functions interpreter on) plus a ThreadedMotoServer
sharing its state: our boto3 clients use the in-process mock, the Rust binaries the server."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, Literal

from .common import REGION

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The services the local stack has clients of.
Service = Literal["stepfunctions", "sns", "sqs", "dynamodb"]
SERVICES: tuple[Service, ...] = ("stepfunctions", "sns", "sqs", "dynamodb")


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
