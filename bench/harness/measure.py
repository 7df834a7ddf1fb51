"""Cold starts and warm runs of one function, with its CPU time and peak RSS."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import payloads
from .arms import Arm
from .payloads import Links
from .seeded_rows import ready_to_tell
from .session import BenchError, Session, cpu_time_ns, describe_failure
from .stub import Stub


@dataclass
class Result:
    init_ns: list[int] = field(default_factory=list)
    first_invoke_ns: int | None = None
    warm_ns: list[int] = field(default_factory=list)
    after_answer_ns: list[int] = field(default_factory=list)  # warm: answer posted -> next /next
    peak_rss_kib: int | None = None
    aws_calls: dict[str, float] = field(default_factory=dict)  # per invocation
    aws_stub_ns: int = 0  # mean stub time on AWS calls per invocation
    warm_cpu_ns: int | None = None  # the function's own CPU time per warm invocation (mean)


@dataclass
class ScaleRow:
    """send-email (ses) with `approvers` approvers: on loopback, and with each SendEmail answered
    a round trip late."""

    approvers: int
    loopback: Result
    round_trip: Result


def spawn(arm: Arm, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(arm.argv, env=arm.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log, close_fds=True)
    finally:
        log.close()


def stop(process: subprocess.Popen, session: Session) -> None:
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


def wait_for(event: threading.Event, process: subprocess.Popen, session: Session, timeout: float, arm: Arm,
             log_path: Path, what: str) -> None:
    """Waits for `event`, but gives up at once if the process exits or the stub reports a
    problem (rather than sitting out the whole timeout)."""
    deadline = time.monotonic() + timeout
    while not event.wait(timeout=0.2):
        if session.problems:
            raise describe_failure(arm.name, log_path, "; ".join(dict.fromkeys(session.problems))[:2000])
        if process.poll() is not None:
            raise describe_failure(arm.name, log_path, f"{what}: the process exited with status "
                                   f"{process.returncode} after {len(session.latencies_ns)} invocations")
        if time.monotonic() > deadline:
            raise describe_failure(arm.name, log_path, f"{what} within {timeout:.0f} s "
                                   f"({len(session.latencies_ns)} answered)")


def cold_start(stub: Stub, arm: Arm, log_path: Path) -> int:
    """Process spawn -> its first GET /invocation/next (held: no invocation)."""
    session = Session(events=[], function_name=arm.env["AWS_LAMBDA_FUNCTION_NAME"])
    stub.session = session
    started = time.perf_counter_ns()
    process = spawn(arm, log_path)
    try:
        wait_for(session.first_next, process, session, 30, arm, log_path, "no GET /invocation/next")
        assert session.first_next_ns is not None, "stamped before first_next is set"
        return session.first_next_ns - started
    finally:
        stub.session = None
        stop(process, session)


def run(stub: Stub, arm: Arm, events: list[bytes], log_path: Path, result: Result | None = None) -> Session:
    """One process answering `events` in turn; checks every answer, every AWS call and what
    was published. With `result`, also takes the measurements."""
    n = len(events)
    session = Session(events=list(events), function_name=arm.env["AWS_LAMBDA_FUNCTION_NAME"], check=arm.check)
    stub.session = session
    process = spawn(arm, log_path)
    session.pid = process.pid
    try:
        wait_for(session.finished, process, session, 60 + n * 0.2, arm, log_path,
                 f"not all {n} invocations answered")
        if result is not None:
            result.peak_rss_kib = peak_rss_kib(process.pid)
            if session.cpu_after_first_ns is not None and n > 1:
                result.warm_cpu_ns = cpu_time_since(process.pid, session.cpu_after_first_ns) // (n - 1)
    finally:
        stub.session = None
        stop(process, session)
    if not session.problems and session.put_events:
        problem = stub.aws.check_events(session)
        if problem:
            session.problems.append(problem)
    if not session.problems and arm.after:
        problem = arm.after(session)
        if problem:
            session.problems.append(problem)
    if session.problems:
        raise describe_failure(arm.name, log_path, "; ".join(dict.fromkeys(session.problems))[:2000])
    expected = {op: k * n for op, k in arm.calls.items()}
    for op, k in arm.per_process.items():  # once, on the first invocation
        expected[op] = expected.get(op, 0) + k
    if session.aws_calls != expected:
        raise describe_failure(arm.name, log_path, f"made {session.aws_calls or 'no AWS calls'} for {n} "
                               f"invocations; expected {expected or 'none'}")
    if result is not None:
        result.aws_calls = {op: (k - arm.per_process.get(op, 0)) / n for op, k in session.aws_calls.items()
                            if k > arm.per_process.get(op, 0)}
        result.aws_stub_ns = session.aws_stub_ns // n
        result.first_invoke_ns = session.latencies_ns[0]
        result.warm_ns = session.latencies_ns[1:]
        result.after_answer_ns = session.after_answer_ns[1:]
    return session


def warm_run(stub: Stub, arm: Arm, invocations: int, log_path: Path, result: Result) -> None:
    """The first invocation of a fresh process, then `invocations` warm ones."""
    run(stub, arm, arm.events(invocations + 1), log_path, result)


def seeder(stub: Stub, send_email: Arm, log_path: Path) -> Callable[[int], list[Links]]:
    """seed(n): n pending requests, made by send-email itself in an unmeasured run (its records
    in the stub's table, its emails' links); the two links of each."""
    def seed(n: int) -> list[Links]:
        return run(stub, send_email, send_email.events(n), log_path).links
    return seed


def decider(stub: Stub, seed: Callable[[int], list[Links]], post: Arm, log_path: Path) -> Callable[[int], list[str]]:
    """decided(n): n requests decided, Step Functions told, and nobody else yet (no approver told,
    no event put): opened by send-email (`seed`), then each approved through approval-callback's
    POST (`post`, the one approver's vote decides), both in unmeasured runs checked as their rows
    are; the requests' ids. What the table's stream would then hand send-email."""
    def decided(n: int) -> list[str]:
        mailed = seed(n)
        run(stub, post, [payloads.callback_post(links, "approve") for links in mailed], log_path)
        ids = [links.request_id for links in mailed]
        for request in ids:
            problem = ready_to_tell(stub.aws.table.items.get(request))
            if problem:
                raise BenchError(f"request {request} after the POST: {problem}")
        return ids
    return decided


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
