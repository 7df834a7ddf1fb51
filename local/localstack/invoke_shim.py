"""The Lambda Invoke API as Step Functions sees it, in front of `cargo lambda watch`.

Lambda answers an invocation whose function failed with 200, `X-Amz-Function-Error: Unhandled`
and the function's {"errorType", "errorMessage"} as payload; Step Functions then names the task's
error after errorType (what Retry/Catch match). cargo lambda watch answers the same failure with
a bare 500, which moto's interpreter cannot turn into an error name. The shim translates, and adds
the request id every Lambda answer carries. Nothing else changes.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import secrets
from collections.abc import Callable
from typing import Any

from .net import LocalServer, QuietHandler, http_request, serve_in_thread


@dataclasses.dataclass
class Invocation:
    """One function invocation's result, as Lambda would report it."""

    function_error: bool
    payload: Any  # the parsed JSON answer ({"errorType", "errorMessage"} on a function error)
    status: int  # cargo lambda watch's own HTTP status

    @property
    def error_type(self) -> str | None:
        return self.payload.get("errorType") if self.function_error and isinstance(self.payload, dict) else None


def is_function_error(status: int, body: str) -> bool:
    if status != 500:
        return False
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and "errorType" in parsed


def invoke(base_url: str, function: str, payload: Any, timeout: float | None = 120.0) -> Invocation:
    """Invoke a function directly through cargo lambda watch's Invoke API (what the shim forwards),
    at `base_url`: watch itself or the front (watch_front.py)."""
    resp = http_request("POST", f"{base_url}/2015-03-31/functions/{function}/invocations",
                        body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"},
                        timeout=timeout)
    try:
        parsed = json.loads(resp.body) if resp.body else None
    except json.JSONDecodeError:
        parsed = resp.body
    return Invocation(function_error=is_function_error(resp.status, resp.body), payload=parsed, status=resp.status)


class _InvokeShimHandler(QuietHandler):
    upstream_url = ""  # the front of cargo lambda watch (watch_front.py); set on the subclass made per stack

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        try:
            # No timeout of ours: Step Functions' own TimeoutSeconds governs how long a task may take.
            upstream = http_request("POST", self.upstream_url + self.path, body=payload, timeout=None,
                                    headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
        except (OSError, http.client.HTTPException) as err:
            # As Lambda's own 5xx: the state machine's Retry on Lambda.ServiceException covers it.
            body = json.dumps({"Type": "Service", "message": f"cargo lambda watch unreachable: {err}"}).encode()
            self._answer(502, body, {"x-amzn-ErrorType": "ServiceException"})
            return
        body = upstream.body.encode()
        if is_function_error(upstream.status, upstream.body):
            self._answer(200, body, {"X-Amz-Function-Error": "Unhandled"})
        else:
            self._answer(upstream.status, body, {})

    def _answer(self, status: int, body: bytes, extra_headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", secrets.token_hex(16))
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start(upstream_url: str) -> tuple[str, Callable[[], None]]:
    """Start the shim on a free port, forwarding to `upstream_url` (the front of cargo lambda watch);
    returns its URL (for AWS_ENDPOINT_URL_LAMBDA) and the stop."""
    handler = type("InvokeShimHandler", (_InvokeShimHandler,), {"upstream_url": upstream_url})
    server = LocalServer(("127.0.0.1", 0), handler)  # an internal hop: any free port will do
    return f"http://127.0.0.1:{server.server_address[1]}", serve_in_thread(server, "lambda-invoke-shim")
