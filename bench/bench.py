"""Side-by-side benchmark of our Rust functions and the tutorial's Node.js functions.

Plays Lambda for each function: a stub Runtime API (the `/2018-06-01/runtime/...` routes) and, on
the same loopback port, a stub of the AWS calls the functions make (SNS Publish, Step Functions
SendTaskSuccess, KMS GenerateMac/VerifyMac), reached through AWS_ENDPOINT_URL. The stub and the
functions run pinned to one CPU unless --no-pin. Then, per function:

  init         process spawn -> its first `GET .../invocation/next` (both stamped here, on the
               monotonic clock), over --cold fresh processes; median and p90.
  1st invoke   the first invocation of a fresh process (connection set-up, lazy init).
  warm         /next response handed out -> its /response POST received, over --warm invocations
               after the first; each one makes the real SDK calls to the loopback stub; p50, p99.
  warm CPU     the function's own CPU time per warm invocation (mean, from schedstat).
  peak RSS     VmHWM of the process after all the warm invocations.
  zip          the arm64 deployment zip, when given with --zip.

Only the standard library: it runs under any python3 >= 3.9. Invoked by scripts/bench.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import hmac
import io
import json
import os
import platform
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
APPROVER = "approver@example.com"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:HumanApprovalEmailTopic"
LINK_KEY_ID = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0e0c0d-bench-4000-8000-000000000000"
# The stub's stand-in for the KMS HMAC key: GenerateMac and VerifyMac really compute and check
# HMAC-SHA-256 with it, so links signed by send-email verify in approval-callback.
STUB_HMAC_KEY = b"approval-gate-bench-stub-hmac-key"
RUNTIME_PREFIX = "/2018-06-01/runtime/"


# --------------------------------------------------------------------------------------------
# Functions under test


@dataclass
class Arm:
    """One function as Lambda would run it: command, environment, the event it gets."""

    name: str
    argv: list[str]
    env: dict[str, str]
    event: bytes
    # Checks one /response body; returns a problem or None.
    check: callable
    # The AWS operation each invocation must call exactly once (None for the echo floor).
    main_op: str | None
    lang: str  # "rust" | "node"
    zip_bytes: int | None = None
    zip_note: str = ""


def lambda_env(function_name: str, runtime_api: str, home: Path) -> dict[str, str]:
    """What Lambda sets for every function, plus the loopback endpoint. A clean environment:
    nothing of the caller's (no ~/.aws, no proxies) reaches the functions."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench/secret/key/not/a/real/one/0000000",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/26/[$LATEST]bench",
        "AWS_ENDPOINT_URL": f"http://{runtime_api}",
    }


def tutorial_callback_event(proxy_event: dict) -> dict:
    """The tutorial's API Gateway mapping-template event ({body, headers, method, params, query})
    carrying the same decision as our proxy POST event: the Node function reads event.query."""
    form = dict(urllib.parse.parse_qsl(proxy_event["body"]))
    return {
        "body": {},
        "headers": {k: v for k, v in proxy_event["headers"].items() if k != "Content-Type"},
        "method": "GET",
        "params": {},
        "query": {k: form[k] for k in ("action", "ex", "sm", "taskToken")},
    }


def expect_json(predicate, what):
    def check(body: bytes):
        try:
            value = json.loads(body)
        except ValueError:
            return f"response is not JSON: {body[:200]!r}"
        return None if predicate(value) else f"expected {what}, got {body[:300]!r}"

    return check


