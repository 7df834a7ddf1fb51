"""One loopback HTTP/1.1 server for the Runtime API and the AWS endpoint, served by a single
thread with a selector: no thread per connection, so no thread wake-ups or GIL hand-offs between
requests, which kept the stub's own share of a warm invocation low (docs/bench.md). An answer may
be held back for a while (Answer.delay_ns: a stand-in for a service's round trip); the thread
serves the other connections meanwhile."""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar, cast


@dataclass
class Answer:
    status: int
    headers: dict
    payload: bytes
    # Called with the clock just before the answer is written (the Runtime API stamps /next).
    before_send: Callable[[int], None] | None = None
    # Called with the clock just after (the AWS stub adds its own time to the session); for a
    # delayed answer, once it is ready to go (the wait is not the stub's work).
    after_send: Callable[[int], None] | None = None
    # Written this long after it is ready (0: at once). The thread serves others meanwhile.
    delay_ns: int = 0


# handler(context, conn, method, target, headers, body, received_ns) -> Answer, or None to hold
Handler = Callable[..., "Answer | None"]
C = TypeVar("C")  # the context: what the driver binds to each connection (its session)


class Server(Generic[C]):
    """Serves `handler`. `context` (the driver's current session) is bound to each connection
    when it is accepted: a connection belongs to the process that opened it, so a late request
    from a killed process must not take the next session's events."""

    def __init__(self, handler: Handler, on_error: Callable[[C | None, str], None]):
        self.handler = handler
        self.on_error = on_error
        self.context: C | None = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        # Delayed answers: (when due, order, connection, bytes), soonest first.
        self.due: list[tuple[int, int, socket.socket, bytes]] = []
        self.order = itertools.count()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            timeout = None
            if self.due:  # epoll waits whole milliseconds (rounded up): a delay is late by < 1 ms
                timeout = max(0.0, (self.due[0][0] - time.perf_counter_ns()) / 1e9)
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._readable(cast(socket.socket, key.fileobj), key.data)  # only sockets are registered
            self._send_due()

    def _send_due(self) -> None:
        now = time.perf_counter_ns()
        while self.due and self.due[0][0] <= now:
            _, _, conn, data = heapq.heappop(self.due)
            try:
                conn.sendall(data)
            except OSError:  # the function went away (or was killed) meanwhile; a closed socket
                pass  # object refuses (its descriptor is -1), so no other connection gets it

    def _accept(self):
        try:
            conn, _ = self.listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as err:  # out of file descriptors, say: the run fails, the stub lives on
            self.on_error(self.context, f"stub could not accept a connection: {err!r}")
            time.sleep(0.01)  # the connection is still pending: do not spin on it
            return
        self.selector.register(conn, selectors.EVENT_READ, Connection(self.context))

    def _readable(self, conn: socket.socket, state: Connection) -> None:
        now = time.perf_counter_ns()
        try:
            data = conn.recv(262144)
        except OSError:
            data = b""
        if not data:  # the function closed it (or was killed): a held /next ends here too
            self._drop(conn)
            return
        if not state.buffer:
            state.started_ns = now
        state.buffer += data
        try:
            while (request := state.take_request(conn)) is not None:
                self._answer(conn, state.context, *request)
        except OSError:  # the function went away mid-answer
            self._drop(conn)
        except Exception as err:  # noqa: BLE001 - a request the stub cannot take fails the run,
            # not the stub's only thread
            self.on_error(state.context, f"stub could not answer a request: {err!r}")
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        conn.close()

    def _answer(self, conn, context, method, target, headers, body, received_ns):
        answer = self.handler(context, conn, method, target, headers, body, received_ns)
        if answer is None:  # a held /next: answered when the driver shuts the connection
            return
        head = [f"HTTP/1.1 {answer.status}", f"Content-Length: {len(answer.payload)}"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.payload
        if answer.before_send:
            answer.before_send(time.perf_counter_ns())
        if answer.delay_ns:
            now = time.perf_counter_ns()
            heapq.heappush(self.due, (now + answer.delay_ns, next(self.order), conn, data))
            if answer.after_send:
                answer.after_send(now)
            return
        conn.sendall(data)
        if answer.after_send:
            answer.after_send(time.perf_counter_ns())


class Connection:
    """What one connection has received so far, cut into requests as they complete."""

    def __init__(self, context):
        self.context = context
        self.buffer = b""
        self.started_ns = 0
        self.sent_continue = False

    def take_request(self, conn):
        """(method, target, headers, body, received_ns) of the next complete request, or None
        while it is still arriving. received_ns: when its first byte arrived."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        lines = self.buffer[:head_end].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        rest = self.buffer[head_end + 4:]
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, used = dechunk(rest)
            if body is None:
                return self._wait_for_body(conn, headers)
        else:
            used = int(headers.get("content-length", "0") or 0)
            if len(rest) < used:
                return self._wait_for_body(conn, headers)
            body = rest[:used]
        self.buffer = rest[used:]
        self.sent_continue = False
        received_ns, self.started_ns = self.started_ns, time.perf_counter_ns()
        return method, target, headers, body, received_ns

    def _wait_for_body(self, conn, headers):
        if headers.get("expect", "").lower() == "100-continue" and not self.sent_continue:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.sent_continue = True
        return None


def dechunk(data: bytes) -> tuple[bytes | None, int]:
    """A chunked body and the bytes it used, or (None, 0) while incomplete."""
    chunks: list[bytes] = []
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None, 0
        size = int(data[at:line_end].split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            trailer_end = data.find(b"\r\n\r\n", at - 2)
            if trailer_end < 0:
                return None, 0
            return b"".join(chunks), trailer_end + 4
        if len(data) < at + size + 2:
            return None, 0
        chunks.append(data[at:at + size])
        at += size + 2
