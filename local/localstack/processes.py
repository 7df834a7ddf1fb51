"""Child processes that end with us: their whole tree, even when we die hard."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any


def descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc (Linux); empty where there is no /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses: ppid follows the last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def die_with_parent() -> None:
    """In the child before exec: if this Python process dies hard (SIGKILL), the kernel sends the
    child SIGTERM, so it does not outlive the harness."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the normal teardown still runs


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_teardown() -> None:
    """SIGTERM/SIGHUP -> KeyboardInterrupt, so `with LocalStack(...)` tears down as on Ctrl-C."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_keyboard_interrupt)
