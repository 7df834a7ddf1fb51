"""EventBridge Scheduler's part, which moto does not play: moto creates, lists, reads and deletes
schedules but never fires one. A thread lists the stack's schedule group every half second and,
for each enabled one-time schedule whose `at(…)` time (in its `ScheduleExpressionTimezone`:
send-email's are UTC) has come, invokes send-email with the schedule's target `Input` through the
functions' front, as Scheduler invokes its Lambda target; a function error or no answer is retried
up to the target's `RetryPolicy.MaximumRetryAttempts` (Scheduler's own retries, here 1 s apart);
then the schedule is deleted (`ActionAfterCompletion: DELETE`; one kept is never fired again).
A schedule is fired once: the poller and `fire_now` take turns, and each checks it is still there.

`fire_now(name)` fires one at once (a test need not wait for its time); `fired` lists what was
invoked and answered; each invocation is a line in the functions' log.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import json
import re
import threading
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from . import invoke_shim
from .common import SEND_EMAIL_FUNCTION, StackError

GROUP_NAME = "local-gate-nudges"  # SCHEDULE_GROUP (deployed: <stack name>-nudges)
ROLE_ARN = "arn:aws:iam::123456789012:role/local-gate-scheduler"  # SCHEDULER_ROLE_ARN
POLL_INTERVAL_S = 0.5
RETRY_BACKOFF_S = 1.0
INVOKE_TIMEOUT_S = 60.0
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


def due_at(expression: str, timezone: str | None = "UTC") -> datetime.datetime:
    """`at(yyyy-mm-ddThh:mm:ss)` in `timezone` (ScheduleExpressionTimezone; Scheduler's default,
    and send-email's, is UTC) as an aware time; StackError for any other expression."""
    match = _AT.match(expression)
    if match is None:
        raise StackError(f"schedule expression {expression!r} is not a one-time at(...) schedule")
    try:
        zone: datetime.tzinfo = datetime.UTC if timezone in (None, "", "UTC") else zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise StackError(f"schedule time zone {timezone!r} is unknown") from err
    return datetime.datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)