def build_arms(args, runtime_api: str, home: Path) -> list[Arm]:
    send_email_event = (REPO / "events/send-email.json").read_bytes()
    approve_post = json.loads((REPO / "events/approve-post.json").read_text())
    node_dir = REPO / "bench/node"
    # The flags the managed nodejs runtime's bootstrap derives from the memory size (128 MB:
    # new space 128/25 = 5 MB, semi space 2 MB, old space 123 MB).
    memory = 128
    node = [args.node, "--expose-gc", "--max-http-header-size=81920",
            f"--max-semi-space-size={memory // 25 // 2}", f"--max-old-space-size={memory - memory // 25}",
            str(node_dir / "runtime.js")]

    def env(name, **extra):
        return {**lambda_env(name, runtime_api, home), **extra}

    arms = [
        Arm(
            "send-email (Rust)",
            [str(args.bin_dir / "send-email")],
            env("send-email", TOPIC_ARN=TOPIC_ARN, LINK_KEY_ID=LINK_KEY_ID),
            send_email_event,
            expect_json(lambda v: isinstance(v, dict) and v.get("MessageId"), '{"MessageId": ...}'),
            "Publish",
            "rust",
        ),
        Arm(
            "approval-callback (Rust)",
            [str(args.bin_dir / "approval-callback")],
            env("approval-callback", APPROVER_EMAIL=APPROVER, LINK_KEY_ID=LINK_KEY_ID),
            json.dumps(approve_post).encode(),
            expect_json(lambda v: v.get("statusCode") == 303, "a 303 redirect after SendTaskSuccess"),
            "SendTaskSuccess",
            "rust",
        ),
        Arm(
            "bare lambda_runtime echo (floor)",
            [str(args.floor_bin)],
            env("bench-floor"),
            send_email_event,
            expect_json(lambda v: v == json.loads(send_email_event), "the event echoed"),
            None,
            "rust",
        ),
        Arm(
            "send-email (tutorial, Node.js)",
            node,
            env(
                "send-email-node",
                LAMBDA_TASK_ROOT=str(node_dir / "send-email"),
                _HANDLER="index.lambda_handler",
                AWS_EXECUTION_ENV="AWS_Lambda_nodejs20.x",
                TOPIC_ARN=TOPIC_ARN,
            ),
            send_email_event,
            expect_json(lambda v: v is None, "null (callback(null))"),
            "Publish",
            "node",
        ),
        Arm(
            "approval-callback (tutorial, Node.js)",
            node,
            env(
                "approval-callback-node",
                LAMBDA_TASK_ROOT=str(node_dir / "approval-callback"),
                _HANDLER="index.handler",
                AWS_EXECUTION_ENV="AWS_Lambda_nodejs20.x",
                APPROVER_EMAIL=APPROVER,
            ),
            json.dumps(tutorial_callback_event(approve_post)).encode(),
            expect_json(lambda v: v.get("statusCode") == 302, "a 302 redirect after SendTaskSuccess"),
            "SendTaskSuccess",
            "node",
        ),
    ]
    for spec in args.zip:
        key, _, path = spec.partition("=")
        size = Path(path).stat().st_size
        for arm in arms:
            if arm.lang == "rust" and arm.name.startswith(key):
                arm.zip_bytes = size
    # Node: the tutorial deploys index.js alone (inline ZipFile) and takes the SDK from the
    # managed runtime; pinning the SDK means shipping node_modules too. Both are reported.
    for arm in arms:
        if arm.lang == "node":
            root = Path(arm.env["LAMBDA_TASK_ROOT"])
            alone = zip_size([(root / "index.js", "index.js")])
            modules = [(p, "node_modules/" + str(p.relative_to(node_dir / "node_modules")))
                       for p in sorted((node_dir / "node_modules").rglob("*")) if p.is_file()]
            with_sdk = zip_size([(root / "index.js", "index.js"), *modules])
            arm.zip_bytes = alone
            arm.zip_note = f" (+SDK {fmt_bytes(with_sdk)})"
    return arms


def signed_callback_event(published: str | None, fallback: bytes) -> bytes:
    """The approver's POST for the approve link in the email send-email last published, so the
    callback checks a signature send-email really made (via the stub's KMS). The form carries
    every parameter of the link, as the confirmation page's hidden inputs do."""
    match = re.search(r"^Approve:?\s+(https?://\S+)", published or "", re.MULTILINE)
    if not match:
        return fallback
    params = urllib.parse.parse_qsl(urllib.parse.urlsplit(match.group(1)).query)
    event = json.loads(fallback)
    event["body"] = urllib.parse.urlencode([*params, ("comment", "Looks good to me.")])
    return json.dumps(event).encode()


