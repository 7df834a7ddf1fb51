"""Step Functions' execution status-change events into send-email, played locally.

On AWS, Step Functions puts a "Step Functions Execution Status Change" event on the account's
default bus whenever an execution changes status, and template.yaml's rule (SendEmailFunction's
`ExecutionEnded` EventBridgeRule event: source aws.states, detail.status ABORTED, TIMED_OUT,
FAILED or SUCCEEDED, detail.stateMachineArn the gate's own and the trusted state machines) hands
the ended ones to send-email, an asynchronous invocation (Lambda retries a failed one, twice by
default). send-email then ends every pending request of that execution (cancelled, or expired when
its time had run out anyway) and answers {"Cancelled": n, "Expired": m}.

moto 5.2.5 emits no such events, and its StopExecution leaves a waiting waitForTaskToken task
waiting: the execution stays RUNNING (DescribeExecution, ListExecutions, no ExecutionAborted in
the history) until a SendTaskSuccess comes, which it still takes. So the stack plays AWS's part
(`ExecutionWatcher`, one thread):

* every StopExecution moto accepts for a RUNNING execution (moto_server.add_stop_listener) ends
  that execution as ABORTED, then and there, with the call's `error` and `cause`;
* every `poll_interval_s` (0.5 s) it lists the executions of every state machine and takes each
  one that is no longer RUNNING (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) and was not ended already
  when the watcher started (the rule sees only what happens after it exists);
* once per execution, whichever saw it first, it builds the event as Step Functions documents it
  (`status_change_event`), matches it against the rule's pattern read from template.yaml
  (`rule_pattern`: values the template computes at deployment, the state machines' ARNs, become
  the local stack's own and trusted ones) and, when it matches, invokes send-email with it through
  the front's Invoke API, as the stream poller does. A function error or no answer is retried
  `max_retry_attempts` times (SendEmailFunction's EventInvokeConfig, else Lambda's default 2),
  after 0.5 s, doubling (Lambda waits about a minute, then two).

Each invocation is kept (`reports`; `wait_reported(execution_arn)` returns the last one of an
execution) and logged through `log` (the stack: the functions' log, ARNs and counts only).
Differences from AWS: the event's `id` and `time` are the watcher's, `inputDetails` /
`outputDetails` / `redriveCount` are left out, and an execution stopped in moto is ABORTED here
while moto itself still says RUNNING.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from . import invoke_shim, moto_server
from .common import ACCOUNT_ID, REGION, SEND_EMAIL_FUNCTION, StackError

DETAIL_TYPE = "Step Functions Execution Status Change"
EVENT_SOURCE = "aws.states"
ENDED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED")
POLL_INTERVAL_S = 0.5
MAX_RETRY_ATTEMPTS = 2  # Lambda's default for asynchronous invocations
RETRY_BACKOFF_S = 0.5  # before the first retry; doubled for each next one
INVOKE_TIMEOUT_S = 60.0  # cargo lambda watch does not enforce the function's Timeout
STATE_MACHINE_ARN_PATH = ("detail", "stateMachineArn")
_INTRINSIC = re.compile(r"^(Ref|Condition|Fn::[A-Za-z]+)$")
# The rule's properties the watcher plays: what it matches, and where it sits.
_RULE_PLAYED = {"Pattern", "EventBusName", "RuleName", "Description"}


def design_pattern(state_machine_arns: Sequence[str]) -> dict[str, Any]:
    """The rule the design asks for (issue #23), for a template that has none yet."""
    return {"source": [EVENT_SOURCE], "detail-type": [DETAIL_TYPE],
            "detail": {"status": list(ENDED_STATUSES), "stateMachineArn": list(state_machine_arns)}}


def rule_pattern(properties: dict[str, Any] | None,
                 state_machine_arns: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The rule's pattern with local values, and what of the rule is not played (one note each).

    A value the template computes at deployment (an intrinsic function) at detail.stateMachineArn
    becomes `state_machine_arns` (the stack's own and its trusted state machines: what the
    template's value means); anywhere else, and any content filter (prefix, anything-but, ...),
    the field is not matched locally, and noted. No rule in the template: `design_pattern`."""
    if properties is None:
        return design_pattern(state_machine_arns), [
            "template.yaml has no EventBridge rule from Step Functions' status changes to send-email: the design's "
            "pattern (source aws.states, the ended statuses, the stack's own and trusted state machines)"]
    notes: list[str] = []
    pattern = _resolve(properties.get("Pattern") or {}, (), list(state_machine_arns), notes)
    for name in sorted(set(properties) - _RULE_PLAYED):
        notes.append(f"the rule's {name} is not emulated")
    if properties.get("EventBusName") not in (None, "default"):
        notes.append(f"the rule is on bus {properties['EventBusName']!r}; Step Functions puts its events on the "
                     "default bus, as here")
    return pattern if isinstance(pattern, dict) else {}, notes


def _is_intrinsic(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and bool(_INTRINSIC.match(next(iter(node))))


def _resolve(node: Any, path: tuple[str, ...], arns: list[str], notes: list[str]) -> Any:
    """The pattern's node with local values; None: the field is not matched (noted)."""
    name = ".".join(path) or "the pattern"
    if _is_intrinsic(node) or (isinstance(node, list) and any(_is_intrinsic(value) for value in node)):
        if path == STATE_MACHINE_ARN_PATH:
            notes.append(f"{name} is computed at deployment; locally: {', '.join(arns)}")
            return list(arns)
        notes.append(f"{name} is computed at deployment: not matched locally")
        return None
    if isinstance(node, dict):
        resolved = {key: _resolve(value, (*path, key), arns, notes) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not None}
    if isinstance(node, list) and all(value is None or isinstance(value, (str, int, float, bool)) for value in node):
        return list(node)
    notes.append(f"{name}: {node!r:.100} is a filter the local stack does not match: not matched locally")
    return None


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching of exact values: every field of the pattern is in the event, an
    object matching the nested pattern, a value (or, for an array, any element) among the listed."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        have = event[key]
        if isinstance(wanted, dict):
            if not isinstance(have, dict) or not matches(wanted, have):
                return False
            continue
        values = have if isinstance(have, list) else [have]
        if not any(value in wanted for value in values):
            return False
    return True


def _epoch_ms(value: datetime.datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso_z(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_change_event(description: dict[str, Any], status: str,
                        stopped: moto_server.StoppedExecution | None = None) -> dict[str, Any]:
    """The event Step Functions puts when the execution (DescribeExecution's answer, through
    boto3) ended with `status`; for a StopExecution, its time, error and cause."""
    if stopped is not None:
        stop_date, error, cause = stopped.stopped_at, stopped.error, stopped.cause
    else:
        stop_date = description.get("stopDate") or datetime.datetime.now(datetime.UTC)
        error, cause = description.get("error"), description.get("cause")
    arn = description["executionArn"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": ACCOUNT_ID,
        "time": _iso_z(stop_date),
        "region": REGION,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": description["stateMachineArn"],
            "name": description["name"],
            "status": status,
            "startDate": _epoch_ms(description["startDate"]),
            "stopDate": _epoch_ms(stop_date),
            "input": description.get("input"),
            "output": description.get("output") if status == "SUCCEEDED" else None,
            "error": error,
            "cause": cause,
        },
    }


@dataclasses.dataclass(frozen=True)
class Report:
    """One invocation of the function with one execution's status-change event."""

    execution_arn: str
    status: str
    seen_by: str  # "StopExecution" or "ListExecutions"
    attempt: int  # 0: the first invocation; n: its nth retry
    outcome: str  # "ok", "function_error" or "invoke_failed" (no answer, an unexpected HTTP status)
    answer: Any  # the function's answer: {"Cancelled": n, "Expired": m}, or its error payload
    final: bool  # ok, or the last retry spent
    detail: str = ""


@dataclasses.dataclass
class _Delivery:
    event: dict[str, Any]
    seen_by: str
    attempt: int = 0
    due: float = 0.0  # time.monotonic()

    @property
    def execution_arn(self) -> str:
        return str(self.event["detail"]["executionArn"])

    @property
    def status(self) -> str:
        return str(self.event["detail"]["status"])


class ExecutionWatcher:
    """Start with `stop = watcher.start()`; `stop()` ends the thread and stops listening."""

    def __init__(
        self,
        sfn: Any,
        functions_url: str,
        pattern: dict[str, Any],
        *,
        function: str = SEND_EMAIL_FUNCTION,
        log: Callable[[str], None] | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        max_retry_attempts: int = MAX_RETRY_ATTEMPTS,
        retry_backoff_s: float = RETRY_BACKOFF_S,
    ) -> None:
        self.sfn = sfn  # a client of its own: used by the watcher's thread only
        self.functions_url = functions_url
        self.pattern = pattern
        self.function = function
        self._log_line = log or (lambda line: None)
        self.poll_interval_s = poll_interval_s
        self.max_retry_attempts = max_retry_attempts
        self.retry_backoff_s = retry_backoff_s
        # What it did, in order (appended by the watcher's thread; read them any time).
        self.reports: list[Report] = []
        self.ignored: list[str] = []  # ended executions the pattern does not match
        self._final: dict[str, Report] = {}
        self._handled: set[str] = set()  # executions ended (reported, ignored, or ended before start)
        self._before_start: set[str] = set()  # ended before the watcher started: never delivered
        self._stops: queue.SimpleQueue[moto_server.StoppedExecution] = queue.SimpleQueue()
        self._pending: list[_Delivery] = []
        self._wake = threading.Event()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._last_error = ""

    def settings(self) -> str:
        return (f"status changes polled every {self.poll_interval_s:g}s and every StopExecution, "
                f"pattern {json.dumps(self.pattern)}, {self.max_retry_attempts} retries")

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Callable[[], None]:
        """Note the executions that ended already (never reported), listen, then watch."""
        self._before_start = {arn for arn, status in self._executions() if status != "RUNNING"}
        self._handled.update(self._before_start)
        self._remove_listener = moto_server.add_stop_listener(self._stopped)
        self._thread = threading.Thread(target=self._run, name="execution-watcher", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_reported(self, execution_arn: str, timeout: float = 15.0) -> Report:
        """The execution's last invocation (ok, or its last retry failed) once there is one;
        StackError when the pattern does not match it, or nothing came within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while execution_arn not in self._final:
                if execution_arn in self.ignored:
                    raise StackError(f"execution {execution_arn} ended, but the rule's pattern does not match it: "
                                     f"{json.dumps(self.pattern)}")
                if execution_arn in self._before_start:
                    raise StackError(f"execution {execution_arn} ended before the watcher started: never delivered")
                left = deadline - time.monotonic()
                if left <= 0:
                    state = "seen ended, still being delivered" if execution_arn in self._handled else "not seen ended"
                    raise StackError(f"no status change of execution {execution_arn} delivered within {timeout:g}s "
                                     f"({state}; last watcher error: {self._last_error or 'none'})")
                self._changed.wait(min(left, 0.5))
            return self._final[execution_arn]

    # ---- the watcher's thread --------------------------------------------------------------

    def _stopped(self, stopped: moto_server.StoppedExecution) -> None:
        # In moto's (or the caller's) thread: take note only.
        self._stops.put(stopped)
        self._wake.set()

    def _run(self) -> None:
        next_poll = 0.0
        while not self._stopping.is_set():
            try:
                self._take_stops()
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.poll_interval_s
                    self._poll()
                self._deliver_due()
            except Exception as err:  # noqa: BLE001 (moto's errors: log, go on)
                self._failed(err)
            due = min([d.due for d in self._pending], default=next_poll)
            self._wake.wait(max(0.0, min(next_poll, due) - time.monotonic()))
            self._wake.clear()  # before the next round takes the stops: none is missed

    def _take_stops(self) -> None:
        while True:
            try:
                stopped = self._stops.get_nowait()
            except queue.Empty:
                return
            if stopped.execution_arn in self._handled:
                continue
            try:
                description = self.sfn.describe_execution(executionArn=stopped.execution_arn)
            except Exception:
                self._stops.put(stopped)  # the next round asks again
                raise
            self._handled.add(stopped.execution_arn)
            self._ended(status_change_event(description, "ABORTED", stopped), "StopExecution")

    def _poll(self) -> None:
        for arn, status in self._executions():
            if status == "RUNNING" or arn in self._handled:
                continue
            description = self.sfn.describe_execution(executionArn=arn)
            self._handled.add(arn)
            self._ended(status_change_event(description, status), "ListExecutions")

    def _executions(self) -> list[tuple[str, str]]:
        """(ARN, status) of every execution of every state machine."""
        found: list[tuple[str, str]] = []
        for machine in self._paged(self.sfn.list_state_machines, "stateMachines"):
            for execution in self._paged(self.sfn.list_executions, "executions",
                                         stateMachineArn=machine["stateMachineArn"]):
                found.append((execution["executionArn"], execution["status"]))
        return found

    @staticmethod
    def _paged(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = call(**kwargs)
            items.extend(page[key])
            if not page.get("nextToken"):
                return items
            kwargs["nextToken"] = page["nextToken"]

    def _ended(self, event: dict[str, Any], seen_by: str) -> None:
        arn, status = event["detail"]["executionArn"], event["detail"]["status"]
        if not matches(self.pattern, event):
            with self._changed:
                self.ignored.append(arn)
                self._changed.notify_all()
            self._log("INFO", f"{arn} {status} ({seen_by}): not matched by the rule, not delivered")
            return
        self._pending.append(_Delivery(event, seen_by, due=time.monotonic()))

    def _deliver_due(self) -> None:
        now = time.monotonic()
        for delivery in [d for d in self._pending if d.due <= now]:
            if self._stopping.is_set():
                return
            self._pending.remove(delivery)
            self._deliver(delivery)

    def _deliver(self, delivery: _Delivery) -> None:
        outcome, answer, detail = self._invoke(delivery.event)
        final = outcome == "ok" or delivery.attempt >= self.max_retry_attempts
        report = Report(delivery.execution_arn, delivery.status, delivery.seen_by, delivery.attempt, outcome,
                        answer, final, detail)
        with self._changed:
            self.reports.append(report)
            if final:
                self._final[report.execution_arn] = report
            self._changed.notify_all()
        what = (f"{self.function} with {delivery.execution_arn} {delivery.status} ({delivery.seen_by})"
                + (f" (retry {delivery.attempt})" if delivery.attempt else ""))
        if outcome == "ok":
            self._log("INFO", f"invoked {what}: ok {json.dumps(answer)[:200]}")
        elif final:
            self._log("WARN", f"invoked {what}: {outcome} ({detail}); {self.max_retry_attempts} retries spent, dropped")
        else:
            delivery.attempt += 1
            backoff = self.retry_backoff_s * 2 ** (delivery.attempt - 1)
            delivery.due = time.monotonic() + backoff
            self._pending.append(delivery)
            self._log("WARN", f"invoked {what}: {outcome} ({detail}); retry {delivery.attempt} in {backoff:g}s")

    def _invoke(self, event: dict[str, Any]) -> tuple[str, Any, str]:
        """(outcome, answer, detail) of one invocation."""
        try:
            answer = invoke_shim.invoke(self.functions_url, self.function, event, timeout=INVOKE_TIMEOUT_S)
        except (OSError, http.client.HTTPException) as err:
            return "invoke_failed", None, f"no answer from {self.functions_url}: {err}"
        if answer.function_error:
            message = answer.payload.get("errorMessage", "") if isinstance(answer.payload, dict) else ""
            return "function_error", answer.payload, f"{answer.error_type}: {str(message)[:300]}"
        if answer.status != 200:
            return "invoke_failed", answer.payload, f"HTTP {answer.status}: {str(answer.payload)[:300]}"
        return "ok", answer.payload, ""

    # ---- log -------------------------------------------------------------------------------

    def _failed(self, err: Exception) -> None:
        message = f"{type(err).__name__}: {err}"
        if message != self._last_error:  # once per kind of failure, not every round
            self._log("WARN", f"watching the executions failed, trying again: {message}")
        self._last_error = message

    def _log(self, level: str, message: str) -> None:
        now = datetime.datetime.now(datetime.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        try:
            self._log_line(f"{stamp} {level:>5} execution_watcher: {message}")
        except OSError:
            pass  # a log that cannot be written must not stop the deliveries
