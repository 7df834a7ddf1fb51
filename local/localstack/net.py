"""HTTP on 127.0.0.1: a client that never follows redirects, small threaded servers, port checks."""

from __future__ import annotations

import collections
import dataclasses
import http.client
import http.server
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from .common import StackError

# Every response body this process received through http_request (pages of the callback, answers
# of the functions): the no-token test reads them all. Bounded, so a long demo cannot grow it.
SEEN_BODIES: collections.deque[str] = collections.deque(maxlen=20_000)


@dataclasses.dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str


def http_request(
    method: str,
    url: str,
    *,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = 60.0,
) -> HttpResponse:
    """One HTTP request, redirects NOT followed (the tests assert 303/409/410 themselves)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise StackError(f"only http://host/... URLs are served locally, got {url!r}")
    send_headers = dict(headers or {})
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        send_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=send_headers)
        resp = conn.getresponse()
        raw = resp.read()
        text = raw.decode("utf-8", errors="replace")
        SEEN_BODIES.append(text)
        return HttpResponse(status=resp.status, headers={k.lower(): v for k, v in resp.getheaders()}, body=text)
    finally:
        conn.close()


class LocalServer(http.server.ThreadingHTTPServer):
    """A threaded server with a listen backlog for bursts: the load test starts 50 executions at
    once, and socketserver's default backlog of 5 made the kernel drop some of their connections."""

    request_queue_size = 128
    daemon_threads = True


def serve_in_thread(server: http.server.HTTPServer, name: str) -> Callable[[], None]:
    """Serve until the returned stop function is called."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (for tests that must not clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_port_free(port: int, what: str, flag: str) -> None:
    # ThreadedMotoServer.start() would hang forever on a port in use, so ask first. SO_REUSEADDR as
    # the servers themselves set it: a port whose last run left connections in TIME_WAIT is free,
    # one with a listener on it is not.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as err:
            raise StackError(f"port {port} for {what} is not free ({err}); pick another with {flag}") from err


def port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps the terminal for the demo and the tests."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's naming)
        pass