def schedule_due_at(schedule: dict[str, Any]) -> datetime.datetime:
    """When a GetSchedule answer's one-time schedule is due."""
    return due_at(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone"))


def _kept_key(schedule: dict[str, Any]) -> tuple[str, str]:
    return schedule["Name"], str(schedule.get("LastModificationDate", ""))


@dataclasses.dataclass(frozen=True)
class Fired:
    """One schedule fired: what send-email was invoked with and what it answered."""

    name: str
    input: Any
    outcome: str  # "ok" or "function_error" / "invoke_failed" after the last retry
    answer: Any
    attempts: int


class ScheduleFirer:
    """Start with `stop = firer.start()`."""

    def __init__(self, scheduler: Any, functions_url: str, *, group: str = GROUP_NAME,
                 function: str = SEND_EMAIL_FUNCTION, log: Callable[[str], None] | None = None,
                 poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self.scheduler = scheduler
        self.functions_url = functions_url
        self.group = group
        self.function = function
        self.poll_interval_s = poll_interval_s
        self._log_line = log or (lambda line: None)
        self.fired: list[Fired] = []
        self._changed = threading.Condition()
        self._firing = threading.Lock()  # one firing at a time: the poller's or fire_now's
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""
        # One-time schedules fired but kept (ActionAfterCompletion NONE): Scheduler never fires
        # them again; by name and last modification (an update makes one new).
        self._kept: set[tuple[str, str]] = set()

    def create_group(self) -> None:
        self.scheduler.create_schedule_group(Name=self.group)

    def start(self) -> Callable[[], None]:
        self._thread = threading.Thread(target=self._run, name="schedule-firer", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def names(self) -> list[str]:
        """The group's schedules now (fired ones are deleted)."""
        names: list[str] = []
        kwargs: dict[str, Any] = {"GroupName": self.group}
        while True:
            page = self.scheduler.list_schedules(**kwargs)
            names += [s["Name"] for s in page.get("Schedules", [])]
            if not page.get("NextToken"):
                return names
            kwargs["NextToken"] = page["NextToken"]

    def fire_now(self, name: str) -> Fired:
        """Fire schedule `name` now, whatever its time; StackError if it is not there."""
        try:
            schedule = self.scheduler.get_schedule(Name=name, GroupName=self.group)
        except self.scheduler.exceptions.ResourceNotFoundException as err:
            raise StackError(f"no schedule {name} in {self.group} (fired or deleted already?)") from err
        fired = self._fire(schedule)
        if fired is None:
            raise StackError(f"schedule {name} in {self.group} fired or was deleted meanwhile")
        return fired

    def wait_fired(self, name: str, timeout: float = 30.0) -> Fired:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for fired in self.fired:
                    if fired.name == name:
                        return fired
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StackError(f"schedule {name} did not fire within {timeout:g}s")
                self._changed.wait(min(left, 0.5))

    # ---- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                for name in self.names():
                    if self._stopping.is_set():
                        break
                    self._fire_if_due(name)
            except Exception as err:  # noqa: BLE001 (moto's errors: log once, go on)
                self._warn_once(f"reading the schedules failed, trying again: {type(err).__name__}: {err}")
            self._stopping.wait(self.poll_interval_s)

    def _fire_if_due(self, name: str) -> None:
        try:
            schedule = self.scheduler.get_schedule(Name=name, GroupName=self.group)
        except self.scheduler.exceptions.ResourceNotFoundException:
            return  # deleted since it was listed (send-email's request ended; fire_now)
        if schedule.get("State") == "DISABLED" or _kept_key(schedule) in self._kept:
            return  # Scheduler fires no disabled schedule, and a one-time schedule once
        try:
            due = schedule_due_at(schedule)
        except StackError as err:
            self._warn_once(f"not firing {name}: {err}")
            return
        if due <= datetime.datetime.now(datetime.UTC):
            self._fire(schedule)

    def _fire(self, schedule: dict[str, Any]) -> Fired | None:
        """Invoke the schedule's target (retried on failure), then delete it; None when it was gone
        by the time the firing lock was taken (the other of the poller and fire_now fired it)."""
        name = schedule["Name"]
        target = schedule["Target"]
        payload = json.loads(target.get("Input") or "{}")
        retries = int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 0))
        with self._firing:
            try:
                self.scheduler.get_schedule(Name=name, GroupName=self.group)
            except self.scheduler.exceptions.ResourceNotFoundException:
                return None
            outcome, answer, attempts = "invoke_failed", None, 0
            for attempt in range(retries + 1):
                attempts = attempt + 1
                outcome, answer, detail = self._invoke(payload)
                self._log("INFO" if outcome == "ok" else "WARN",
                          f"fired {name} (attempt {attempts}): {outcome} {json.dumps(answer)[:200]} {detail}")
                if outcome == "ok" or self._stopping.is_set():
                    break
                self._stopping.wait(RETRY_BACKOFF_S)
            if schedule.get("ActionAfterCompletion") == "DELETE":
                try:
                    self.scheduler.delete_schedule(Name=name, GroupName=self.group)
                except self.scheduler.exceptions.ResourceNotFoundException:
                    pass  # send-email deleted it meanwhile (its request ended)
            else:
                self._kept.add(_kept_key(schedule))
            fired = Fired(name=name, input=payload, outcome=outcome, answer=answer, attempts=attempts)
            with self._changed:
                self.fired.append(fired)
                self._changed.notify_all()
            return fired

    def _invoke(self, payload: Any) -> tuple[str, Any, str]:
        try:
            answer = invoke_shim.invoke(self.functions_url, self.function, payload, timeout=INVOKE_TIMEOUT_S)
        except (OSError, http.client.HTTPException) as err:
            return "invoke_failed", None, f"no answer from {self.functions_url}: {err}"
        if answer.function_error:
            return "function_error", answer.payload, ""
        if answer.status != 200:
            return "invoke_failed", answer.payload, f"HTTP {answer.status}"
        return "ok", answer.payload, ""

    def _warn_once(self, message: str) -> None:
        if message != self._last_error:
            self._log("WARN", message)
        self._last_error = message

    def _log(self, level: str, message: str) -> None:
        now = datetime.datetime.now(datetime.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        try:
            self._log_line(f"{stamp} {level:>5} schedule_firer: {message}")
        except OSError:
            pass
