"""What the driver and the stub know of one function process."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .payloads import Links


@dataclass
class Session:
    """The Runtime API's state for one function process, and what the AWS stub saw of it."""

    events: list[bytes]  # handed out in order; an empty list means: hold every /next (cold run)
    function_name: str
    # check(response body, the event it answers) -> a problem or None
    check: Callable[[bytes, bytes], str | None] | None = None
    first_next_ns: int | None = None
    first_next: threading.Event = field(default_factory=threading.Event)
    handed_out_ns: dict[str, int] = field(default_factory=dict)
    handed_out_event: dict[str, bytes] = field(default_factory=dict)
    latencies_ns: list[int] = field(default_factory=list)  # event handed out -> its answer posted
    # Answer posted -> the next GET /invocation/next: work a function does after answering
    # (the callback's delivered mark and decided notices) falls here, not in the latency.
    after_answer_ns: list[int] = field(default_factory=list)
    answered_ns: int | None = None  # when the latest answer was posted, until the next /next
    problems: list[str] = field(default_factory=list)
    aws_calls: dict[str, int] = field(default_factory=dict)
    # Time the stub itself spent on AWS calls (first byte received -> answer sent): it sits
    # inside the measured warm latency, so the report shows it.
    aws_stub_ns: int = 0
    # Every SNS Publish: (Message as sent, percent-encoded or str; the `approver` attribute).
    # Decoded only after the run: decoding ~3 KB in Python took ~0.2 ms inside the measured time.
    published: list[tuple[bytes | str, str | None]] = field(default_factory=list)
    # Every SESv2 SendEmail body, as sent (parsed and checked only after the run, likewise).
    mailed: list[bytes] = field(default_factory=list)
    # Every EventBridge PutEvents: its entries, as sent (each Detail a JSON string, parsed only
    # after the run, likewise).
    put_events: list[list[dict]] = field(default_factory=list)
    # Every call of Slack's Web API: (its method, the JSON body as sent; parsed only after the
    # run, likewise).
    slack_calls: list[tuple[str, bytes]] = field(default_factory=list)
    # The two links of each email (after() reads them from the messages): approve and reject,
    # each with its own credential.
    links: list[Links] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The function's process, and its CPU time once the first (cold) invocation is answered:
    # the warm invocations' own CPU is what it adds from there on.
    pid: int | None = None
    cpu_after_first_ns: dict[str, int] | None = None
    # Connections whose /next is being held (no event left): shut when the session ends, so that
    # a function still running then (under a profiler's wrapper, say) sees the end and exits.
    held: list[socket.socket] = field(default_factory=list)
    closed: bool = False  # set by stop(): a /next from then on is refused, not held

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def fail(session: Session | None, problem: str) -> None:
    """Records a problem of the stub's own and ends the session's wait: the run fails with it."""
    if session is not None:
        session.problem(problem)
        session.finished.set()


class BenchError(Exception):
    pass


def describe_failure(name: str, log_path: Path, why: str) -> BenchError:
    tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    return BenchError(f"{name}: {why}\n--- its stderr ({log_path}) ---\n{tail}")


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
