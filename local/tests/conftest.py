"""One local stack (moto + cargo lambda watch) for the whole e2e session: built and started once.

Its approvers are three addresses (APPROVERS="approver@example.com,second@example.com,
third@example.com"), each with its own SQS inbox subscribed with the filter policy
{"approver": [address]}, so every request of the stack's own state machine goes to all three with
RequiredApprovals 1: the first vote decides, and the others' links show the 410 afterwards.
Besides the stack's own state machine there are more from the same ASL file: a 3-second approval
timeout, a "team" one whose task passes the input's `Approval` block (CONTRACT.md) to send-email,
a "team" one with a 3-second timeout (all trusted: TRUSTED_STATE_MACHINE_ARNS), and one that is
not trusted; and examples/release-approval/'s ASL file as a caller deploys it (trusted, trusted
with a 3-second timeout, not trusted)."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helpers  # noqa: E402
import localstack  # noqa: E402

E2E_WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "e2e"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "after_all_other_tests: runs once every other e2e test has run (it inspects what they left behind)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Stable partition: tests that inspect the session's logs go last, whatever -k or file order says.
    items.sort(key=lambda item: item.get_closest_marker("after_all_other_tests") is not None)


def _progress(message: str) -> None:
    # Straight to the terminal, past pytest's capture: a cold build is minutes of otherwise silence.
    print(f"==> e2e: {message}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def stack() -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # failed states are expected here
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = localstack.StackConfig(
        moto_port=localstack.free_port(),
        lambda_port=localstack.free_port(),
        page_port=localstack.free_port(),
        approvers=helpers.APPROVERS,
        approval_timeout_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        default_expiry_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        extra_state_machines=helpers.EXTRA_STATE_MACHINES,
        work_dir=E2E_WORK_DIR,
        # As much as the functions will log (they cap the SDK and runtime themselves): the
        # no-token test then covers their debug lines too.
        function_log_level="debug",
    )
    started = time.monotonic()
    with localstack.LocalStack(config, progress=_progress) as running:
        _progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the local stack (function logs kept in {running.functions_log_path})")


@pytest.fixture
def pending_approval(stack: localstack.LocalStack, request: pytest.FixtureRequest) -> helpers.PendingApproval:
    return helpers.start_and_wait_for_email(stack, request.node.name)
