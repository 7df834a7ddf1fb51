"""`cargo lambda watch` running both workspace binaries, `CONCURRENCY` instances of each: built up
front, started as a session of its own that teardown ends whole, polled until each function has
answered a real request."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import CALLBACK_FUNCTION, REPO_ROOT, SEND_EMAIL_FUNCTION, StackError
from .invoke_shim import invoke
from .net import HttpResponse, http_request, port_accepts
from .processes import descendants, die_with_parent

FUNCTIONS = (SEND_EMAIL_FUNCTION, CALLBACK_FUNCTION)
# Instances of each function that `cargo lambda watch --concurrency` runs at once. Its default, 1,
# takes simultaneous requests in turn, so no race ever happened inside the functions. Measured with
# 30 bursts of 20 POSTs of one link each (2 cores): at 2, 3 and 4 every burst had losing POSTs
# answered while the winner was still deciding (mean 1.8, 3.1, 4.3) and 29 of 30 a compare-and-swap
# write that lost in DynamoDB and was retried (mean 1.0, 1.9, 2.4; the 30th the first burst on cold
# instances); the load tests took as long at 4 as at 1 (moto's Python is the bottleneck).
CONCURRENCY = 4


class CargoLambdaWatch:
    """Both functions behind the Lambda Invoke API and function URLs on 127.0.0.1:`port`; the
    output of watch, cargo and both functions goes to one file (the functions' logs)."""

    def __init__(self, *, port: int, env: dict[str, str], log_path: Path) -> None:
        self.port = port
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def function_url(self, function: str) -> str:
        return f"{self.base_url}/lambda-url/{function}"

    def build(self, build_log: Path, deadline: float) -> None:
        """Compile both binaries first, so a compile error fails fast with its message.

        One `cargo build --bin X` per function, exactly what `cargo lambda watch` later runs as
        `cargo run --bin X`: same profile and per-package features, so its build is a no-op."""
        with open(build_log, "wb") as log:
            for function in FUNCTIONS:
                build = subprocess.Popen(["cargo", "build", "--bin", function], cwd=REPO_ROOT, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
                try:
                    build.wait(timeout=max(1.0, deadline - time.monotonic()))
                except BaseException as err:  # a timeout or Ctrl-C: no cargo left behind
                    build.kill()
                    build.wait()
                    if isinstance(err, subprocess.TimeoutExpired):
                        raise StackError(f"cargo build --bin {function} did not finish in time; "
                                         f"see {build_log}") from err
                    raise
                if build.returncode != 0:
                    tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-40:])
                    raise StackError(f"cargo build --bin {function} failed (exit {build.returncode}); "
                                     f"last lines of {build_log}:\n{tail}")

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 (closed in stop)
        # --ignore-changes: a rebuild in the middle of a test run or a demo would only confuse.
        # --disable-cors: otherwise watch answers every OPTIONS itself (200, CORS headers) before
        # the function sees it; API Gateway and function URLs without CORS pass it on (405 here).
        # --concurrency: up to CONCURRENCY instances of each function, so simultaneous votes race.
        cmd = ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
               "--ignore-changes", "--disable-cors", "--concurrency", str(CONCURRENCY)]
        self.process = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,  # own process group: killpg reaches every child
            preexec_fn=die_with_parent,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, deadline: float, progress: Callable[[str], None] | None = None) -> None:
        """Listening first, then one real call into each function (which makes cargo build and
        start it); only a function that answered is ready."""
        while not port_accepts(self.port):
            self._check_alive_before(deadline, "to listen on its port")
            time.sleep(0.2)
        for function, probe in ((SEND_EMAIL_FUNCTION, self._probe_send_email),
                                (CALLBACK_FUNCTION, self._probe_callback)):
            if progress:
                progress(f"waiting for {function} to answer")
            while True:
                self._check_alive_before(deadline, f"to start {function}")
                try:
                    if probe():
                        break
                except (OSError, http.client.HTTPException):
                    pass  # still compiling or restarting; ask again
                time.sleep(0.5)

    def _check_alive_before(self, deadline: float, what: str) -> None:
        if not self.alive():
            raise StackError(f"cargo lambda watch exited (code {self.process.returncode if self.process else '?'}) "
                             f"before it managed {what}; last lines of {self.log_path}:\n{self.log_tail()}")
        if time.monotonic() > deadline:
            raise StackError(f"cargo lambda watch took too long {what}; last lines of {self.log_path}:\n"
                             f"{self.log_tail()}")

    def _probe_send_email(self) -> bool:
        # An empty event is invalid input: a running send-email answers with a function error that
        # names the missing field, and stores and publishes nothing.
        answer = invoke(self.base_url, SEND_EMAIL_FUNCTION, {})
        if answer.function_error:
            return True
        raise self._unexpected(SEND_EMAIL_FUNCTION, "an empty event", "a function error",
                               HttpResponse(answer.status, {}, str(answer.payload)))

    def _probe_callback(self) -> bool:
        # No parameters: a running approval-callback answers 400 and decides nothing.
        resp = http_request("GET", f"{self.function_url(CALLBACK_FUNCTION)}/execution", timeout=120)
        if resp.status == 400:
            return True
        raise self._unexpected(CALLBACK_FUNCTION, "GET /execution without parameters", "400", resp)

    def _unexpected(self, function: str, request: str, expected: str, resp: HttpResponse) -> StackError:
        # Any answer means watch built and ran the function: a wrong answer will not get better.
        return StackError(f"{function} answered {request} with {resp.status} (expected {expected}): {resp.body[:500]}\n"
                          f"last lines of {self.log_path}:\n{self.log_tail()}")

    def stop(self) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            # watchexec starts each function in a session of its own, so a group signal does not
            # reach them: note the whole tree first, to make sure of it afterwards.
            tree = descendants(proc.pid)
            for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            for pid in tree:  # whatever outlived watch goes now
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