def zip_size(files: list[tuple[Path, str]]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in files:
            z.write(path, name)
    return buffer.tell()


# --------------------------------------------------------------------------------------------
# Stub Lambda Runtime API + AWS endpoint (one loopback HTTP/1.1 server, one thread)


@dataclass
class Session:
    """The Runtime API's state for one function process."""

    events: list[bytes]  # handed out in order; an empty list means: hold every /next (cold run)
    function_name: str
    first_next_ns: int | None = None
    first_next: threading.Event = field(default_factory=threading.Event)
    handed_out_ns: dict[str, int] = field(default_factory=dict)
    latencies_ns: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    aws_calls: dict[str, int] = field(default_factory=dict)
    # Time the stub itself spent on AWS calls (first byte received -> answer sent): it sits
    # inside the measured warm latency, so the report shows it.
    aws_stub_ns: int = 0
    finished: threading.Event = field(default_factory=threading.Event)
    check: callable = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The function's process, and its CPU time once the first (cold) invocation is answered:
    # the warm invocations' own CPU is what it adds from there on.
    pid: int | None = None
    cpu_after_first_ns: int | None = None
    # Connections whose /next is being held (no event left): shut when the session ends, so that
    # a function still running then (under a profiler's wrapper, say) sees the end and exits.
    held: list = field(default_factory=list)
    closed: bool = False  # set by stop(): a /next from then on is refused, not held


class Stub:
    """One loopback HTTP/1.1 server for both APIs, served by a single thread with a selector:
    no thread per connection, so no thread wake-ups or GIL hand-offs between requests, which
    kept the stub's own share of a warm invocation low (docs/bench.md)."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.session: Session | None = None
        # The last email body published, so that approval-callback gets a link send-email really
        # signed. From SNS's query protocol it is kept as sent (percent-encoded bytes) and decoded
        # only when asked for: decoding ~3 KB in Python took ~0.2 ms inside the measured time.
        self._published: str | bytes | None = None
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._readable(key.fileobj, key.data)

    def _accept(self):
        try:
            conn, _ = self.listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as err:  # out of file descriptors, say: the run fails, the stub lives on
            fail(self.session, f"stub could not accept a connection: {err!r}")
            time.sleep(0.01)  # the connection is still pending: do not spin on it
            return
        # A connection belongs to the process that opened it, hence to the session current now:
        # a late request from a killed process must not take the next session's events.
        self.selector.register(conn, selectors.EVENT_READ, Connection(self.session))

    def _readable(self, conn: socket.socket, state: "Connection"):
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
                self._answer(conn, state.session, *request)
        except OSError:  # the function went away mid-answer
            self._drop(conn)
        except Exception as err:  # noqa: BLE001 - a request the stub cannot take fails the run,
            # not the stub's only thread
            fail(state.session, f"stub could not answer a request: {err!r}")
            self._drop(conn)

    def _drop(self, conn: socket.socket):
        self.selector.unregister(conn)
        conn.close()

    def _answer(self, conn, session, method, target, headers, body, received_ns):
        if target.startswith(RUNTIME_PREFIX):
            answer = self._runtime(session, conn, method, target, body, received_ns)
        else:
            answer = self._aws(session, headers, body)
        if answer is None:  # a held /next: answered by stop() shutting the connection
            return
        status, extra_headers, payload, stamp = answer
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in extra_headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
        if stamp:
            stamp(time.perf_counter_ns())
        conn.sendall(data)
        if session is not None and not target.startswith(RUNTIME_PREFIX):
            session.aws_stub_ns += time.perf_counter_ns() - received_ns

    def published_message(self) -> str | None:
        if isinstance(self._published, bytes):
            return urllib.parse.unquote_plus(self._published.decode("ascii"))
        return self._published

    # Runtime API ---------------------------------------------------------------------------
    def _runtime(self, s: Session | None, conn, method, target, body, received_ns):
        path = target[len(RUNTIME_PREFIX):]
        if s is None:
            return 410, {}, b"no session", None
        if method == "GET" and path == "invocation/next":
            with s.lock:
                if s.first_next_ns is None:
                    s.first_next_ns = received_ns
                    s.first_next.set()
                event = s.events.pop(0) if s.events else None
                if event is None and s.closed:
                    return 410, {}, b"session over", None
                if event is None:  # held until stop() (under the same lock, so none escapes)
                    s.held.append(conn)
                    return None
            request_id = str(uuid.uuid4())
            headers = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                "Lambda-Runtime-Invoked-Function-Arn":
                    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{s.function_name}",
                "Lambda-Runtime-Trace-Id": "Root=1-6745a000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0",
            }

            def stamp(now_ns, request_id=request_id):
                s.handed_out_ns[request_id] = now_ns

            return 200, headers, event, stamp
        parts = path.split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "invocation":
            request_id, kind = parts[1], parts[2]
            started = s.handed_out_ns.pop(request_id, None)
            if started is None:
                s.problems.append(f"{kind} for unknown request {request_id}")
            elif kind == "response":
                s.latencies_ns.append(received_ns - started)
                if len(s.latencies_ns) == 1 and s.pid is not None:
                    s.cpu_after_first_ns = cpu_time_ns(s.pid)
                problem = s.check(body)
                if problem:
                    s.problems.append(problem)
            else:
                s.problems.append(f"invocation error: {body[:500]!r}")
            if not s.events and not s.handed_out_ns:
                s.finished.set()
            return 202, {"Content-Type": "application/json"}, b'{"status":"OK"}', None
        if method == "POST" and path == "init/error":
            s.problems.append(f"init error: {body[:500]!r}")
            s.finished.set()
            return 202, {"Content-Type": "application/json"}, b'{"status":"OK"}', None
        return 404, {}, b"unknown runtime route", None

    # AWS endpoint --------------------------------------------------------------------------
    def _aws(self, s: Session | None, headers, body):
        """SNS Publish (awsQuery XML, or the JSON protocol if an SDK speaks it) and Step
        Functions SendTaskSuccess (awsJson1_0): minimal valid answers, after checking that
        the call carries what the handler was supposed to send."""
        target = headers.get("x-amz-target", "")
        request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
        problem = None
        op = target.rsplit(".", 1)[-1] if target else None
        if target in ("TrentService.GenerateMac", "TrentService.VerifyMac"):
            request = json.loads(body)
            mac = hmac.new(STUB_HMAC_KEY, base64.b64decode(request.get("Message", "")), hashlib.sha256).digest()
            reply = {"KeyId": LINK_KEY_ID, "MacAlgorithm": request.get("MacAlgorithm", "HMAC_SHA_256")}
            json_1_1 = {"Content-Type": "application/x-amz-json-1.1", **request_id}
            if op == "GenerateMac":
                answer = 200, json_1_1, json.dumps({**reply, "Mac": base64.b64encode(mac).decode()}).encode(), None
            elif hmac.compare_digest(mac, base64.b64decode(request.get("Mac", ""))):
                answer = 200, json_1_1, json.dumps({**reply, "MacValid": True}).encode(), None
            else:
                problem = "VerifyMac with a MAC that does not verify"
                answer = 400, json_1_1, json.dumps({"__type": "KMSInvalidMacException",
                                                    "message": "MAC verification failed"}).encode(), None
        elif target.endswith(".SendTaskSuccess"):
            request = json.loads(body)
            if not request.get("taskToken") or "Status" not in json.loads(request.get("output", "{}")):
                problem = f"SendTaskSuccess without taskToken/output: {body[:300]!r}"
            answer = 200, {"Content-Type": "application/x-amz-json-1.0", **request_id}, b"{}", None
        elif target.endswith(".Publish"):
            request = json.loads(body)
            if request.get("TopicArn") != TOPIC_ARN or "Approve" not in request.get("Message", ""):
                problem = f"Publish without topic/links: {body[:300]!r}"
            self._published = request.get("Message")
            answer = 200, {"Content-Type": "application/x-amz-json-1.0", **request_id}, \
                json.dumps({"MessageId": str(uuid.uuid4())}).encode(), None
        else:
            form = query_fields(body)
            op = form.get("Action")
            if op == "Publish":
                message = form.get("Message", b"")
                # Letters are never percent-encoded, so "Approve" is there as is.
                if form.get("TopicArn") != TOPIC_ARN or b"Approve" not in message:
                    problem = f"Publish without topic/links: {body[:300]!r}"
                self._published = message
                xml = (
                    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                    f"<PublishResult><MessageId>{uuid.uuid4()}</MessageId></PublishResult>"
                    f"<ResponseMetadata><RequestId>{request_id['x-amzn-RequestId']}</RequestId>"
                    "</ResponseMetadata></PublishResponse>"
                ).encode()
                answer = 200, {"Content-Type": "text/xml", **request_id}, xml, None
            else:
                problem = f"unexpected AWS call: {target or form.get('Action')} {body[:200]!r}"
                answer = 400, {"Content-Type": "text/plain", **request_id}, b"unexpected call", None
        if s is not None:
            with s.lock:
                s.aws_calls[op] = s.aws_calls.get(op, 0) + 1
                if problem:
                    s.problems.append(problem)
        return answer


def fail(session: Session | None, problem: str):
    """Records a problem of the stub's own and ends the session's wait: the run fails with it."""
    if session is not None:
        with session.lock:
            session.problems.append(problem)
        session.finished.set()


def query_fields(body: bytes) -> dict:
    """An awsQuery form's fields; every value decoded except Message, left as sent (bytes)."""
    fields = {}
    for part in body.split(b"&"):
        name, _, value = part.partition(b"=")
        key = urllib.parse.unquote_plus(name.decode("ascii"))
        fields[key] = value if key == "Message" else urllib.parse.unquote_plus(value.decode("ascii"))
    return fields


class Connection:
    """What one connection has received so far, cut into requests as they complete."""

    def __init__(self, session: Session | None):
        self.session = session
        self.buffer = b""
        self.started_ns = 0
        self.sent_continue = False

    def take_request(self, conn):
        """(method, target, headers, body, received_ns) of the next complete request, or None
        while it is still arriving."""
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
    chunks, at = [], 0
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


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Result:
    init_ns: list[int] = field(default_factory=list)
    first_invoke_ns: int | None = None
    warm_ns: list[int] = field(default_factory=list)
    peak_rss_kib: int | None = None
    aws_calls: dict[str, float] = field(default_factory=dict)  # per invocation
    aws_stub_ns: int = 0  # mean stub time on AWS calls per invocation
    warm_cpu_ns: int | None = None  # the function's own CPU time per warm invocation (mean)


class BenchError(Exception):
    pass


def spawn(arm: Arm, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(arm.argv, env=arm.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log, close_fds=True)
    finally:
        log.close()


def stop(process: subprocess.Popen, session: Session):
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()
    with session.lock:
        session.closed = True
        held = list(session.held)
    for conn in held:
        try:
            conn.shutdown(socket.SHUT_RDWR)  # the stub's thread sees the end and closes it
        except OSError:
            pass


def wait_for(event: threading.Event, process, session: Session, timeout: float, arm: Arm,
             log_path: Path, what: str):
    """Waits for `event`, but gives up at once if the process exits or the stub reports a
    problem (rather than sitting out the whole timeout)."""
    deadline = time.monotonic() + timeout
    while not event.wait(timeout=0.2):
        if session.problems:
            raise describe_failure(arm, log_path, "; ".join(dict.fromkeys(session.problems))[:2000])
        if process.poll() is not None:
            raise describe_failure(arm, log_path, f"{what}: the process exited with status "
                                   f"{process.returncode} after {len(session.latencies_ns)} invocations")
        if time.monotonic() > deadline:
            raise describe_failure(arm, log_path, f"{what} within {timeout:.0f} s "
                                   f"({len(session.latencies_ns)} answered)")


def describe_failure(arm: Arm, log_path: Path, why: str) -> BenchError:
    tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    return BenchError(f"{arm.name}: {why}\n--- its stderr ({log_path}) ---\n{tail}")


def cold_start(stub: Stub, arm: Arm, log_path: Path) -> int:
    session = Session(events=[], function_name=arm.env["AWS_LAMBDA_FUNCTION_NAME"], check=arm.check)
    stub.session = session
    started = time.perf_counter_ns()
    process = spawn(arm, log_path)
    try:
        wait_for(session.first_next, process, session, 30, arm, log_path, "no GET /invocation/next")
        return session.first_next_ns - started
    finally:
        stub.session = None
        stop(process, session)


def warm_run(stub: Stub, arm: Arm, invocations: int, log_path: Path, result: Result):
    session = Session(events=[arm.event] * (invocations + 1),
                      function_name=arm.env["AWS_LAMBDA_FUNCTION_NAME"], check=arm.check)
    stub.session = session
    process = spawn(arm, log_path)
    session.pid = process.pid
    try:
        wait_for(session.finished, process, session, 60 + invocations * 0.2, arm, log_path,
                 f"not all {invocations + 1} invocations answered")
        result.peak_rss_kib = peak_rss_kib(process.pid)
        if session.cpu_after_first_ns is not None and invocations:
            result.warm_cpu_ns = cpu_time_since(process.pid, session.cpu_after_first_ns) // invocations
    finally:
        stub.session = None
        stop(process, session)
    if session.problems:
        raise describe_failure(arm, log_path, "; ".join(dict.fromkeys(session.problems))[:2000])
    made = session.aws_calls.get(arm.main_op, 0) if arm.main_op else sum(session.aws_calls.values())
    expected = invocations + 1 if arm.main_op else 0
    if made != expected:
        raise describe_failure(arm, log_path, f"made {made} {arm.main_op or 'AWS'} calls for {invocations + 1} "
                               f"invocations (all calls: {session.aws_calls or 'none'})")
    result.aws_calls = {op: n / (invocations + 1) for op, n in session.aws_calls.items()}
    result.aws_stub_ns = session.aws_stub_ns // (invocations + 1)
    result.first_invoke_ns = session.latencies_ns[0]
    result.warm_ns = session.latencies_ns[1:]


def cpu_time_ns(pid: int) -> dict[str, int]:
    """CPU time each of the process's threads has run so far (the scheduler's own nanosecond
    count, first field of each thread's schedstat; /proc/<pid>/stat only has 10 ms ticks)."""
    times = {}
    for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            times[schedstat.parent.name] = int(schedstat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return times


def cpu_time_since(pid: int, before: dict[str, int]) -> int:
    """CPU time the process's threads have run since `before`, thread by thread. A thread that
    ended in between is missing its share from then on (our functions' threads do not end)."""
    return sum(ns - before.get(tid, 0) for tid, ns in cpu_time_ns(pid).items())


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile; None for no values (e.g. --cold 0)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# --------------------------------------------------------------------------------------------
# Report


def ms(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e6:.2f}"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} MB"
    return f"{n / 1e3:.1f} kB"


def machine(load_at_start) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = "load average %.2f %.2f %.2f at the start" % load_at_start
    return f"{os.cpu_count()} x {cpu}{mem}; Linux {platform.release()} {platform.machine()}; {load}"


def tool_version(argv) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "?"


def report(arms, results, args) -> tuple[str, bool]:
    header = ["function", "init median", "init p90", "1st invoke", "warm p50", "warm p99",
              "warm CPU", "peak RSS", "arm64 zip"]
    rows = []
    for arm in arms:
        r = results[arm.name]
        rows.append([
            arm.name,
            f"{ms(percentile(r.init_ns, 50))} ms",
            f"{ms(percentile(r.init_ns, 90))} ms",
            f"{ms(r.first_invoke_ns)} ms",
            f"{ms(percentile(r.warm_ns, 50))} ms",
            f"{ms(percentile(r.warm_ns, 99))} ms",
            f"{ms(r.warm_cpu_ns)} ms",
            f"{r.peak_rss_kib / 1024:.1f} MiB",
            fmt_bytes(arm.zip_bytes) + arm.zip_note,
        ])
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    table = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]

    calls = [f"  {a.name}: " + (", ".join(f"{n:g} {op}" for op, n in sorted(results[a.name].aws_calls.items()))
                                 or "none")
             + (f"; the stub's own time in them: {ms(results[a.name].aws_stub_ns)} ms (mean)"
                if results[a.name].aws_calls else "")
             for a in arms]
    table += ["", "AWS calls per invocation (to the loopback stub, whose time counts in warm latency):", *calls]
    by_name = {a.name: (a, results[a.name]) for a in arms}
    checks = []
    pairs = (("send-email (Rust)", "send-email (tutorial, Node.js)"),
             ("approval-callback (Rust)", "approval-callback (tutorial, Node.js)"))
    if "bare lambda_runtime echo (floor)" not in by_name:
        pairs = ()
    else:
        floor_init = percentile(by_name["bare lambda_runtime echo (floor)"][1].init_ns, 50)
    for ours, theirs in pairs:
        if ours not in by_name or theirs not in by_name:
            continue
        arm, r = by_name[ours]
        init = percentile(r.init_ns, 50)
        node_init = percentile(by_name[theirs][1].init_ns, 50)
        if init and node_init and floor_init:
            checks += [
                (f"{ours}: init {node_init / init:.1f}x faster than Node.js (target >= 20x)", node_init >= 20 * init),
                (f"{ours}: init {init / floor_init:.2f}x the bare binary (target <= 2x)", init <= 2 * floor_init),
            ]
        else:
            checks.append((f"{ours}: init not measured (--cold 0)", None))
        checks += [
            (f"{ours}: warm p50 {ms(percentile(r.warm_ns, 50))} ms (target <= 1 ms)",
             None if not r.warm_ns else percentile(r.warm_ns, 50) <= 1_000_000),
            (f"{ours}: warm p99 {ms(percentile(r.warm_ns, 99))} ms (target <= 3 ms)",
             None if not r.warm_ns else percentile(r.warm_ns, 99) <= 3_000_000),
            (f"{ours}: peak RSS {r.peak_rss_kib / 1024:.1f} MiB (target <= 16 MiB)", r.peak_rss_kib <= 16 * 1024),
        ]
        if arm.zip_bytes is not None:
            checks.append((f"{ours}: arm64 zip {fmt_bytes(arm.zip_bytes)} (target <= 3 MB)", arm.zip_bytes <= 3_000_000))
        else:
            checks.append((f"{ours}: arm64 zip not built (target <= 3 MB)", None))

    out = [
        f"machine: {machine(args.load_at_start)}",
        f"tools: {tool_version([args.node, '--version']).replace('v', 'node ', 1)}; "
        f"{tool_version(['rustc', '--version'])}; python {platform.python_version()}",
        f"tree: {tool_version(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])}"
        + (" + uncommitted changes" if subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD"]).returncode else ""),
        f"runs: init over {args.cold} cold starts per function (interleaved), warm over "
        f"{args.warm} invocations after the first; stub Runtime API + AWS endpoint on loopback; "
        + ("spread over all CPUs (--no-pin)" if args.no_pin else f"stub and functions pinned to CPU {args.cpu}"),
        *([f"extra environment (experiment): {' '.join(args.extra_env)}"] if args.extra_env else []),
        "",
        *table,
        "",
    ]
    for text, ok in checks:
        if args.smoke:
            out.append(f"  [smoke] {text}")
        else:
            out.append(f"  {'PASS' if ok else 'FAIL' if ok is not None else 'SKIP'}  {text}")
    failed = sum(ok is False for _, ok in checks)
    skipped = sum(ok is None for _, ok in checks)
    all_met = bool(checks) and not failed and not skipped
    if not checks:
        out.append("partial run (--only): targets not checked")
    elif args.smoke:
        out.append("smoke run (dev builds, few samples): figures not representative; targets not checked")
    elif failed:
        out.append(f"targets: NOT all met ({failed} missed" + (f", {skipped} not measured)" if skipped else ")"))
    elif skipped:
        out.append(f"targets: every measured one met; {skipped} not measured in this run")
    else:
        out.append("targets: all met")
    return "\n".join(out), all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", type=Path, required=True, help="folder with send-email, approval-callback")
    parser.add_argument("--floor-bin", type=Path, required=True, help="the bare lambda_runtime echo binary")
    parser.add_argument("--node", default="node")
    parser.add_argument("--cold", type=int, default=30, help="cold starts per function (>= 20 for the report)")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per function")
    parser.add_argument("--zip", action="append", default=[], metavar="NAME=PATH",
                        help="arm64 zip of a Rust function, e.g. send-email=target/lambda/send-email/bootstrap.zip")
    parser.add_argument("--smoke", action="store_true", help="report without judging the targets")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--extra-env", action="append", default=[], metavar="NAME=VALUE",
                        help="add to every function's environment (for experiments; the report says so)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the functions whose name starts with NAME (experiments)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                        help="the one CPU the stub and every function run on (default: the last one)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the scheduler spread the stub and the functions over all CPUs")
    args = parser.parse_args()
    args.load_at_start = os.getloadavg()
    # The tutorial's Node.js send-email opens a new connection per invocation and leaves it open:
    # thousands of descriptors in one warm run, past the usual soft limit of 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        cap = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, cap), hard))
    except (ValueError, OSError):
        pass  # keep the soft limit; the stub reports running out instead of hanging

    # One CPU for the stub and the functions (children inherit the affinity). Lambda runs a
    # 128 MB function on a fraction of one vCPU, next to its Runtime API; and on this 2-vCPU VM a
    # wake-up across CPUs costs ~40 us (the floor's warm p50: 0.04 ms pinned, 0.13-0.15 ms
    # spread), so spread runs move with where the scheduler happens to place the processes.
    if not args.no_pin:
        os.sched_setaffinity(0, {args.cpu})
    # A collection pause in the stub would be charged to the function under test.
    gc.disable()
    sys.setswitchinterval(0.0005)
    stub = Stub()
    with tempfile.TemporaryDirectory(prefix="approval-gate-bench-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        home.mkdir()
        arms = build_arms(args, stub.address, home)
        for arm in arms:
            arm.env.update(dict(spec.split("=", 1) for spec in args.extra_env))
        if args.only:
            arms = [a for a in arms if any(a.name.startswith(o) for o in args.only)]
        for arm in arms:
            if not Path(arm.argv[-1]).exists() and not Path(arm.argv[0]).exists():
                raise BenchError(f"{arm.name}: {arm.argv} not found")
        results = {arm.name: Result() for arm in arms}
        logs = {arm.name: tmp / f"{arm.argv[-1].rsplit('/', 1)[-1]}-{i}.stderr" for i, arm in enumerate(arms)}

        print(f"warm: {args.warm} invocations per function", file=sys.stderr, flush=True)
        for arm in arms:
            if arm.name == "approval-callback (Rust)":
                arm.event = signed_callback_event(stub.published_message(), arm.event)
            warm_run(stub, arm, args.warm, logs[arm.name], results[arm.name])
            print(f"  {arm.name}: p50 {ms(percentile(results[arm.name].warm_ns, 50))} ms",
                  file=sys.stderr, flush=True)
        print(f"init: {args.cold} cold starts per function, interleaved", file=sys.stderr, flush=True)
        for arm in arms if args.cold else ():  # one unmeasured start each: page cache, like every start after it
            cold_start(stub, arm, logs[arm.name])
        for _ in range(args.cold):
            for arm in arms:
                results[arm.name].init_ns.append(cold_start(stub, arm, logs[arm.name]))
        text, _ = report(arms, results, args)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"bench failed: {err}", file=sys.stderr)
        sys.exit(1)
