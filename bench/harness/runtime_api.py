"""The stub Lambda Runtime API: `GET /2018-06-01/runtime/invocation/next`,
`POST .../invocation/{id}/response|error`, `POST .../init/error`."""

from __future__ import annotations

import socket
import time
import uuid

from .http_server import Answer
from .session import Session, cpu_time_ns

PREFIX = "/2018-06-01/runtime/"
REGION = "us-east-1"
ACCOUNT = "123456789012"
_OK = {"Content-Type": "application/json"}


def answer(s: Session | None, conn: socket.socket, method: str, target: str, body: bytes,
           received_ns: int) -> Answer | None:
    path = target[len(PREFIX):]
    if s is None:
        return Answer(410, {}, b"no session")
    if method == "GET" and path == "invocation/next":
        return _next(s, conn, received_ns)
    parts = path.split("/")
    if method == "POST" and len(parts) == 3 and parts[0] == "invocation":
        request_id, kind = parts[1], parts[2]
        started = s.handed_out_ns.pop(request_id, None)
        event = s.handed_out_event.pop(request_id, b"")
        if started is None:
            s.problem(f"{kind} for unknown request {request_id}")
        elif kind == "response":
            s.latencies_ns.append(received_ns - started)
            s.answered_ns = received_ns
            if len(s.latencies_ns) == 1 and s.pid is not None:
                s.cpu_after_first_ns = cpu_time_ns(s.pid)
            problem = s.check(body, event) if s.check else None
            if problem:
                s.problem(problem)
        else:
            s.problem(f"invocation error: {body[:500]!r}")
        return Answer(202, _OK, b'{"status":"OK"}')
    if method == "POST" and path == "init/error":
        s.problem(f"init error: {body[:500]!r}")
        s.finished.set()
        return Answer(202, _OK, b'{"status":"OK"}')
    return Answer(404, {}, b"unknown runtime route")


def _next(s: Session, conn: socket.socket, received_ns: int) -> Answer | None:
    with s.lock:
        if s.first_next_ns is None:
            s.first_next_ns = received_ns
            s.first_next.set()
        if s.answered_ns is not None:
            s.after_answer_ns.append(received_ns - s.answered_ns)
            s.answered_ns = None
        event = s.events.pop(0) if s.events else None
        if event is None and s.closed:
            return Answer(410, {}, b"session over")
        if event is None:  # held until stop() (under the same lock, so none escapes)
            if s.latencies_ns and not s.handed_out_ns:
                # Every event answered, and whatever followed the last answer is done too.
                s.finished.set()
            s.held.append(conn)
            return None
    request_id = str(uuid.uuid4())
    s.handed_out_event[request_id] = event
    headers = {
        "Content-Type": "application/json",
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
        "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{s.function_name}",
        "Lambda-Runtime-Trace-Id": "Root=1-6745a000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0",
    }

    def stamp(now_ns, request_id=request_id):
        s.handed_out_ns[request_id] = now_ns

    return Answer(200, headers, event, before_send=stamp)
