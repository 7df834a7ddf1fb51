"""In front of `cargo lambda watch`: every request for the functions (the links, and moto's Invoke
API calls through the invoke shim) passes through here unchanged, and at most `MAX_IN_FLIGHT` of
them per function are inside watch at a time; the others wait here, their connections open.

Why: more than about 100 requests at once for one function and cargo lambda watch 1.9.2 deadlocks
for good: the function instances idle in their next-invocation request, nothing is answered, not
even another function's invocation. Measured here with GETs that answer 400 in milliseconds: 102
at once are all answered; of 110, one is and 109 time out; with `--concurrency 4`, 110 pass and of
200 only 14 are answered. Its source shows why (cargo-lambda-watch's state.rs as it was before
instance pools; 1.9.2 behaves alike): each function's queue is a channel of 100, and
`RequestCache::upsert` waits for room in it while holding the write lock of the cache that `pop`,
the instances' next-invocation request, must take first. The
two-of-three load test sends 450 requests at once. On AWS, Lambda would run more instances; here
watch's few instances per function (functions.CONCURRENCY) work through them, and the queue is
kept here."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable

from .net import LocalServer, QuietHandler, serve_in_thread

MAX_IN_FLIGHT = 32  # per function: well below watch's queue of 100
# Hop-by-hop headers are the front's own business; Content-Length is set for the body as sent on.
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
                  "content-length"}
_FUNCTION_IN_PATH = re.compile(r"^/(?:lambda-url|2015-03-31/functions)/([^/?]+)")


class _Slots:
    """One semaphore of MAX_IN_FLIGHT per function name, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_function: dict[str, threading.BoundedSemaphore] = {}

    def of(self, function: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._by_function.setdefault(function, threading.BoundedSemaphore(MAX_IN_FLIGHT))


class _FrontHandler(QuietHandler):
    watch_host = ""  # set on the subclass made per stack
    watch_port = 0
    slots: _Slots

    def _forward(self) -> None:
        if "Transfer-Encoding" in self.headers:  # nobody here sends chunked bodies; say so rather than guess
            self._answer_plain(411, "the local functions' front takes bodies with Content-Length only")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        function = _FUNCTION_IN_PATH.match(self.path)
        with self.slots.of(function.group(1) if function else ""):
            # No timeout of ours: the caller's own timeout governs, as with the shim.
            conn = http.client.HTTPConnection(self.watch_host, self.watch_port, timeout=None)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():  # repeated headers too, in order; Host as sent
                    if name.lower() not in _NOT_FORWARDED:
                        conn.putheader(name, value)
                if "Content-Length" in self.headers:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                upstream = conn.getresponse()
                payload = upstream.read()
            except (OSError, http.client.HTTPException):
                # Hang up without an answer: to the caller as if it had reached watch and watch had
                # gone (the invoke shim then answers as Lambda's own 5xx, which the state machine retries).
                self.close_connection = True
                return
            finally:
                conn.close()
        try:
            self.send_response_only(upstream.status, upstream.reason)
            for name, value in upstream.getheaders():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting; the function's work is done all the same

    do_GET = do_POST = do_HEAD = do_OPTIONS = do_PUT = do_PATCH = do_DELETE = do_TRACE = _forward  # noqa: N815

    def _answer_plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _FrontServer(LocalServer):
    # The load test opens 450 connections at once; past the backlog the kernel drops SYNs and the
    # clients only retry them a second or more later.
    request_queue_size = 1024


def start(port: int, watch_port: int) -> tuple[str, Callable[[], None]]:
    """Serve the front on 127.0.0.1:`port`, forwarding to watch on 127.0.0.1:`watch_port`; returns
    the front's base URL and the stop function."""
    handler = type("FrontHandler", (_FrontHandler,), {"watch_host": "127.0.0.1", "watch_port": watch_port,
                                                      "slots": _Slots()})
    server = _FrontServer(("127.0.0.1", port), handler)
    return f"http://127.0.0.1:{port}", serve_in_thread(server, "functions-front")
